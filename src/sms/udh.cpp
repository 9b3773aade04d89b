#include <laporsms/sms/udh.hpp>

namespace laporsms::sms {

tl::expected<UserData, std::string> split_user_data(std::span<const std::uint8_t> short_message) {
  if (short_message.empty()) {
    return tl::make_unexpected(std::string("empty user data"));
  }
  const std::size_t udhl = short_message[0];
  if (1 + udhl > short_message.size()) {
    return tl::make_unexpected(std::string("UDHL runs past the end"));
  }
  const auto header = short_message.subspan(1, udhl);
  UserData out;
  out.udh_length = 1 + udhl;
  out.body = short_message.subspan(1 + udhl);

  std::size_t pos = 0;
  while (pos < header.size()) {
    if (header.size() - pos < 2) {
      return tl::make_unexpected(std::string("IE header runs past the UDH"));
    }
    const std::uint8_t iei = header[pos];
    const std::size_t iel = header[pos + 1];
    pos += 2;
    if (iel > header.size() - pos) {
      return tl::make_unexpected(std::string("IE runs past the UDH"));
    }
    const auto data = header.subspan(pos, iel);
    pos += iel;
    if (iei == k_iei_concat_8bit) {
      if (iel != 3) {
        return tl::make_unexpected(std::string("8-bit concatenation IE is not 3 octets"));
      }
      out.concat = ConcatInfo{data[0], data[1], data[2]};
    } else if (iei == k_iei_concat_16bit) {
      if (iel != 4) {
        return tl::make_unexpected(std::string("16-bit concatenation IE is not 4 octets"));
      }
      out.concat =
          ConcatInfo{static_cast<std::uint16_t>((data[0] << 8) | data[1]), data[2], data[3]};
    }
  }
  if (out.concat) {
    if (out.concat->total == 0) {
      return tl::make_unexpected(std::string("concatenation total is 0"));
    }
    if (out.concat->sequence == 0 || out.concat->sequence > out.concat->total) {
      return tl::make_unexpected(std::string("concatenation sequence out of range"));
    }
  }
  return out;
}

} // namespace laporsms::sms
