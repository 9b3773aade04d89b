// Phone numbers: the international form we store and send upstream
// ("628123456789", no "+"), and the masked form for logs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace laporsms::sms {

// SMPP 3.4 §5.2.5 type of number, as the SMSC says it of a sender.
namespace ton {
inline constexpr std::uint8_t unknown = 0;
inline constexpr std::uint8_t international = 1;
inline constexpr std::uint8_t national = 2;
inline constexpr std::uint8_t network_specific = 3;
inline constexpr std::uint8_t subscriber = 4;
inline constexpr std::uint8_t alphanumeric = 5;
inline constexpr std::uint8_t abbreviated = 6;
} // namespace ton

// "08123456789" -> "628123456789", "+62 812-3456-789" -> "628123456789",
// "628123456789" stays. Blanks and dashes are stripped. Short codes and
// alphanumeric senders (see is_short_or_alphanumeric), and numbers that start
// with "00", are returned trimmed of surrounding blanks but otherwise as they
// are.
std::string normalize_msisdn(std::string_view raw);

// The same, honouring the SMSC's type of number: international digits are
// taken as they are; national ones ("8123456789", with or without the trunk
// 0) get 62 in front; network-specific, subscriber, alphanumeric and
// abbreviated addresses are kept as they came (no international form can be
// made of them). Unknown: as normalize_msisdn(raw).
std::string normalize_msisdn(std::string_view raw, std::uint8_t type_of_number);

// Whether `raw`, ignoring blanks and dashes, has at most 6 digits or any
// character other than digits and a leading '+': senders we never
// auto-reply to. An empty `raw` counts as short.
bool is_short_or_alphanumeric(std::string_view raw);

// The same, where the SMSC's type of number can also say so: alphanumeric,
// network-specific (short codes), subscriber and abbreviated senders are
// never auto-replied to, whatever their characters.
bool is_short_or_alphanumeric(std::string_view raw, std::uint8_t type_of_number);

// For logs: the first 4 and last 3 characters kept, each one between them
// replaced by '*' ("628123456789" -> "6281*****789"). Up to 4 characters
// (short codes) are shown as they are; 5 to 7 keep only the first and last.
std::string mask_msisdn(std::string_view msisdn);

} // namespace laporsms::sms
