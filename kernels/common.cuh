// Shared pieces of every kernel family: the host/device qualifier, the float formats the
// library reads and writes, and the handful of math functions whose results must be the same
// bits on the CPU and the GPU.
//
// Why our own log/exp: CUDA's logf/expf and glibc's differ by an ulp now and then, and a
// Marsaglia–Tsang acceptance test that lands within an ulp of its threshold then takes a
// different branch on each side — a whole different λ for that sample. The functions below
// use only IEEE basic operations (+, −, ×, ÷, which are correctly rounded on both sides) and
// integer bit manipulation. The library is compiled with contraction off (nvcc -fmad=false,
// g++ -ffp-contract=off), so `a*b + c` is two roundings everywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define MIXUP_HD __host__ __device__ __forceinline__
#define MIXUP_HD_INLINE __host__ __device__ __forceinline__
#else
#define MIXUP_HD inline
// Always inlined on the host too: for cores that the CPU code calls with 64-byte vector types
// from ISA clones (target_clones), where an out-of-line copy, compiled for the baseline ISA,
// would take its arguments under another calling convention (GCC's -Wpsabi note) and read
// garbage — as happened in an unoptimised (ASan) build.
#define MIXUP_HD_INLINE inline __attribute__((always_inline))
#endif

namespace mixup::core {

MIXUP_HD std::uint64_t bits_of(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint64_t>(__double_as_longlong(x));
#else
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

MIXUP_HD double double_of(std::uint64_t u) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(u));
#else
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

MIXUP_HD std::uint32_t bits_of(float x) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint32_t>(__float_as_uint(x));
#else
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

MIXUP_HD float float_of(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

// ln 2 split so that k·LN2_HI is exact for |k| < 2^11.
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;

// Natural log of a positive finite double, within about one ulp; log(0) = -inf, and
// NaN or negative input gives NaN. Reduction: x = m·2^e with m in [√½, √2), then
// log m = 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.1716, summed as an odd series.
MIXUP_HD double log_d(double x) {
  if (x == 0.0) return -HUGE_VAL;
  if (!(x > 0.0)) return (x - x) / (x - x);  // negative or NaN → NaN
  if (x > 1.7976931348623157e308) return x;  // +inf
  int e = 0;
  std::uint64_t u = bits_of(x);
  if ((u >> 52) == 0) {           // subnormal: scale into the normal range first
    x = x * 18014398509481984.0;  // 2^54
    u = bits_of(x);
    e = -54;
  }
  e += static_cast<int>(u >> 52) - 1023;
  double m = double_of((u & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull);
  if (m > 1.4142135623730951) {
    m = m * 0.5;
    e += 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double t = s * s;
  // 2·(s + s³/3 + … + s^25/25): the next term is below 2^-60 relative. The series in t = s²,
  // p = 1/3 + t/5 + … + t^11/25, by Estrin's scheme: 8 dependent steps instead of Horner's
  // 24 — this chain is most of a λ draw's latency on the GPU (FP64, no contraction).
  const double t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
  const double q0 = 1.0 / 3.0 + t * (1.0 / 5.0), q1 = 1.0 / 7.0 + t * (1.0 / 9.0);
  const double q2 = 1.0 / 11.0 + t * (1.0 / 13.0), q3 = 1.0 / 15.0 + t * (1.0 / 17.0);
  const double q4 = 1.0 / 19.0 + t * (1.0 / 21.0), q5 = 1.0 / 23.0 + t * (1.0 / 25.0);
  const double p = ((q0 + t2 * q1) + t4 * (q2 + t2 * q3)) + t8 * (q4 + t2 * q5);
  const double log_m = 2.0 * s + 2.0 * s * (t * p);
  const double k = static_cast<double>(e);
  return k * kLn2Hi + (log_m + k * kLn2Lo);
}

// e^x for x ≤ 0 (all the library needs: sigmoid of −|d|), within about one ulp; results
// below 2^-1000 are flushed to 0, far under float resolution. NaN propagates.
MIXUP_HD double exp_nonpos_d(double x) {
  if (x != x) return x;
  if (x < -693.0) return 0.0;
  if (x > 0.0) x = 0.0;  // callers pass ≤ 0; clamp keeps the contract for −0 and rounding
  const double kf = static_cast<double>(static_cast<long long>(x * 1.4426950408889634 - 0.5));
  const double r = (x - kf * kLn2Hi) - kf * kLn2Lo;  // |r| ≲ ln2/2 (+ rounding)
  // Taylor series to r^14/14!: remainder below 2^-56 for |r| ≤ 0.36. Estrin's scheme for
  // e^r − 1 = r + r²·Q(r), Q = 1/2! + r/3! + … + r^12/14!, then 1 + (e^r − 1) rounded once:
  // 10 dependent steps instead of Horner's 30, and one rounding fewer near the top.
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double b1 = 1.0 / 2.0 + r * (1.0 / 6.0), b2 = 1.0 / 24.0 + r * (1.0 / 120.0);
  const double b3 = 1.0 / 720.0 + r * (1.0 / 5040.0), b4 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
  const double b5 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
  const double b6 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
  const double b7 = 1.0 / 87178291200.0;
  const double q = ((b1 + r2 * b2) + r4 * (b3 + r2 * b4)) + r8 * ((b5 + r2 * b6) + r4 * b7);
  const double p = 1.0 + (r + r2 * q);
  const int k = static_cast<int>(kf);  // in [-1000, 0]
  return p * double_of(static_cast<std::uint64_t>(1023 + k) << 52);
}

// float → half / bfloat16 with round-to-nearest-even, and back; integer-only, so the CPU and
// the GPU agree bit for bit. NaN stays NaN (quiet), overflow goes to ±inf.
MIXUP_HD std::uint16_t f32_to_bf16(float f) {
  // written as one select, so a host compiler can vectorise loops over it
  const std::uint32_t u = bits_of(f);
  const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const std::uint32_t quiet_nan = (u >> 16) | 0x40u;
  return static_cast<std::uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? quiet_nan : rounded);
}

MIXUP_HD float bf16_to_f32(std::uint16_t h) { return float_of(static_cast<std::uint32_t>(h) << 16); }

MIXUP_HD std::uint16_t f32_to_f16(float f) {
  const std::uint32_t u = bits_of(f);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u);   // NaN
  if (a >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // rounds to inf
  if (a < 0x38800000u) {  // subnormal half (or zero): shift the significand in, round to even
    if (a < 0x33000000u) return static_cast<std::uint16_t>(sign);  // below half of the least
    const std::uint32_t exp = a >> 23;
    const std::uint32_t mant = (a & 0x7FFFFFu) | 0x800000u;
    const std::uint32_t shift = 126u - exp;  // 14..24
    const std::uint32_t q = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    const std::uint32_t r = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
    return static_cast<std::uint16_t>(sign | r);
  }
  const std::uint32_t biased = a - 0x38000000u;  // rebias exponent 127 → 15
  const std::uint32_t rounding = 0xFFFu + ((biased >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | ((biased + rounding) >> 13));
}

MIXUP_HD float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  const std::uint32_t mant = h & 0x3FFu;
  if (exp == 0) {
    // subnormal or zero: exact in float as mant · 2^-24
    const float v = static_cast<float>(mant) * 5.9604644775390625e-08f;
    return sign ? -v : v;
  }
  if (exp == 31) return float_of(sign | 0x7F800000u | (mant << 13));
  return float_of(sign | ((exp + 112u) << 23) | (mant << 13));
}

}  // namespace mixup::core
