#include <laporsms/sms/template.hpp>

#include <algorithm>
#include <optional>

namespace laporsms::sms {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

struct Placeholder {
  std::string_view name;
  std::size_t end = 0; // just past the closing brace
};

// The placeholder whose opening brace is at `pos`, if one is.
std::optional<Placeholder> placeholder_at(std::string_view tpl, std::size_t pos) {
  std::size_t i = pos + 1;
  while (i < tpl.size() && is_name_char(tpl[i])) {
    ++i;
  }
  if (i == pos + 1 || i >= tpl.size() || tpl[i] != '}') {
    return std::nullopt;
  }
  return Placeholder{tpl.substr(pos + 1, i - pos - 1), i + 1};
}

} // namespace

std::string render_template(std::string_view tpl,
                            const std::map<std::string, std::string, std::less<>>& values) {
  std::string out;
  out.reserve(tpl.size() + 32);
  std::size_t pos = 0;
  while (pos < tpl.size()) {
    const std::size_t brace = tpl.find('{', pos);
    if (brace == std::string_view::npos) {
      out.append(tpl.substr(pos));
      break;
    }
    out.append(tpl.substr(pos, brace - pos));
    const auto placeholder = placeholder_at(tpl, brace);
    if (!placeholder) {
      out.push_back('{');
      pos = brace + 1;
      continue;
    }
    if (const auto it = values.find(placeholder->name); it != values.end()) {
      out.append(it->second);
    } else {
      out.append(tpl.substr(brace, placeholder->end - brace));
    }
    pos = placeholder->end;
  }
  return out;
}

std::vector<std::string> template_placeholders(std::string_view tpl) {
  std::vector<std::string> names;
  std::size_t pos = 0;
  while ((pos = tpl.find('{', pos)) != std::string_view::npos) {
    const auto placeholder = placeholder_at(tpl, pos);
    if (!placeholder) {
      ++pos;
      continue;
    }
    if (std::find(names.begin(), names.end(), placeholder->name) == names.end()) {
      names.emplace_back(placeholder->name);
    }
    pos = placeholder->end;
  }
  return names;
}

} // namespace laporsms::sms
