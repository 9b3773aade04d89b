// A private temp directory per test, removed with everything in it when the
// test ends; shared by the unit tests that need files of their own.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace test_util {

class TempDir {
public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "laporsms-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }

  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path file(std::string_view name) const { return m_path / name; }

  // Writes `content` to the file `name` (replacing it, also a read-only one
  // from an earlier write) and gives it exactly `mode`.
  std::filesystem::path write(std::string_view name, std::string_view content,
                              std::filesystem::perms mode) const {
    const auto path = file(name);
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << content;
      if (!out.good()) {
        throw std::runtime_error("cannot write " + path.string());
      }
    }
    std::filesystem::permissions(path, mode, std::filesystem::perm_options::replace);
    return path;
  }

private:
  std::filesystem::path m_path;
};

} // namespace test_util
