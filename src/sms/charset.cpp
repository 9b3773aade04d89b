#include <laporsms/sms/charset.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace laporsms::sms {

namespace {

// GSM 03.38 basic table, septet -> code point (3GPP TS 23.038 §6.2.1). 0x09
// is the capital Ç the standard prints (some tables say ç). 0x1B is the
// escape to the extension table and never decodes on its own.
constexpr std::array<char16_t, 128> k_gsm_basic{
    u'@',      u'\u00A3', u'$',      u'\u00A5', u'\u00E8', u'\u00E9', u'\u00F9', u'\u00EC',
    u'\u00F2', u'\u00C7', u'\n',     u'\u00D8', u'\u00F8', u'\r',     u'\u00C5', u'\u00E5',
    u'\u0394', u'_',      u'\u03A6', u'\u0393', u'\u039B', u'\u03A9', u'\u03A0', u'\u03A8',
    u'\u03A3', u'\u0398', u'\u039E', u'\x1B',   u'\u00C6', u'\u00E6', u'\u00DF', u'\u00C9',
    u' ',      u'!',      u'"',      u'#',      u'\u00A4', u'%',      u'&',      u'\'',
    u'(',      u')',      u'*',      u'+',      u',',      u'-',      u'.',      u'/',
    u'0',      u'1',      u'2',      u'3',      u'4',      u'5',      u'6',      u'7',
    u'8',      u'9',      u':',      u';',      u'<',      u'=',      u'>',      u'?',
    u'\u00A1', u'A',      u'B',      u'C',      u'D',      u'E',      u'F',      u'G',
    u'H',      u'I',      u'J',      u'K',      u'L',      u'M',      u'N',      u'O',
    u'P',      u'Q',      u'R',      u'S',      u'T',      u'U',      u'V',      u'W',
    u'X',      u'Y',      u'Z',      u'\u00C4', u'\u00D6', u'\u00D1', u'\u00DC', u'\u00A7',
    u'\u00BF', u'a',      u'b',      u'c',      u'd',      u'e',      u'f',      u'g',
    u'h',      u'i',      u'j',      u'k',      u'l',      u'm',      u'n',      u'o',
    u'p',      u'q',      u'r',      u's',      u't',      u'u',      u'v',      u'w',
    u'x',      u'y',      u'z',      u'\u00E4', u'\u00F6', u'\u00F1', u'\u00FC', u'\u00E0',
};

struct Extension {
  std::uint8_t septet;
  char16_t code_point;
};

// The extension table (§6.2.1.1) as far as the default language defines it.
constexpr std::array<Extension, 10> k_gsm_extension{{
    {0x0A, u'\f'},
    {0x14, u'^'},
    {0x28, u'{'},
    {0x29, u'}'},
    {0x2F, u'\\'},
    {0x3C, u'['},
    {0x3D, u'~'},
    {0x3E, u']'},
    {0x40, u'|'},
    {0x65, u'\u20AC'},
}};

constexpr char16_t extension_code_point(std::uint8_t septet) {
  for (const auto& e : k_gsm_extension) {
    if (e.septet == septet) {
      return e.code_point;
    }
  }
  return 0;
}

// Reverse tables for the encoder: a direct one for ASCII, a sorted one for
// the rest, both built at compile time from the tables above.
constexpr std::array<GsmCode, 128> make_ascii_reverse() {
  std::array<GsmCode, 128> table{};
  for (std::size_t septet = 0; septet < k_gsm_basic.size(); ++septet) {
    const char16_t cp = k_gsm_basic[septet];
    if (cp < 0x80 && septet != k_gsm_escape) {
      table[cp] = GsmCode{1, {static_cast<std::uint8_t>(septet), 0}};
    }
  }
  for (const auto& e : k_gsm_extension) {
    if (e.code_point < 0x80) {
      table[e.code_point] = GsmCode{2, {k_gsm_escape, e.septet}};
    }
  }
  return table;
}
constexpr std::array<GsmCode, 128> k_ascii_reverse = make_ascii_reverse();

struct ReverseEntry {
  char16_t code_point;
  GsmCode code;
};

constexpr std::size_t count_non_ascii() {
  std::size_t n = 0;
  for (char16_t cp : k_gsm_basic) {
    n += cp >= 0x80 ? 1 : 0;
  }
  for (const auto& e : k_gsm_extension) {
    n += e.code_point >= 0x80 ? 1 : 0;
  }
  return n;
}

constexpr auto make_non_ascii_reverse() {
  std::array<ReverseEntry, count_non_ascii()> table{};
  std::size_t n = 0;
  for (std::size_t septet = 0; septet < k_gsm_basic.size(); ++septet) {
    if (k_gsm_basic[septet] >= 0x80) {
      table[n++] = {k_gsm_basic[septet], GsmCode{1, {static_cast<std::uint8_t>(septet), 0}}};
    }
  }
  for (const auto& e : k_gsm_extension) {
    if (e.code_point >= 0x80) {
      table[n++] = {e.code_point, GsmCode{2, {k_gsm_escape, e.septet}}};
    }
  }
  std::sort(table.begin(), table.end(), [](const ReverseEntry& a, const ReverseEntry& b) {
    return a.code_point < b.code_point;
  });
  return table;
}
constexpr auto k_non_ascii_reverse = make_non_ascii_reverse();

enum class Alphabet { gsm7, ascii, latin1, ucs2, binary, unsupported };

Alphabet alphabet_for(std::uint8_t dc, DefaultCoding default_coding) {
  if (dc == 0x00) {
    switch (default_coding) {
    case DefaultCoding::gsm7:
      return Alphabet::gsm7;
    case DefaultCoding::latin1:
      return Alphabet::latin1;
    case DefaultCoding::ascii:
      return Alphabet::ascii;
    }
    return Alphabet::gsm7;
  }
  if (dc < 0x10) {
    // SMPP 3.4 §5.2.19 gives 0x01-0x0F meanings of its own.
    switch (dc) {
    case 0x01:
      return Alphabet::ascii;
    case 0x02:
    case 0x04:
      return Alphabet::binary;
    case 0x03:
      return Alphabet::latin1;
    case 0x08:
      return Alphabet::ucs2;
    default:
      return Alphabet::unsupported;
    }
  }
  if (dc < 0x80) {
    // GSM general data coding and automatic deletion groups (TS 23.038 §4).
    if ((dc & 0x20) != 0) {
      return Alphabet::binary; // compressed: we cannot read it as text
    }
    switch ((dc >> 2) & 0x03) {
    case 0:
      return Alphabet::gsm7;
    case 1:
      return Alphabet::binary;
    case 2:
      return Alphabet::ucs2;
    default:
      return Alphabet::unsupported;
    }
  }
  if (dc < 0xC0) {
    return Alphabet::unsupported; // reserved coding groups
  }
  if (dc < 0xE0) {
    return Alphabet::gsm7; // message waiting indication, discard or store
  }
  if (dc < 0xF0) {
    return Alphabet::ucs2; // message waiting indication, store, UCS-2
  }
  return (dc & 0x04) != 0 ? Alphabet::binary : Alphabet::gsm7;
}

// Writes `cp` as UTF-8 at `p` and returns the position after it; the
// decoders size their output up front so that they need no checks per byte.
char* put_utf8(char* p, char32_t cp) {
  if (cp < 0x80) {
    *p++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *p++ = static_cast<char>(0xC0 | (cp >> 6));
    *p++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *p++ = static_cast<char>(0xE0 | (cp >> 12));
    *p++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *p++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *p++ = static_cast<char>(0xF0 | (cp >> 18));
    *p++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *p++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *p++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
  return p;
}

// The basic table already in UTF-8, so that the common case is one copy.
struct Utf8Char {
  std::array<char, 3> bytes{};
  std::uint8_t length = 0;
};

constexpr std::array<Utf8Char, 128> make_gsm_utf8() {
  std::array<Utf8Char, 128> table{};
  for (std::size_t septet = 0; septet < table.size(); ++septet) {
    const char32_t cp = k_gsm_basic[septet];
    Utf8Char& c = table[septet];
    if (cp < 0x80) {
      c.bytes = {static_cast<char>(cp), 0, 0};
      c.length = 1;
    } else if (cp < 0x800) {
      c.bytes = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F)), 0};
      c.length = 2;
    } else {
      c.bytes = {static_cast<char>(0xE0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
                 static_cast<char>(0x80 | (cp & 0x3F))};
      c.length = 3;
    }
  }
  return table;
}
constexpr std::array<Utf8Char, 128> k_gsm_utf8 = make_gsm_utf8();

