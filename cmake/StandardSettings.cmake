# Warnings and sanitizers for our own targets only; third-party code is not
# built here, so these never leak into it.
add_library(laporsms_warnings INTERFACE)
target_compile_options(laporsms_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
# g++ 12 misreads Asio's coroutine frame allocator (operator new/delete
# pairs in awaitable_frame_base) as mismatched; a known false positive.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(laporsms_warnings INTERFACE -Wno-mismatched-new-delete)
endif()
if(LAPORSMS_WERROR)
  target_compile_options(laporsms_warnings INTERFACE -Werror)
endif()

if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # Asio 1.18 only enables co_await under clang when <experimental/coroutine>
  # exists, which libstdc++ lacks; clang 14 supports C++20 coroutines anyway.
  add_compile_definitions(BOOST_ASIO_HAS_CO_AWAIT=1)
endif()

# Debian's hardening flags (dpkg-buildflags' hardening=+all) for what is
# installed; _FORTIFY_SOURCE needs the optimiser, and the sanitizers bring
# their own checks (fortified calls would bypass ASan's). PIE and full RELRO
# are Debian's g++ defaults and Packaging.cmake's.
if(NOT LAPORSMS_SANITIZE AND NOT LAPORSMS_TSAN AND NOT LAPORSMS_FUZZ
   AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  add_compile_definitions(_FORTIFY_SOURCE=2)
  add_compile_options(-fstack-protector-strong -fstack-clash-protection)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    add_compile_options(-fcf-protection)
  endif()
endif()

if(LAPORSMS_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14 cannot emit -fsanitize=function checks for some coroutine code
    # ("Cannot represent a difference across sections").
    add_compile_options(-fno-sanitize=function)
  endif()
endif()

if(LAPORSMS_TSAN)
  if(LAPORSMS_SANITIZE)
    message(FATAL_ERROR "LAPORSMS_TSAN and LAPORSMS_SANITIZE cannot be combined")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  # Asio's fenced blocks use std::atomic_thread_fence, which TSan cannot
  # model (g++ refuses it under -Werror); its queues' mutexes order handlers.
  add_compile_definitions(BOOST_ASIO_DISABLE_FENCED_BLOCK)
  add_link_options(-fsanitize=thread)
endif()
