// The fused mixup loss against a naive double reference that builds the target vector
// explicitly and sums t_j·(lse − z_j): every dtype, awkward C and B, ε, λ, ya = yb,
// ignore_index rows, every reduction; gradients also against central finite differences;
// extreme logits; in place; determinism.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "mixup/loss.h"
#include "common.cuh"
#include "reference.hpp"
#include "support.hpp"

namespace {

using namespace mixup::test;
constexpr int kIgnore = -100;

struct Problem {
  std::int64_t B;
  std::int32_t C;
  mixup_dtype_t dtype;
  std::vector<std::uint8_t> logits;  // raw storage in dtype
  std::vector<std::int32_t> ya, yb;
  std::vector<float> lam, soft;  // soft: [B, C] when used
  float eps = 0.0f;
  bool mixed = true;  // pass y_b and λ
  bool use_soft = false;
  double z(std::int64_t i, std::int32_t j) const { return decode(logits.data(), dtype, i * C + j); }
};

void set_logit(Problem& p, std::int64_t idx, float v) {
  if (p.dtype == MIXUP_DTYPE_F32) std::memcpy(&p.logits[idx * 4], &v, 4);
  else {
    const std::uint16_t h = p.dtype == MIXUP_DTYPE_F16 ? mixup::core::f32_to_f16(v)
                                                       : mixup::core::f32_to_bf16(v);
    std::memcpy(&p.logits[idx * 2], &h, 2);
  }
}

Problem make_problem(std::int64_t B, std::int32_t C, mixup_dtype_t dt, float eps, std::uint32_t seed) {
  Problem p{B,
            C,
            dt,
            std::vector<std::uint8_t>(B * C * size_of(dt)),
            std::vector<std::int32_t>(B),
            std::vector<std::int32_t>(B),
            std::vector<float>(B),
            {},
            eps};
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 3.0f);
  for (std::int64_t k = 0; k < B * C; ++k) set_logit(p, k, n(rng));
  const float lams[3] = {0.5f, 0.73f, 1.0f};
  for (std::int64_t i = 0; i < B; ++i) {
    p.ya[i] = static_cast<std::int32_t>(rng() % C);
    p.yb[i] = i % 5 == 2 ? p.ya[i] : static_cast<std::int32_t>(rng() % C);  // some ya = yb
    p.lam[i] = lams[i % 3];
    if (B > 3 && i % 7 == 3) p.ya[i] = kIgnore;   // ignored rows
    if (B > 3 && i % 11 == 5) p.yb[i] = kIgnore;  // only the partner's term dropped
  }
  return p;
}

// Every other ignored row made all −∞: still loss 0 and gradient 0 (was NaN).
void poison_ignored_rows(Problem& p) {
  for (std::int64_t i = 0; i < p.B; ++i)
    if (p.ya[i] == kIgnore && i % 14 == 3)
      for (std::int32_t j = 0; j < p.C; ++j) set_logit(p, i * p.C + j, -INFINITY);
}

struct Ref {
  std::vector<double> row_loss, grad;  // grad unscaled (per-row dL_i/dz)
  std::vector<double> mass;            // Σ_j t_j per row: the gradient's magnitude scale
  int valid = 0;
};

// Target vector of row i, built directly from its definition.
std::vector<double> target_row(const Problem& p, std::int64_t i) {
  std::vector<double> t(p.C, 0.0);
  if (p.use_soft) {
    double mass = 0;
    for (int j = 0; j < p.C; ++j) mass += p.soft[i * p.C + j];
    for (int j = 0; j < p.C; ++j) t[j] = (1.0 - p.eps) * p.soft[i * p.C + j] + p.eps * mass / p.C;
    return t;
  }
  if (p.ya[i] == kIgnore) return t;
  // w·CE_ε(z, y) for each term kept: (1 − ε)·w on the label, ε·w spread over the classes
  const auto add_term = [&](std::int32_t y, double w) {
    t[y] += (1.0 - p.eps) * w;
    for (int j = 0; j < p.C; ++j) t[j] += p.eps * w / p.C;
  };
  const double l = p.mixed ? p.lam[i] : 1.0;
  add_term(p.ya[i], l);
  if (p.mixed && p.yb[i] != kIgnore) add_term(p.yb[i], 1.0 - l);
  return t;
}

