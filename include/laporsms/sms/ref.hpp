// Local report references such as "MTR4K7Q": the deployment's prefix and 4
// to 8 symbols that a keypad or an eye cannot confuse (interfaces.md §3).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::sms {

inline constexpr std::string_view k_ref_alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"; // 31 symbols
inline constexpr std::size_t k_ref_min_symbols = 4;
inline constexpr std::size_t k_ref_max_symbols = 8;

// What makes one deployment's refs unguessable from another's, or from the
// row ids: a secret made at its first start and kept in its database, and
// the fewest symbols a new ref may have (one more than the widest ref issued
// before the deployment had a secret, so old and new refs never meet). The
// all-zero secret is the unkeyed permutation of releases before it.
struct RefKey {
  std::array<std::uint64_t, 4> secret{};
  std::size_t min_symbols = k_ref_min_symbols;
};

// `prefix` (ASCII letters upper-cased) followed by symbols derived from the
// row id `id` under `key`: ids below 31^4 give 4 symbols, below 31^5 five,
// and so on up to 8, and never fewer than key.min_symbols. Within each
// width a permutation keyed by key.secret scrambles the id, so that ids do
// not show through and refs cannot be walked; distinct ids never give the
// same ref. Throws std::out_of_range for ids of 31^8 and above (no database
// row gets there).
std::string make_ref(std::string_view prefix, std::uint64_t id, const RefKey& key);

// The row ids whose ref under `key` could be `ref`, whatever its prefix:
// for each width from 4 to 8 symbols that `ref` ends in, the id that gives
// those symbols (under the all-zero secret below key.min_symbols, as refs
// issued before the deployment had one). At most five; the caller keeps
// the one whose stored ref is `ref`. Empty when `ref` ends in no symbol.
std::vector<std::uint64_t> ref_id_candidates(std::string_view ref, const RefKey& key);

// The canonical form (trimmed of blanks, upper-cased) when `text` is
// `prefix` (any letter case) followed by 4 to 8 symbols of k_ref_alphabet
// (any letter case), else nullopt.
std::optional<std::string> canonical_ref(std::string_view prefix, std::string_view text);

} // namespace laporsms::sms
