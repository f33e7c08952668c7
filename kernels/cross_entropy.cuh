// Cross-entropy family: fastai's MixUpLoss fused. Per row, one read of the logits gives the
// log-sum-exp, the loss  w_a·CE_ε(z, ya) + w_b·CE_ε(z, yb)  =
//   loss = T·lse − (1−ε)(w_a·z_ya + w_b·z_yb) − ε·T·mean(z),   T = w_a + w_b,
// and the gradient
//   g_j = s·(p_j·T − ε·T/C − (1−ε)(w_a[j = ya] + w_b[j = yb])),   p = softmax(z),
// with w_a = λ, w_b = 1 − λ (0 for an ignore_index label; indicators add, so ya = yb works).
// T is the weight actually kept: 1, or λ alone when y_b is ignored (its ε share goes too).
// An ignored row (y_a = ignore_index) is loss 0 and gradient 0, whatever its logits hold.
// Soft targets t: T = Σt, loss = T·lse − (1−ε)Σ t_j z_j − ε·T·mean(z), g_j = s·(p_j·T −
// (1−ε)t_j − ε·T/C). Never written: log-softmax, softmax, one-hot rows, per-term losses.
// A term with weight 0 is skipped, never multiplied, so a −∞ logit gives +∞ or a finite value
// but no 0·∞ = NaN; a NaN logit propagates to its row's loss and gradient.
#pragma once

#include <cuda_runtime_api.h>

#include "check.cuh"
#include "dtype.cuh"

