// Reads typed values off the front of a fuzzer input; past its end every value is zero, so
// any input, however short, is a complete test case.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>

namespace mixup::fuzz {

class FuzzBytes {
 public:
  FuzzBytes(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}

  template <class T>
  T take() {
    T v{};
    const std::size_t k = std::min(sizeof(T), n_);
    if (k > 0) std::memcpy(&v, p_, k);
    p_ += k, n_ -= k;
    return v;
  }
  std::uint8_t u8() { return take<std::uint8_t>(); }
  // True about once in n; false for a zero byte, so an all-zero input takes the usual paths.
  bool one_in(unsigned n) { return u8() % n == n - 1; }
  // One of a few values the fuzzer can name by index; the first is what a byte of 0 gives.
  template <class T>
  T pick(std::initializer_list<T> choices) {
    return choices.begin()[u8() % choices.size()];
  }
  void fill(void* dst, std::size_t bytes) {
    const std::size_t k = std::min(bytes, n_);
    if (k > 0) std::memcpy(dst, p_, k);
    std::memset(static_cast<std::uint8_t*>(dst) + k, 0, bytes - k);
    p_ += k, n_ -= k;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

}  // namespace mixup::fuzz
