#include <laporsms/sms/msisdn.hpp>

#include <doctest/doctest.h>

using namespace laporsms::sms;

TEST_SUITE("sms::msisdn") {

  TEST_CASE("national, plus and international forms become 62...") {
    CHECK(normalize_msisdn("08123456789") == "628123456789");
    CHECK(normalize_msisdn("+628123456789") == "628123456789");
    CHECK(normalize_msisdn("628123456789") == "628123456789");
    CHECK(normalize_msisdn("081234567890") == "6281234567890");
  }

  TEST_CASE("blanks and dashes are stripped") {
    CHECK(normalize_msisdn(" 0812-3456-789 ") == "628123456789");
    CHECK(normalize_msisdn("+62 812 3456 789") == "628123456789");
    CHECK(normalize_msisdn("\t62-812-3456-789\n") == "628123456789");
  }

  TEST_CASE("short codes and alphanumeric senders are kept as they are, trimmed") {
    CHECK(normalize_msisdn("1708") == "1708");
    CHECK(normalize_msisdn(" 1708 ") == "1708");
    CHECK(normalize_msisdn("081234") == "081234");
    CHECK(normalize_msisdn("TELKOMSEL") == "TELKOMSEL");
    CHECK(normalize_msisdn(" Info-Bank ") == "Info-Bank");
    CHECK(normalize_msisdn("+62abc12345") == "+62abc12345");
    CHECK(normalize_msisdn("") == "");
    CHECK(normalize_msisdn("+") == "+");
  }

  TEST_CASE("the SMSC's type of number decides how digits are read") {
    // National without the trunk 0 is not taken for an international number.
    CHECK(normalize_msisdn("8123456789", ton::national) == "628123456789");
    CHECK(normalize_msisdn("08123456789", ton::national) == "628123456789");
    CHECK(normalize_msisdn("8123456789", ton::unknown) == "8123456789");
    CHECK(normalize_msisdn("628123456789", ton::international) == "628123456789");
    CHECK(normalize_msisdn("+628123456789", ton::international) == "628123456789");
    CHECK(normalize_msisdn("12025550123", ton::international) == "12025550123");
    CHECK(normalize_msisdn("08123456789", ton::unknown) == "628123456789");
    CHECK(normalize_msisdn("08123456789", ton::international) == "628123456789");
    for (const std::uint8_t kept :
         {ton::network_specific, ton::subscriber, ton::alphanumeric, ton::abbreviated}) {
      CAPTURE(int{kept});
      CHECK(normalize_msisdn(" 81234567890 ", kept) == "81234567890");
      CHECK(is_short_or_alphanumeric("81234567890", kept));
    }
    CHECK(normalize_msisdn("1708", ton::national) == "1708");
    CHECK(is_short_or_alphanumeric("1708", ton::national));
    CHECK_FALSE(is_short_or_alphanumeric("8123456789", ton::national));
    CHECK_FALSE(is_short_or_alphanumeric("628123456789", ton::international));
  }

  TEST_CASE("numbers with a 00 prefix are not guessed at") {
    CHECK(normalize_msisdn("00628123456789") == "00628123456789");
  }

  TEST_CASE("other numbers keep their digits") {
    CHECK(normalize_msisdn("12025550123") == "12025550123");
    CHECK(normalize_msisdn("+12025550123") == "12025550123");
    CHECK(normalize_msisdn("1234567") == "1234567");
  }

  TEST_CASE("short or alphanumeric senders") {
    CHECK(is_short_or_alphanumeric("1708"));
    CHECK(is_short_or_alphanumeric("123456"));
    CHECK(is_short_or_alphanumeric("+123456"));
    CHECK(is_short_or_alphanumeric(""));
    CHECK(is_short_or_alphanumeric("TELKOMSEL"));
    CHECK(is_short_or_alphanumeric("BANK123456789"));
    CHECK(is_short_or_alphanumeric("62812345678+"));
    CHECK(is_short_or_alphanumeric("++628123456789"));
    CHECK_FALSE(is_short_or_alphanumeric("1234567"));
    CHECK_FALSE(is_short_or_alphanumeric("628123456789"));
    CHECK_FALSE(is_short_or_alphanumeric("+628123456789"));
    CHECK_FALSE(is_short_or_alphanumeric("0812-3456-789"));
    CHECK_FALSE(is_short_or_alphanumeric(" 0812 3456 789 "));
  }

  TEST_CASE("masking keeps the first 4 and last 3") {
    CHECK(mask_msisdn("628123456789") == "6281*****789");
    CHECK(mask_msisdn("6281234567890") == "6281******890");
    CHECK(mask_msisdn("12345678") == "1234*678");
    CHECK(mask_msisdn("1234567") == "1*****7");
    CHECK(mask_msisdn("12345") == "1***5");
    CHECK(mask_msisdn("1708") == "1708");
    CHECK(mask_msisdn("") == "");
  }

  TEST_CASE("masking never cuts a UTF-8 character") {
    CHECK(mask_msisdn("ÉÉÉÉÉÉÉÉÉ") == "ÉÉÉÉ**ÉÉÉ");
    CHECK(mask_msisdn("\x80\x80") == "\x80\x80");
    CHECK(mask_msisdn("\x80"
                      "628123456789") == "\x80"
                                         "6281*****789");
  }

} // TEST_SUITE