namespace mixup::core {

enum class Reduction : int { kNone = 0, kMean = 1, kSum = 2 };

struct CeParams {
  const void* logits;
  DType dtype;
  std::int64_t batch;
  std::int32_t classes;
  const std::int32_t* y_a;
  const std::int32_t* y_b;
  const float* lam;
  const float* soft;
  float eps;
  std::int32_t ignore_index;
  Reduction reduction;
  float loss_scale;
  float* row_loss;  // [B]: the caller's loss (NONE) or the handle's scratch
  float* loss_out;  // [1] for MEAN / SUM
  void* grad;       // null: forward only
  DType grad_dtype;
};

// A row's labels and λ, read together: the device check issues all three loads before it
// decides anything (they do not wait on one another). Soft targets carry no labels.
struct RowLabels {
  std::int32_t ya, yb;
  float lam;
};
MIXUP_HD RowLabels row_labels(const CeParams& p, std::int64_t i) {
  if (p.soft != nullptr) return RowLabels{0, 0, 0.0f};
  return RowLabels{p.y_a[i], p.y_b != nullptr ? p.y_b[i] : 0, p.lam != nullptr ? p.lam[i] : 0.0f};
}

// The one decoder of the loss's checks, on both backends: what row i fails — a label outside
// [0, classes) that is not ignore_index (y_a's before y_b's), else a λ outside [0, 1] — or kOk.
// Soft targets carry no labels to check. The call's verdict is the first failing row's.
MIXUP_HD DeviceCheck row_verdict(const CeParams& p, std::int64_t i, const RowLabels& v) {
  const std::int32_t row = static_cast<std::int32_t>(i);
  if (p.soft != nullptr) return DeviceCheck{0, 0, 0, 0};
  const auto ok = [&](std::int32_t y) { return y == p.ignore_index || (y >= 0 && y < p.classes); };
  if (!ok(v.ya)) return DeviceCheck{static_cast<std::int32_t>(CheckCode::kLabelOutOfRange), row, v.ya, 0};
  if (p.y_b != nullptr && !ok(v.yb))
    return DeviceCheck{static_cast<std::int32_t>(CheckCode::kLabelOutOfRange), row, v.yb, 0};
  if (p.lam != nullptr && !(v.lam >= 0.0f && v.lam <= 1.0f))
    return DeviceCheck{static_cast<std::int32_t>(CheckCode::kLambdaOutOfRange), row,
                       static_cast<std::int32_t>(bits_of(v.lam)), 0};
  return DeviceCheck{0, 0, 0, 0};
}
MIXUP_HD DeviceCheck row_check(const CeParams& p, std::int64_t i) {
  return row_verdict(p, i, row_labels(p, i));
}

// What the validation pass leaves for the row and reduction kernels (device scratch).
struct CeState {
  DeviceCheck check;          // this call's verdict (the row kernels read it)
  DeviceCheck first_failure;  // the first failed verdict since the last poll; kept until then
  std::int32_t valid_rows;
  std::uint32_t arrived;  // row blocks done (MEAN / SUM: the last one reduces); 0 between calls
  // the check's blocks: each records here, the last one publishes; all 0 between calls
  std::uint32_t check_arrived;
  std::int32_t valid_sum;
  std::int32_t first_row;  // INT_MAX − the first failing row; 0 = none
};


struct RowTarget {
  std::int32_t ya, yb;
  float wa, wb;
  bool ignored;
};

MIXUP_HD RowTarget row_target(const CeParams& p, std::int64_t i) {
  RowTarget t{-1, -1, 0.0f, 0.0f, false};
  if (p.soft != nullptr) return t;
  t.ya = p.y_a[i];
  t.yb = p.y_b != nullptr ? p.y_b[i] : t.ya;
  const float l = p.lam != nullptr ? p.lam[i] : 1.0f;
  t.ignored = t.ya == p.ignore_index;
  t.wa = t.ignored ? 0.0f : l;
  t.wb = (t.ignored || t.yb == p.ignore_index || p.lam == nullptr) ? 0.0f : 1.0f - l;
  return t;
}

// T of the formula above: the weight of the row's loss that is kept (0 for an ignored row).
MIXUP_HD float kept_weight(const RowTarget& t) { return t.wa + t.wb; }

// Label-smoothed target mass of class j for a hard-target row: ε·T/C plus the indicators.
MIXUP_HD float hard_target(const RowTarget& t, float eps, float classes, std::int32_t j) {
  float tj = eps * kept_weight(t) / classes;
  if (j == t.ya) tj += (1.0f - eps) * t.wa;
  if (j == t.yb) tj += (1.0f - eps) * t.wb;
  return tj;
}

// Max that lets a NaN through (fmaxf would hide it).
MIXUP_HD float nan_max(float a, float b) { return ((b > a) | (b != b)) ? b : a; }

// e^r for |r| ≤ ln2/2 by its Taylor polynomial to r^6 (Horner), for a float or a vector of
// floats (T); `top` is 1/720 in T. Shared by fast_exp and the CPU loss's vector version.
template <class T>
MIXUP_HD_INLINE T exp_poly(T r, T top) {
  T q = top;
  q = q * r + 1.0f / 120.0f;
  q = q * r + 1.0f / 24.0f;
  q = q * r + 1.0f / 6.0f;
  q = q * r + 0.5f;
  q = q * r + 1.0f;
  q = q * r + 1.0f;
  return q;
}

// e^x in float with no branches at all, so a host compiler vectorises it: round(x·log2 e)
// by the 1.5·2^23 trick, a degree-6 polynomial on |r| ≤ ln2/2 (relative error < 2e-7), and
// 2^n applied in two halves so results down to the subnormals come out right (e^x < 2^-150
// rounds to 0; −∞ → 0). NaN → NaN. Above 88.7 it returns e^88.7 (callers pass x ≤ 0).
MIXUP_HD float fast_exp(float x) {
  float xc = x > -104.0f ? x : -104.0f;  // a NaN lands here too; restored below
  xc = xc < 88.7f ? xc : 88.7f;
  const float magic = 12582912.0f;
  const float tm = xc * 1.44269504f + magic;
  const int n_int = static_cast<int>(bits_of(tm)) - static_cast<int>(bits_of(magic));
  const float n = tm - magic;
  const float r = (xc - n * 0.693145752f) - n * 1.42860677e-6f;
  const float q = exp_poly(r, 1.0f / 720.0f);
  const int half = n_int >> 1;
  const float y = (q * float_of(static_cast<std::uint32_t>(half + 127) << 23)) *
                  float_of(static_cast<std::uint32_t>(n_int - half + 127) << 23);
  const std::uint32_t is_nan = 0u - static_cast<std::uint32_t>((bits_of(x) & 0x7FFFFFFFu) > 0x7F800000u);
  return float_of(bits_of(y) | (is_nan & 0x7FC00000u));
}

// Loss of one row, written relative to the row max m so that huge logits (±1e4) cancel
// exactly: loss = T·log Σe^{z−m} + Σ_j t_j·(m − z_j). Hard targets: da = m − z_ya, db = m − z_yb;
// soft: dot = Σ t_j·(m − z_j), mass = Σ t_j; u = Σ_j (m − z_j) carries the ε/C part.
MIXUP_HD float hard_row_loss(const RowTarget& t, float eps, float log_s, float da, float db, float u,
                             float classes) {
  if (t.ignored) return 0.0f;
  const float mass = kept_weight(t);
  float loss = mass * log_s;
  if (t.wa > 0.0f) loss += (1.0f - eps) * t.wa * da;
  if (t.wb > 0.0f) loss += (1.0f - eps) * t.wb * db;
  if (eps > 0.0f && mass > 0.0f) loss += eps * mass * (u / classes);
  return loss;
}

MIXUP_HD float soft_row_loss(float eps, float log_s, float dot, float mass, float u, float classes) {
  float loss = mass * log_s + (1.0f - eps) * dot;
  if (eps > 0.0f && mass != 0.0f) loss += eps * mass * (u / classes);
  return loss;
}

// The same order of float additions on the CPU and the GPU (1024 strided partial sums, then a
// fixed tree), so a reduced loss has the same bits on both and on every run.
constexpr int kReduceThreads = 1024;
MIXUP_HD float strided_partial(const float* v, std::int64_t n, int t) {
  float acc = 0.0f;
  for (std::int64_t i = t; i < n; i += kReduceThreads) acc += v[i];
  return acc;
}

// Enqueues the check and the row kernel (which, on Hopper, starts while the check runs and
// waits for its verdict before it writes). `programmatic` false: plain stream order.
cudaError_t launch_cross_entropy(const CeParams& p, CeState* state, bool programmatic, cudaStream_t stream);
// Whether the row kernels this build runs on the current device wait for the check (their
// code for sm_90 or later): only then may they be launched programmatically.
bool loss_rows_wait_for_check();
cudaError_t launch_combine_losses(const float* la, const float* lb, const float* lam, std::int64_t batch,
                                  Reduction reduction, float* row_scratch, float* out, CeState* state,
                                  cudaStream_t stream);

}  // namespace mixup::core