char* decode_gsm7(std::span<const std::uint8_t> bytes, char* p, bool& had_invalid) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const std::uint8_t septet = bytes[i];
    if (septet < 0x80 && septet != k_gsm_escape) {
      // Always 3 bytes copied: the output has room for 3 per input octet.
      const Utf8Char& c = k_gsm_utf8[septet];
      std::memcpy(p, c.bytes.data(), 3);
      p += c.length;
      continue;
    }
    if (septet >= 0x80 || i + 1 == bytes.size()) {
      // Not a septet, or an escape whose partner was cut off.
      p = put_utf8(p, k_replacement_char);
      had_invalid = true;
      continue;
    }
    const std::uint8_t next = bytes[++i];
    if (next >= 0x80) {
      p = put_utf8(p, k_replacement_char);
      had_invalid = true;
    } else if (next == k_gsm_escape) {
      *p++ = ' '; // reserved for a further table; TS 23.038 says to show a space
    } else if (const char16_t ext = extension_code_point(next); ext != 0) {
      p = put_utf8(p, ext);
    } else {
      // TS 23.038: an undefined extension code shows the basic character.
      p = put_utf8(p, k_gsm_basic[next]);
    }
  }
  return p;
}

char* decode_ascii(std::span<const std::uint8_t> bytes, char* p, bool& had_invalid) {
  for (const std::uint8_t b : bytes) {
    if (b < 0x80) {
      *p++ = static_cast<char>(b);
    } else {
      p = put_utf8(p, k_replacement_char);
      had_invalid = true;
    }
  }
  return p;
}

