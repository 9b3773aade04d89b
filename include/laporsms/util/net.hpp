// The one header through which laporsms includes Boost.Asio and Beast.
// <utility> must come first: Boost 1.74's awaitable.hpp does not compile
// under g++ 12 without it (asio issue #944).
#pragma once

// clang-format off
#include <utility>
// clang-format on

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace laporsms {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
} // namespace laporsms
