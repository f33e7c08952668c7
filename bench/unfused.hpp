// The unfused baseline: what mixup costs when written the usual way (fastai v1): λ sampled
// on the host (std::gamma_distribution, as numpy would), a host shuffle, then separate
// passes — gather x[perm], scale both, add — each reading and writing the whole batch.
// Lives in bench/ only; the library never does this.
#pragma once

#include <cstdint>
#include <algorithm>
#include <random>
#include <vector>

#include <cuda_runtime_api.h>

namespace mixup::bench {

struct HostDraws {
  std::vector<float> lam;
  std::vector<std::int32_t> perm;
};

// fastai's recipe on the host: λ ~ Beta(α, α) as X / (X + Y), folded, and a shuffle.
inline void draw_on_host(std::mt19937_64& rng, float alpha, HostDraws& d) {
  std::gamma_distribution<float> g(alpha, 1.0f);
  for (std::size_t i = 0; i < d.lam.size(); ++i) {
    const float x = g(rng), y = g(rng);
    const float l = x / (x + y);
    d.lam[i] = l > 0.5f ? l : 1.0f - l;
    d.perm[i] = static_cast<std::int32_t>(i);
  }
  std::shuffle(d.perm.begin(), d.perm.end(), rng);
}

// CUDA unfused passes (unfused_cuda.cu), each a separate kernel over the whole batch.
cudaError_t cuda_gather_rows(const float* x, const std::int32_t* perm, float* xb, std::int64_t batch,
                             std::int64_t per, cudaStream_t s);
cudaError_t cuda_scale_rows(const float* x, const float* w, bool one_minus, float* out, std::int64_t batch,
                            std::int64_t per, cudaStream_t s);
cudaError_t cuda_add(const float* a, const float* b, float* out, std::int64_t n, cudaStream_t s);
cudaError_t cuda_u8_to_f32(const std::uint8_t* x, float* out, std::int64_t n, cudaStream_t s);

}  // namespace mixup::bench
