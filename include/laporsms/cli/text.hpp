// laporctl's text for people: everything it prints fits a terminal of 80
// columns. Widths are display columns of UTF-8 text (one per code point, two
// for East Asian wide characters and emoji, none for combining marks), never
// bytes; a cut is shown by an ellipsis (…, one column).
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::cli {

inline constexpr int k_terminal_columns = 80;

// `text` made safe for one line of a terminal: valid UTF-8 (an invalid byte
// becomes U+FFFD) and every control character (line breaks, tabs, escapes)
// a space, so a stored SMS can neither break a table nor drive the terminal.
std::string one_line(std::string_view text);

// Display columns of UTF-8 `text` as one_line would print it.
int display_width(std::string_view text);

// one_line(text) in at most `columns` columns, ending with … when it was cut.
std::string truncate(std::string_view text, int columns);

// truncate(text, columns) padded with spaces to exactly `columns`, on the
// right (text to the left) or, with `right_align`, on the left.
std::string pad(std::string_view text, int columns, bool right_align = false);

// `text` in lines of at most `columns` columns, broken between words (a word
// longer than a line is broken inside it); a line break in `text` starts a
// new line, other control characters are spaces. At most `max_lines` lines:
// the last one ends with … when there was more.
std::vector<std::string> wrap(std::string_view text, int columns,
                              std::size_t max_lines = std::numeric_limits<std::size_t>::max());

// wrap() with every line prefixed by `indent` (the first by `first_prefix`,
// padded to the width of `indent`), each ending in a newline, so that no line
// is wider than `columns`.
std::string wrap_block(std::string_view text, std::string_view first_prefix, int indent,
                       int columns = k_terminal_columns,
                       std::size_t max_lines = std::numeric_limits<std::size_t>::max());

// A span of time for people: "850 ms", "12.3 s", "4 min 5 s", "3 h 12 min",
// "2 d 4 h".
std::string human_duration(double seconds);
// The same for a table cell: "850ms", "12.3s", "4m05s", "3h12m", "2d04h".
std::string compact_duration(double seconds);

// A table with a header row whose columns shrink, widest first, down to their
// minimum until a line fits `columns`; cells are cut with …. A row may carry
// lines under it (e.g. a report's text, wrapped), indented by two.
class Table {
public:
  // `min_width`: the column is never cut below this (nor below its header).
  void add_column(std::string header, int min_width, bool right_align = false);
  void add_row(std::vector<std::string> cells, std::vector<std::string> under = {});
  std::string render(int columns = k_terminal_columns) const;

private:
  struct Column {
    std::string header;
    int min_width;
    bool right_align;
  };
  struct Row {
    std::vector<std::string> cells;
    std::vector<std::string> under;
  };
  std::vector<Column> m_columns;
  std::vector<Row> m_rows;
};

} // namespace laporsms::cli
