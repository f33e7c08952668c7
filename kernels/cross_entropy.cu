// CUDA side of the cross-entropy family. Three launches: a one-block check of the labels and
// λ that also counts the rows MEAN divides by (the gradient's scale must be known before any
// row writes it); the row kernel — a warp per row with the row in registers for C ≤ 1024, a
// block per row (second read from L2) above; and, for MEAN / SUM, a one-block deterministic
// reduction. No float atomics anywhere: the same inputs give the same bits on every run.
#include "cross_entropy.cuh"

#include <climits>
#include <cmath>

namespace mixup::core {
namespace {

constexpr float kNegInf = -INFINITY;

__device__ float load_logit(const CeParams& p, std::int64_t i) {
  switch (p.dtype) {
    case DType::kF16: return F16::load(static_cast<const std::uint16_t*>(p.logits)[i]);
    case DType::kBF16: return BF16::load(static_cast<const std::uint16_t*>(p.logits)[i]);
    default: return static_cast<const float*>(p.logits)[i];
  }
}

__device__ void store_grad(const CeParams& p, std::int64_t i, float g) {
  switch (p.grad_dtype) {
    case DType::kF16: static_cast<std::uint16_t*>(p.grad)[i] = F16::store(g); break;
    case DType::kBF16: static_cast<std::uint16_t*>(p.grad)[i] = BF16::store(g); break;
    default: static_cast<float*>(p.grad)[i] = g;
  }
}

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Gradient scale: loss_scale, divided by the counted rows for MEAN.
__device__ float grad_scale(const CeParams& p, const CeState* st) {
  if (p.reduction != Reduction::kMean) return p.loss_scale;
  return st->valid_rows > 0 ? p.loss_scale / static_cast<float>(st->valid_rows) : 0.0f;
}

__device__ float target_of(const CeParams& p, const RowTarget& t, std::int64_t row, std::int32_t j, float soft_mass) {
  const float C = static_cast<float>(p.classes);
  if (p.soft != nullptr) return (1.0f - p.eps) * p.soft[row * p.classes + j] + p.eps * soft_mass / C;
  if (t.ignored) return 0.0f;
  float tj = p.eps / C;
  if (j == t.ya) tj += (1.0f - p.eps) * t.wa;
  if (j == t.yb) tj += (1.0f - p.eps) * t.wb;
  return tj;
}

__global__ void check_kernel(CeParams p, CeState* st) {
  __shared__ int first_bad[5];
  __shared__ int valid;
  if (threadIdx.x < 5) first_bad[threadIdx.x] = INT_MAX;
  if (threadIdx.x == 0) valid = 0;
  __syncthreads();
  int my_valid = 0;
  for (std::int64_t i = threadIdx.x; i < p.batch; i += blockDim.x) {
    if (p.soft != nullptr) {
      ++my_valid;
      continue;
    }
    const std::int32_t ya = p.y_a[i];
    const bool ya_ok = ya == p.ignore_index || (ya >= 0 && ya < p.classes);
    const bool yb_ok = p.y_b == nullptr || p.y_b[i] == p.ignore_index || (p.y_b[i] >= 0 && p.y_b[i] < p.classes);
    if (!ya_ok || !yb_ok) atomicMin(&first_bad[static_cast<int>(CheckCode::kLabelOutOfRange)], static_cast<int>(i));
    if (p.lam != nullptr && !(p.lam[i] >= 0.0f && p.lam[i] <= 1.0f))
      atomicMin(&first_bad[static_cast<int>(CheckCode::kLambdaOutOfRange)], static_cast<int>(i));
    my_valid += ya != p.ignore_index;
  }
  atomicAdd(&valid, my_valid);
  __syncthreads();
  if (threadIdx.x == 0) {
    DeviceCheck c{0, 0, 0, 0};
    for (int code = 1; code < 5; ++code) {
      const int i = first_bad[code];
      if (i == INT_MAX) continue;
      c.code = code;
      c.index = i;
      if (code == static_cast<int>(CheckCode::kLabelOutOfRange)) {
        const bool ya_ok = p.y_a[i] == p.ignore_index || (p.y_a[i] >= 0 && p.y_a[i] < p.classes);
        c.value = ya_ok ? p.y_b[i] : p.y_a[i];
      } else {
        c.value = static_cast<std::int32_t>(bits_of(p.lam[i]));
      }
      break;
    }
    publish_check(c, &st->check, &st->first_failure);
    st->valid_rows = valid;
  }
}

// C ≤ 32·V: one warp per row, V logits per lane in registers.
template <int V>
__global__ void __launch_bounds__(256) ce_warp_rows(CeParams p, const CeState* st) {
  if (st->check.code != 0) return;
  const std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= p.batch) return;
  const std::int64_t base = row * p.classes;
  const RowTarget t = row_target(p, row);
  float z[V];
  float m = kNegInf;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const std::int32_t j = lane + 32 * k;
    z[k] = j < p.classes ? load_logit(p, base + j) : kNegInf;
    if (j < p.classes) m = nan_max(m, z[k]);
  }
  m = warp_max(m);
  float s = 0.0f, u = 0.0f, da = 0.0f, db = 0.0f, dot = 0.0f, mass = 0.0f;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const std::int32_t j = lane + 32 * k;
    if (j < p.classes) {
      s += expf(z[k] - m);
      u += m - z[k];
      if (j == t.ya) da = m - z[k];
      if (j == t.yb) db = m - z[k];
      if (p.soft != nullptr) {
        const float tj = p.soft[base + j];
        if (tj != 0.0f) dot += tj * (m - z[k]);
        mass += tj;
      }
    }
  }
  s = warp_sum(s);
  u = warp_sum(u);
  da = warp_sum(da);  // exactly one lane holds each (the others add 0)
  db = warp_sum(db);
  dot = warp_sum(dot);
  mass = warp_sum(mass);
  const float C = static_cast<float>(p.classes);
  const float log_s = logf(s);
  const float total = p.soft != nullptr ? mass : (t.ignored ? 0.0f : (1.0f - p.eps) * (t.wa + t.wb) + p.eps);
  if (lane == 0)
    p.row_loss[row] = p.soft != nullptr ? soft_row_loss(p.eps, log_s, dot, mass, u, C) : hard_row_loss(t, p.eps, log_s, da, db, u, C);
  if (p.grad == nullptr) return;
  const float scale = grad_scale(p, st), inv_s = 1.0f / s;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const std::int32_t j = lane + 32 * k;
    if (j < p.classes) store_grad(p, base + j, scale * (expf(z[k] - m) * inv_s * total - target_of(p, t, row, j, mass)));
  }
}

