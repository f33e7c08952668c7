// The λ sampler's law, checked against Boost.Math (an independent implementation of the
// regularised incomplete beta). KS tests run on the log-odds d = log X − log Y, where float
// rounding of λ next to 0 and 1 cannot decide the result (DESIGN.md §5): P(d ≤ t) =
// I_{sigmoid(t)}(α, α), evaluated tail-accurately on the side of the smaller argument.
#include <gtest/gtest.h>

#include <boost/math/special_functions/beta.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "pairing.cuh"

namespace {

namespace core = mixup::core;

double sigmoid_neg_abs(double t) {  // sigmoid(−|t|) without cancellation
  const double e = std::exp(-std::fabs(t));
  return e / (1.0 + e);
}

// P(d ≤ t) for d the log-odds of Beta(α, α)
double cdf_log_odds(double t, double alpha) {
  const double tail = boost::math::ibeta(alpha, alpha, sigmoid_neg_abs(t));
  return t <= 0.0 ? tail : 1.0 - tail;
}

// P(|d| ≤ t), t ≥ 0: the folded form
double cdf_abs_log_odds(double t, double alpha) {
  return 1.0 - 2.0 * boost::math::ibeta(alpha, alpha, sigmoid_neg_abs(t));
}

template <class Cdf>
double ks_statistic(std::vector<double> xs, Cdf cdf) {
  std::sort(xs.begin(), xs.end());
  const double n = static_cast<double>(xs.size());
  double d = 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double f = cdf(xs[i]);
    d = std::max({d, f - i / n, (i + 1) / n - f});
  }
  return d;
}

std::vector<double> draws(double alpha, std::size_t n, std::uint64_t seed) {
  const core::StreamAddress at{seed, 0, 0};
  std::vector<double> d(n);
  for (std::size_t i = 0; i < n; ++i)
    d[i] = core::draw_log_odds<core::Philox4x32>(at, alpha, static_cast<std::uint32_t>(i));
  return d;
}

// Kolmogorov distribution: P(√n·D > 1.9495) = 0.001.
constexpr double kKsCritical = 1.9495;
constexpr std::size_t kKsDraws = 100000;

class BetaLaw : public ::testing::TestWithParam<double> {};

TEST_P(BetaLaw, LogOddsPassesKolmogorovSmirnovUnfolded) {
  const double alpha = GetParam();
  const std::vector<double> d = draws(alpha, kKsDraws, 2024);
  for (double v : d) ASSERT_TRUE(std::isfinite(v)) << "non-finite log-odds at alpha " << alpha;
  const double D = ks_statistic(d, [&](double t) { return cdf_log_odds(t, alpha); });
  EXPECT_LT(D * std::sqrt(static_cast<double>(kKsDraws)), kKsCritical) << "alpha " << alpha << " D " << D;
}

TEST_P(BetaLaw, AbsLogOddsPassesKolmogorovSmirnovFolded) {
  const double alpha = GetParam();
  std::vector<double> d = draws(alpha, kKsDraws, 777);
  for (double& v : d) v = std::fabs(v);
  const double D = ks_statistic(d, [&](double t) { return cdf_abs_log_odds(t, alpha); });
  EXPECT_LT(D * std::sqrt(static_cast<double>(kKsDraws)), kKsCritical) << "alpha " << alpha << " D " << D;
}

// λ itself: the float value of sigmoid(d) within an ulp of a double reference, in range,
// folded λ ≥ 0.5, and the partner weight equals 1 − λ to float precision.
TEST_P(BetaLaw, LambdaFromLogOdds) {
  const double alpha = GetParam();
  const std::vector<double> d = draws(alpha, 20000, 31);
  for (const bool fold : {false, true}) {
    for (double v : d) {
      const core::Lambda l = core::lambda_from_log_odds(v, fold);
      const double t = fold ? std::fabs(v) : v;
      const double want = t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
      const double want_other = t >= 0 ? std::exp(-t) / (1.0 + std::exp(-t)) : 1.0 / (1.0 + std::exp(t));
      // half an ulp of float, or the subnormal spacing where the value is that small
      const double floor = std::numeric_limits<float>::denorm_min();
      ASSERT_NEAR(l.lam, want, std::max(6e-8 * want, floor)) << "d " << v;
      // The partner's weight is fl(1 − λ) of the float λ, so that the reported λ replays a call
      // exactly (issue 18); its error is then absolute: λ's rounding (≤ 2^-25 for λ ≥ ½, where
      // 1 − λ is exact) plus, unfolded, the subtraction's (≤ 2^-25 of 1 − λ).
      ASSERT_EQ(l.one_minus, 1.0f - l.lam) << "d " << v;
      ASSERT_NEAR(l.one_minus, want_other, 6e-8) << "d " << v;
      ASSERT_GE(l.lam, 0.0f);
      ASSERT_LE(l.lam, 1.0f);
      if (fold) {
        ASSERT_GE(l.lam, 0.5f);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Alphas, BetaLaw, ::testing::Values(0.05, 0.1, 0.2, 0.4, 1.0, 2.0, 10.0));

// Gamma(α, 1) has mean α and variance α. Standard errors: √(α/n) for the mean and
// √((2α² + 6α)/n) for the variance (fourth central moment 3α(α + 2)); allow 5 of them.
TEST(Gamma, MeanAndVarianceAreAlpha) {
  const std::size_t n = 200000;
  for (const double alpha : {0.05, 0.4, 1.0, 3.5, 10.0}) {
    std::vector<double> g(n);
    for (std::size_t i = 0; i < n; ++i) {
      core::Philox4x32 words(99, i, 0);
      g[i] = std::exp(core::log_gamma_draw(alpha, words));
    }
    double mean = 0.0;
    for (double v : g) mean += v;
    mean /= n;
    double var = 0.0;
    for (double v : g) var += (v - mean) * (v - mean);
    var /= (n - 1);
    EXPECT_NEAR(mean, alpha, 5.0 * std::sqrt(alpha / n)) << "alpha " << alpha;
    EXPECT_NEAR(var, alpha, 5.0 * std::sqrt((2 * alpha * alpha + 6 * alpha) / n)) << "alpha " << alpha;
  }
}

// Gamma draws in log space stay finite where the plain ratio X / (X + Y) would be 0/0.
TEST(Gamma, TinyAlphaStaysFinite) {
  for (const double alpha : {1e-3, 1e-2}) {
    for (std::uint64_t i = 0; i < 20000; ++i) {
      core::Philox4x32 words(5, i, 0);
      const double lg = core::log_gamma_draw(alpha, words);
      ASSERT_TRUE(std::isfinite(lg)) << "alpha " << alpha << " stream " << i;
    }
  }
}

// The portable log / exp used by the sampler, against the C library in double.
TEST(PortableMath, LogAndExpWithinTwoUlps) {
  for (double x = 1e-310; x < 1e300; x *= 1.37) {
    const double want = std::log(x), got = core::log_d(x);
    ASSERT_NEAR(got, want, 4.5e-16 * std::fabs(want) + 1e-300) << "log " << x;
  }
  for (double x = 0.0; x > -690.0; x -= 0.0137) {
    const double want = std::exp(x), got = core::exp_nonpos_d(x);
    ASSERT_NEAR(got, want, 4.5e-16 * want) << "exp " << x;
  }
  EXPECT_EQ(core::log_d(1.0), 0.0);
  EXPECT_EQ(core::exp_nonpos_d(0.0), 1.0);
  EXPECT_TRUE(std::isinf(core::log_d(0.0)) && core::log_d(0.0) < 0);
  EXPECT_TRUE(std::isnan(core::log_d(-1.0)));
}

}  // namespace
