#include <laporsms/sms/ref.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

using namespace laporsms::sms;

namespace {

constexpr std::uint64_t k_31_4 = 31ull * 31 * 31 * 31;
constexpr std::uint64_t k_31_5 = k_31_4 * 31;
constexpr std::uint64_t k_31_8 = k_31_4 * k_31_4;

// A deployment's key, as a database would hold it.
const RefKey k_key{{0x0123456789ABCDEF, 0x2468ACE013579BDF, 0xF0E1D2C3B4A59687, 0x1122334455667788},
                   k_ref_min_symbols};

bool only_alphabet(std::string_view symbols) {
  return symbols.find_first_not_of(k_ref_alphabet) == std::string_view::npos;
}

} // namespace

TEST_SUITE("sms::ref") {

  TEST_CASE("the alphabet has 31 distinct unconfusable symbols") {
    CHECK(k_ref_alphabet.size() == 31);
    const std::unordered_set<char> distinct(k_ref_alphabet.begin(), k_ref_alphabet.end());
    CHECK(distinct.size() == 31);
    for (const char c : std::string_view("01ILO")) {
      CHECK(k_ref_alphabet.find(c) == std::string_view::npos);
    }
  }

  TEST_CASE("the width grows with the id") {
    CHECK(make_ref("MTR", 1, k_key).size() == 3 + 4);
    CHECK(make_ref("MTR", k_31_4 - 1, k_key).size() == 3 + 4);
    CHECK(make_ref("MTR", k_31_4, k_key).size() == 3 + 5);
    CHECK(make_ref("MTR", k_31_5 - 1, k_key).size() == 3 + 5);
    CHECK(make_ref("MTR", k_31_5, k_key).size() == 3 + 6);
    CHECK(make_ref("MTR", k_31_8 - 1, k_key).size() == 3 + 8);
    CHECK_THROWS_AS(make_ref("MTR", k_31_8, k_key), std::out_of_range);
    CHECK_THROWS_AS(make_ref("MTR", UINT64_MAX, k_key), std::out_of_range);
  }

  TEST_CASE("refs are the prefix and alphabet symbols only, and stable") {
    for (const std::uint64_t id :
         std::vector<std::uint64_t>{1, 2, 1000, k_31_4 + 7, k_31_5 * 31 + 3, k_31_8 - 1}) {
      const std::string ref = make_ref("MTR", id, k_key);
      CAPTURE(ref);
      CHECK(ref.starts_with("MTR"));
      CHECK(only_alphabet(std::string_view(ref).substr(3)));
      CHECK(make_ref("MTR", id, k_key) == ref);
    }
    CHECK(make_ref("mtr", 42, k_key) == make_ref("MTR", 42, k_key));
    CHECK(make_ref("JKT", 42, k_key).substr(3) == make_ref("MTR", 42, k_key).substr(3));
  }

  TEST_CASE("the first 200,000 ids give distinct refs") {
    std::unordered_set<std::string> seen;
    seen.reserve(200'000);
    bool all_alphabet = true;
    for (std::uint64_t id = 1; id <= 200'000; ++id) {
      const std::string ref = make_ref("MTR", id, k_key);
      all_alphabet = all_alphabet && ref.size() == 7 && only_alphabet(ref.substr(3));
      seen.insert(ref);
    }
    CHECK(all_alphabet);
    CHECK(seen.size() == 200'000);
  }

  TEST_CASE("every 4-symbol ref is used exactly once") {
    // The permutation of one whole width: a bijection onto all 31^4 codes.
    std::vector<bool> used(k_31_4, false);
    std::size_t duplicates = 0;
    for (std::uint64_t id = 0; id < k_31_4; ++id) {
      const std::string ref = make_ref("", id, k_key);
      std::size_t value = 0;
      for (const char c : ref) {
        value = value * 31 + k_ref_alphabet.find(c);
      }
      duplicates += used[value] ? 1 : 0;
      used[value] = true;
    }
    CHECK(duplicates == 0);
  }

  TEST_CASE("ids around the 4 to 5 symbol boundary stay distinct") {
    std::unordered_set<std::string> seen;
    for (std::uint64_t id = k_31_4 - 50'000; id < k_31_4 + 50'000; ++id) {
      seen.insert(make_ref("MTR", id, k_key));
    }
    CHECK(seen.size() == 100'000);
  }

  TEST_CASE("successive ids do not look sequential") {
    std::size_t sharing_prefix = 0;
    std::size_t sharing_suffix = 0;
    for (std::uint64_t id = 1; id <= 1000; ++id) {
      const std::string a = make_ref("MTR", id, k_key);
      const std::string b = make_ref("MTR", id + 1, k_key);
      sharing_prefix += a.substr(0, 6) == b.substr(0, 6) ? 1 : 0;
      sharing_suffix += a.substr(4) == b.substr(4) ? 1 : 0;
    }
    // A counter would share the first three symbols 30 times in 31.
    CHECK(sharing_prefix < 10);
    CHECK(sharing_suffix < 10);
  }

  TEST_CASE("canonical_ref accepts any letter case and surrounding blanks") {
    const std::string ref = make_ref("MTR", 12345, k_key);
    std::string lower = ref;
    for (char& c : lower) {
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    CHECK(canonical_ref("MTR", ref) == ref);
    CHECK(canonical_ref("MTR", lower) == ref);
    CHECK(canonical_ref("mtr", " " + lower + "\n") == ref);
    CHECK(canonical_ref("MTR", "mtr4K7q") == std::optional<std::string>("MTR4K7Q"));
    CHECK(canonical_ref("MTR", "MTR2345") == std::optional<std::string>("MTR2345"));
    CHECK(canonical_ref("MTR", "MTR23456789") == std::optional<std::string>("MTR23456789"));
  }

  TEST_CASE("canonical_ref refuses what is not a ref with this prefix") {
    CHECK_FALSE(canonical_ref("MTR", "1916449"));
    CHECK_FALSE(canonical_ref("MTR", "JKT4K7Q"));
    CHECK_FALSE(canonical_ref("MTR", "MTR"));
    CHECK_FALSE(canonical_ref("MTR", "MTR4K7"));       // 3 symbols
    CHECK_FALSE(canonical_ref("MTR", "MTR234567892")); // 9 symbols
    CHECK_FALSE(canonical_ref("MTR", "MTR4K7O"));      // O is not in the alphabet
    CHECK_FALSE(canonical_ref("MTR", "MTR4K71"));      // nor 1
    CHECK_FALSE(canonical_ref("MTR", "MTR4K7IL"));
    CHECK_FALSE(canonical_ref("MTR", "MTR 4K7Q"));
    CHECK_FALSE(canonical_ref("MTR", "#MTR4K7Q"));
    CHECK_FALSE(canonical_ref("MTR", ""));
    CHECK_FALSE(canonical_ref("MTR", std::string("MTR4K7\0", 7)));
  }

  TEST_CASE("every ref make_ref gives is canonical") {
    for (const std::uint64_t id :
         std::vector<std::uint64_t>{1, 77, k_31_4, k_31_5 + 1, k_31_8 - 1}) {
      const std::string ref = make_ref("MTR", id, k_key);
      CHECK(canonical_ref("MTR", ref) == ref);
    }
  }

  TEST_CASE("without a secret the refs are those issued before deployments had one") {
    // Made by the unkeyed permutation of releases before schema version 6.
    const RefKey unkeyed;
    CHECK(make_ref("MTR", 1, unkeyed) == "MTR4WQ2");
    CHECK(make_ref("MTR", 2, unkeyed) == "MTRS3WT");
    CHECK(make_ref("MTR", 1000, unkeyed) == "MTRQS8S");
    CHECK(make_ref("MTR", k_31_4, unkeyed) == "MTR43RUZ");
    CHECK(make_ref("MTR", 887503680, unkeyed) == "MTRYD3AR5");
  }

  TEST_CASE("another secret gives other refs, so one deployment's refs say nothing of another's") {
    RefKey other = k_key;
    other.secret[3] ^= 1;
    int same = 0;
    for (std::uint64_t id = 1; id <= 1000; ++id) {
      same += make_ref("MTR", id, k_key) == make_ref("MTR", id, other) ? 1 : 0;
    }
    // A random pair of 4-symbol refs is equal once in 923,521.
    CHECK(same <= 1);
    CHECK(make_ref("MTR", 1, k_key) != make_ref("MTR", 1, RefKey{}));
  }

  TEST_CASE("min_symbols widens refs and keeps them distinct") {
    RefKey wide = k_key;
    wide.min_symbols = 5;
    std::unordered_set<std::string> seen;
    for (std::uint64_t id = 1; id <= 50'000; ++id) {
      const auto ref = make_ref("MTR", id, wide);
      REQUIRE(ref.size() == 3 + 5);
      seen.insert(ref);
    }
    for (std::uint64_t id = k_31_4; id < k_31_4 + 50'000; ++id) {
      seen.insert(make_ref("MTR", id, wide));
    }
    CHECK(seen.size() == 100'000);
    CHECK(make_ref("MTR", k_31_5, wide).size() == 3 + 6);
  }

  TEST_CASE("a ref names its id: the candidates hold it, for any width and prefix") {
    const auto holds = [](const std::vector<std::uint64_t>& ids, std::uint64_t id) {
      return std::find(ids.begin(), ids.end(), id) != ids.end();
    };
    for (const auto& key : {k_key, RefKey{}}) {
      for (const std::uint64_t first : {std::uint64_t{1}, k_31_4 - 500, k_31_5 + 7, k_31_8 - 500}) {
        for (std::uint64_t id = first; id < first + 500; ++id) {
          const auto ref = make_ref("MTR", id, key);
          CAPTURE(ref);
          const auto ids = ref_id_candidates(ref, key);
          REQUIRE(holds(ids, id));
          CHECK(ids.size() <= 5);
          CHECK(holds(ref_id_candidates("kota" + ref.substr(3), key), id)); // another prefix
          CHECK(holds(ref_id_candidates(ref.substr(3), key), id));          // none
        }
      }
    }
  }

  TEST_CASE("refs issued before the deployment had a secret are found under the unkeyed rule") {
    RefKey upgraded = k_key;
    upgraded.min_symbols = 5; // the old refs had 4 symbols
    for (std::uint64_t id = 1; id < 2000; ++id) {
      const auto old_ref = make_ref("MTR", id, RefKey{});
      REQUIRE(old_ref.size() == 3 + 4);
      const auto ids = ref_id_candidates(old_ref, upgraded);
      CHECK(std::find(ids.begin(), ids.end(), id) != ids.end());
      const auto new_ref = make_ref("MTR", id + k_31_4, upgraded);
      const auto new_ids = ref_id_candidates(new_ref, upgraded);
      CHECK(std::find(new_ids.begin(), new_ids.end(), id + k_31_4) != new_ids.end());
    }
  }

  TEST_CASE("what ends in no ref symbol names no id") {
    CHECK(ref_id_candidates("", k_key).empty());
    CHECK(ref_id_candidates("MTR", k_key).empty());      // 3 symbols: too few
    CHECK(ref_id_candidates("MTR4K7Q0", k_key).empty()); // 0 is not a symbol
    CHECK(ref_id_candidates("mtr4k7q", k_key) == ref_id_candidates("MTR4K7Q", k_key));
  }

} // TEST_SUITE
