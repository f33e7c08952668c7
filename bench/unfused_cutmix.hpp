// The unfused CutMix baseline: what per-sample CutMix costs written the way the peers write
// it (timm's rand_bbox and Mixup._mix_batch, torchvision's CutMix, with one box per sample):
// λ ~ Beta(α, α) on the host (numpy-style, via std::gamma_distribution), the box side
// ⌊H·√(1 − λ)⌋ (likewise W), a uniform centre, clipped to the image, a host shuffle; then a
// copy of the whole batch and a paste of each sample's box from its partner. Lives in bench/
// only; the library never does this.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include <cuda_runtime_api.h>

namespace mixup::bench {

// One step's CutMix draws, laid out as mixup_draws_t and mixup_targets_t.perm give them.
struct HostCuts {
  std::vector<std::int32_t> perm;  // [N] the partner of each sample
  std::vector<std::int32_t> box;   // [N, 4] rows [y0, y1) × columns [x0, x1): y0, x0, y1, x1
  explicit HostCuts(std::int64_t n) : perm(n), box(4 * n) {}
};

// timm's rand_bbox for each sample, and a partner: a shuffle, or with `involution` a random
// matching (consecutive entries of a shuffle swap; an odd one out keeps itself).
inline void draw_cuts_on_host(std::mt19937_64& rng, double alpha, std::int64_t h, std::int64_t w,
                              bool involution, HostCuts& d) {
  std::gamma_distribution<double> gamma(alpha, 1.0);
  const std::int64_t n = static_cast<std::int64_t>(d.perm.size());
  for (std::int64_t i = 0; i < n; ++i) {
    const double x = gamma(rng), y = gamma(rng);
    const double lam = x + y > 0.0 ? x / (x + y) : 0.5;  // both gammas 0 would make it 0/0
    const double ratio = std::sqrt(1.0 - lam);
    const auto cut_h = static_cast<std::int64_t>(static_cast<double>(h) * ratio);
    const auto cut_w = static_cast<std::int64_t>(static_cast<double>(w) * ratio);
    const std::int64_t cy = std::uniform_int_distribution<std::int64_t>(0, h - 1)(rng);
    const std::int64_t cx = std::uniform_int_distribution<std::int64_t>(0, w - 1)(rng);
    std::int32_t* b = d.box.data() + 4 * i;
    b[0] = static_cast<std::int32_t>(std::clamp<std::int64_t>(cy - cut_h / 2, 0, h));
    b[1] = static_cast<std::int32_t>(std::clamp<std::int64_t>(cx - cut_w / 2, 0, w));
    b[2] = static_cast<std::int32_t>(std::clamp<std::int64_t>(cy + cut_h / 2, 0, h));
    b[3] = static_cast<std::int32_t>(std::clamp<std::int64_t>(cx + cut_w / 2, 0, w));
  }
  std::vector<std::int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  if (!involution) {
    d.perm = order;
    return;
  }
  for (std::int64_t k = 0; k + 1 < n; k += 2) {
    d.perm[order[k]] = order[k + 1];
    d.perm[order[k + 1]] = order[k];
  }
  if (n % 2 == 1) d.perm[order[n - 1]] = order[n - 1];
}

// Elements pasted from a partner: Σ over samples not paired with themselves of C · box area.
inline std::int64_t box_elems(const HostCuts& d, std::int64_t channels) {
  std::int64_t total = 0;
  for (std::size_t i = 0; i < d.perm.size(); ++i) {
    if (d.perm[i] == static_cast<std::int32_t>(i)) continue;
    const std::int32_t* b = d.box.data() + 4 * i;
    total += channels * std::int64_t(b[2] - b[0]) * std::int64_t(b[3] - b[1]);
  }
  return total;
}

// CUDA paste (unfused_cutmix_cuda.cu): dst[i] inside box i ← src[perm[i]], one element per
// thread, NCHW f32, for all samples in one launch. perm and box are device arrays.
cudaError_t cuda_paste_boxes(const float* src, const std::int32_t* perm, const std::int32_t* box, float* dst,
                             std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, cudaStream_t s);

}  // namespace mixup::bench