__device__ float block_reduce(float v, float* sh, bool is_max) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? nan_max(v, w) : v + w;
  }
  __syncthreads();  // sh may still be read from the previous reduction
  if (threadIdx.x % 32 == 0) sh[threadIdx.x / 32] = v;
  __syncthreads();
  float r = is_max ? kNegInf : 0.0f;
  for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) r = is_max ? nan_max(r, sh[w]) : r + sh[w];
  return r;  // every thread, same order: same bits
}

// C > 1024: one block per row, three reads of the row (the second and third mostly from L2):
// max; Σe^{z−m} with the loss terms; the gradient — each element read and written by one thread.
__global__ void __launch_bounds__(256) ce_block_rows(CeParams p, const CeState* st) {
  if (st->check.code != 0) return;
  __shared__ float sh[8];
  const std::int64_t row = blockIdx.x;
  const std::int64_t base = row * p.classes;
  const RowTarget t = row_target(p, row);
  float m = kNegInf;
  for (std::int32_t j = threadIdx.x; j < p.classes; j += blockDim.x) m = nan_max(m, load_logit(p, base + j));
  m = block_reduce(m, sh, true);
  float s = 0.0f, u = 0.0f, dot = 0.0f, mass = 0.0f;
  for (std::int32_t j = threadIdx.x; j < p.classes; j += blockDim.x) {
    const float z = load_logit(p, base + j);
    s += expf(z - m);
    u += m - z;
    if (p.soft != nullptr) {
      const float tj = p.soft[base + j];
      if (tj != 0.0f) dot += tj * (m - z);
      mass += tj;
    }
  }
  s = block_reduce(s, sh, false);
  u = block_reduce(u, sh, false);
  dot = block_reduce(dot, sh, false);
  mass = block_reduce(mass, sh, false);
  const float da = t.ya >= 0 && t.ya < p.classes ? m - load_logit(p, base + t.ya) : 0.0f;
  const float db = t.yb >= 0 && t.yb < p.classes ? m - load_logit(p, base + t.yb) : 0.0f;
  __syncthreads();  // z_ya, z_yb read by every thread before any gradient overwrites them (in place)
  const float C = static_cast<float>(p.classes);
  const float log_s = logf(s);
  const float total = p.soft != nullptr ? mass : (t.ignored ? 0.0f : (1.0f - p.eps) * (t.wa + t.wb) + p.eps);
  if (threadIdx.x == 0)
    p.row_loss[row] = p.soft != nullptr ? soft_row_loss(p.eps, log_s, dot, mass, u, C) : hard_row_loss(t, p.eps, log_s, da, db, u, C);
  if (p.grad == nullptr) return;
  const float scale = grad_scale(p, st), inv_s = 1.0f / s;
  for (std::int32_t j = threadIdx.x; j < p.classes; j += blockDim.x) {
    const float pj = expf(load_logit(p, base + j) - m) * inv_s;
    store_grad(p, base + j, scale * (pj * total - target_of(p, t, row, j, mass)));
  }
}

