#include <laporsms/cli/text.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <utility>

namespace laporsms::cli {
namespace {

constexpr char32_t k_replacement = 0xFFFD;
constexpr std::string_view k_ellipsis = "\u2026";

// One code point of `text` from `pos`, and the bytes it took; an invalid or
// overlong sequence, a surrogate or a truncated one is U+FFFD of one byte.
std::pair<char32_t, std::size_t> decode(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) {
    return {lead, 1};
  }
  std::size_t length = 0;
  char32_t cp = 0;
  char32_t least = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    cp = lead & 0x1F;
    least = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    cp = lead & 0x0F;
    least = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    cp = lead & 0x07;
    least = 0x10000;
  } else {
    return {k_replacement, 1};
  }
  if (pos + length > text.size()) {
    return {k_replacement, 1};
  }
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) {
      return {k_replacement, 1};
    }
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return {k_replacement, 1};
  }
  return {cp, length};
}

void encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0x2028 || cp == 0x2029;
}

struct Range {
  char32_t first;
  char32_t last;
};

// Marks printed over the character before them, and invisible format characters.
constexpr std::array<Range, 9> k_zero_width = {{{0x0300, 0x036F},
                                                {0x0483, 0x0489},
                                                {0x0591, 0x05BD},
                                                {0x1AB0, 0x1AFF},
                                                {0x1DC0, 0x1DFF},
                                                {0x200B, 0x200F},
                                                {0x20D0, 0x20FF},
                                                {0xFE00, 0xFE0F},
                                                {0xFE20, 0xFE2F}}};

// East Asian wide and full-width characters, and the emoji blocks.
constexpr std::array<Range, 16> k_wide = {{{0x1100, 0x115F},
                                           {0x231A, 0x231B},
                                           {0x2329, 0x232A},
                                           {0x23E9, 0x23EC},
                                           {0x2E80, 0x303E},
                                           {0x3041, 0x33FF},
                                           {0x3400, 0x4DBF},
                                           {0x4E00, 0x9FFF},
                                           {0xA000, 0xA4CF},
                                           {0xAC00, 0xD7A3},
                                           {0xF900, 0xFAFF},
                                           {0xFE30, 0xFE4F},
                                           {0xFF00, 0xFF60},
                                           {0xFFE0, 0xFFE6},
                                           {0x1F300, 0x1FAFF},
                                           {0x20000, 0x3FFFD}}};

bool in(const auto& ranges, char32_t cp) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [cp](const Range& r) { return cp >= r.first && cp <= r.last; });
}

int width_of(char32_t cp) {
  if (in(k_zero_width, cp)) {
    return 0;
  }
  return in(k_wide, cp) ? 2 : 1;
}

// A code point of cleaned text and its columns.
struct Glyph {
  std::string bytes;
  int width;
  bool space;
  bool newline;
};

// `text` as glyphs: invalid bytes are U+FFFD; a line break is a newline
// glyph when `keep_newlines`, a space otherwise, as is every other control.
std::vector<Glyph> glyphs(std::string_view text, bool keep_newlines) {
  std::vector<Glyph> out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    auto [cp, length] = decode(text, pos);
    pos += length;
    if (cp == '\r' && keep_newlines && pos < text.size() && text[pos] == '\n') {
      continue; // CR LF is one break
    }
    const bool newline = cp == '\n' || cp == '\r' || cp == 0x2028 || cp == 0x2029;
    if (newline && keep_newlines) {
      out.push_back({"", 0, false, true});
      continue;
    }
    if (is_control(cp)) {
      cp = ' ';
    }
    Glyph g{"", width_of(cp), cp == ' ', false};
    encode(cp, g.bytes);
    out.push_back(std::move(g));
  }
  return out;
}

int width_sum(const std::vector<Glyph>& line, std::size_t from, std::size_t to) {
  int w = 0;
  for (auto i = from; i < to; ++i) {
    w += line[i].width;
  }
  return w;
}

std::string join(const std::vector<Glyph>& line, std::size_t from, std::size_t to) {
  std::string out;
  for (auto i = from; i < to; ++i) {
    out += line[i].bytes;
  }
  return out;
}

