// Typed errors inside the library; the C ABI layer catches them and maps them to a status
// and the thread-local message. Nothing in the library exits or aborts.
#pragma once

#include <charconv>
#include <cstring>
#include <sstream>
#include <type_traits>
#include <stdexcept>
#include <string>

#include <cuda_runtime_api.h>

#include "mixup/mixup.h"

namespace mixup::detail {

class Error : public std::runtime_error {
 public:
  Error(mixup_status_t status, const std::string& what) : std::runtime_error(what), status_(status) {}
  mixup_status_t status() const noexcept { return status_; }

 private:
  mixup_status_t status_;
};

[[noreturn]] void throw_cuda(cudaError_t e, const char* expr, const char* file, int line);

void set_last_error(const std::string& message);

// The int a C caller stored in a public enum field. Any int can arrive there, and reading it
// through the enum type is undefined for values outside the enumerators' range (UBSan's enum
// check): validation reads the bits as an int instead.
template <class E>
int raw(const E& e) {
  static_assert(std::is_enum_v<E> && sizeof(E) == sizeof(int), "a C enum field");
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

// One part of a message. Floating-point values are written with the fewest digits that read
// back as the same value (std::to_chars), so a message shows the value given: 1.0000001, not
// the "1" of a stream's default six digits, and 0.4f still as 0.4.
template <class T>
void put(std::ostringstream& s, const T& part) {
  if constexpr (std::is_floating_point_v<T>) {
    char buf[64];
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, part);
    s.write(buf, r.ptr - buf);
  } else {
    s << part;
  }
}

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream s;
  (put(s, parts), ...);
  return s.str();
}

}  // namespace mixup::detail

// Precondition: throws INVALID_VALUE (or the given status) with the message parts joined.
#define MIXUP_EXPECTS(cond, ...)                                                                   \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      throw ::mixup::detail::Error(MIXUP_STATUS_INVALID_VALUE, ::mixup::detail::cat(__VA_ARGS__)); \
  } while (0)

namespace mixup::detail {

// Config fields the mixup handle and the loss handle share, validated alike.
inline void expect_backend(const mixup_backend_t& b) {
  MIXUP_EXPECTS(raw(b) == MIXUP_BACKEND_CPU || raw(b) == MIXUP_BACKEND_CUDA, "config.backend = ", raw(b),
                " is not a backend");
}
inline void expect_checks_mode(const mixup_checks_t& c) {
  MIXUP_EXPECTS(raw(c) == MIXUP_CHECKS_SYNC || raw(c) == MIXUP_CHECKS_DEFERRED, "config.checks = ", raw(c),
                " is not a check mode");
}

}  // namespace mixup::detail

#define MIXUP_CUDA_CHECK(expr)                                                                     \
  do {                                                                                             \
    const cudaError_t mixup_e_ = (expr);                                                           \
    if (mixup_e_ != cudaSuccess) ::mixup::detail::throw_cuda(mixup_e_, #expr, __FILE__, __LINE__); \
  } while (0)
