// libFuzzer target for the sms text layer: decoding under every kind of
// data_coding, the user data header, the keyword parser and the reply
// encoder, with the invariants each promises.
//
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -Iinclude
//     tests/fuzz/fuzz_sms_text.cpp src/sms/*.cpp -o fuzz_sms_text
//   ./fuzz_sms_text tests/fuzz/corpus/sms_text
//
// Input: octet 0 is a data_coding, octet 1 holds flags (bits 0-1 the default
// coding, bit 2 UDHI, bits 3-7 min_report_chars), the rest is the
// short_message.
#include <laporsms/sms/charset.hpp>
#include <laporsms/sms/command.hpp>
#include <laporsms/sms/msisdn.hpp>
#include <laporsms/sms/ref.hpp>
#include <laporsms/sms/reply.hpp>
#include <laporsms/sms/template.hpp>
#include <laporsms/sms/udh.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <span>
#include <string>
#include <string_view>

using namespace laporsms::sms;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

bool is_well_formed_utf8(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) {
    const Utf8Step step = next_code_point(s, pos);
    if (!step.valid) {
      return false;
    }
    pos += step.length;
  }
  return true;
}

std::size_t air_octets(const EncodedPart& part) {
  if (part.data_coding != 0) {
    return part.short_message.size();
  }
  const std::size_t udh = (part.esm_class & k_esm_udhi) ? part.short_message[0] + 1u : 0u;
  const std::size_t septets = part.short_message.size() - udh;
  const std::size_t bits = udh * 8 + (udh ? udh_fill_bits(udh) : 0) + septets * 7;
  return (bits + 7) / 8;
}

void check_reply(std::string_view text, std::uint8_t reference, bool text_is_utf8) {
  const auto parts = encode_reply(text, reference);
  check(!parts.empty() && parts.size() <= k_max_parts, "part count");
  const bool gsm = gsm7_length(text).has_value();
  std::string round_trip;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const EncodedPart& part = parts[k];
    check(air_octets(part) <= 140, "a part fits 140 octets on the air");
    check(part.data_coding == (gsm ? 0 : 8), "GSM exactly when every character fits");
    std::span<const std::uint8_t> body = part.short_message;
    if (parts.size() > 1) {
      check(part.esm_class == k_esm_udhi, "parts carry UDHI");
      const auto ud = split_user_data(part.short_message);
      check(ud.has_value() && ud->concat.has_value(), "parts carry a concatenation header");
      check(ud->udh_length == 6, "6-octet header");
      check(ud->concat->reference == reference && ud->concat->total == parts.size() &&
                ud->concat->sequence == k + 1,
            "header numbers the parts");
      body = ud->body;
    } else {
      check(part.esm_class == 0, "a single SMS has no header");
    }
    check(!body.empty() || text.empty(), "no empty part");
    if (gsm) {
      check(body.size() <= (parts.size() > 1 ? k_part_gsm7_septets : k_single_gsm7_septets),
            "septet limit");
      check(body.empty() || body.back() != k_gsm_escape, "escape pair kept whole");
    } else {
      check(body.size() % 2 == 0, "whole UTF-16 units");
      check(body.size() / 2 <= (parts.size() > 1 ? k_part_ucs2_units : k_single_ucs2_units),
            "unit limit");
      check(body.size() < 2 || body[body.size() - 2] < 0xD8 || body[body.size() - 2] > 0xDB,
            "surrogate pair kept whole");
    }
    const auto d = decode_text(part.data_coding, body);
    check(!d.had_invalid, "parts decode cleanly");
    round_trip += d.utf8;
  }
  if (text_is_utf8 && parts.size() < k_max_parts) {
    check(round_trip == text, "parts decode back to the text");
  }
}

