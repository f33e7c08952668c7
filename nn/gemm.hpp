// The three small GEMMs of a convolution done by im2col, register-blocked over 16-float
// vectors (compiled for each CPU instruction-set level, util/cpu_isa.hpp, with the same bits at
// every level: contraction off, lanes and summation order fixed here). Row-major;
// x, y and dy rows are `ld` floats apart and n (their columns) is a multiple of 16 — the
// caller pads with zeros. Every output element is summed in a fixed order that depends only
// on the shapes, so results do not depend on threads or on how a batch is grouped.
#pragma once

#include <cstdint>

namespace mixup::nn::gemm {

// y[o, :] = bias[o] + Σ_k w[o, k] · x[k, :]                 w: [rows, depth]
void wx_plus_b(const float* w, const float* bias, const float* x, float* y, std::int64_t rows,
               std::int64_t depth, std::int64_t n, std::int64_t ld);
// g[o, k] += Σ_j dy[o, j] · x[k, j]                          g: [rows, depth]
void acc_dy_xt(const float* dy, const float* x, float* g, std::int64_t rows, std::int64_t depth,
               std::int64_t n, std::int64_t ld);
// dx[k, :] = Σ_o w[o, k] · dy[o, :]                          w: [rows, depth]
void wt_dy(const float* w, const float* dy, float* dx, std::int64_t rows, std::int64_t depth, std::int64_t n,
           std::int64_t ld);

// g[o] += Σ_j dy[o, j]
void acc_row_sums(const float* dy, float* g, std::int64_t rows, std::int64_t n, std::int64_t ld);

}  // namespace mixup::nn::gemm
