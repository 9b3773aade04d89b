// Points fd 2 at a temporary file for the life of the object, so that a test
// can read what was logged.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace test_util {

class StderrCapture {
public:
  StderrCapture() : m_file(std::tmpfile()), m_saved(::dup(2)) {
    std::fflush(stderr);
    if (m_file != nullptr && m_saved >= 0) {
      ::dup2(::fileno(m_file), 2);
    }
  }
  ~StderrCapture() {
    restore();
    if (m_file != nullptr) {
      std::fclose(m_file);
    }
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string text() {
    restore();
    std::string out;
    if (m_file == nullptr) {
      return out;
    }
    std::rewind(m_file);
    std::array<char, 4096> chunk{};
    std::size_t n = 0;
    while ((n = std::fread(chunk.data(), 1, chunk.size(), m_file)) > 0) {
      out.append(chunk.data(), n);
    }
    return out;
  }

private:
  void restore() {
    if (m_saved >= 0) {
      std::fflush(stderr);
      ::dup2(m_saved, 2);
      ::close(m_saved);
      m_saved = -1;
    }
  }

  std::FILE* m_file;
  int m_saved;
};

} // namespace test_util
