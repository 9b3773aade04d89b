// Local report references such as "MTR4K7Q": the deployment's prefix and 4
// to 8 symbols that a keypad or an eye cannot confuse (interfaces.md §3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace laporsms::sms {

inline constexpr std::string_view k_ref_alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"; // 31 symbols
inline constexpr std::size_t k_ref_min_symbols = 4;
inline constexpr std::size_t k_ref_max_symbols = 8;

// `prefix` (ASCII letters upper-cased) followed by symbols derived from the
// row id `id`: ids below 31^4 give 4 symbols, below 31^5 five, and so on up
// to 8. Within each width a fixed permutation scrambles the id, so that
// successive ids do not look sequential; distinct ids never give the same
// ref. Throws std::out_of_range for ids of 31^8 and above (no database row
// gets there).
std::string make_ref(std::string_view prefix, std::uint64_t id);

// The canonical form (trimmed of blanks, upper-cased) when `text` is
// `prefix` (any letter case) followed by 4 to 8 symbols of k_ref_alphabet
// (any letter case), else nullopt.
std::optional<std::string> canonical_ref(std::string_view prefix, std::string_view text);

} // namespace laporsms::sms