double row_loss_of(const Problem& p, std::int64_t i, const std::vector<double>& z) {
  const std::vector<double> t = target_row(p, i);
  double m = -INFINITY;
  for (double v : z) m = std::max(m, v);
  double s = 0;
  for (double v : z) s += std::exp(v - m);
  const double lse = m + std::log(s);
  double loss = 0;
  for (int j = 0; j < p.C; ++j)
    if (t[j] != 0.0) loss += t[j] * (lse - z[j]);
  return loss;
}

Ref reference(const Problem& p) {
  Ref r{std::vector<double>(p.B), std::vector<double>(p.B * p.C), std::vector<double>(p.B)};
  for (std::int64_t i = 0; i < p.B; ++i) {
    std::vector<double> z(p.C);
    for (int j = 0; j < p.C; ++j) z[j] = p.z(i, j);
    const std::vector<double> t = target_row(p, i);
    double mass = 0, m = -INFINITY, s = 0;
    for (double v : t) mass += v;
    for (double v : z) m = std::max(m, v);
    for (double v : z) s += std::exp(v - m);
    const double lse = m + std::log(s);
    r.row_loss[i] = row_loss_of(p, i, z);
    r.mass[i] = mass;
    for (int j = 0; j < p.C; ++j)
      r.grad[i * p.C + j] = mass == 0.0 ? 0.0 : std::exp(z[j] - lse) * mass - t[j];
    r.valid += p.use_soft || p.ya[i] != kIgnore;
  }
  return r;
}

struct Out {
  std::vector<float> loss;
  std::vector<std::uint8_t> grad;
  mixup_status_t status;
};

