#include <laporsms/sms/ref.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace laporsms::sms {

namespace {

constexpr std::uint64_t k_base = k_ref_alphabet.size();
static_assert(k_base == 31);

constexpr std::uint64_t power_of_base(std::size_t n) {
  std::uint64_t p = 1;
  for (std::size_t k = 0; k < n; ++k) {
    p *= k_base;
  }
  return p;
}

// Round constants of the permutation, each mixed with a word of the
// deployment's secret. Changing them changes every ref ever issued, so they
// are fixed forever.
constexpr std::array<std::uint64_t, 6> k_round_keys{
    0x9E3779B97F4A7C15, 0xD1B54A32D192ED03, 0x8CB92BA72F3D8DD7,
    0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x589965CC75374CC3,
};

// A 64-bit mixing function (splitmix64's finaliser): any function would keep
// the permutation bijective; this one makes neighbouring ids look unrelated.
constexpr std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9;
  x ^= x >> 27;
  x *= 0x94D049BB133111EB;
  x ^= x >> 31;
  return x;
}

// A permutation of [0, 31^n): an unbalanced Feistel network over the two
// halves of the base-31 digits. Each round adds a function of one half to
// the other, modulo that half's range, which can always be undone, so the
// whole is a bijection whatever `mix` is.
std::uint64_t permute(std::uint64_t x, std::size_t n, const RefKey& key) {
  const std::uint64_t left_range = power_of_base(n / 2);
  const std::uint64_t right_range = power_of_base(n - n / 2);
  std::uint64_t left = x / right_range;
  std::uint64_t right = x % right_range;
  for (std::size_t round = 0; round < k_round_keys.size(); ++round) {
    const std::uint64_t round_key =
        (k_round_keys[round] ^ key.secret[round % key.secret.size()]) + n;
    if (round % 2 == 0) {
      left = (left + mix(right ^ round_key) % left_range) % left_range;
    } else {
      right = (right + mix(left ^ round_key) % right_range) % right_range;
    }
  }
  return left * right_range + right;
}

// permute's inverse: the rounds undone in reverse order.
std::uint64_t unpermute(std::uint64_t x, std::size_t n, const RefKey& key) {
  const std::uint64_t left_range = power_of_base(n / 2);
  const std::uint64_t right_range = power_of_base(n - n / 2);
  std::uint64_t left = x / right_range;
  std::uint64_t right = x % right_range;
  for (std::size_t round = k_round_keys.size(); round-- > 0;) {
    const std::uint64_t round_key =
        (k_round_keys[round] ^ key.secret[round % key.secret.size()]) + n;
    if (round % 2 == 0) {
      left = (left + left_range - mix(right ^ round_key) % left_range) % left_range;
    } else {
      right = (right + right_range - mix(left ^ round_key) % right_range) % right_range;
    }
  }
  return left * right_range + right;
}

char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool is_blank(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

} // namespace

std::string make_ref(std::string_view prefix, std::uint64_t id, const RefKey& key) {
  std::size_t width = std::clamp(key.min_symbols, k_ref_min_symbols, k_ref_max_symbols);
  while (id >= power_of_base(width)) {
    if (++width > k_ref_max_symbols) {
      throw std::out_of_range("row id too large for a reference");
    }
  }
  std::uint64_t value = permute(id, width, key);
  std::string ref(prefix.size() + width, '\0');
  for (std::size_t k = 0; k < prefix.size(); ++k) {
    ref[k] = ascii_upper(prefix[k]);
  }
  for (std::size_t k = ref.size(); k > prefix.size(); --k) {
    ref[k - 1] = k_ref_alphabet[value % k_base];
    value /= k_base;
  }
  return ref;
}

std::vector<std::uint64_t> ref_id_candidates(std::string_view ref, const RefKey& key) {
  const RefKey unkeyed{};
  std::vector<std::uint64_t> ids;
  std::uint64_t value = 0;
  std::uint64_t scale = 1;
  // The symbols from the end: after w of them, `value` is the last w as a
  // base-31 number.
  for (std::size_t width = 1; width <= std::min(ref.size(), k_ref_max_symbols); ++width) {
    const auto symbol = k_ref_alphabet.find(ascii_upper(ref[ref.size() - width]));
    if (symbol == std::string_view::npos) {
      break;
    }
    value += symbol * scale;
    scale *= k_base;
    if (width < k_ref_min_symbols) {
      continue;
    }
    ids.push_back(unpermute(value, width, width < key.min_symbols ? unkeyed : key));
  }
  return ids;
}

std::optional<std::string> canonical_ref(std::string_view prefix, std::string_view text) {
  while (!text.empty() && is_blank(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_blank(text.back())) {
    text.remove_suffix(1);
  }
  if (text.size() < prefix.size() + k_ref_min_symbols ||
      text.size() > prefix.size() + k_ref_max_symbols) {
    return std::nullopt;
  }
  std::string out(text.size(), '\0');
  for (std::size_t k = 0; k < text.size(); ++k) {
    out[k] = ascii_upper(text[k]);
    if (k < prefix.size()) {
      if (out[k] != ascii_upper(prefix[k])) {
        return std::nullopt;
      }
    } else if (k_ref_alphabet.find(out[k]) == std::string_view::npos) {
      return std::nullopt;
    }
  }
  return out;
}

} // namespace laporsms::sms