// The glyphs of `line` in at most `columns`, with … when cut.
std::string cut(const std::vector<Glyph>& line, std::size_t from, std::size_t to, int columns) {
  if (columns <= 0) {
    return {};
  }
  if (width_sum(line, from, to) <= columns) {
    return join(line, from, to);
  }
  std::string out;
  int used = 0;
  for (auto i = from; i < to; ++i) {
    if (used + line[i].width > columns - 1) {
      break;
    }
    out += line[i].bytes;
    used += line[i].width;
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  out += k_ellipsis;
  return out;
}

} // namespace

std::string one_line(std::string_view text) {
  const auto g = glyphs(text, false);
  return join(g, 0, g.size());
}

int display_width(std::string_view text) {
  const auto g = glyphs(text, false);
  return width_sum(g, 0, g.size());
}

std::string truncate(std::string_view text, int columns) {
  const auto g = glyphs(text, false);
  return cut(g, 0, g.size(), columns);
}

std::string pad(std::string_view text, int columns, bool right_align) {
  auto cell = truncate(text, columns);
  const auto fill =
      std::string(static_cast<std::size_t>(std::max(0, columns - display_width(cell))), ' ');
  return right_align ? fill + cell : cell + fill;
}

std::vector<std::string> wrap(std::string_view text, int columns, std::size_t max_lines) {
  columns = std::max(columns, 2);
  std::vector<std::string> lines;
  const auto all = glyphs(text, true);
  // Split into paragraphs at newline glyphs, then each into lines.
  std::vector<std::vector<Glyph>> paragraphs(1);
  for (const auto& g : all) {
    if (g.newline) {
      paragraphs.emplace_back();
    } else {
      paragraphs.back().push_back(g);
    }
  }
  // Each produced line: the paragraph and its glyph range, so the last one
  // kept can be cut with … from what follows it.
  struct Span {
    std::size_t paragraph;
    std::size_t from;
    std::size_t to;
  };
  std::vector<Span> spans;
  for (std::size_t p = 0; p < paragraphs.size(); ++p) {
    const auto& para = paragraphs[p];
    std::size_t start = 0;
    if (para.empty()) {
      spans.push_back({p, 0, 0});
      continue;
    }
    while (start < para.size()) {
      while (start < para.size() && para[start].space && start > 0) {
        ++start; // a line never starts with the blank it was broken at
      }
      if (start >= para.size()) {
        break;
      }
      int used = 0;
      std::size_t end = start;
      std::size_t last_break = start;
      while (end < para.size() && used + para[end].width <= columns) {
        used += para[end].width;
        ++end;
        if (end < para.size() && para[end].space) {
          last_break = end;
        }
      }
      if (end < para.size() && !para[end].space && last_break > start) {
        end = last_break; // break at the last blank, not inside the word
      }
      auto trimmed = end;
      while (trimmed > start && para[trimmed - 1].space) {
        --trimmed;
      }
      spans.push_back({p, start, trimmed});
      start = end;
    }
  }
  // Trailing empty paragraphs (a text ending in a line break) add nothing.
  while (spans.size() > 1 && spans.back().from == spans.back().to) {
    spans.pop_back();
  }
  const bool more = spans.size() > max_lines;
  const auto keep = std::min(spans.size(), max_lines);
  for (std::size_t i = 0; i < keep; ++i) {
    const auto& s = spans[i];
    const auto& para = paragraphs[s.paragraph];
    if (more && i + 1 == keep) {
      // The rest of this paragraph, cut to the line with … (at least the …).
      auto line = cut(para, s.from, s.to, columns - 1);
      if (line.size() < 3 || line.compare(line.size() - 3, 3, k_ellipsis) != 0) {
        line += k_ellipsis;
      }
      lines.push_back(std::move(line));
    } else {
      lines.push_back(join(para, s.from, s.to));
    }
  }
  return lines;
}

std::string wrap_block(std::string_view text, std::string_view first_prefix, int indent,
                       int columns, std::size_t max_lines) {
  std::string out;
  const auto prefix = pad(first_prefix, indent);
  const auto lines = wrap(text, columns - indent, max_lines);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += i == 0 ? prefix : std::string(static_cast<std::size_t>(indent), ' ');
    out += lines[i];
    while (!out.empty() && out.back() == ' ') {
      out.pop_back();
    }
    out += '\n';
  }
  if (lines.empty()) {
    out += one_line(first_prefix) + "\n";
  }
  return out;
}

