// Values the C ABI fuzzer chooses from: the ones at the edges of what each argument accepts
// (zero, negative, huge, NaN, infinities, out-of-range enums), plus raw fuzzer bits.
#pragma once

#include <climits>
#include <cstring>
#include <limits>

#include "fuzz_bytes.hpp"

namespace mixup::fuzz {

inline float pick_float(FuzzBytes& in, float usual) {
  const float inf = std::numeric_limits<float>::infinity();
  if (in.one_in(8)) return in.take<float>();
  return in.pick<float>({usual, usual, usual, 0.0f, 1.0f, 0.5f, -0.0f, -1.0f,
                         std::numeric_limits<float>::quiet_NaN(), inf, -inf, 1e-30f,
                         std::numeric_limits<float>::denorm_min(), 1e30f, 0.99999994f, 1.0000001f});
}

// A dimension: usually small, sometimes zero, negative or large enough to overflow products.
inline std::int64_t pick_dim(FuzzBytes& in) {
  return in.pick<std::int64_t>({1, 2, 3, 1, 2, 5, 7, 8, 4, 16, 0, -1, INT64_MAX, INT64_MIN,
                                std::int64_t(1) << 31, std::int64_t(1) << 32, std::int64_t(1) << 62,
                                3037000500});
}

inline std::int32_t pick_int(FuzzBytes& in, std::initializer_list<std::int32_t> usual) {
  if (in.one_in(16)) return in.take<std::int32_t>();
  return in.pick<std::int32_t>(usual);
}

// Stores an int into a C enum field as a C caller could (any value, no enum-typed load).
template <class E>
void set_enum(E& field, int value) {
  static_assert(sizeof(E) == sizeof(int), "a C enum field");
  std::memcpy(&field, &value, sizeof value);
}
template <class E>
int enum_int(const E& field) {
  int v;
  std::memcpy(&v, &field, sizeof v);
  return v;
}
inline int enum_value(FuzzBytes& in, int valid_count) {
  if (in.one_in(8)) return in.pick<int>({-1, valid_count, valid_count + 1, INT_MIN, INT_MAX});
  return in.u8() % valid_count;
}

}  // namespace mixup::fuzz