void check_command(std::string_view text, std::size_t min_chars) {
  const Command c = parse_command(text, Keywords{}, min_chars);
  switch (c.kind) {
  case CommandKind::report:
    check(!c.text.empty(), "a report has text");
    [[fallthrough]];
  case CommandKind::empty_report:
    check(text.find(c.text) != std::string_view::npos, "report text comes from the SMS");
    check(c.text.empty() || (c.text.front() != ' ' && c.text.back() != ' ' &&
                             c.text.front() != '\n' && c.text.back() != '\n'),
          "report text is trimmed");
    check(c.argument.empty(), "a report has no argument");
    break;
  case CommandKind::status:
    check(!c.argument.empty(), "a status check has an argument");
    check(text.find(c.argument) != std::string_view::npos, "argument comes from the SMS");
    check(c.argument.find(' ') == std::string::npos, "argument is one word");
    break;
  case CommandKind::help:
  case CommandKind::unknown:
    check(c.text.empty() && c.argument.empty() && !c.rahasia && !c.anonim, "no payload");
    break;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const std::uint8_t dc = data[0];
  const std::uint8_t flags = data[1];
  const auto default_coding = static_cast<DefaultCoding>((flags & 0x03) % 3);
  const bool udhi = (flags & 0x04) != 0;
  const std::size_t min_chars = flags >> 3;
  const std::span<const std::uint8_t> payload(data + 2, size - 2);
  const std::string_view raw(reinterpret_cast<const char*>(payload.data()), payload.size());

  for (const std::uint8_t coding :
       {dc, std::uint8_t{0x00}, std::uint8_t{0x01}, std::uint8_t{0x02}, std::uint8_t{0x03},
        std::uint8_t{0x04}, std::uint8_t{0x08}, std::uint8_t{0x11}, std::uint8_t{0x18},
        std::uint8_t{0x24}, std::uint8_t{0xC0}, std::uint8_t{0xE0}, std::uint8_t{0xF1},
        std::uint8_t{0xF4}, std::uint8_t{0x06}, std::uint8_t{0x80}}) {
    const auto d = decode_text(coding, payload, default_coding);
    check(is_well_formed_utf8(d.utf8), "decoded text is well-formed UTF-8");
    check(!d.binary || d.utf8.empty(), "binary has no text");
    check(d.utf8.size() <= 3 * payload.size() + 3, "decoded size is bounded");
  }

  std::span<const std::uint8_t> body = payload;
  if (udhi) {
    const auto ud = split_user_data(payload);
    if (!ud) {
      return 0;
    }
    check(ud->udh_length >= 1 && ud->udh_length <= payload.size(), "header length");
    check(ud->body.data() == payload.data() + ud->udh_length &&
              ud->body.size() == payload.size() - ud->udh_length,
          "body follows the header");
    if (ud->concat) {
      check(ud->concat->total >= 1 && ud->concat->sequence >= 1 &&
                ud->concat->sequence <= ud->concat->total,
            "concatenation numbers in range");
    }
    body = ud->body;
    const unsigned fill = udh_fill_bits(ud->udh_length);
    const std::size_t bits = body.size() * 8;
    const std::size_t septets = bits > fill ? (bits - fill) / 7 : 0;
    const auto unpacked = unpack_septets(body, septets + 3, fill);
    check(unpacked.size() == septets, "unpacked count");
    for (const std::uint8_t s : unpacked) {
      check(s < 0x80, "septets are 7 bits");
    }
    const auto packed_text = decode_text(0x00, unpacked);
    check(is_well_formed_utf8(packed_text.utf8), "packed text decodes");
  }

  const DecodedText text = decode_text(dc, body, default_coding);
  check_command(text.utf8, min_chars);
  check_command(raw, min_chars);
  check_reply(text.utf8, dc, true);
  check_reply(raw, flags, is_well_formed_utf8(raw));

  if (const auto ref = canonical_ref("MTR", raw)) {
    check(ref->size() >= 7 && ref->size() <= 11 && ref->starts_with("MTR"), "ref shape");
    check(canonical_ref("MTR", *ref) == ref, "canonical form is a fixed point");
  }
  const std::map<std::string, std::string, std::less<>> values{{"ref", "MTR4K7Q"},
                                                               {"note", "{ref}"}};
  (void)render_template(text.utf8, values);
  for (const auto& name : template_placeholders(raw)) {
    check(!name.empty() && raw.find("{" + name + "}") != std::string_view::npos,
          "placeholder names come from the template");
  }
  check(normalize_msisdn(raw).size() <= raw.size() + 1, "normalised number is bounded");
  check(mask_msisdn(raw).size() <= raw.size(), "mask is bounded");
  (void)is_short_or_alphanumeric(raw);
  return 0;
}
