// The laws of the mixing policy, with fixed seeds and thresholds from theory (family-wise
// false-alarm rate about 10^-6 per check): box centres uniform over the image (chi-square),
// CutMix's λ before correction Beta(α, α) (Kolmogorov–Smirnov; the KS statistic is the same on
// λ as on its log-odds, the map being monotone), a mixed fraction of prob — not prob² — and a
// CutMix fraction of switch_prob (binomial, normal approximation), for each sharing mode.
#include "cutmix_support.hpp"

#include <algorithm>

#include <boost/math/distributions/beta.hpp>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>

namespace {

using namespace mixup::test;

class CutMixLaw : public BackendTest {};

constexpr double kFalseAlarm = 1e-6;

// |k − n·p| must stay within the two-sided normal quantile of kFalseAlarm.
::testing::AssertionResult binomial_ok(std::int64_t k, std::int64_t n, double p) {
  const double z = boost::math::quantile(boost::math::normal(), 1.0 - kFalseAlarm / 2.0);
  const double sd = std::sqrt(static_cast<double>(n) * p * (1.0 - p));
  const double dev = std::fabs(static_cast<double>(k) - static_cast<double>(n) * p);
  if (dev <= z * sd) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << k << " of " << n << " (" << static_cast<double>(k) / static_cast<double>(n) << "), expected " << p
         << ": " << dev / sd << " standard deviations off";
}

::testing::AssertionResult chi_square_uniform(const std::vector<std::int64_t>& counts) {
  std::int64_t total = 0;
  for (std::int64_t c : counts) total += c;
  const double expect = static_cast<double>(total) / static_cast<double>(counts.size());
  double chi2 = 0.0;
  for (std::int64_t c : counts)
    chi2 += (static_cast<double>(c) - expect) * (static_cast<double>(c) - expect) / expect;
  const double limit = boost::math::quantile(boost::math::chi_squared(static_cast<double>(counts.size() - 1)),
                                             1.0 - kFalseAlarm);
  if (chi2 <= limit) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "chi-square " << chi2 << " over the limit " << limit << " for " << counts.size() << " cells";
}

// Many draws of one policy, all samples of steps 0..steps-1.
std::vector<Drawn> draws(const mixup_config_t& c, const mixup_mixing_t& m, const Shape& sh, int steps) {
  std::vector<Drawn> all;
  for (int step = 0; step < steps; ++step) {
    CallSpec s{c, m, sh};
    s.step = static_cast<std::uint64_t>(step);
    all.push_back(run_call(s));
  }
  return all;
}

// With α = 10^5 the CutMix λ' sits within 0.5 ± 0.011 (10 sd), so a side of 23 pixels always
// gets ⌊23·√(1 − λ')⌋ = 16, half 8: the clipped box gives its centre back exactly. Rows are
// drawn on 23×1 images and columns on 1×23 ones (a side of 1 pixel gets an empty extent, and
// its centre is always 0), which keeps the images small.
TEST_F(CutMixLaw, BoxCentresAreUniform) {
  const std::int32_t side = 23, half = 8;
  mixup_config_t c = config_for_tests(4096);
  mixup_mixing_t m = mixup_mixing_default();
  m.switch_prob = 1.0f;
  m.cutmix_alpha = 1e5f;
  for (const bool rows : {true, false}) {
    std::vector<std::int64_t> counts(side);
    std::int64_t odd = 0;
    for (const Drawn& d : draws(c, m, rows ? Shape{4096, 1, side, 1} : Shape{4096, 1, 1, side}, 4)) {
      ASSERT_EQ(d.status, MIXUP_STATUS_SUCCESS);
      for (const auto& b : d.box) {
        const std::int32_t lo = rows ? b[0] : b[1], hi = rows ? b[2] : b[3];
        const std::int32_t centre = hi < side ? hi - half : lo + half;
        if (std::max(centre - half, 0) != lo || std::min(centre + half, side) != hi) {
          ++odd;
          continue;
        }
        ++counts[centre];
      }
    }
    EXPECT_EQ(odd, 0) << "boxes whose side is not 16: the premise of this test failed";
    EXPECT_TRUE(chi_square_uniform(counts)) << (rows ? "centre rows" : "centre columns");
  }
}

TEST_F(CutMixLaw, LambdaBeforeCorrectionIsBeta) {
  for (const float alpha : {0.4f, 1.0f, 3.0f}) {
    mixup_config_t c = config_for_tests(4096);
    c.seed = 99;
    mixup_mixing_t m = mixup_mixing_default();
    m.switch_prob = 1.0f;
    m.cutmix_alpha = alpha;
    m.correct_lam = 0;
    std::vector<double> lam;
    std::int64_t non_finite = 0;
    const Shape sh{4096, 1, 32, 1};  // W = 1: the box's rows are still drawn (its width is 0)
    for (const Drawn& d : draws(c, m, sh, 5)) {
      ASSERT_EQ(d.status, MIXUP_STATUS_SUCCESS);
      for (std::size_t i = 0; i < d.lam.size(); ++i) {
        const double l = d.lam[i];
        if (!std::isfinite(l)) ++non_finite;
        lam.push_back(l);
        // the box follows λ': side ⌊32·√(1 − λ')⌋, halved, clipped; λ' is reported rounded to
        // float, so the side is bracketed by the neighbouring floats
        const double up = std::nextafter(d.lam[i], 2.0f), down = std::nextafter(d.lam[i], -1.0f);
        const int side_lo = static_cast<int>(32.0 * std::sqrt(std::max(0.0, 1.0 - up)));
        const int side_hi = static_cast<int>(32.0 * std::sqrt(1.0 - down));
        const int hgt = d.box[i][2] - d.box[i][0];
        EXPECT_TRUE(hgt <= 2 * (side_hi / 2)) << "λ' " << l << " box height " << hgt;
        if (d.box[i][0] > 0 && d.box[i][2] < 32) {
          EXPECT_TRUE(hgt >= 2 * (side_lo / 2) && hgt <= 2 * (side_hi / 2))
              << "λ' " << l << " box height " << hgt;
        }
      }
    }
    EXPECT_EQ(non_finite, 0);
    std::sort(lam.begin(), lam.end());
    const boost::math::beta_distribution<double> law(alpha, alpha);
    double D = 0.0;
    const double n = static_cast<double>(lam.size());
    for (std::size_t i = 0; i < lam.size(); ++i) {
      const double F = boost::math::cdf(law, std::min(1.0, std::max(0.0, lam[i])));
      D = std::max({D, F - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - F});
    }
    // asymptotic Kolmogorov bound: P(√n·D > t) ≈ 2·exp(−2t²)
    const double limit = std::sqrt(-0.5 * std::log(kFalseAlarm / 2.0) / n);
    EXPECT_LE(D, limit) << "α = " << alpha << ": KS distance " << D;
  }
}

// Kornia once applied its probability twice (rows mixed at p²): the mixed fraction must be p.
TEST_F(CutMixLaw, ProbabilityIsAppliedOnceInEveryMode) {
  for (const mixup_lambda_mode_t mode :
       {MIXUP_LAMBDA_PER_SAMPLE, MIXUP_LAMBDA_PER_PAIR, MIXUP_LAMBDA_PER_BATCH})
    for (const float p : {0.3f, 0.5f}) {
      mixup_config_t c = config_for_tests(4096);
      c.lambda_mode = mode;
      c.pairing = MIXUP_PAIRING_INVOLUTION;
      mixup_mixing_t m = mixup_mixing_default();
      m.prob = p;
      m.switch_prob = 0.5f;
      // count draws, not samples: per batch one per call, per pair one per pair
      const bool batch = mode == MIXUP_LAMBDA_PER_BATCH;
      const Shape sh = batch ? Shape{4, 1, 4, 4} : Shape{2048, 1, 4, 4};
      std::int64_t mixed = 0, total = 0, unmixed_wrong = 0;
      for (const Drawn& d : draws(c, m, sh, batch ? 600 : 3)) {
        ASSERT_EQ(d.status, MIXUP_STATUS_SUCCESS);
        for (std::int64_t i = 0; i < sh.n; ++i) {
          if (batch && i > 0) {
            EXPECT_EQ(d.kind[i] != MIXUP_KIND_NONE, d.kind[0] != MIXUP_KIND_NONE) << "one decision per batch";
            continue;
          }
          // per pair (B even: B/2 pairs) both samples share the decision: count each pair once
          const bool lower = mode != MIXUP_LAMBDA_PER_PAIR || i % 2 == 0;
          total += lower;
          mixed += d.kind[i] != MIXUP_KIND_NONE && (mode != MIXUP_LAMBDA_PER_PAIR || d.perm[i] > i);
          if (d.kind[i] == MIXUP_KIND_NONE && (d.perm[i] != i || d.lam[i] != 1.0f)) ++unmixed_wrong;
        }
      }
      EXPECT_TRUE(binomial_ok(mixed, total, p)) << "mode " << mode << " prob " << p;
      EXPECT_EQ(unmixed_wrong, 0);
    }
}

TEST_F(CutMixLaw, SwitchingFractionIsSwitchProb) {
  for (const float sw : {0.25f, 0.5f, 0.9f}) {
    mixup_config_t c = config_for_tests(4096);
    mixup_mixing_t m = mixup_mixing_default();
    m.switch_prob = sw;
    std::int64_t cut = 0, total = 0;
    for (const Drawn& d : draws(c, m, Shape{4096, 1, 4, 4}, 2)) {
      ASSERT_EQ(d.status, MIXUP_STATUS_SUCCESS);
      for (std::int32_t k : d.kind) {
        ASSERT_NE(k, MIXUP_KIND_NONE) << "prob = 1 mixes every sample";
        cut += k == MIXUP_KIND_CUTMIX;
        ++total;
      }
    }
    EXPECT_TRUE(binomial_ok(cut, total, sw)) << "switch_prob " << sw;
  }
}

}  // namespace
