// The few transcendental functions the trainer's numbers depend on (weight init, the one-cycle
// schedule, AdamW's bias correction), built from IEEE basic operations (+, −, ×, ÷, sqrt, all
// correctly rounded) and exact bit manipulation (frexp/ldexp). Why not libm: glibc picks its own
// FMA or SSE2 variant of log, pow and cos by CPU, so their last bit can depend on the machine;
// these cannot (the trainer is compiled with contraction off). Accuracy about an ulp of double,
// far below what the float results keep.
#pragma once

#include <cmath>
#include <cstdint>

namespace mixup::nn::fixed_math {

// ln x for finite x > 0: x = m·2^e with m in [√½, √2), ln m = 2·atanh(s), s = (m − 1)/(m + 1),
// |s| ≤ 0.172, so 16 terms of the odd series leave a remainder below 2^-80.
inline double log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // m in [½, 1)
  if (m < 0.70710678118654752) m = m * 2.0, e -= 1;
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double term = s, sum = 0.0;
  for (int k = 1; k <= 31; k += 2) sum += term / k, term *= s2;
  return 2.0 * sum + static_cast<double>(e) * 0.69314718055994531;
}

// cos(π·t) for t in [0, 1]: folded to [0, ½] by cos(π − a) = −cos a, then the Taylor series
// (|a| ≤ π/2: 14 terms leave a remainder below 2^-60).
inline double cos_pi(double t) {
  const bool flip = t > 0.5;
  const double a = 3.14159265358979323846 * (flip ? 1.0 - t : t), a2 = a * a;
  double term = 1.0, sum = 0.0;
  for (int k = 0; k < 14; ++k) sum += term, term *= -a2 / static_cast<double>((2 * k + 1) * (2 * k + 2));
  return flip ? -sum : sum;
}

// b^n for n ≥ 0 by repeated squaring: only multiplications, in a fixed order.
inline double pow_int(double b, std::int64_t n) {
  double r = 1.0;
  for (; n > 0; n >>= 1, b *= b)
    if (n & 1) r *= b;
  return r;
}

}  // namespace mixup::nn::fixed_math
