// How the library addresses its random streams (seed, rank salt, step), and the two draws
// every family shares: an exactly uniform integer, and the log-odds of a Beta(α, α) λ.
#pragma once

#include "beta.cuh"

namespace mixup::core {

struct StreamAddress {
  std::uint64_t seed;
  std::uint32_t salt;  // rank / stream salt, < 2^30
  std::uint64_t step;
};

// Uniform integer in [0, n), n ≥ 1: Lemire's multiply-shift with rejection, exactly uniform.
template <class Words>
MIXUP_HD std::uint32_t bounded(Words& words, std::uint32_t n) {
  std::uint64_t m = static_cast<std::uint64_t>(words.next()) * n;
  std::uint32_t low = static_cast<std::uint32_t>(m);
  if (low < n) {
    const std::uint32_t threshold = (0u - n) % n;
    while (low < threshold) {
      m = static_cast<std::uint64_t>(words.next()) * n;
      low = static_cast<std::uint32_t>(m);
    }
  }
  return static_cast<std::uint32_t>(m >> 32);
}

// The log-odds d behind sample i's λ (exposed so tests can check the sampler's law).
template <class Words>
MIXUP_HD double draw_log_odds(const StreamAddress& at, double alpha, std::uint32_t stream) {
  Words g(at.seed, subsequence_of(at.salt, Purpose::kLambda, stream), offset_of(at.step));
  return beta_log_odds(alpha, g);
}

}  // namespace mixup::core
