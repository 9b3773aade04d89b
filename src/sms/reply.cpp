#include <laporsms/sms/charset.hpp>
#include <laporsms/sms/reply.hpp>
#include <laporsms/sms/udh.hpp>

#include <algorithm>
#include <optional>

namespace laporsms::sms {

namespace {

constexpr std::uint8_t k_dc_gsm7 = 0x00;
constexpr std::uint8_t k_dc_ucs2 = 0x08;

// Splits `units` (septets or UTF-16 units) into parts; `breaks_pair(u)` says
// whether a part ending with unit `u` would cut a two-unit character.
template <typename Unit, typename BreaksPair>
std::vector<EncodedPart> split(const std::vector<Unit>& units, std::size_t single_limit,
                               std::size_t part_limit, std::uint8_t data_coding,
                               std::uint8_t reference, BreaksPair breaks_pair) {
  constexpr std::size_t octets_per_unit = sizeof(Unit);
  auto append_units = [](std::vector<std::uint8_t>& out, const Unit* first, const Unit* last) {
    for (const Unit* u = first; u != last; ++u) {
      if constexpr (octets_per_unit == 2) {
        out.push_back(static_cast<std::uint8_t>(*u >> 8));
      }
      out.push_back(static_cast<std::uint8_t>(*u & 0xFF));
    }
  };

  std::vector<EncodedPart> parts;
  if (units.size() <= single_limit) {
    EncodedPart& part = parts.emplace_back();
    part.data_coding = data_coding;
    part.short_message.reserve(units.size() * octets_per_unit);
    append_units(part.short_message, units.data(), units.data() + units.size());
    return parts;
  }

  // Where each part ends, so that the header can carry the total.
  std::vector<std::size_t> ends;
  std::size_t pos = 0;
  while (pos < units.size() && ends.size() < k_max_parts) {
    std::size_t end = std::min(pos + part_limit, units.size());
    if (end < units.size() && breaks_pair(units[end - 1])) {
      --end; // part_limit >= 2, so the part stays non-empty
    }
    ends.push_back(end);
    pos = end;
  }

  const auto total = static_cast<std::uint8_t>(ends.size());
  parts.reserve(ends.size());
  std::size_t start = 0;
  for (std::size_t k = 0; k < ends.size(); ++k) {
    EncodedPart& part = parts.emplace_back();
    part.data_coding = data_coding;
    part.esm_class = k_esm_udhi;
    part.short_message.reserve(6 + (ends[k] - start) * octets_per_unit);
    part.short_message = {
        0x05, k_iei_concat_8bit, 0x03, reference, total, static_cast<std::uint8_t>(k + 1)};
    append_units(part.short_message, units.data() + start, units.data() + ends[k]);
    start = ends[k];
  }
  return parts;
}

// The septets of `utf8` when all of it is GSM 03.38, else nullopt.
std::optional<std::vector<std::uint8_t>> to_septets(std::string_view utf8) {
  std::vector<std::uint8_t> septets;
  septets.reserve(utf8.size());
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const Utf8Step step = next_code_point(utf8, pos);
    const GsmCode code = step.valid ? gsm7_encode(step.code_point) : GsmCode{};
    if (code.length == 0) {
      return std::nullopt;
    }
    septets.insert(septets.end(), code.septets.begin(), code.septets.begin() + code.length);
    pos += step.length;
  }
  return septets;
}

std::vector<char16_t> to_utf16(std::string_view utf8) {
  std::vector<char16_t> units;
  units.reserve(utf8.size());
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const Utf8Step step = next_code_point(utf8, pos);
    const char32_t cp = step.code_point; // U+FFFD when ill-formed
    if (cp >= 0x10000) {
      units.push_back(static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10)));
      units.push_back(static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
    } else {
      units.push_back(static_cast<char16_t>(cp));
    }
    pos += step.length;
  }
  return units;
}

} // namespace

std::vector<EncodedPart> encode_reply(std::string_view utf8, std::uint8_t concat_reference) {
  if (auto septets = to_septets(utf8)) {
    // Extension codes are never 0x1B, so a part ending in 0x1B cuts a pair.
    return split(*septets, k_single_gsm7_septets, k_part_gsm7_septets, k_dc_gsm7, concat_reference,
                 [](std::uint8_t s) { return s == k_gsm_escape; });
  }
  return split(to_utf16(utf8), k_single_ucs2_units, k_part_ucs2_units, k_dc_ucs2, concat_reference,
               [](char16_t u) { return u >= 0xD800 && u <= 0xDBFF; });
}

} // namespace laporsms::sms