// Deterministic reduction of the row losses: fixed partition, fixed tree (cross_entropy.cuh).
__global__ void __launch_bounds__(kReduceThreads) reduce_rows(const float* rows, std::int64_t n, Reduction red,
                                                              const CeState* st, float* out) {
  if (st->check.code != 0) return;
  __shared__ float part[kReduceThreads];
  part[threadIdx.x] = strided_partial(rows, n, threadIdx.x);
  __syncthreads();
  for (int stride = kReduceThreads / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) part[threadIdx.x] += part[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const float sum = part[0];
    *out = red == Reduction::kMean ? (st->valid_rows > 0 ? sum / static_cast<float>(st->valid_rows) : 0.0f) : sum;
  }
}

__global__ void combine_kernel(const float* la, const float* lb, const float* lam, std::int64_t n, float* rows, const CeState* st) {
  if (st->check.code != 0) return;
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) rows[i] = lam[i] * la[i] + (1.0f - lam[i]) * lb[i];
}

__global__ void combine_check(const float* lam, std::int64_t n, CeState* st) {
  __shared__ int first;
  if (threadIdx.x == 0) first = INT_MAX;
  __syncthreads();
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x)
    if (!(lam[i] >= 0.0f && lam[i] <= 1.0f)) atomicMin(&first, static_cast<int>(i));
  __syncthreads();
  if (threadIdx.x == 0) {
    publish_check(first == INT_MAX ? DeviceCheck{0, 0, 0, 0}
                                   : DeviceCheck{static_cast<std::int32_t>(CheckCode::kLambdaOutOfRange), first,
                                                 static_cast<std::int32_t>(bits_of(lam[first])), 0},
                  &st->check, &st->first_failure);
    st->valid_rows = static_cast<std::int32_t>(n);
  }
}

template <int V>
cudaError_t launch_warp(const CeParams& p, const CeState* st, cudaStream_t s) {
  const std::int64_t threads = p.batch * 32;
  ce_warp_rows<V><<<static_cast<unsigned>((threads + 255) / 256), 256, 0, s>>>(p, st);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_cross_entropy(const CeParams& p, CeState* state, cudaStream_t stream) {
  if (p.batch <= 0) return cudaSuccess;
  check_kernel<<<1, 1024, 0, stream>>>(p, state);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  const std::int32_t C = p.classes;
  if (C <= 32) e = launch_warp<1>(p, state, stream);
  else if (C <= 64) e = launch_warp<2>(p, state, stream);
  else if (C <= 128) e = launch_warp<4>(p, state, stream);
  else if (C <= 256) e = launch_warp<8>(p, state, stream);
  else if (C <= 512) e = launch_warp<16>(p, state, stream);
  else if (C <= 1024) e = launch_warp<32>(p, state, stream);
  else {
    ce_block_rows<<<static_cast<unsigned>(p.batch), 256, 0, stream>>>(p, state);
    e = cudaGetLastError();
  }
  if (e != cudaSuccess || p.reduction == Reduction::kNone) return e;
  reduce_rows<<<1, kReduceThreads, 0, stream>>>(p.row_loss, p.batch, p.reduction, state, p.loss_out);
  return cudaGetLastError();
}

cudaError_t launch_combine_losses(const float* la, const float* lb, const float* lam, std::int64_t batch,
                                  Reduction reduction, float* row_scratch, float* out, CeState* state, cudaStream_t stream) {
  if (batch <= 0) return cudaSuccess;
  combine_check<<<1, 1024, 0, stream>>>(lam, batch, state);
  float* rows = reduction == Reduction::kNone ? out : row_scratch;
  combine_kernel<<<static_cast<unsigned>((batch + 255) / 256), 256, 0, stream>>>(la, lb, lam, batch, rows, state);
  if (reduction != Reduction::kNone) reduce_rows<<<1, kReduceThreads, 0, stream>>>(rows, batch, reduction, state, out);
  return cudaGetLastError();
}

}  // namespace mixup::core