Out run(const Problem& p, mixup_reduction_t red, mixup_dtype_t grad_dtype, float loss_scale = 1.0f,
        bool in_place = false, std::size_t offset_elems = 0) {
  mixup_loss_config_t c = mixup_loss_config_default();
  c.backend = kBackend;
  c.max_batch = 4096;
  mixup_loss_t h = nullptr;
  EXPECT_EQ(mixup_loss_create(&c, &h), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  const std::size_t gsize = size_of(grad_dtype);
  Buf<std::uint8_t> logits(p.logits.size(), 0, offset_elems * size_of(p.dtype));
  logits.host = p.logits;
  logits.upload();
  Buf<std::uint8_t> grad(p.B * p.C * gsize, 0xFF, offset_elems * gsize);
  Buf<std::int32_t> ya(p.B), yb(p.B);
  Buf<float> lam(p.B), soft(p.soft.size()), loss(red == MIXUP_REDUCTION_NONE ? p.B : 1, NAN);
  ya.host = p.ya, yb.host = p.yb, lam.host = p.lam, soft.host = p.soft;
  ya.upload(), yb.upload(), lam.upload(), soft.upload();
  mixup_ce_args_t a = mixup_ce_args_default();
  a.logits = logits.ptr();
  a.dtype = p.dtype;
  a.batch = p.B;
  a.classes = p.C;
  if (p.use_soft) {
    a.soft_targets = soft.ptr();
  } else {
    a.y_a = ya.ptr();
    a.y_b = p.mixed ? yb.ptr() : nullptr;
    a.lam = p.mixed ? lam.ptr() : nullptr;
  }
  a.label_smoothing = p.eps;
  a.ignore_index = kIgnore;
  a.reduction = red;
  a.loss_scale = loss_scale;
  a.loss = loss.ptr();
  a.grad = in_place ? static_cast<void*>(logits.ptr()) : grad.ptr();
  a.grad_dtype = grad_dtype;
  Out o;
  o.status = mixup_cross_entropy(h, &a, nullptr);
  EXPECT_EQ(o.status, MIXUP_STATUS_SUCCESS) << mixup_last_error();
  o.loss = loss.download();
  o.grad = in_place ? logits.download() : grad.download();
  mixup_loss_destroy(h);
  return o;
}

// Checks one run against the reference: the loss (reduced as asked) and every gradient element.
::testing::AssertionResult matches(const Problem& p, const Out& o, mixup_reduction_t red, mixup_dtype_t gd,
                                   float loss_scale) {
  const Ref r = reference(p);
  double sum = 0, scale_mag = 0;
  for (double v : r.row_loss) sum += v, scale_mag += std::fabs(v);
  if (red == MIXUP_REDUCTION_NONE) {
    for (std::int64_t i = 0; i < p.B; ++i) {
      const double tol = 2e-5 * (1.0 + std::fabs(r.row_loss[i]));
      if (!(std::fabs(o.loss[i] - r.row_loss[i]) <= tol))
        return ::testing::AssertionFailure()
               << "row " << i << " loss " << o.loss[i] << " want " << r.row_loss[i];
    }
  } else {
    const double want = red == MIXUP_REDUCTION_SUM ? sum : (r.valid ? sum / r.valid : 0.0);
    const double tol = 2e-5 *
                       (1.0 + (red == MIXUP_REDUCTION_SUM ? scale_mag : scale_mag / std::max(1, r.valid)));
    if (!(std::fabs(o.loss[0] - want) <= tol))
      return ::testing::AssertionFailure() << "reduced loss " << o.loss[0] << " want " << want;
  }
  const double s = loss_scale / (red == MIXUP_REDUCTION_MEAN ? std::max(1, r.valid) : 1);
  for (std::int64_t k = 0; k < p.B * p.C; ++k) {
    const double want = s * r.grad[k];
    const double got = decode(o.grad.data(), gd, k);
    const double tol = std::fabs(s) * 2e-6 * (1.0 + r.mass[k / p.C]) + epsilon_of(gd) * std::fabs(want) +
                       subnormal_spacing(gd);
    if (!(std::fabs(got - want) <= tol))
      return ::testing::AssertionFailure()
             << "grad[" << k / p.C << "][" << k % p.C << "] = " << got << " want " << want;
  }
  return ::testing::AssertionSuccess();
}

class CrossEntropy : public BackendTest {};

TEST_F(CrossEntropy, AgainstDoubleReferenceAcrossShapesDtypesAndReductions) {
  const std::int32_t classes[] = {1, 2, 3, 10, 31, 32, 33, 1000, 1001, 32768};
  const std::int64_t batches[] = {1, 7, 65, 4096};
  int cases = 0;
  for (const std::int32_t C : classes)
    for (const std::int64_t B : batches) {
      if (B * C > 600000 && !(B <= 7))
        continue;  // keep the double reference quick: big C with small B, big B with small C
      for (const mixup_dtype_t dt : {MIXUP_DTYPE_F32, MIXUP_DTYPE_F16, MIXUP_DTYPE_BF16})
        for (const float eps : {0.0f, 0.1f}) {
          Problem p = make_problem(B, C, dt, eps, static_cast<std::uint32_t>(B * 131 + C));
          poison_ignored_rows(p);
          const mixup_reduction_t red = static_cast<mixup_reduction_t>((cases++) % 3);
          const mixup_dtype_t gd = (cases % 2) ? dt : MIXUP_DTYPE_F32;
          const Out o = run(p, red, gd, 1.0f);
          ASSERT_TRUE(matches(p, o, red, gd, 1.0f))
              << "B " << B << " C " << C << " dtype " << dt << " eps " << eps << " red " << red;
        }
    }
  EXPECT_GT(cases, 150);
}

// The outside check's example (PyTorch, float64): logits [1, 2, 3], y_a = 0, y_b ignored,
// λ = 0.5, ε = 0.1 is λ·CE_ε(z, y_a) = 1.153803 — the ignored partner takes its ε share with
// it (the library gave 1.224183). And an ignored row of −∞ logits: loss 0, gradient 0, no NaN.
TEST_F(CrossEntropy, IgnoredPartnerDropsItsSmoothingAndIgnoredRowsAreZero) {
  Problem p = make_problem(2, 3, MIXUP_DTYPE_F32, 0.1f, 1);
  for (int j = 0; j < 3; ++j) set_logit(p, j, static_cast<float>(j + 1));
  for (int j = 0; j < 3; ++j) set_logit(p, 3 + j, -INFINITY);
  p.ya = {0, kIgnore};
  p.yb = {kIgnore, 1};
  p.lam = {0.5f, 0.5f};
  const Out o = run(p, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32);
  ASSERT_EQ(o.status, MIXUP_STATUS_SUCCESS);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double want = 0.5 * (lse - 0.9 * 1.0 - 0.1 * 2.0);
  EXPECT_NEAR(want, 1.153803, 1e-6) << "the formula itself";
  EXPECT_NEAR(o.loss[0], want, 2e-6);
  EXPECT_EQ(o.loss[1], 0.0f);
  float g[6];
  std::memcpy(g, o.grad.data(), sizeof g);
  for (int j = 3; j < 6; ++j) EXPECT_EQ(g[j], 0.0f) << "ignored row, class " << j - 3;
  EXPECT_TRUE(matches(p, o, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32, 1.0f));
}

// The CPU backend runs rows of fewer than 16 classes 16 at a time, one per vector lane, and the
// rest of the batch row by row. Rotating a 17-row batch puts every row once on the row-by-row
// path (position 16) and otherwise in a group: its loss and gradient bits must not change.
TEST_F(CrossEntropy, SmallRowsGroupedEqualRowByRow) {
  for (const std::int32_t C : {1, 3, 10, 15})
    for (const mixup_dtype_t dt : {MIXUP_DTYPE_F32, MIXUP_DTYPE_BF16})
      for (const float eps : {0.0f, 0.1f}) {
        const std::int64_t B = 17;
        const Problem base = make_problem(B, C, dt, eps, static_cast<std::uint32_t>(C * 7 + dt));
        const std::size_t eb = size_of(dt), gb = size_of(dt);
        std::vector<std::uint32_t> loss_bits(B * B);
        std::vector<std::vector<std::uint8_t>> grads(B);  // [rotation] grad rows in original order
        for (std::int64_t r = 0; r < B; ++r) {
          Problem p = base;
          for (std::int64_t i = 0; i < B; ++i) {  // position i holds original row (i + r) % B
            const std::int64_t src = (i + r) % B;
            std::memcpy(&p.logits[i * C * eb], &base.logits[src * C * eb], C * eb);
            p.ya[i] = base.ya[src], p.yb[i] = base.yb[src], p.lam[i] = base.lam[src];
          }
          const Out o = run(p, MIXUP_REDUCTION_NONE, dt);
          ASSERT_EQ(o.status, MIXUP_STATUS_SUCCESS);
          grads[r].resize(B * C * gb);
          for (std::int64_t i = 0; i < B; ++i) {
            const std::int64_t src = (i + r) % B;
            std::memcpy(&loss_bits[r * B + src], &o.loss[i], 4);
            std::memcpy(&grads[r][src * C * gb], &o.grad[i * C * gb], C * gb);
          }
        }
        for (std::int64_t r = 1; r < B; ++r) {
          for (std::int64_t src = 0; src < B; ++src)
            ASSERT_EQ(loss_bits[r * B + src], loss_bits[src])
                << "C " << C << " dtype " << dt << " eps " << eps << " row " << src;
          ASSERT_EQ(grads[r], grads[0])
              << "C " << C << " dtype " << dt << " eps " << eps << " rotation " << r;
        }
      }
}

TEST_F(CrossEntropy, EveryReductionAndLossScale) {
  Problem p = make_problem(65, 10, MIXUP_DTYPE_F32, 0.1f, 5);
  for (const mixup_reduction_t red : {MIXUP_REDUCTION_NONE, MIXUP_REDUCTION_MEAN, MIXUP_REDUCTION_SUM})
    for (const float scale : {1.0f, 1024.0f}) {
      const Out o = run(p, red, MIXUP_DTYPE_F32, scale);
      EXPECT_TRUE(matches(p, o, red, MIXUP_DTYPE_F32, scale)) << "reduction " << red << " scale " << scale;
    }
}

// Without y_b and λ it is ordinary cross-entropy: equal to the mixed loss with λ = 1.
TEST_F(CrossEntropy, PlainCrossEntropyWithoutLambda) {
  Problem p = make_problem(33, 17, MIXUP_DTYPE_F32, 0.0f, 9);
  p.mixed = false;
  const Out plain = run(p, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32);
  EXPECT_TRUE(matches(p, plain, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32, 1.0f));
  p.mixed = true;
  std::fill(p.lam.begin(), p.lam.end(), 1.0f);
  const Out lam1 = run(p, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32);
  EXPECT_EQ(plain.loss, lam1.loss);
}

TEST_F(CrossEntropy, SoftTargets) {
  for (const float eps : {0.0f, 0.1f}) {
    Problem p = make_problem(31, 33, MIXUP_DTYPE_F32, eps, 77);
    p.use_soft = true;
    p.soft.resize(p.B * p.C);
    std::mt19937 rng(3);
    for (auto& v : p.soft) v = static_cast<float>(rng() % 7) / 7.0f;
    for (const mixup_reduction_t red : {MIXUP_REDUCTION_NONE, MIXUP_REDUCTION_MEAN}) {
      const Out o = run(p, red, MIXUP_DTYPE_F32);
      EXPECT_TRUE(matches(p, o, red, MIXUP_DTYPE_F32, 1.0f)) << "eps " << eps;
    }
  }
}

// The reference gradient is itself checked against central finite differences of the
// reference loss, and the kernel's gradient against the same differences.
TEST_F(CrossEntropy, GradientMatchesFiniteDifferences) {
  Problem p = make_problem(7, 13, MIXUP_DTYPE_F32, 0.1f, 21);
  const Out o = run(p, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32);
  const Ref r = reference(p);
  for (std::int64_t i = 0; i < p.B; ++i) {
    std::vector<double> z(p.C);
    for (int j = 0; j < p.C; ++j) z[j] = p.z(i, j);
    for (int j = 0; j < p.C; ++j) {
      const double h = 1e-5;
      std::vector<double> zp = z, zm = z;
      zp[j] += h, zm[j] -= h;
      const double fd = (row_loss_of(p, i, zp) - row_loss_of(p, i, zm)) / (2 * h);
      ASSERT_NEAR(r.grad[i * p.C + j], fd, 1e-7) << "reference, row " << i << " class " << j;
      ASSERT_NEAR(decode(o.grad.data(), MIXUP_DTYPE_F32, i * p.C + j), fd, 2e-6)
          << "kernel, row " << i << " class " << j;
    }
  }
}

TEST_F(CrossEntropy, ExtremeLogitsStayFiniteAndCorrect) {
  for (const std::int32_t C : {10, 1001, 2000}) {
    Problem p = make_problem(4, C, MIXUP_DTYPE_F32, 0.0f, 1);
    p.ya = {1, 2, 3, 4};
    p.yb = {2, 3, 4, 5};
    for (int j = 0; j < C; ++j) {
      set_logit(p, 0 * C + j, j % 2 ? 1e4f : -1e4f);  // ±1e4
      set_logit(p, 2 * C + j, 0.25f);                 // all equal
    }
    set_logit(p, 1 * C + 7, -INFINITY);  // one −∞ logit, not a label
    const Out o = run(p, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32);
    for (float l : o.loss) ASSERT_TRUE(std::isfinite(l)) << "C " << C;
    for (std::int64_t k = 0; k < p.B * C; ++k)
      ASSERT_TRUE(std::isfinite(decode(o.grad.data(), MIXUP_DTYPE_F32, k))) << k;
    EXPECT_TRUE(matches(p, o, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32, 1.0f)) << "C " << C;
    EXPECT_NEAR(o.loss[2], std::log(static_cast<double>(C)), 1e-5) << "all-equal logits: loss is log C";
  }
}

// With smoothing, a −∞ logit has target mass ε/C: the true loss is +∞ — reported as +∞, not NaN.
TEST_F(CrossEntropy, MinusInfinityWithSmoothingIsInfiniteNotNan) {
  Problem p = make_problem(2, 10, MIXUP_DTYPE_F32, 0.1f, 2);
  p.ya = {1, 1};
  p.yb = {2, 2};
  set_logit(p, 7, -INFINITY);
  const Out o = run(p, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32);
  EXPECT_TRUE(std::isinf(o.loss[0]) && o.loss[0] > 0);
  EXPECT_TRUE(std::isfinite(o.loss[1]));
  for (int j = 0; j < 20; ++j) EXPECT_FALSE(std::isnan(decode(o.grad.data(), MIXUP_DTYPE_F32, j))) << j;
}

TEST_F(CrossEntropy, NanPropagatesToItsRowOnly) {
  Problem p = make_problem(3, 33, MIXUP_DTYPE_F32, 0.0f, 4);
  p.ya = {0, 1, 2};
  set_logit(p, 33 + 5, NAN);
  const Out o = run(p, MIXUP_REDUCTION_NONE, MIXUP_DTYPE_F32);
  EXPECT_TRUE(std::isnan(o.loss[1]));
  EXPECT_FALSE(std::isnan(o.loss[0]));
  EXPECT_FALSE(std::isnan(o.loss[2]));
  for (int j = 0; j < 33; ++j) EXPECT_TRUE(std::isnan(decode(o.grad.data(), MIXUP_DTYPE_F32, 33 + j))) << j;
  const Out mean = run(p, MIXUP_REDUCTION_MEAN, MIXUP_DTYPE_F32);
  EXPECT_TRUE(std::isnan(mean.loss[0])) << "a NaN input must not be hidden by the reduction";
}

TEST_F(CrossEntropy, InPlaceEqualsOutOfPlace) {
  for (const std::int32_t C : {33, 1001, 1500}) {  // 1001: the GPU's warp-per-row scalar lanes
    Problem p = make_problem(9, C, MIXUP_DTYPE_F32, 0.1f, 8);
    const Out out = run(p, MIXUP_REDUCTION_MEAN, MIXUP_DTYPE_F32);
    const Out in = run(p, MIXUP_REDUCTION_MEAN, MIXUP_DTYPE_F32, 1.0f, true);
    EXPECT_EQ(in.loss, out.loss);
    EXPECT_EQ(in.grad, out.grad) << "C " << C;
  }
}

TEST_F(CrossEntropy, MisalignedRows) {
  for (const std::int32_t C : {33, 1001}) {  // 1001: the GPU's warp-per-row scalar lanes
    Problem p = make_problem(7, C, MIXUP_DTYPE_BF16, 0.1f, 12);
    const Out o = run(p, MIXUP_REDUCTION_SUM, MIXUP_DTYPE_BF16, 1.0f, false, 1);
    EXPECT_TRUE(matches(p, o, MIXUP_REDUCTION_SUM, MIXUP_DTYPE_BF16, 1.0f)) << "C " << C;
  }
}

TEST_F(CrossEntropy, ReductionIsDeterministic) {
  Problem p = make_problem(4096, 10, MIXUP_DTYPE_F32, 0.1f, 99);
  const Out a = run(p, MIXUP_REDUCTION_MEAN, MIXUP_DTYPE_F32),
            b = run(p, MIXUP_REDUCTION_MEAN, MIXUP_DTYPE_F32);
  EXPECT_EQ(std::memcmp(a.loss.data(), b.loss.data(), 4), 0);
  EXPECT_EQ(a.grad, b.grad);
}

TEST_F(CrossEntropy, CombineLosses) {
  mixup_loss_config_t c = mixup_loss_config_default();
  c.backend = kBackend;
  c.max_batch = 128;
  mixup_loss_t h = nullptr;
  ASSERT_EQ(mixup_loss_create(&c, &h), MIXUP_STATUS_SUCCESS);
  const int B = 65;
  Buf<float> la(B), lb(B), lam(B), out(B, NAN), red(1, NAN);
  for (int i = 0; i < B; ++i)
    la.host[i] = 0.1f * i, lb.host[i] = 3.0f - 0.05f * i, lam.host[i] = (i % 4) / 3.0f;
  la.upload(), lb.upload(), lam.upload();
  ASSERT_EQ(mixup_combine_losses(h, la.ptr(), lb.ptr(), lam.ptr(), B, MIXUP_REDUCTION_NONE, out.ptr(),
                                 nullptr),
            MIXUP_STATUS_SUCCESS);
  double sum = 0;
  std::vector<double> want(B), got(B);
  for (int i = 0; i < B; ++i) {
    want[i] = double(lam.host[i]) * la.host[i] + (1.0 - lam.host[i]) * lb.host[i];
    got[i] = out.download()[i];
    sum += want[i];
  }
  EXPECT_TRUE(all_close(got, want, 1e-6, 1e-6));
  ASSERT_EQ(mixup_combine_losses(h, la.ptr(), lb.ptr(), lam.ptr(), B, MIXUP_REDUCTION_MEAN, red.ptr(),
                                 nullptr),
            MIXUP_STATUS_SUCCESS);
  EXPECT_NEAR(red.download()[0], sum / B, 1e-5);
  ASSERT_EQ(mixup_combine_losses(h, la.ptr(), lb.ptr(), lam.ptr(), B, MIXUP_REDUCTION_SUM, red.ptr(),
                                 nullptr),
            MIXUP_STATUS_SUCCESS);
  EXPECT_NEAR(red.download()[0], sum, 1e-4);
  mixup_loss_destroy(h);
}

}  // namespace
