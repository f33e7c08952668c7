// CUDA side of the cross-entropy family. Two launches:
//   - a check of the labels and λ (as many blocks as the batch needs; the last one publishes)
//     that also counts the rows MEAN divides by (the gradient's scale must be known before any
//     row writes it); it lets the row kernel start at once (programmatic dependent launch);
//   - the row kernel, specialised at compile time on the logits' and the gradient's dtype:
//     it loads its rows, finds max, Σe^{z−m} and the loss terms, and only then waits for the
//     check (griddepcontrol.wait) before it writes anything. Small C: a group of G lanes per
//     row (several rows per warp), the row in registers, 16-byte loads and stores, one
//     exponential per element. Large C: a block per row, one online-softmax pass, then the
//     gradient pass (its re-read mostly from L2).
// MEAN / SUM are reduced by the last row block to finish (fixed partials in a fixed tree, the
// CPU's order): no third launch and no float atomics — the same inputs give the same bits.
#include "cross_entropy.cuh"
#include "pdl.cuh"

#include <climits>
#include <cmath>

namespace mixup::core {
namespace {

constexpr float kNegInf = -INFINITY;
constexpr int kRowThreads = 256;    // group-per-row kernel
constexpr int kBlockThreads = 512;  // block-per-row kernel
// Loads in flight per thread in the block-per-row kernel: 64 bytes for f32, 32 for 16-bit
// types (more spills past its 64 registers), 8 scalars where rows are not 16-byte aligned.
template <int W>
constexpr int kUnrollOf = W >= 8 ? 2 : (W == 1 ? 8 : 4);
// Long rows: unused dynamic shared memory caps the kernel at two blocks per SM, so the rows in
// flight (2 · 132 · C · 4 bytes = 34 MB at C = 32768 f32) stay inside the H200's 50 MB L2 and
// the gradient pass re-reads them from there, not from DRAM.
constexpr int kLongRowBytes = 64 * 1024;
constexpr int kCapSharedBytes = 100 * 1024;

// Elements in 16 bytes of T, and W of them loaded / stored as one or two 16-byte accesses.
template <class T>
constexpr int kVecOf = 16 / static_cast<int>(sizeof(typename T::T));

// read_only: the read-only (non-coherent) path, for logits this kernel does not also write;
// with the gradient written in place over them, plain L2 loads instead.
template <class In, int W>
__device__ void load_logits(const typename In::T* src, float* dst, bool read_only) {
  if constexpr (W == 1) {
    dst[0] = In::load(src[0]);
  } else {
    static_assert(W * sizeof(typename In::T) == 16, "one 16-byte load");
    alignas(16) typename In::T v[W];
    const uint4* q = reinterpret_cast<const uint4*>(src);
    *reinterpret_cast<uint4*>(v) = read_only ? __ldg(q) : __ldcg(q);
#pragma unroll
    for (int k = 0; k < W; ++k) dst[k] = In::load(v[k]);
  }
}

template <class Out, int W>
__device__ void store_grads(typename Out::T* dst, const float* g) {
  if constexpr (W == 1) {
    dst[0] = Out::store(g[0]);
  } else {
    alignas(16) typename Out::T v[W];
#pragma unroll
    for (int k = 0; k < W; ++k) v[k] = Out::store(g[k]);
    constexpr int kStores = static_cast<int>(W * sizeof(typename Out::T)) / 16;
    static_assert(kStores >= 1, "whole 16-byte stores");
#pragma unroll
    for (int q = 0; q < kStores; ++q) reinterpret_cast<uint4*>(dst)[q] = reinterpret_cast<const uint4*>(v)[q];
  }
}

template <int G>
__device__ float group_sum(float v) {
#pragma unroll
  for (int o = G / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <int G>
__device__ float group_max(float v) {
#pragma unroll
  for (int o = G / 2; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Gradient scale: loss_scale, divided by the counted rows for MEAN.
__device__ float grad_scale(const CeParams& p, const CeState* st) {
  if (p.reduction != Reduction::kMean) return p.loss_scale;
  return st->valid_rows > 0 ? p.loss_scale / static_cast<float>(st->valid_rows) : 0.0f;
}

__device__ float target_of(const CeParams& p, const RowTarget& t, std::int64_t row, std::int32_t j,
                           float soft_mass) {
  const float C = static_cast<float>(p.classes);
  if (p.soft != nullptr) return (1.0f - p.eps) * p.soft[row * p.classes + j] + p.eps * soft_mass / C;
  return hard_target(t, p.eps, C, j);
}

// MEAN / SUM: every row block calls this after writing its row losses; the last one to
// finish reduces them in the CPU backend's order (kReduceThreads strided partials, then a
// fixed tree) and leaves the arrival counter at zero for the next call.
__device__ void reduce_if_last(const CeParams& p, CeState* st) {
  if (p.reduction == Reduction::kNone) return;
  __shared__ bool is_last;
  __shared__ float part[kBlockThreads];
  __syncthreads();  // every thread's row losses, seen by thread 0 …
  if (threadIdx.x == 0) {
    __threadfence();  // … and made visible device-wide (the fence is cumulative) before the arrival
    is_last = atomicAdd(&st->arrived, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!is_last) return;
  __threadfence();
  // Thread x owns partials x, x + blockDim, … (kReduceThreads of them in all, each the CPU's
  // strided sum in the CPU's order); a round issues all its loads for all of them before the
  // first add, so the tail waits on about B / (kReduceThreads · kTailLoads) L2 round trips
  // rather than B / kReduceThreads · kReduceThreads / blockDim.
  constexpr int kMaxParts = kReduceThreads / kRowThreads;  // 256-thread blocks: 4 (512: 2 used)
  constexpr int kTailLoads = 2;
  const int parts = kReduceThreads / static_cast<int>(blockDim.x);
  float acc[kMaxParts] = {};
  for (std::int64_t base = threadIdx.x; base < p.batch;
       base += static_cast<std::int64_t>(kReduceThreads) * kTailLoads) {
    float v[kTailLoads][kMaxParts];
#pragma unroll
    for (int k = 0; k < kTailLoads; ++k)
#pragma unroll
      for (int r = 0; r < kMaxParts; ++r) {
        const std::int64_t i = base + static_cast<std::int64_t>(k) * kReduceThreads + r * blockDim.x;
        v[k][r] = r < parts && i < p.batch ? __ldcg(p.row_loss + i) : 0.0f;  // L2: other blocks wrote them
      }
#pragma unroll
    for (int k = 0; k < kTailLoads; ++k)
#pragma unroll
      for (int r = 0; r < kMaxParts; ++r) {
        const std::int64_t i = base + static_cast<std::int64_t>(k) * kReduceThreads + r * blockDim.x;
        if (r < parts && i < p.batch) acc[r] += v[k][r];  // same order as the CPU: i ascending
      }
  }
  // The CPU's tree (kReduceThreads values, pairs at stride 512, 256, …, 1), as a tree: its
  // first levels pair partials one thread holds (registers), the middle ones go through shared
  // memory, the last five are shuffles within warp 0. Same pairs, same order, same bits.
  if (parts == 4) acc[0] += acc[2], acc[1] += acc[3];  // stride 512
  if (parts >= 2) acc[0] += acc[1];                    // stride blockDim
  part[threadIdx.x] = acc[0];
  __syncthreads();
  for (int stride = static_cast<int>(blockDim.x) / 2; stride > 16; stride >>= 1) {
    if (static_cast<int>(threadIdx.x) < stride) part[threadIdx.x] += part[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x >= 32) return;
  float sum = part[threadIdx.x];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, o);
  if (threadIdx.x == 0) {
    *p.loss_out = p.reduction == Reduction::kMean
                      ? (st->valid_rows > 0 ? sum / static_cast<float>(st->valid_rows) : 0.0f)
                      : sum;
    st->arrived = 0;
  }
}

// Labels and λ, one row per thread, a grid sized to the batch: the check sits on the PDL
// critical path (the row kernels wait for it), so each thread makes one round of independent
// loads and no more. Each block folds its first failing row (INT_MAX − row under atomicMax:
// 0 = none) and its count of valid rows into the state, and the last block to finish
// publishes the verdict and restores zeros.
constexpr int kCheckThreads = 256;

__global__ void __launch_bounds__(kCheckThreads) check_kernel(CeParams p, CeState* st) {
  pdl_launch_dependents();
  __shared__ int first_bad;
  __shared__ bool is_last;
  if (threadIdx.x == 0) first_bad = 0;
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kCheckThreads + threadIdx.x;
  const bool in_batch = i < p.batch;
  const RowLabels v = in_batch ? row_labels(p, i) : RowLabels{0, 0, 0.0f};
  __syncthreads();  // first_bad is zero
  // the first failing row; row_check decodes it at the end, as the CPU does
  if (in_batch && check_failed(row_verdict(p, i, v))) atomicMax(&first_bad, INT_MAX - static_cast<int>(i));
  const int valid = __syncthreads_count(in_batch && (p.soft != nullptr || v.ya != p.ignore_index));
  if (threadIdx.x == 0) {
    if (first_bad != 0) atomicMax(&st->first_row, first_bad);
    atomicAdd(&st->valid_sum, valid);
    __threadfence();
    is_last = atomicAdd(&st->check_arrived, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!is_last || threadIdx.x != 0) return;
  __threadfence();
  // The CPU backend's verdict: the first failing row, decoded by the same row_check.
  const int mark = atomicExch(&st->first_row, 0);
  const DeviceCheck c = mark == 0 ? DeviceCheck{0, 0, 0, 0} : row_check(p, INT_MAX - mark);
  publish_check(c, &st->check, &st->first_failure);
  st->valid_rows = atomicExch(&st->valid_sum, 0);
  st->check_arrived = 0;
}

// G lanes per row (32 / G rows per warp), CHUNKS runs of W contiguous logits per lane in
// registers: lane l holds elements [(c·G + l)·W, +W) for c < CHUNKS. W > 1 needs C % W == 0
// and 16-byte aligned rows (checked by the launcher).
template <class In, class Out, int G, int CHUNKS, int W>
__global__ void __launch_bounds__(kRowThreads) ce_group_rows(CeParams p, CeState* st) {
  constexpr int E = CHUNKS * W;
  const int lane = static_cast<int>(threadIdx.x) % G;
  const std::int64_t row = (static_cast<std::int64_t>(blockIdx.x) * kRowThreads + threadIdx.x) / G;
  const bool active = row < p.batch;
  const std::int32_t C = p.classes;
  const std::int64_t base = (active ? row : 0) * C;
  const auto* z_row = static_cast<const typename In::T*>(p.logits) + base;
  float z[E];
#pragma unroll
  for (int c = 0; c < CHUNKS; ++c) {
    const std::int32_t j0 = (c * G + lane) * W;
    if (active && j0 < C) {
      load_logits<In, W>(z_row + j0, z + c * W, p.grad != p.logits);
    } else {
#pragma unroll
      for (int k = 0; k < W; ++k) z[c * W + k] = kNegInf;
    }
  }
  float m = kNegInf;
#pragma unroll
  for (int c = 0; c < CHUNKS; ++c)
#pragma unroll
    for (int k = 0; k < W; ++k)
      if ((c * G + lane) * W + k < C) m = nan_max(m, z[c * W + k]);
  m = group_max<G>(m);
  const RowTarget t = active ? row_target(p, row) : RowTarget{-1, -1, 0.0f, 0.0f, true};
  const bool soft = p.soft != nullptr;
  float s = 0.0f, u = 0.0f, da = 0.0f, db = 0.0f, dot = 0.0f, mass = 0.0f;
#pragma unroll
  for (int c = 0; c < CHUNKS; ++c)
#pragma unroll
    for (int k = 0; k < W; ++k) {
      const std::int32_t j = (c * G + lane) * W + k;
      const float zj = z[c * W + k];
      const float e = j < C ? expf(zj - m) : 0.0f;
      if (j < C) {
        u += m - zj;
        if (j == t.ya) da = m - zj;
        if (j == t.yb) db = m - zj;
        if (soft) {
          const float tj = p.soft[base + j];
          if (tj != 0.0f) dot += tj * (m - zj);
          mass += tj;
        }
      }
      z[c * W + k] = e;  // from here on the register holds e^{z−m}
      s += e;
    }
  s = group_sum<G>(s);
  u = group_sum<G>(u);
  da = group_sum<G>(da);  // one lane holds each (the others add 0)
  db = group_sum<G>(db);
  if (soft) {
    dot = group_sum<G>(dot);
    mass = group_sum<G>(mass);
  }

  pdl_wait();                           // nothing is written before the whole batch is known to be valid
  if (check_failed(st->check)) return;  // the same verdict for every thread of the grid
  const float fc = static_cast<float>(C);
  if (active && lane == 0)
    p.row_loss[row] = soft ? soft_row_loss(p.eps, logf(s), dot, mass, u, fc)
                           : hard_row_loss(t, p.eps, logf(s), da, db, u, fc);
  if (active && p.grad != nullptr) {
    const bool zero = !soft && t.ignored;  // loss 0, gradient 0, even for a row of −∞
    const float scale = grad_scale(p, st), inv_s = 1.0f / s;
    const float total = soft ? mass : kept_weight(t);
    auto* g_row = static_cast<typename Out::T*>(p.grad) + base;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
      const std::int32_t j0 = (c * G + lane) * W;
      if (j0 >= C) continue;
      float g[W];
#pragma unroll
      for (int k = 0; k < W; ++k)
        g[k] = zero ? 0.0f : scale * (z[c * W + k] * inv_s * total - target_of(p, t, row, j0 + k, mass));
      store_grads<Out, W>(g_row + j0, g);
    }
  }
  reduce_if_last(p, st);
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

// This thread's chunks of W logits of a row, kUnrollOf<W> loads in flight before the first
// is visited (visit(j0, v): v holds logits j0 … j0 + W − 1 as floats).
template <class In, int W, class Visit>
__device__ void for_each_chunk(const typename In::T* z_row, std::int32_t C, bool read_only, Visit&& visit) {
  constexpr int kStride = kBlockThreads * W;
  constexpr int kUnroll = kUnrollOf<W>;
  for (std::int32_t j = static_cast<std::int32_t>(threadIdx.x) * W; j < C; j += kUnroll * kStride) {
    float v[kUnroll][W];
#pragma unroll
    for (int q = 0; q < kUnroll; ++q)
      if (j + q * kStride < C) load_logits<In, W>(z_row + j + q * kStride, v[q], read_only);
#pragma unroll
    for (int q = 0; q < kUnroll; ++q) {
      if (j + q * kStride >= C) break;
      visit(j + q * kStride, v[q]);
    }
  }
}

// e^x for x ≤ 0 in the large-C kernel, where the exponentials are a third of the instructions
// (two per logit): 2^{x·log2 e} is one multiply and MUFU.EX2 (about 5 instructions with the
// subnormal range) where expf's extended-precision reduction takes 9. The product's rounding
// makes the relative error grow with |x| (≈ |x|·2⁻²⁴), but a term of e^x contributes e^x
// to the sum and the gradient: its absolute error stays below max(|x|·e^x)·2⁻²⁴ ≈ 2.2e-8, under
// float resolution of Σe ≥ 1 and far under the tests' bounds (2e-6 on a gradient entry).
// Both passes use it, so the gradient's e^{z−m}/Σ are the terms that were summed.
__device__ __forceinline__ float exp_large_c(float x) { return exp2f(x * 1.4426950408889634f); }

// Large C (or rows that are not 16-byte aligned): one block per row. Pass 1 keeps, per
// thread, a running max and Σe^{z−max} rescaled when the max grows (one exponential per
// element, two when it grows), and Σ(z − z0) against the row's first logit, so Σ(m − z)
// keeps its precision for huge logits. Pass 2 writes the gradient (its reads mostly hit L2).
template <class In, class Out, int W>
__global__ void __launch_bounds__(kBlockThreads, 2) ce_block_rows(CeParams p, CeState* st) {
  __shared__ float sh[kBlockThreads / 32];
  const std::int64_t row = blockIdx.x;
  const std::int32_t C = p.classes;
  const std::int64_t base = row * C;
  const auto* z_row = static_cast<const typename In::T*>(p.logits) + base;
  const bool soft = p.soft != nullptr;
  const RowTarget t = row_target(p, row);
  const float first = In::load(z_row[0]);
  const float z0 = isfinite(first) ? first : 0.0f;  // a reference, so it must not be ±∞ or NaN
  float m = kNegInf, s = 0.0f, sz = 0.0f, sdot = 0.0f, mass = 0.0f;
  for_each_chunk<In, W>(z_row, C, p.grad != p.logits, [&](std::int32_t j0, const float* v) {
    float vm = v[0];
#pragma unroll
    for (int k = 1; k < W; ++k) vm = nan_max(vm, v[k]);
    const float m_new = nan_max(m, vm);
    if (m_new != m) s = s == 0.0f ? 0.0f : s * expf(m - m_new);  // also turns s into NaN for a NaN max
    m = m_new;
    // −∞ − (−∞) would be NaN: a chunk whose running max is still −∞ adds nothing (NaN still
    // propagates through m). One test per chunk, not a branch around every exponential.
    if (m != kNegInf) {
#pragma unroll
      for (int k = 0; k < W; ++k) s += exp_large_c(v[k] - m);
    }
#pragma unroll
    for (int k = 0; k < W; ++k) {
      sz += v[k] - z0;
      if (soft) {
        const float tj = p.soft[base + j0 + k];
        if (tj != 0.0f) sdot += tj * (v[k] - z0);
        mass += tj;
      }
    }
  });
  const float m_row = block_reduce(m, sh, true);
  const float s_mine = (s == 0.0f) ? 0.0f : s * expf(m - m_row);
  s = block_reduce(s_mine, sh, false);
  sz = block_reduce(sz, sh, false);
  if (soft) {
    sdot = block_reduce(sdot, sh, false);
    mass = block_reduce(mass, sh, false);
  }
  m = m_row;
  const float fc = static_cast<float>(C);
  const float u = fc * (m - z0) - sz;        // Σ(m − z)
  const float dot = mass * (m - z0) - sdot;  // Σ t_j (m − z_j)
  const float da = t.ya >= 0 && t.ya < C ? m - In::load(z_row[t.ya]) : 0.0f;
  const float db = t.yb >= 0 && t.yb < C ? m - In::load(z_row[t.yb]) : 0.0f;

  pdl_wait();
  if (check_failed(st->check)) return;
  __syncthreads();  // z_ya, z_yb and z0 read by every thread before any gradient overwrites them (in place)
  if (threadIdx.x == 0)
    p.row_loss[row] = soft ? soft_row_loss(p.eps, logf(s), dot, mass, u, fc)
                           : hard_row_loss(t, p.eps, logf(s), da, db, u, fc);
  if (p.grad != nullptr) {
    const bool zero = !soft && t.ignored;
    const float scale = grad_scale(p, st), inv_s = 1.0f / s;
    const float total = soft ? mass : kept_weight(t);
    auto* g_row = static_cast<typename Out::T*>(p.grad) + base;
    for_each_chunk<In, W>(z_row, C, p.grad != p.logits, [&](std::int32_t j0, const float* v) {
      float g[W];
#pragma unroll
      for (int k = 0; k < W; ++k)
        g[k] = zero ? 0.0f
                    : scale * (exp_large_c(v[k] - m) * inv_s * total - target_of(p, t, row, j0 + k, mass));
      store_grads<Out, W>(g_row + j0, g);
    });
  }
  reduce_if_last(p, st);
}

template <class Kernel>
cudaError_t launch_rows(Kernel kernel, const CeParams& p, CeState* st, unsigned blocks, unsigned threads,
                        bool programmatic, cudaStream_t stream, int shared_bytes = 0) {
  if (shared_bytes > 48 * 1024) {  // a residency cap only: dropped where the device allows less
    int device = 0, optin = 0;
    cudaError_t e = cudaGetDevice(&device);
    if (e == cudaSuccess) e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
    if (e != cudaSuccess) return e;
    if (shared_bytes + 8 * 1024 > optin) shared_bytes = 0;
  }
  if (shared_bytes > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               shared_bytes);
    if (e != cudaSuccess) return e;
  }
  return launch_dependent(programmatic, dim3(blocks), dim3(threads), static_cast<std::size_t>(shared_bytes),
                          stream, kernel, p, st);
}

bool aligned16(const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr) % 16 == 0; }

template <class In, class Out, int G, int CHUNKS, int W>
cudaError_t launch_group(const CeParams& p, CeState* st, bool programmatic, cudaStream_t stream) {
  const std::int64_t threads = p.batch * G;
  return launch_rows(ce_group_rows<In, Out, G, CHUNKS, W>, p, st,
                     static_cast<unsigned>((threads + kRowThreads - 1) / kRowThreads), kRowThreads,
                     programmatic, stream);
}

// The kernel for (C, alignment): small C by scalar lanes, several rows per warp; aligned C up
// to 32 · 8 · W by 16-byte chunks, a warp per row; the rest by a block per row.
template <class In, class Out>
cudaError_t launch_typed(const CeParams& p, CeState* st, bool programmatic, cudaStream_t stream) {
  constexpr int V = kVecOf<In>;
  const std::int32_t C = p.classes;
  if (C <= 8) return launch_group<In, Out, 8, 1, 1>(p, st, programmatic, stream);
  if (C <= 16) return launch_group<In, Out, 16, 1, 1>(p, st, programmatic, stream);
  if (C <= 32) return launch_group<In, Out, 32, 1, 1>(p, st, programmatic, stream);
  const bool vec_out_ok = p.grad == nullptr || (aligned16(p.grad) && (V * sizeof(typename Out::T)) % 16 == 0);
  const bool vec = C % V == 0 && aligned16(p.logits) && vec_out_ok;
  const bool long_rows = static_cast<std::int64_t>(C) * static_cast<std::int64_t>(sizeof(typename In::T)) >=
                         kLongRowBytes;
  const int cap = long_rows ? kCapSharedBytes : 0;
  if (vec) {
    if (C <= 32 * V) return launch_group<In, Out, 32, 1, V>(p, st, programmatic, stream);
    if (C <= 64 * V) return launch_group<In, Out, 32, 2, V>(p, st, programmatic, stream);
    if (C <= 128 * V) return launch_group<In, Out, 32, 4, V>(p, st, programmatic, stream);
    if (C <= 256 * V) return launch_group<In, Out, 32, 8, V>(p, st, programmatic, stream);
    return launch_rows(ce_block_rows<In, Out, V>, p, st, static_cast<unsigned>(p.batch), kBlockThreads,
                       programmatic, stream, cap);
  }
  // C not a multiple of the vector width (or rows not 16-byte aligned): scalar lanes, a warp per
  // row, up to 1024 logits in registers — not a 512-thread block for a row of a few hundred
  // (1–2 elements per thread and five block reductions per row).
  if (C <= 32 * 8) return launch_group<In, Out, 32, 8, 1>(p, st, programmatic, stream);
  if (C <= 32 * 32) return launch_group<In, Out, 32, 32, 1>(p, st, programmatic, stream);
  return launch_rows(ce_block_rows<In, Out, 1>, p, st, static_cast<unsigned>(p.batch), kBlockThreads,
                     programmatic, stream, cap);
}

// ---- combine_losses (not the fast path: three short launches) ----
__global__ void __launch_bounds__(kReduceThreads)
    reduce_rows(const float* rows, std::int64_t n, Reduction red, const CeState* st, float* out) {
  if (check_failed(st->check)) return;
  __shared__ float part[kReduceThreads];
  part[threadIdx.x] = strided_partial(rows, n, threadIdx.x);
  __syncthreads();
  for (int stride = kReduceThreads / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) part[threadIdx.x] += part[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const float sum = part[0];
    *out = red == Reduction::kMean ? (st->valid_rows > 0 ? sum / static_cast<float>(st->valid_rows) : 0.0f)
                                   : sum;
  }
}

__global__ void combine_kernel(const float* la, const float* lb, const float* lam, std::int64_t n,
                               float* rows, const CeState* st) {
  if (check_failed(st->check)) return;
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
                                   : DeviceCheck{static_cast<std::int32_t>(CheckCode::kLambdaOutOfRange),
                                                 first, static_cast<std::int32_t>(bits_of(lam[first])), 0},
                  &st->check, &st->first_failure);
    st->valid_rows = static_cast<std::int32_t>(n);
  }
}

}  // namespace

bool loss_rows_wait_for_check() { return waits_for_previous_grid(ce_group_rows<F32, F32, 32, 1, 4>); }

cudaError_t launch_cross_entropy(const CeParams& p, CeState* state, bool programmatic, cudaStream_t stream) {
  if (p.batch <= 0) return cudaSuccess;
  if (p.batch > 0x7FFFFFFFll) return cudaErrorInvalidConfiguration;
  check_kernel<<<static_cast<unsigned>((p.batch + kCheckThreads - 1) / kCheckThreads), kCheckThreads, 0,
                 stream>>>(p, state);
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  const bool f32_grad = p.grad == nullptr || p.grad_dtype == DType::kF32;
  switch (p.dtype) {
    case DType::kF16:
      return f32_grad ? launch_typed<F16, F32>(p, state, programmatic, stream)
                      : launch_typed<F16, F16>(p, state, programmatic, stream);
    case DType::kBF16:
      return f32_grad ? launch_typed<BF16, F32>(p, state, programmatic, stream)
                      : launch_typed<BF16, BF16>(p, state, programmatic, stream);
    default: return launch_typed<F32, F32>(p, state, programmatic, stream);
  }
}

cudaError_t launch_combine_losses(const float* la, const float* lb, const float* lam, std::int64_t batch,
                                  Reduction reduction, float* row_scratch, float* out, CeState* state,
                                  cudaStream_t stream) {
  if (batch <= 0) return cudaSuccess;
  combine_check<<<1, 1024, 0, stream>>>(lam, batch, state);
  float* rows = reduction == Reduction::kNone ? out : row_scratch;
  combine_kernel<<<static_cast<unsigned>((batch + 255) / 256), 256, 0, stream>>>(la, lb, lam, batch, rows,
                                                                                 state);
  if (reduction != Reduction::kNone)
    reduce_rows<<<1, kReduceThreads, 0, stream>>>(rows, batch, reduction, state, out);
  return cudaGetLastError();
}

}  // namespace mixup::core