std::string human_duration(double seconds) {
  if (seconds < 0) {
    return "-" + human_duration(-seconds);
  }
  if (seconds < 0.9995) {
    return std::to_string(static_cast<long long>(seconds * 1000 + 0.5)) + " ms";
  }
  if (seconds < 59.95) {
    const auto tenths = static_cast<long long>(seconds * 10 + 0.5);
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
  }
  const auto whole = static_cast<long long>(seconds + 0.5);
  const auto two = [](long long big, const char* big_unit, long long small,
                      const char* small_unit) {
    std::string out = std::to_string(big) + " " + big_unit;
    if (small > 0) {
      out += " " + std::to_string(small) + " " + small_unit;
    }
    return out;
  };
  if (whole < 3600) {
    return two(whole / 60, "min", whole % 60, "s");
  }
  if (whole < 86400) {
    return two(whole / 3600, "h", (whole % 3600) / 60, "min");
  }
  return two(whole / 86400, "d", (whole % 86400) / 3600, "h");
}

std::string compact_duration(double seconds) {
  if (seconds < 0) {
    return "-" + compact_duration(-seconds);
  }
  if (seconds < 0.9995) {
    return std::to_string(static_cast<long long>(seconds * 1000 + 0.5)) + "ms";
  }
  if (seconds < 59.95) {
    const auto tenths = static_cast<long long>(seconds * 10 + 0.5);
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
  }
  const auto whole = static_cast<long long>(seconds + 0.5);
  const auto two = [](long long big, char big_unit, long long small, char small_unit) {
    return std::to_string(big) + big_unit + (small < 10 ? "0" : "") + std::to_string(small) +
           small_unit;
  };
  if (whole < 3600) {
    return two(whole / 60, 'm', whole % 60, 's');
  }
  if (whole < 86400) {
    return two(whole / 3600, 'h', (whole % 3600) / 60, 'm');
  }
  return two(whole / 86400, 'd', (whole % 86400) / 3600, 'h');
}

void Table::add_column(std::string header, int min_width, bool right_align) {
  m_columns.push_back({std::move(header), min_width, right_align});
}

void Table::add_row(std::vector<std::string> cells, std::vector<std::string> under) {
  cells.resize(m_columns.size());
  m_rows.push_back({std::move(cells), std::move(under)});
}

std::string Table::render(int columns) const {
  const auto n = m_columns.size();
  std::vector<int> widths(n, 0);
  std::vector<int> floors(n, 0);
  for (std::size_t c = 0; c < n; ++c) {
    const int header = display_width(m_columns[c].header);
    widths[c] = header;
    floors[c] = std::max(header, m_columns[c].min_width);
    for (const auto& row : m_rows) {
      widths[c] = std::max(widths[c], display_width(row.cells[c]));
    }
    floors[c] = std::min(floors[c], widths[c]);
  }
  const int gaps = n > 0 ? static_cast<int>(n - 1) * 2 : 0;
  auto total = [&] { return std::accumulate(widths.begin(), widths.end(), 0) + gaps; };
  // Shrink the column with the most to give, one column at a time.
  while (total() > columns) {
    std::size_t widest = n;
    int most = 0;
    for (std::size_t c = 0; c < n; ++c) {
      if (widths[c] - floors[c] > most) {
        most = widths[c] - floors[c];
        widest = c;
      }
    }
    if (widest == n) {
      break; // every column at its floor: the floors are chosen to fit
    }
    --widths[widest];
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < n; ++c) {
      if (c > 0) {
        out += "  ";
      }
      out += pad(cells[c], widths[c], m_columns[c].right_align);
    }
    while (!out.empty() && out.back() == ' ') {
      out.pop_back();
    }
    // Floors too wide for `columns` still must not pass the edge.
    if (display_width(out) > columns) {
      out = truncate(out, columns);
    }
    return out + "\n";
  };
  std::vector<std::string> headers;
  for (const auto& col : m_columns) {
    headers.push_back(col.header);
  }
  std::string out = line(headers);
  for (const auto& row : m_rows) {
    out += line(row.cells);
    for (const auto& under : row.under) {
      auto text = "  " + truncate(under, columns - 2);
      while (!text.empty() && text.back() == ' ') {
        text.pop_back();
      }
      out += text + "\n";
    }
  }
  return out;
}

} // namespace laporsms::cli
