// Pairing family: per training step, draws every sample's λ and its partner, validates the
// labels (and a caller's λ / permutation), and writes the stacked targets (y_a, y_b, λ).
// This is the one small launch before the blend; nothing here touches image data.
//
// Permutation: 64-bit Philox keys, one per sample, sorted stably with the index; runs of
// equal keys (probability ≈ B²/2^65) are then shuffled in place with further Philox draws.
// Equal keys are exchangeable, so the shuffle makes the result exactly uniform — the tie
// break by index that biases other implementations (PyTorch PR 54113) never decides an order.
// Tests shorten the keys (`key_bits`) to force ties and check uniformity by chi-square.
#pragma once

#include "beta.cuh"

#include <cuda_runtime_api.h>

namespace mixup::core {

enum class Pairing : int { kPermutation = 0, kInvolution = 1, kFlip = 2 };
enum class LambdaMode : int { kPerSample = 0, kPerBatch = 1, kPerPair = 2 };

// What a device-side check found; the blend reads it and writes nothing unless it is kOk.
enum class CheckCode : std::int32_t {
  kOk = 0,
  kLabelOutOfRange = 1,
  kPermOutOfRange = 2,
  kPermNotBijective = 3,
  kLambdaOutOfRange = 4,
};

struct DeviceCheck {
  std::int32_t code;   // CheckCode
  std::int32_t index;  // the first offending sample
  std::int32_t value;  // the offending label / partner (λ: its bits)
  std::int32_t pad;
};

// Stores a call's verdict, and keeps the first failure until a poll reads (and clears) it:
// with deferred checks a failed call followed by good ones is still reported.
MIXUP_HD void publish_check(const DeviceCheck& verdict, DeviceCheck* now, DeviceCheck* first_failure) {
  *now = verdict;
  if (verdict.code != 0 && first_failure != nullptr && first_failure->code == 0) *first_failure = verdict;
}

struct StreamAddress {
  std::uint64_t seed;
  std::uint32_t salt;  // rank / stream salt, < 2^30
  std::uint64_t step;
};

MIXUP_HD std::uint64_t perm_key(const StreamAddress& at, std::uint32_t i, int key_bits) {
  Philox4x32 g(at.seed, subsequence_of(at.salt, Purpose::kPermKeys, i), offset_of(at.step));
  const std::uint32_t hi = g.next();
  const std::uint32_t lo = g.next();
  const std::uint64_t k = u64_from_words(hi, lo);
  return key_bits >= 64 ? k : (k >> (64 - key_bits));
}

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

// Fisher–Yates over one run of equal keys, sorted positions [start, start + len).
MIXUP_HD void shuffle_tie_run(const StreamAddress& at, std::uint32_t start, std::uint32_t len,
                              std::int32_t* order) {
  Philox4x32 g(at.seed, subsequence_of(at.salt, Purpose::kTieShuffle, start), offset_of(at.step));
  for (std::uint32_t k = len - 1; k > 0; --k) {
    const std::uint32_t j = bounded(g, k + 1);
    const std::int32_t t = order[start + k];
    order[start + k] = order[start + j];
    order[start + j] = t;
  }
}

// partner of sample `pos`-th in the uniformly shuffled order σ, for each pairing
MIXUP_HD void compose_partner(Pairing pairing, const std::int32_t* sigma, std::int32_t batch,
                              std::int32_t pos, std::int32_t* perm) {
  if (pairing == Pairing::kPermutation) {
    perm[pos] = sigma[pos];
  } else if (pairing == Pairing::kInvolution) {
    // σ read in pairs: (σ[2k], σ[2k+1]) is a uniformly random perfect matching
    const std::int32_t mate = (pos % 2 == 0) ? pos + 1 : pos - 1;
    perm[sigma[pos]] = mate < batch ? sigma[mate] : sigma[pos];
  } else {
    perm[pos] = batch - 1 - pos;
  }
}

MIXUP_HD std::uint32_t lambda_stream(LambdaMode mode, std::int32_t i, std::int32_t partner) {
  if (mode == LambdaMode::kPerBatch) return 0;
  if (mode == LambdaMode::kPerPair) return static_cast<std::uint32_t>(i < partner ? i : partner);
  return static_cast<std::uint32_t>(i);
}

// The log-odds d behind sample i's λ (exposed so tests can check the sampler's law).
template <class Words>
MIXUP_HD double draw_log_odds(const StreamAddress& at, double alpha, std::uint32_t stream) {
  Words g(at.seed, subsequence_of(at.salt, Purpose::kLambda, stream), offset_of(at.step));
  return beta_log_odds(alpha, g);
}

// ---- CUDA launcher (defined in pairing.cu) ----
struct PairingLaunch {
  StreamAddress at;
  std::uint64_t* device_step;        // graph mode: read here, and advanced by one; else null
  std::int32_t batch;
  Pairing pairing;
  LambdaMode lambda_mode;
  bool fold;
  double alpha;
  int key_bits;
  // inputs (device memory); null where unused
  const std::int32_t* labels;
  std::int32_t num_classes;
  const float* given_lambda;
  const std::int32_t* given_perm;
  // handle scratch the blend reads (device memory)
  std::int32_t* perm;
  float* lam;
  float* one_minus;
  DeviceCheck* check;          // this call's verdict (the blend reads it)
  DeviceCheck* first_failure;  // the first failed verdict since the last poll; kept until then
  // caller outputs (device memory), each optional; written only when every check passes
  std::int32_t* perm_out;
  std::int32_t* y_a;
  std::int32_t* y_b;
  float* lam_out;
  // scratch (device memory, sized by pairing_workspace_bytes)
  void* workspace;
  std::size_t workspace_bytes;
};

std::size_t pairing_workspace_bytes(std::int32_t max_batch);
cudaError_t launch_pairing(const PairingLaunch& p, cudaStream_t stream);

}  // namespace mixup::core
