// CPU backend of the fused cross-entropy: per row, three passes over the row while it sits in
// cache (max, sum of exponentials, gradient), written as 16-lane vector loops. The row loop is
// compiled once per instruction-set level (util/cpu_isa.hpp: AVX-512, AVX2, baseline x86-64)
// and the level is chosen once per process. Every level gives the same bits: no contraction
// (-ffp-contract=off, so a·b + c is two roundings in every copy), the lane count and the order
// of every sum written here, and no libm call (the row's log is core::log_d, IEEE operations
// only; glibc picks its own FMA or SSE2 variants by CPU). All checks run before the first write.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "backend_setup.hpp"
#include "cpu_isa.hpp"
#include "error.hpp"
#include "handle.hpp"
#include "loss_handle.hpp"
#include "thread_pool.hpp"

namespace mixup::detail {

struct LossCpuState {
  ThreadPool pool;
  std::vector<float> rows;
  LossCpuState(int threads, std::int32_t max_batch) : pool(threads), rows(max_batch) {}
};

void LossCpuStateDelete::operator()(LossCpuState* s) const { delete s; }

void loss_cpu_create(mixup_loss_s& h) {
  check_cpu_isa();
  const int threads = cpu_threads_for(h.config.cpu_threads);
  h.cpu.reset(new LossCpuState(threads, h.config.max_batch));
}

float deterministic_sum(const float* v, std::int64_t n) {
  float part[core::kReduceThreads];
  for (int t = 0; t < core::kReduceThreads; ++t) part[t] = core::strided_partial(v, n, t);
  for (int stride = core::kReduceThreads / 2; stride > 0; stride >>= 1)
    for (int t = 0; t < stride; ++t) part[t] += part[t + stride];
  return part[0];
}

namespace {

using core::CeParams;
constexpr int kChunk = 512;  // long rows: logits converted to float per chunk
constexpr int kLanes = 16;

__attribute__((always_inline)) inline void load_chunk(const CeParams& p, std::int64_t base, std::int32_t j0,
                                                      int n, float* buf) {
  if (p.dtype == core::DType::kF32) {
    const float* z = static_cast<const float*>(p.logits) + base + j0;
    for (int k = 0; k < n; ++k) buf[k] = z[k];
  } else if (p.dtype == core::DType::kF16) {
    const std::uint16_t* z = static_cast<const std::uint16_t*>(p.logits) + base + j0;
    for (int k = 0; k < n; ++k) buf[k] = core::f16_to_f32(z[k]);
  } else {
    const std::uint16_t* z = static_cast<const std::uint16_t*>(p.logits) + base + j0;
    for (int k = 0; k < n; ++k) buf[k] = core::bf16_to_f32(z[k]);
  }
}

__attribute__((always_inline)) inline void store_chunk(const CeParams& p, std::int64_t base, std::int32_t j0,
                                                       int n, const float* g) {
  if (p.grad_dtype == core::DType::kF32) {
    float* o = static_cast<float*>(p.grad) + base + j0;
    for (int k = 0; k < n; ++k) o[k] = g[k];
  } else if (p.grad_dtype == core::DType::kF16) {
    std::uint16_t* o = static_cast<std::uint16_t*>(p.grad) + base + j0;
    for (int k = 0; k < n; ++k) o[k] = core::f32_to_f16(g[k]);
  } else {
    std::uint16_t* o = static_cast<std::uint16_t*>(p.grad) + base + j0;
    for (int k = 0; k < n; ++k) o[k] = core::f32_to_bf16(g[k]);
  }
}

#define MIXUP_INLINE __attribute__((always_inline)) inline

// 16-float vectors (GCC vector extensions): one zmm in the AVX-512 clone, two ymm in the AVX2
// clone, four xmm in the baseline — the compiler does not have to discover the parallelism.
typedef float vf __attribute__((vector_size(64), aligned(4)));
typedef std::int32_t vi __attribute__((vector_size(64), aligned(4)));
static_assert(sizeof(vf) == kLanes * sizeof(float), "16 lanes");

MIXUP_INLINE vf splat(float x) { return vf{} + x; }
MIXUP_INLINE vf load_v(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
MIXUP_INLINE void store_v(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

// core::fast_exp, lane by lane: the same operations in the same order.
MIXUP_INLINE vf fast_exp_v(vf x) {
  vf xc = x > -104.0f ? x : splat(-104.0f);
  xc = xc < 88.7f ? xc : splat(88.7f);
  const float magic = 12582912.0f;
  const vf tm = xc * 1.44269504f + magic;
  const vi n_int = (vi)tm - static_cast<std::int32_t>(core::bits_of(magic));  // vector casts reinterpret bits
  const vf n = tm - magic;
  const vf r = (xc - n * 0.693145752f) - n * 1.42860677e-6f;
  const vf q = core::exp_poly(r, splat(1.0f / 720.0f));
  const vi half = n_int >> 1;
  const vi e1 = (half + 127) << 23, e2 = (n_int - half + 127) << 23;
  const vf y = (q * (vf)e1) * (vf)e2;
  const vi xb = (vi)x & 0x7FFFFFFF;
  const vi nan_bits = (xb > 0x7F800000) & 0x7FC00000;  // comparison lanes are 0 or −1
  return (vf)((vi)y | nan_bits);
}

struct Acc {
  vf mx = splat(-INFINITY), se = vf{}, su = vf{};
  vi nans = vi{};
  float tail_mx = -INFINITY, tail_se = 0.0f, tail_su = 0.0f;
  int tail_nans = 0;
  float dot = 0.0f, mass = 0.0f;
};

// Pass 1 over a span: the max, with NaNs flagged beside it (a vector max drops them; a NaN is
// made the row's max afterwards, so it reaches the loss and every gradient of the row).
MIXUP_INLINE void max_span(const float* z, int n, Acc& a) {
  int k = 0;
  for (; k + kLanes <= n; k += kLanes) {
    const vf v = load_v(z + k);
    a.mx = v > a.mx ? v : a.mx;
    a.nans |= v != v;
  }
  for (; k < n; ++k) a.tail_mx = z[k] > a.tail_mx ? z[k] : a.tail_mx, a.tail_nans |= z[k] != z[k];
}

MIXUP_INLINE float row_max(const Acc& a) {
  float m = a.tail_mx;
  int nans = a.tail_nans;
  for (int l = 0; l < kLanes; ++l) m = core::nan_max(m, a.mx[l]), nans |= a.nans[l];
  return nans ? NAN : m;
}

// Pass 2 over a span: Σe^{z−m} and Σ(m − z); kKeep also stores e^{z−m} for pass 3.
template <bool kKeep>
MIXUP_INLINE void sum_span(const float* z, int n, float m, Acc& a, float* ex) {
  int k = 0;
  const vf mv = splat(m);
  for (; k + kLanes <= n; k += kLanes) {
    const vf v = load_v(z + k);
    const vf e = fast_exp_v(v - mv);
    if constexpr (kKeep) store_v(ex + k, e);
    a.se += e;
    a.su += mv - v;
  }
  for (; k < n; ++k) {
    const float e = core::fast_exp(z[k] - m);
    if constexpr (kKeep) ex[k] = e;
    a.tail_se += e, a.tail_su += m - z[k];
  }
}

MIXUP_INLINE void soft_span(const float* z, const float* ts, int n, float m, Acc& a) {
  for (int q = 0; q < n; ++q) {
    if (ts[q] != 0.0f) a.dot += ts[q] * (m - z[q]);
    a.mass += ts[q];
  }
}

// Pass 3 over a span starting at class j0: g = s·(p·T − t), p from ex (or recomputed).
struct GradTerms {
  float m, inv_s, total, uniform, scale, one_minus_eps;
};
MIXUP_INLINE void grad_span(const core::RowTarget& t, const GradTerms& g, const float* z, const float* ex,
                            const float* ts, std::int32_t j0, int n, float* out) {
  const float a = g.scale * g.inv_s * g.total, b = g.scale * g.uniform;
  int k = 0;
  if (ex) {
    for (; k + kLanes <= n; k += kLanes) store_v(out + k, load_v(ex + k) * a - b);
    for (; k < n; ++k) out[k] = ex[k] * a - b;
  } else {
    const vf mv = splat(g.m);
    for (; k + kLanes <= n; k += kLanes) store_v(out + k, fast_exp_v(load_v(z + k) - mv) * a - b);
    for (; k < n; ++k) out[k] = core::fast_exp(z[k] - g.m) * a - b;
  }
  if (ts != nullptr) {
    for (k = 0; k < n; ++k) out[k] -= g.scale * g.one_minus_eps * ts[k];
  } else if (!t.ignored) {  // the label indicators; with ya = yb both land on one class and add
    const std::int32_t ja = t.ya - j0, jb = t.yb - j0;
    if (ja >= 0 && ja < n) out[ja] -= g.scale * g.one_minus_eps * t.wa;
    if (jb >= 0 && jb < n) out[jb] -= g.scale * g.one_minus_eps * t.wb;
  }
}

// log Σe^{z−m} of a row, rounded once to float from core::log_d (IEEE operations only).
MIXUP_INLINE float row_log(float s) { return static_cast<float>(core::log_d(static_cast<double>(s))); }

float logit_at(const CeParams& p, std::int64_t idx) {
  float v;
  load_chunk(p, idx, 0, 1, &v);
  return v;
}

// Rows of up to kShortRow classes sit whole in a stack buffer: converted once, e^{z−m} kept
// between passes 2 and 3 (one exp per element). Longer rows go by chunks and recompute it.
constexpr int kShortRow = 4096;

// Hard-target rows of fewer than 16 classes (the trainer's 10) never fill a vector, so row by
// row they run entirely in the scalar tails. Here 16 such rows go at once, one per lane: each
// lane does exactly the tail's operations for its row, in the same order, so every bit is the
// row-by-row path's (tested: SmallRowsGroupedEqualRowByRow) at a fraction of the instructions.
MIXUP_INLINE void sixteen_small_rows(const CeParams& p, std::int64_t r0, float scale, float* zt, float* et) {
  const std::int32_t C = p.classes;
  const float fc = static_cast<float>(C);
  float row_buf[kLanes];
  for (int l = 0; l < kLanes; ++l) {  // transpose: zt[k·16 + l] = logit k of row r0 + l
    load_chunk(p, (r0 + l) * C, 0, C, row_buf);
    for (int k = 0; k < C; ++k) zt[k * kLanes + l] = row_buf[k];
  }
  vf mx = splat(-INFINITY);
  vi nans = vi{};
  for (int k = 0; k < C; ++k) {
    const vf v = load_v(zt + k * kLanes);
    mx = v > mx ? v : mx;
    nans |= v != v;
  }
  float m[kLanes];
  for (int l = 0; l < kLanes; ++l) m[l] = nans[l] ? NAN : mx[l];
  const vf mv = load_v(m);
  vf se = vf{}, su = vf{};
  for (int k = 0; k < C; ++k) {
    const vf v = load_v(zt + k * kLanes);
    const vf e = fast_exp_v(v - mv);
    store_v(et + k * kLanes, e);
    se += e;
    su += mv - v;
  }
  float ga[kLanes], gb[kLanes];
  core::RowTarget targets[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    const std::int64_t row = r0 + l;
    const core::RowTarget t = core::row_target(p, row);
    targets[l] = t;
    float s = se[l], u = su[l];
    for (int q = 0; q < kLanes; ++q) s += 0.0f, u += 0.0f;  // the row path adds its 16 empty lanes
    const float log_s = row_log(s);
    const float da = t.ya >= 0 && t.ya < C ? m[l] - logit_at(p, row * C + t.ya) : 0.0f;
    const float db = t.yb >= 0 && t.yb < C ? m[l] - logit_at(p, row * C + t.yb) : 0.0f;
    p.row_loss[row] = t.ignored ? 0.0f : core::hard_row_loss(t, p.eps, log_s, da, db, u, fc);
    const float inv_s = 1.0f / s, total = core::kept_weight(t), uniform = p.eps * core::kept_weight(t) / fc;
    ga[l] = scale * inv_s * total;
    gb[l] = scale * uniform;
  }
  if (p.grad == nullptr) return;
  const vf av = load_v(ga), bv = load_v(gb);
  for (int k = 0; k < C; ++k) store_v(zt + k * kLanes, load_v(et + k * kLanes) * av - bv);
  const float one_minus_eps = 1.0f - p.eps;
  for (int l = 0; l < kLanes; ++l) {
    const core::RowTarget& t = targets[l];
    for (int k = 0; k < C; ++k) row_buf[k] = zt[k * kLanes + l];
    if (t.ignored) {
      for (int k = 0; k < C; ++k) row_buf[k] = 0.0f;
    } else {
      if (t.ya >= 0 && t.ya < C) row_buf[t.ya] -= scale * one_minus_eps * t.wa;
      if (t.yb >= 0 && t.yb < C) row_buf[t.yb] -= scale * one_minus_eps * t.wb;
    }
    store_chunk(p, (r0 + l) * C, 0, C, row_buf);
  }
}

MIXUP_INLINE void rows_cpu_body(const CeParams& p, std::int64_t begin, std::int64_t end, float scale) {
  alignas(64) float zbuf[kShortRow];
  alignas(64) float ex[kShortRow];
  const std::int32_t C = p.classes;
  const bool short_row = C <= kShortRow;
  std::int64_t first = begin;
  if (p.soft == nullptr && C < kLanes)
    for (; first + kLanes <= end; first += kLanes) sixteen_small_rows(p, first, scale, zbuf, ex);
  for (std::int64_t row = first; row < end; ++row) {
    const std::int64_t base = row * C;
    const core::RowTarget t = core::row_target(p, row);
    const float* soft_row = p.soft != nullptr ? p.soft + base : nullptr;
    if (soft_row == nullptr && t.ignored) {  // loss 0, gradient 0, whatever the logits (even all −∞)
      p.row_loss[row] = 0.0f;
      if (p.grad != nullptr) {
        std::fill(zbuf, zbuf + std::min(C, kShortRow), 0.0f);
        for (std::int32_t j0 = 0; j0 < C; j0 += kShortRow)
          store_chunk(p, base, j0, std::min(kShortRow, C - j0), zbuf);
      }
      continue;
    }
    Acc a;
    const float* z = zbuf;
    if (short_row) {
      if (p.dtype == core::DType::kF32) z = static_cast<const float*>(p.logits) + base;
      else load_chunk(p, base, 0, C, zbuf);
      max_span(z, C, a);
    } else {
      for (std::int32_t j0 = 0; j0 < C; j0 += kChunk) {
        const int n = std::min(kChunk, C - j0);
        load_chunk(p, base, j0, n, zbuf);
        max_span(zbuf, n, a);
      }
    }
    const float m = row_max(a);
    if (short_row) {
      sum_span<true>(z, C, m, a, ex);
      if (soft_row) soft_span(z, soft_row, C, m, a);
    } else {
      for (std::int32_t j0 = 0; j0 < C; j0 += kChunk) {
        const int n = std::min(kChunk, C - j0);
        load_chunk(p, base, j0, n, zbuf);
        sum_span<false>(zbuf, n, m, a, nullptr);
        if (soft_row) soft_span(zbuf, soft_row + j0, n, m, a);
      }
    }
    float s = a.tail_se, u = a.tail_su;
    for (int l = 0; l < kLanes; ++l) s += a.se[l], u += a.su[l];
    const float log_s = row_log(s), fc = static_cast<float>(C);
    const float da = t.ya >= 0 && t.ya < C ? m - logit_at(p, base + t.ya) : 0.0f;
    const float db = t.yb >= 0 && t.yb < C ? m - logit_at(p, base + t.yb) : 0.0f;
    p.row_loss[row] = soft_row ? core::soft_row_loss(p.eps, log_s, a.dot, a.mass, u, fc)
                               : core::hard_row_loss(t, p.eps, log_s, da, db, u, fc);
    if (p.grad == nullptr) continue;
    GradTerms g;
    g.m = m;
    g.inv_s = 1.0f / s;
    g.total = soft_row ? a.mass : core::kept_weight(t);
    g.uniform = soft_row ? p.eps * a.mass / fc : p.eps * core::kept_weight(t) / fc;
    g.scale = scale;
    g.one_minus_eps = 1.0f - p.eps;
    const bool direct = p.grad_dtype == core::DType::kF32;  // write f32 gradients in place of a buffer
    if (short_row) {
      float* out = direct ? static_cast<float*>(p.grad) + base : zbuf;
      grad_span(t, g, z, ex, soft_row, 0, C, out);
      if (!direct) store_chunk(p, base, 0, C, zbuf);
    } else {
      for (std::int32_t j0 = 0; j0 < C; j0 += kChunk) {
        const int n = std::min(kChunk, C - j0);
        load_chunk(p, base, j0, n, zbuf);
        grad_span(t, g, zbuf, nullptr, soft_row ? soft_row + j0 : nullptr, j0, n, ex);
        store_chunk(p, base, j0, n, ex);
      }
    }
  }
}

MIXUP_ISA_DISPATCH(rows_cpu, (const CeParams& p, std::int64_t begin, std::int64_t end, float scale),
                   (p, begin, end, scale))

}  // namespace

void loss_cpu_cross_entropy(mixup_loss_s& h, CeParams& p) {
  LossCpuState& s = *h.cpu;
  // checks first: nothing is written unless every label and λ is valid
  std::int32_t valid = 0;
  for (std::int64_t i = 0; i < p.batch; ++i) {
    if (p.soft != nullptr) {
      ++valid;
      continue;
    }
    const core::DeviceCheck c = core::row_check(p, i);  // the device's decoder too
    if (core::check_failed(c))
      throw Error(MIXUP_STATUS_INVALID_VALUE,
                  describe_check(c, static_cast<std::int32_t>(p.batch), p.classes));
    valid += p.y_a[i] != p.ignore_index;
  }
  float scale = p.loss_scale;
  if (p.reduction == core::Reduction::kMean)
    scale = valid > 0 ? p.loss_scale / static_cast<float>(valid) : 0.0f;
  float* out = p.loss_out;
  if (p.reduction != core::Reduction::kNone) p.row_loss = s.rows.data();
  const std::int64_t work = p.batch * p.classes;
  if (work >= 16384) {
    s.pool.parallel_for(p.batch, [&](std::int64_t b, std::int64_t e) { rows_cpu(p, b, e, scale); });
  } else {
    rows_cpu(p, 0, p.batch, scale);
  }
  if (p.reduction != core::Reduction::kNone) {
    const float sum = deterministic_sum(p.row_loss, p.batch);
    *out = p.reduction == core::Reduction::kMean ? (valid > 0 ? sum / static_cast<float>(valid) : 0.0f) : sum;
  }
}

void loss_cpu_combine(mixup_loss_s& h, const float* la, const float* lb, const float* lam, std::int64_t n,
                      core::Reduction red, float* out) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!(lam[i] >= 0.0f && lam[i] <= 1.0f))
      throw Error(MIXUP_STATUS_INVALID_VALUE,
                  describe_check(core::DeviceCheck{static_cast<std::int32_t>(
                                                       core::CheckCode::kLambdaOutOfRange),
                                                   static_cast<std::int32_t>(i),
                                                   static_cast<std::int32_t>(core::bits_of(lam[i])), 0},
                                 static_cast<std::int32_t>(n), 0));
  float* rows = red == core::Reduction::kNone ? out : h.cpu->rows.data();
  for (std::int64_t i = 0; i < n; ++i) rows[i] = lam[i] * la[i] + (1.0f - lam[i]) * lb[i];
  if (red != core::Reduction::kNone) {
    const float sum = deterministic_sum(rows, n);
    *out = red == core::Reduction::kMean ? sum / static_cast<float>(n) : sum;
  }
}

}  // namespace mixup::detail
