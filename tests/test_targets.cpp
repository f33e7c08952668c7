// Targets written with the mix: stacked (y_a, y_b, λ), label-smoothed blended one-hot, and
// blended caller soft rows — each against a double reference built from the reported λ and
// partners.
#include <cmath>

#include "support.hpp"

namespace {

using namespace mixup::test;

struct TargetRun {
  std::vector<float> lam, soft;
  std::vector<std::int32_t> perm, y_a, y_b;
};

TargetRun run_targets(mixup_targets_mode_t mode, float smoothing, std::int32_t classes, std::int32_t B,
                      const std::vector<std::int32_t>& labels, const std::vector<float>& soft_in) {
  mixup_config_t c = config_for_tests(128);
  c.num_classes = classes;
  c.label_smoothing = smoothing;
  Handle h(c);
  Buf<float> x(B, 1.0f), out(B), lam(B, -1.0f), soft(static_cast<std::size_t>(B) * classes, NAN);
  Buf<float> sin(soft_in.size());
  sin.host = soft_in;
  sin.upload();
  Buf<std::int32_t> lab(B), perm(B, -1), ya(B, -1), yb(B, -1);
  lab.host = labels;
  lab.upload();
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, B, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, B, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.mode = mode;
  t.labels = lab.ptr();
  t.soft_in = soft_in.empty() ? nullptr : sin.ptr();
  t.y_a = mode == MIXUP_TARGETS_STACKED ? ya.ptr() : nullptr;
  t.y_b = mode == MIXUP_TARGETS_STACKED ? yb.ptr() : nullptr;
  t.lam = lam.ptr();
  t.soft_out = soft.ptr();
  t.perm = perm.ptr();
  EXPECT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  return TargetRun{lam.download(), soft.download(), perm.download(), ya.download(), yb.download()};
}

class Targets : public BackendTest {};

TEST_F(Targets, StackedAreLabelsOfSampleAndPartner) {
  const std::int32_t B = 65;
  std::vector<std::int32_t> labels(B);
  for (int i = 0; i < B; ++i) labels[i] = (i * 7) % 10;
  const TargetRun r = run_targets(MIXUP_TARGETS_STACKED, 0.0f, 10, B, labels, {});
  for (int i = 0; i < B; ++i) {
    EXPECT_EQ(r.y_a[i], labels[i]);
    EXPECT_EQ(r.y_b[i], labels[r.perm[i]]);
    EXPECT_GE(r.lam[i], 0.5f);
  }
}

TEST_F(Targets, OneHotWithLabelSmoothing) {
  for (const float eps : {0.0f, 0.1f}) {
    for (const std::int32_t C : {1, 3, 10, 1001}) {
      const std::int32_t B = 7;
      std::vector<std::int32_t> labels(B);
      for (int i = 0; i < B; ++i) labels[i] = (i * 5 + 1) % C;
      labels[3] = labels[4];  // some pairs share a label: the indicators add
      const TargetRun r = run_targets(MIXUP_TARGETS_ONEHOT, eps, C, B, labels, {});
      std::vector<double> got, want;
      for (int i = 0; i < B; ++i) {
        double row_sum = 0;
        for (int c = 0; c < C; ++c) {
          const double oa = (c == labels[i] ? 1.0 - eps : 0.0) + eps / C;
          const double ob = (c == labels[r.perm[i]] ? 1.0 - eps : 0.0) + eps / C;
          want.push_back(r.lam[i] * oa + (1.0 - r.lam[i]) * ob);
          got.push_back(r.soft[i * C + c]);
          row_sum += r.soft[i * C + c];
        }
        EXPECT_NEAR(row_sum, 1.0, 1e-5 * std::max(1, C / 100)) << "row " << i << " C " << C;
      }
      EXPECT_TRUE(all_close(got, want, 2e-7, 2e-7)) << "eps " << eps << " C " << C;
    }
  }
}

TEST_F(Targets, SoftRowsAreBlended) {
  const std::int32_t B = 33, C = 31;
  std::vector<float> soft(B * C);
  for (int i = 0; i < B * C; ++i) soft[i] = static_cast<float>((i * 37) % 101) / 101.0f;
  const TargetRun r = run_targets(MIXUP_TARGETS_SOFT, 0.0f, C, B, std::vector<std::int32_t>(B, 0), soft);
  std::vector<double> got(r.soft.begin(), r.soft.end()), want;
  for (int i = 0; i < B; ++i)
    for (int c = 0; c < C; ++c)
      want.push_back(r.lam[i] * double(soft[i * C + c]) + (1.0 - r.lam[i]) * soft[r.perm[i] * C + c]);
  EXPECT_TRUE(all_close(got, want, 2e-7, 2e-7));
}

// DESIGN.md §5: at α = 0.05 over 10^7 draws, through the whole call: no NaN or Inf, and every
// folded λ in [0.5, 1]; unfolded, every λ in [0, 1] and both halves used.
TEST_F(Targets, TenMillionLambdasAtTinyAlphaAreFiniteAndInRange) {
  for (const int fold : {1, 0}) {
    mixup_config_t c = config_for_tests(4096);
    c.alpha = 0.05f;
    c.fold = fold;
    Handle h(c);
    const std::int32_t B = 4096;
    Buf<float> x(B, 0.0f), out(B), lam(B);
    mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, B, 1, 1, 1, MIXUP_LAYOUT_NCHW};
    mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, B, 1, 1, 1, MIXUP_LAYOUT_NCHW};
    mixup_targets_t t{};
    t.lam = lam.ptr();
    long long non_finite = 0, out_of_range = 0, below_half = 0, draws = 0;
    const long long want_draws = fold ? 10'000'000 : 1'000'000;
    while (draws < want_draws) {
      ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
      for (float l : lam.download()) {
        non_finite += !std::isfinite(l);
        out_of_range += fold ? !(l >= 0.5f && l <= 1.0f) : !(l >= 0.0f && l <= 1.0f);
        below_half += l < 0.5f;
      }
      draws += B;
    }
    EXPECT_EQ(non_finite, 0) << "fold " << fold;
    EXPECT_EQ(out_of_range, 0) << "fold " << fold;
    if (!fold) {
      EXPECT_NEAR(static_cast<double>(below_half) / draws, 0.5, 0.005);
    }
  }
}

}  // namespace
