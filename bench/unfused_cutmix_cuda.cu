// The unfused CutMix baseline's paste: one kernel for the whole batch, one element per
// thread, the way a framework's indexed copy runs (the batch copy before it is a plain
// device-to-device memcpy, as a contiguous clone is).
#include "unfused_cutmix.hpp"

namespace mixup::bench {
namespace {

constexpr int kThreads = 256;

// blockIdx.y is the sample; x threads cover a whole image, so any box fits.
__global__ void paste_boxes(const float* src, const std::int32_t* perm, const std::int32_t* box, float* dst,
                            std::int64_t c, std::int64_t h, std::int64_t w) {
  const std::int64_t i = blockIdx.y;
  const std::int32_t* b = box + 4 * i;
  const std::int64_t bh = b[2] - b[0], bw = b[3] - b[1];
  const std::int64_t k = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (bh <= 0 || bw <= 0 || k >= c * bh * bw) return;
  const std::int64_t ch = k / (bh * bw), y = b[0] + (k / bw) % bh, x = b[1] + k % bw;
  const std::int64_t at = (ch * h + y) * w + x;
  dst[i * c * h * w + at] = src[static_cast<std::int64_t>(perm[i]) * c * h * w + at];
}

}  // namespace

cudaError_t cuda_paste_boxes(const float* src, const std::int32_t* perm, const std::int32_t* box, float* dst,
                             std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, cudaStream_t s) {
  const dim3 grid(static_cast<unsigned>((c * h * w + kThreads - 1) / kThreads), static_cast<unsigned>(n));
  paste_boxes<<<grid, kThreads, 0, s>>>(src, perm, box, dst, c, h, w);
  return cudaGetLastError();
}

}  // namespace mixup::bench
