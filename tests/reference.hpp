// Independent decoding of the library's storage formats into double, for references:
// written from the IEEE layouts with ldexp, sharing no code with the kernels.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "mixup/mixup.h"

namespace mixup::test {

inline double decode_f16(std::uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  double v;
  if (exp == 0) v = std::ldexp(mant, -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

inline double decode_bf16(std::uint16_t h) {
  const std::uint32_t u = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Element i of raw storage `p` of the given dtype, as a double.
inline double decode(const void* p, mixup_dtype_t t, std::size_t i) {
  switch (t) {
    case MIXUP_DTYPE_F32: return static_cast<const float*>(p)[i];
    case MIXUP_DTYPE_F16: return decode_f16(static_cast<const std::uint16_t*>(p)[i]);
    case MIXUP_DTYPE_BF16: return decode_bf16(static_cast<const std::uint16_t*>(p)[i]);
    case MIXUP_DTYPE_U8: return static_cast<const std::uint8_t*>(p)[i];
  }
  return NAN;
}

// Relative spacing of the output format (one ulp at 1.0), for tolerances.
inline double epsilon_of(mixup_dtype_t t) {
  switch (t) {
    case MIXUP_DTYPE_F32: return std::ldexp(1.0, -23);
    case MIXUP_DTYPE_F16: return std::ldexp(1.0, -10);
    case MIXUP_DTYPE_BF16: return std::ldexp(1.0, -7);
    default: return 1.0;
  }
}

// Spacing of the output format's subnormals: the absolute floor of its rounding error.
inline double subnormal_spacing(mixup_dtype_t t) {
  return t == MIXUP_DTYPE_F16    ? std::ldexp(1.0, -24)
         : t == MIXUP_DTYPE_BF16 ? std::ldexp(1.0, -133)
                                 : std::ldexp(1.0, -149);
}

inline std::size_t size_of(mixup_dtype_t t) { return t == MIXUP_DTYPE_F32 ? 4 : t == MIXUP_DTYPE_U8 ? 1 : 2; }

}  // namespace mixup::test
