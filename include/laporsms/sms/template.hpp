// Reply templates ([replies] in the configuration) with {placeholders}.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::sms {

// Replaces each {name} in `tpl` (name: ASCII letters, digits, '_') by
// values[name]. A placeholder not in `values`, and any other brace, is left
// as written. Values are inserted as they are and never expanded again, so
// text from outside (a status note) cannot pull in other values.
std::string render_template(std::string_view tpl,
                            const std::map<std::string, std::string, std::less<>>& values);

// The names of the placeholders in `tpl`, each once, in order of first use
// (for config checks).
std::vector<std::string> template_placeholders(std::string_view tpl);

} // namespace laporsms::sms
