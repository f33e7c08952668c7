// λ ~ Beta(α, α) from two log-space gamma draws, for any finite α > 0, with no NaN, no
// clamp and no pile-up at 0.5.
//
// Marsaglia–Tsang (2000) for Gamma(a ≥ 1); for α < 1 the boost G_α = G_{α+1} · U^{1/α} is
// taken in logs: log G = log(d·v) + log(U)/α, so a tiny α never underflows G to 0 (which is
// what turns X/(X+Y) into 0/0 elsewhere). With d = log X − log Y, λ = sigmoid(d), and the
// folded λ = max(λ, 1−λ) = sigmoid(|d|); 1 − λ = sigmoid(−|d|) is computed directly rather
// than subtracted. All arithmetic is double, built from IEEE basic operations, so the CPU and
// the GPU reach the same bits from the same words.
//
// Words are consumed in a fixed order per gamma draw: normals (polar method, two words per
// attempt, second normal cached), one acceptance uniform per proposal, then one boost uniform
// when α < 1; X is drawn completely before Y.
#pragma once

#include "philox.cuh"

namespace mixup::core {

template <class Words>
struct NormalSource {
  Words& words;
  double cached = 0.0;
  bool has_cached = false;

  // Symmetric open uniform in (−1, 1) from one word: exact in double.
  MIXUP_HD static double signed_unit(std::uint32_t w) {
    return (static_cast<double>(w) + 0.5) * (1.0 / 2147483648.0) - 1.0;
  }

  MIXUP_HD double next() {
    if (has_cached) {
      has_cached = false;
      return cached;
    }
    for (;;) {
      const double u = signed_unit(words.next());
      const double v = signed_unit(words.next());
      const double s = u * u + v * v;
      if (s < 1.0 && s > 0.0) {
        const double f = sqrt(-2.0 * log_d(s) / s);  // sqrt is correctly rounded on both sides
        cached = v * f;
        has_cached = true;
        return u * f;
      }
    }
  }
};

// Bound on Marsaglia–Tsang proposals (acceptance ≥ 95% for a ≥ 1, so the chance of reaching
// it is below 10^-300): keeps a kernel from looping forever on a corrupted generator.
constexpr int kMaxGammaProposals = 256;

// log of a Gamma(alpha, 1) draw. alpha must be finite and > 0 (checked by the API).
template <class Words>
MIXUP_HD double log_gamma_draw(double alpha, Words& words) {
  NormalSource<Words> normal{words};
  const double a = alpha < 1.0 ? alpha + 1.0 : alpha;
  const double d = a - 1.0 / 3.0;
  const double c = 1.0 / sqrt(9.0 * d);
  const double log_of_d = log_d(d);
  const bool boost = alpha < 1.0;
  double log_g = 0.0, log_boost = 0.0;
  bool boost_ready = false;
  for (int attempt = 0; attempt < kMaxGammaProposals; ++attempt) {
    const double x = normal.next();
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = static_cast<double>(uniform_from_word(words.next()));
    // The boost's word is the one after an accepted proposal's u: its log is taken alongside
    // log v and log u instead of after the loop, so it leaves the dependent chain (on a
    // rejection it is simply not used — the words consumed, and so the bits, are the same).
    if (boost) log_boost = log_d(static_cast<double>(uniform_from_word(words.peek())));
    const double log_v = log_d(v);
    if (log_d(u) < 0.5 * x * x + d - d * v + d * log_v) {
      log_g = log_of_d + log_v;
      boost_ready = boost;
      break;
    }
  }
  if (boost) {
    const std::uint32_t w = words.next();
    if (!boost_ready) log_boost = log_d(static_cast<double>(uniform_from_word(w)));
    log_g = log_g + log_boost / alpha;
  }
  return log_g;
}

// d = log X − log Y with X, Y ~ Gamma(α, 1) from one stream: the log-odds of λ.
template <class Words>
MIXUP_HD double beta_log_odds(double alpha, Words& words) {
  const double log_x = log_gamma_draw(alpha, words);
  const double log_y = log_gamma_draw(alpha, words);
  return log_x - log_y;
}

struct Lambda {
  float lam;        // weight of the sample itself
  float one_minus;  // weight of its partner: always fl(1 − lam)
};

// The partner's weight is derived from the float λ and nothing else, so the λ a call reports
// describes the call completely: replaying it through the "given" entry point gives the same
// bits (every output is fl(fl(λ·a) + fl((1 − λ)·b))). With the fold λ ≥ ½ and 1 − λ is exact
// (Sterbenz); a more accurate complement computed in double would break replay for an ulp.
MIXUP_HD Lambda lambda_of(float lam) { return Lambda{lam, 1.0f - lam}; }

// λ from the log-odds d; folded means λ = max(λ, 1 − λ).
// sigmoid(t) and sigmoid(−t) = 1 − sigmoid(t), in double, each computed directly.
struct SigmoidPair {
  double of_t, of_minus_t;
};

MIXUP_HD SigmoidPair sigmoid_pair(double t) {
  const double e = exp_nonpos_d(t < 0.0 ? t : -t);  // e^{−|t|} ∈ (0, 1]
  const double big = 1.0 / (1.0 + e), small = e / (1.0 + e);
  return t >= 0.0 ? SigmoidPair{big, small} : SigmoidPair{small, big};
}

MIXUP_HD Lambda lambda_from_log_odds(double d, bool fold) {
  const SigmoidPair s = sigmoid_pair(fold ? (d < 0.0 ? -d : d) : d);
  return lambda_of(static_cast<float>(s.of_t));
}

}  // namespace mixup::core
