#include "gemm.hpp"

#include <type_traits>

#include "cpu_isa.hpp"

namespace mixup::nn::gemm {
namespace {

#define MIXUP_INLINE __attribute__((always_inline)) inline
// aligned(4): loads and stores need not be 64-byte aligned.
typedef float v16 __attribute__((vector_size(64), aligned(4)));

// f(start, std::integral_constant<int, R>) over [0, total) in blocks of R = 4, then one block
// of the 1–3 left: the register-blocked kernels below need R at compile time.
template <class F>
MIXUP_INLINE void in_blocks_of_4(std::int64_t total, F&& f) {
  std::int64_t i = 0;
  for (; i + 4 <= total; i += 4) f(i, std::integral_constant<int, 4>{});
  switch (total - i) {
    case 3: f(i, std::integral_constant<int, 3>{}); break;
    case 2: f(i, std::integral_constant<int, 2>{}); break;
    case 1: f(i, std::integral_constant<int, 1>{}); break;
    default: break;
  }
}

MIXUP_INLINE v16 load(const float* p) { return *reinterpret_cast<const v16*>(p); }
MIXUP_INLINE void store(float* p, v16 v) { *reinterpret_cast<v16*>(p) = v; }

// R output rows × 16 columns in registers, the depth loop innermost.
template <int R>
MIXUP_INLINE void wx_block(const float* w, const float* bias, const float* x, float* y, std::int64_t o0,
                           std::int64_t depth, std::int64_t j, std::int64_t ld) {
  v16 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = v16{} + bias[o0 + r];
  for (std::int64_t k = 0; k < depth; ++k) {
    const v16 xv = load(x + k * ld + j);
    for (int r = 0; r < R; ++r) acc[r] += w[(o0 + r) * depth + k] * xv;
  }
  for (int r = 0; r < R; ++r) store(y + (o0 + r) * ld + j, acc[r]);
}

// RO × RK dot products over the columns, 16 lanes each; the lanes are added in lane order.
template <int RO, int RK>
MIXUP_INLINE void dyx_block(const float* dy, const float* x, float* g, std::int64_t o0, std::int64_t k0,
                            std::int64_t depth, std::int64_t n, std::int64_t ld) {
  v16 acc[RO][RK];
  for (int a = 0; a < RO; ++a)
    for (int b = 0; b < RK; ++b) acc[a][b] = v16{};
  for (std::int64_t j = 0; j < n; j += 16) {
    v16 dv[RO], xv[RK];
    for (int a = 0; a < RO; ++a) dv[a] = load(dy + (o0 + a) * ld + j);
    for (int b = 0; b < RK; ++b) xv[b] = load(x + (k0 + b) * ld + j);
    for (int a = 0; a < RO; ++a)
      for (int b = 0; b < RK; ++b) acc[a][b] += dv[a] * xv[b];
  }
  for (int a = 0; a < RO; ++a)
    for (int b = 0; b < RK; ++b) {
      float s = 0.0f;
      for (int l = 0; l < 16; ++l) s += acc[a][b][l];
      g[(o0 + a) * depth + k0 + b] += s;
    }
}

// R rows of dx × 16 columns in registers, the sum over output channels innermost.
template <int R>
MIXUP_INLINE void wtdy_block(const float* w, const float* dy, float* dx, std::int64_t rows, std::int64_t k0,
                             std::int64_t depth, std::int64_t j, std::int64_t ld) {
  v16 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = v16{};
  for (std::int64_t o = 0; o < rows; ++o) {
    const v16 dv = load(dy + o * ld + j);
    for (int r = 0; r < R; ++r) acc[r] += w[o * depth + k0 + r] * dv;
  }
  for (int r = 0; r < R; ++r) store(dx + (k0 + r) * ld + j, acc[r]);
}

}  // namespace

MIXUP_INLINE void wx_plus_b_body(const float* w, const float* bias, const float* x, float* y,
                                 std::int64_t rows, std::int64_t depth, std::int64_t n, std::int64_t ld) {
  for (std::int64_t j = 0; j < n; j += 16)
    in_blocks_of_4(
        rows, [&](std::int64_t o0, auto r) __attribute__((always_inline)) {
          wx_block<decltype(r)::value>(w, bias, x, y, o0, depth, j, ld);
        });
}

MIXUP_INLINE void acc_dy_xt_body(const float* dy, const float* x, float* g, std::int64_t rows,
                                 std::int64_t depth, std::int64_t n, std::int64_t ld) {
  in_blocks_of_4(
      rows, [&](std::int64_t o0, auto ro) __attribute__((always_inline)) {
        in_blocks_of_4(
            depth, [&](std::int64_t k0, auto rk) __attribute__((always_inline)) {
              dyx_block<decltype(ro)::value, decltype(rk)::value>(dy, x, g, o0, k0, depth, n, ld);
            });
      });
}

MIXUP_INLINE void wt_dy_body(const float* w, const float* dy, float* dx, std::int64_t rows,
                             std::int64_t depth, std::int64_t n, std::int64_t ld) {
  for (std::int64_t j = 0; j < n; j += 16)
    in_blocks_of_4(
        depth, [&](std::int64_t k0, auto r) __attribute__((always_inline)) {
          wtdy_block<decltype(r)::value>(w, dy, dx, rows, k0, depth, j, ld);
        });
}

MIXUP_INLINE void acc_row_sums_body(const float* dy, float* g, std::int64_t rows, std::int64_t n,
                                    std::int64_t ld) {
  for (std::int64_t o = 0; o < rows; ++o) {
    v16 acc{};
    for (std::int64_t j = 0; j < n; j += 16)
      acc += *reinterpret_cast<const v16*>(dy + o * ld +
                                           j);  // not load(): clang refuses a v16 return in the default clone
    float s = 0.0f;
    for (int l = 0; l < 16; ++l) s += acc[l];
    g[o] += s;
  }
}

MIXUP_ISA_DISPATCH(wx_plus_b,
                   (const float* w, const float* bias, const float* x, float* y, std::int64_t rows,
                    std::int64_t depth, std::int64_t n, std::int64_t ld),
                   (w, bias, x, y, rows, depth, n, ld))
MIXUP_ISA_DISPATCH(acc_dy_xt,
                   (const float* dy, const float* x, float* g, std::int64_t rows, std::int64_t depth,
                    std::int64_t n, std::int64_t ld),
                   (dy, x, g, rows, depth, n, ld))
MIXUP_ISA_DISPATCH(wt_dy,
                   (const float* w, const float* dy, float* dx, std::int64_t rows, std::int64_t depth,
                    std::int64_t n, std::int64_t ld),
                   (w, dy, dx, rows, depth, n, ld))
MIXUP_ISA_DISPATCH(acc_row_sums,
                   (const float* dy, float* g, std::int64_t rows, std::int64_t n, std::int64_t ld),
                   (dy, g, rows, n, ld))

}  // namespace mixup::nn::gemm