char* decode_latin1(std::span<const std::uint8_t> bytes, char* p) {
  for (const std::uint8_t b : bytes) {
    p = put_utf8(p, b);
  }
  return p;
}

char* decode_ucs2(std::span<const std::uint8_t> bytes, char* p, bool& had_invalid) {
  const std::size_t units = bytes.size() / 2;
  auto unit_at = [&](std::size_t k) -> char32_t {
    return static_cast<char32_t>((bytes[2 * k] << 8) | bytes[2 * k + 1]);
  };
  for (std::size_t k = 0; k < units; ++k) {
    const char32_t u = unit_at(k);
    if (u < 0xD800 || u > 0xDFFF) {
      p = put_utf8(p, u);
      continue;
    }
    if (u <= 0xDBFF && k + 1 < units) {
      const char32_t low = unit_at(k + 1);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        p = put_utf8(p, 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00));
        ++k;
        continue;
      }
    }
    p = put_utf8(p, k_replacement_char); // a surrogate without its partner
    had_invalid = true;
  }
  if (bytes.size() % 2 != 0) {
    p = put_utf8(p, k_replacement_char);
    had_invalid = true;
  }
  return p;
}

bool is_continuation(unsigned char b) {
  return (b & 0xC0) == 0x80;
}

} // namespace

