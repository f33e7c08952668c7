// CPU passes of the unfused loss baseline (see unfused_ce.hpp), each a separate sweep over
// [B, C] as a framework op would be, vectorised like the library's own CPU loss.
#include <cmath>
#include <cstring>

#include "common.hpp"
#include "cpu_isa.hpp"
#include "cross_entropy.cuh"
#include "unfused_ce.hpp"

namespace mixup::bench {
namespace {

__attribute__((always_inline)) inline void log_softmax_rows_body(const float* z, float* ls, std::int64_t b,
                                                                 std::int64_t e, std::int64_t C) {
  for (std::int64_t r = b; r < e; ++r) {
    const float* zr = z + r * C;
    float m = -INFINITY, s = 0;
    for (std::int64_t j = 0; j < C; ++j) m = zr[j] > m ? zr[j] : m;
    for (std::int64_t j = 0; j < C; ++j) s += core::fast_exp(zr[j] - m);
    const float lse = m + std::log(s);
    for (std::int64_t j = 0; j < C; ++j) ls[r * C + j] = zr[j] - lse;
  }
}

__attribute__((always_inline)) inline void log_softmax_backward_rows_body(const float* ls, const float* g,
                                                                          float* gz, std::int64_t b,
                                                                          std::int64_t e, std::int64_t C) {
  for (std::int64_t r = b; r < e; ++r) {
    float s = 0;
    for (std::int64_t j = 0; j < C; ++j) s += g[r * C + j];
    for (std::int64_t j = 0; j < C; ++j) gz[r * C + j] = g[r * C + j] - core::fast_exp(ls[r * C + j]) * s;
  }
}

// Compiled per CPU instruction-set level like the library's loss, so the two compare at the
// same level (MIXUP_CPU_ISA caps both).
MIXUP_ISA_DISPATCH(log_softmax_rows,
                   (const float* z, float* ls, std::int64_t b, std::int64_t e, std::int64_t C),
                   (z, ls, b, e, C))
MIXUP_ISA_DISPATCH(log_softmax_backward_rows,
                   (const float* ls, const float* g, float* gz, std::int64_t b, std::int64_t e,
                    std::int64_t C),
                   (ls, g, gz, b, e, C))

}  // namespace

float unfused_ce_cpu(const float* z, const std::int32_t* ya, const std::int32_t* yb, const float* lam,
                     std::int64_t B, std::int32_t classes, float* ls, float* g_ls, float* rows, float* grad) {
  const std::int64_t C = classes;
  pool().parallel_for(B, [&](std::int64_t b, std::int64_t e) { log_softmax_rows(z, ls, b, e, C); });
  for (std::int64_t r = 0; r < B; ++r)
    rows[r] = -(lam[r] * ls[r * C + ya[r]] + (1.0f - lam[r]) * ls[r * C + yb[r]]);
  float loss = 0;
  for (std::int64_t r = 0; r < B; ++r) loss += rows[r];
  loss /= static_cast<float>(B);
  pool().parallel_for(B, [&](std::int64_t b, std::int64_t e) {
    std::memset(g_ls + b * C, 0, (e - b) * C * sizeof(float));
  });
  for (std::int64_t r = 0; r < B; ++r) {
    g_ls[r * C + ya[r]] -= lam[r] / static_cast<float>(B);
    g_ls[r * C + yb[r]] -= (1.0f - lam[r]) / static_cast<float>(B);
  }
  pool().parallel_for(B, [&](std::int64_t b, std::int64_t e) {
    log_softmax_backward_rows(ls, g_ls, grad, b, e, C);
  });
  return loss;
}

}  // namespace mixup::bench
