// Phone numbers: the international form we store and send upstream
// ("628123456789", no "+"), and the masked form for logs.
#pragma once

#include <string>
#include <string_view>

namespace laporsms::sms {

// "08123456789" -> "628123456789", "+62 812-3456-789" -> "628123456789",
// "628123456789" stays. Blanks and dashes are stripped. Short codes and
// alphanumeric senders (see is_short_or_alphanumeric), and numbers that start
// with "00", are returned trimmed of surrounding blanks but otherwise as they
// are.
std::string normalize_msisdn(std::string_view raw);

// Whether `raw`, ignoring blanks and dashes, has at most 6 digits or any
// character other than digits and a leading '+': senders we never
// auto-reply to. An empty `raw` counts as short.
bool is_short_or_alphanumeric(std::string_view raw);

// For logs: the first 4 and last 3 characters kept, each one between them
// replaced by '*' ("628123456789" -> "6281*****789"). Up to 4 characters
// (short codes) are shown as they are; 5 to 7 keep only the first and last.
std::string mask_msisdn(std::string_view msisdn);

} // namespace laporsms::sms