Utf8Step next_code_point(std::string_view utf8, std::size_t pos) {
  const std::size_t avail = utf8.size() - pos;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(utf8[pos + k]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) {
    return {lead, 1, true};
  }
  std::size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  char32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0F;
    if (lead == 0xE0) {
      second_min = 0xA0; // else overlong
    } else if (lead == 0xED) {
      second_max = 0x9F; // else a surrogate
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07;
    if (lead == 0xF0) {
      second_min = 0x90; // else overlong
    } else if (lead == 0xF4) {
      second_max = 0x8F; // else above U+10FFFF
    }
  } else {
    return {k_replacement_char, 1, false};
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (k >= avail) {
      return {k_replacement_char, k, false};
    }
    const unsigned char b = byte(k);
    const bool ok = k == 1 ? (b >= second_min && b <= second_max) : is_continuation(b);
    if (!ok) {
      return {k_replacement_char, k, false};
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, length, true};
}

void append_utf8(std::string& out, char32_t cp) {
  char buffer[4];
  out.append(buffer, put_utf8(buffer, cp));
}

GsmCode gsm7_encode(char32_t code_point) {
  if (code_point < 0x80) {
    return k_ascii_reverse[code_point];
  }
  const auto it = std::lower_bound(
      k_non_ascii_reverse.begin(), k_non_ascii_reverse.end(), code_point,
      [](const ReverseEntry& e, char32_t cp) { return static_cast<char32_t>(e.code_point) < cp; });
  if (it != k_non_ascii_reverse.end() && it->code_point == code_point) {
    return it->code;
  }
  return {};
}

DecodedText decode_text(std::uint8_t data_coding, std::span<const std::uint8_t> bytes,
                        DefaultCoding default_coding) {
  DecodedText out;
  const Alphabet alphabet = alphabet_for(data_coding, default_coding);
  if (alphabet == Alphabet::binary) {
    out.binary = true;
    return out;
  }
  // One allocation, sized for the worst case: no input octet grows into
  // more than 3 UTF-8 bytes (a UCS-2 unit of 2 octets gives at most 3, a
  // surrogate pair 4 from 4, a lone trailing octet 3).
  out.utf8.resize(bytes.size() * 3);
  char* const begin = out.utf8.data();
  char* end = begin;
  switch (alphabet) {
  case Alphabet::gsm7:
    end = decode_gsm7(bytes, begin, out.had_invalid);
    break;
  case Alphabet::ascii:
    end = decode_ascii(bytes, begin, out.had_invalid);
    break;
  case Alphabet::latin1:
    end = decode_latin1(bytes, begin);
    break;
  case Alphabet::ucs2:
    end = decode_ucs2(bytes, begin, out.had_invalid);
    break;
  case Alphabet::unsupported:
    end = decode_ascii(bytes, begin, out.had_invalid);
    out.had_invalid = true;
    break;
  case Alphabet::binary:
    break;
  }
  out.utf8.resize(static_cast<std::size_t>(end - begin));
  return out;
}

std::vector<std::uint8_t> unpack_septets(std::span<const std::uint8_t> packed,
                                         std::size_t septet_count, unsigned fill_bits) {
  std::vector<std::uint8_t> out;
  const std::size_t total_bits = packed.size() * 8;
  if (fill_bits >= total_bits) {
    return out;
  }
  const std::size_t available = (total_bits - fill_bits) / 7;
  const std::size_t count = std::min(septet_count, available);
  out.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t bit = fill_bits + 7 * k;
    const std::size_t index = bit / 8;
    const unsigned shift = bit % 8;
    unsigned value = packed[index] >> shift;
    if (shift > 1) {
      // The septet spills into the next octet; it exists because
      // bit + 7 <= total_bits.
      value |= static_cast<unsigned>(packed[index + 1]) << (8 - shift);
    }
    out.push_back(static_cast<std::uint8_t>(value & 0x7F));
  }
  return out;
}

std::optional<std::size_t> gsm7_length(std::string_view utf8) {
  std::size_t septets = 0;
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const Utf8Step step = next_code_point(utf8, pos);
    if (!step.valid) {
      return std::nullopt;
    }
    const GsmCode code = gsm7_encode(step.code_point);
    if (code.length == 0) {
      return std::nullopt;
    }
    septets += code.length;
    pos += step.length;
  }
  return septets;
}

} // namespace laporsms::sms
