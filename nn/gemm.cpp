#include "gemm.hpp"

namespace mixup::nn::gemm {
namespace {

#define MIXUP_INLINE __attribute__((always_inline)) inline
// aligned(4): loads and stores need not be 64-byte aligned.
typedef float v16 __attribute__((vector_size(64), aligned(4)));

MIXUP_INLINE v16 load(const float* p) { return *reinterpret_cast<const v16*>(p); }
MIXUP_INLINE void store(float* p, v16 v) { *reinterpret_cast<v16*>(p) = v; }

// R output rows × 16 columns in registers, the depth loop innermost.
template <int R>
MIXUP_INLINE void wx_block(const float* w, const float* bias, const float* x, float* y, std::int64_t o0, std::int64_t depth,
                           std::int64_t j, std::int64_t ld) {
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
MIXUP_INLINE void dyx_block(const float* dy, const float* x, float* g, std::int64_t o0, std::int64_t k0, std::int64_t depth,
                            std::int64_t n, std::int64_t ld) {
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

template <int RO>
MIXUP_INLINE void dyx_row(const float* dy, const float* x, float* g, std::int64_t o0, std::int64_t depth, std::int64_t n,
                          std::int64_t ld) {
  std::int64_t k0 = 0;
  for (; k0 + 4 <= depth; k0 += 4) dyx_block<RO, 4>(dy, x, g, o0, k0, depth, n, ld);
  switch (depth - k0) {
    case 3: dyx_block<RO, 3>(dy, x, g, o0, k0, depth, n, ld); break;
    case 2: dyx_block<RO, 2>(dy, x, g, o0, k0, depth, n, ld); break;
    case 1: dyx_block<RO, 1>(dy, x, g, o0, k0, depth, n, ld); break;
    default: break;
  }
}

// R rows of dx × 16 columns in registers, the sum over output channels innermost.
template <int R>
MIXUP_INLINE void wtdy_block(const float* w, const float* dy, float* dx, std::int64_t rows, std::int64_t k0, std::int64_t depth,
                             std::int64_t j, std::int64_t ld) {
  v16 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = v16{};
  for (std::int64_t o = 0; o < rows; ++o) {
    const v16 dv = load(dy + o * ld + j);
    for (int r = 0; r < R; ++r) acc[r] += w[o * depth + k0 + r] * dv;
  }
  for (int r = 0; r < R; ++r) store(dx + (k0 + r) * ld + j, acc[r]);
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default")))
void wx_plus_b(const float* w, const float* bias, const float* x, float* y, std::int64_t rows, std::int64_t depth, std::int64_t n,
               std::int64_t ld) {
  for (std::int64_t j = 0; j < n; j += 16) {
    std::int64_t o0 = 0;
    for (; o0 + 4 <= rows; o0 += 4) wx_block<4>(w, bias, x, y, o0, depth, j, ld);
    switch (rows - o0) {
      case 3: wx_block<3>(w, bias, x, y, o0, depth, j, ld); break;
      case 2: wx_block<2>(w, bias, x, y, o0, depth, j, ld); break;
      case 1: wx_block<1>(w, bias, x, y, o0, depth, j, ld); break;
      default: break;
    }
  }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void acc_dy_xt(const float* dy, const float* x, float* g, std::int64_t rows, std::int64_t depth, std::int64_t n, std::int64_t ld) {
  std::int64_t o0 = 0;
  for (; o0 + 4 <= rows; o0 += 4) dyx_row<4>(dy, x, g, o0, depth, n, ld);
  switch (rows - o0) {
    case 3: dyx_row<3>(dy, x, g, o0, depth, n, ld); break;
    case 2: dyx_row<2>(dy, x, g, o0, depth, n, ld); break;
    case 1: dyx_row<1>(dy, x, g, o0, depth, n, ld); break;
    default: break;
  }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void wt_dy(const float* w, const float* dy, float* dx, std::int64_t rows, std::int64_t depth, std::int64_t n, std::int64_t ld) {
  for (std::int64_t j = 0; j < n; j += 16) {
    std::int64_t k0 = 0;
    for (; k0 + 4 <= depth; k0 += 4) wtdy_block<4>(w, dy, dx, rows, k0, depth, j, ld);
    switch (depth - k0) {
      case 3: wtdy_block<3>(w, dy, dx, rows, k0, depth, j, ld); break;
      case 2: wtdy_block<2>(w, dy, dx, rows, k0, depth, j, ld); break;
      case 1: wtdy_block<1>(w, dy, dx, rows, k0, depth, j, ld); break;
      default: break;
    }
  }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void acc_row_sums(const float* dy, float* g, std::int64_t rows, std::int64_t n, std::int64_t ld) {
  for (std::int64_t o = 0; o < rows; ++o) {
    v16 acc{};
    for (std::int64_t j = 0; j < n; j += 16) acc += load(dy + o * ld + j);
    float s = 0.0f;
    for (int l = 0; l < 16; ++l) s += acc[l];
    g[o] += s;
  }
}

}  // namespace mixup::nn::gemm
