// CUDA side of the pairing family: one launch for batches up to kRankMax, sized to the batch.
// Each block of 288 threads places 32 samples: warps 0–7 draw all B keys into shared memory
// and count, eight threads per sample, where each of its 32 samples falls (pairing.cuh); warp
// 8 meanwhile draws the block's 32 λ (the longest chain: double-precision gamma draws), so
// the two overlap. Validation flags the first offending index with an integer atomic; the
// last block to finish decodes the verdict, advances the graph-mode step and restores the
// scratch to zero for the next call. Nothing here writes a caller's output.
//
// Larger batches take a device-wide radix sort of the keys, the tie shuffle, and the same
// tail (ranks, λ, checks, verdict): still no host round trip.
//
// The launch lets the next kernel on the stream (the blend, launched with programmatic
// stream serialization) start at once; the blend waits for this grid before it reads σ, λ or
// the verdict, so its launch latency overlaps the pairing's work.
#include "pairing.cuh"
#include "pdl.cuh"

#include <climits>

#include <cub/device/device_radix_sort.cuh>

namespace mixup::core {
namespace {

constexpr int kRankThreads = 256;                 // warps 0-7: keys, counting, checks
constexpr int kGroup = 8;                         // threads that count one sample's key together
constexpr int kSlice = kRankThreads / kGroup;     // samples placed per block
constexpr int kBlockThreads = kRankThreads + 32;  // + warp 8: λ
constexpr int kTailThreads = 256;                 // large batches: one sample per thread

__device__ std::uint64_t step_of(const PairingLaunch& p) {
  return p.device_step != nullptr ? *p.device_step : p.at.step;
}

// Keeps the smallest offending index of each kind: stored as INT_MAX − index under atomicMax,
// so the all-zero scratch means "nothing found".
__device__ void flag(const PairingLaunch& p, CheckCode code, int index) {
  atomicMax(&p.first_bad[static_cast<int>(code)], INT_MAX - index);
}

// The caller's inputs for sample i: its label, its given λ, its entry of a given permutation.
__device__ void validate_sample(const PairingLaunch& p, int i) {
  if (p.labels != nullptr) {
    const std::int32_t y = p.labels[i];
    if (y < 0 || y >= p.num_classes) flag(p, CheckCode::kLabelOutOfRange, i);
  }
  if (p.given_lambda != nullptr) {
    const float l = p.given_lambda[i];
    if (!(l >= 0.0f && l <= 1.0f)) flag(p, CheckCode::kLambdaOutOfRange, i);
  }
  if (p.given_perm != nullptr) {  // each value remembers its first index; repeats are found at the end
    const std::int32_t j = p.given_perm[i];
    if (j < 0 || j >= p.batch) flag(p, CheckCode::kPermOutOfRange, i);
    else if (!p.replay) atomicMax(&p.seen[j], INT_MAX - i);  // replayed partners may repeat
  }
  if (p.replay) check_replayed_row(p, i, [&](CheckCode code, int k) { flag(p, code, k); });
}

// In the last block, once every sample has been seen: an entry whose value first appeared at
// an earlier index repeats it — the CPU's verdict (the first such index), whatever the order
// in which blocks ran. Leaves seen zero again.
__device__ void flag_repeats(const PairingLaunch& p) {
  for (int i = threadIdx.x; i < p.batch; i += blockDim.x) {
    const std::int32_t j = p.given_perm[i];
    if (j >= 0 && j < p.batch && __ldcg(p.seen + j) != INT_MAX - i) flag(p, CheckCode::kPermNotBijective, i);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < p.batch; i += blockDim.x) p.seen[i] = 0;
}

// λ of one stream; with a mixing policy beyond plain mixup also its kind and CutMix box.
__device__ void draw_lambda(const PairingLaunch& p, const StreamAddress& at, int stream) {
  if (p.given_lambda != nullptr) return;
  if (p.lambda_mode == LambdaMode::kPerBatch && stream != 0) return;
  const StreamMix m = draw_stream_mix<CurandWords>(at, p.mix, p.alpha, p.fold, p.height, p.width,
                                                   static_cast<std::uint32_t>(stream));
  p.lam[stream] = m.l.lam;
  p.one_minus[stream] = m.l.one_minus;
  if (!p.mix.plain) {
    p.kind[stream] = static_cast<std::int32_t>(m.kind);
    p.box[stream] = m.box;
  }
}

// Every block calls this at its end. The last one to arrive publishes the verdict, advances
// the device step of a good call, and leaves first_bad, seen and arrived zero again.
__device__ void finish_call(const PairingLaunch& p, std::uint64_t step) {
  __shared__ bool is_last;
  __syncthreads();  // every thread's flags and scratch writes, seen by thread 0 …
  if (threadIdx.x == 0) {
    __threadfence();  // … and made visible device-wide (the fence is cumulative) before the arrival
    is_last = atomicAdd(p.arrived, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!is_last) return;
  __threadfence();
  if (p.given_perm != nullptr && !p.replay) {
    flag_repeats(p);
    __threadfence();
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    std::int32_t first[kNumCheckCodes];
    for (int code = 0; code < kNumCheckCodes; ++code) {
      const int mark = atomicExch(&p.first_bad[code], 0);
      first[code] = mark == 0 ? kNoIndex : INT_MAX - mark;
    }
    const DeviceCheck c = decode_first_failures(p, first);
    publish_check(c, p.check, p.first_failure);
    if (p.device_step != nullptr && !check_failed(c)) *p.device_step = step + 1;
    *p.arrived = 0;
  }
}

__device__ void rank_warps_barrier() { asm volatile("bar.sync 1, %0;" ::"n"(kRankThreads) : "memory"); }

// The position of sample i (the block's samples, kGroup threads each): its high half counted
// first — 32-bit compares, four keys per 16-byte load — and the whole keys only where another
// key shares that half (rank_from_high). Every lane of the warp runs the shuffles.
__device__ RankCount rank_of(const SplitKeys& keys, const FourHalves* hi4, int chunks, int batch, int i,
                             bool mine) {
  const int lane_in_group = static_cast<int>(threadIdx.x) % kGroup;
  const auto group_sum = [](std::uint32_t v) {  // over the group's 8 consecutive lanes
    for (int o = kGroup / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
  };
  HighCount h;
  if (mine) count_high_halves(hi4, lane_in_group, chunks, kGroup, keys.hi[i], h);
  h.lt = group_sum(h.lt);
  h.le = group_sum(h.le);
  RankCount c;
  const bool exact = !mine || rank_from_high(h, c);
  if (__any_sync(0xffffffffu, !exact)) {  // rare with 64-bit keys: some key shares a high half
    RankCount full;
    if (!exact) count_keys(keys, lane_in_group, batch, kGroup, keys[i], i, full);
    full.lt = group_sum(full.lt);
    full.eq = group_sum(full.eq);
    full.eq_before = group_sum(full.eq_before);
    if (!exact) c = full;
  }
  return c;
}

// Two blocks per SM are plenty for this small launch: the budget they leave (up to 113 and
// 128 registers) keeps the λ / CutMix draws from spilling, which 64 registers did not.
__global__ void __launch_bounds__(kBlockThreads, 2) pairing_rank_kernel(PairingLaunch p) {
  __shared__ __align__(16) std::uint32_t hi[kRankMax];
  __shared__ std::uint32_t lo[kRankMax];
  __shared__ std::uint64_t step_sh;
  pdl_launch_dependents();
  const int tid = threadIdx.x;
  if (tid == 0) step_sh = step_of(p);
  __syncthreads();
  StreamAddress at = p.at;
  at.step = step_sh;
  const int batch = p.batch;
  const int begin = static_cast<int>(blockIdx.x) * kSlice;
  const int end = min(batch, begin + kSlice);

  if (tid >= kRankThreads) {
    const int s = begin + (tid - kRankThreads);
    if (s < end) draw_lambda(p, at, s);
  } else {
    if (p.given_perm == nullptr && p.pairing != Pairing::kFlip) {
      const int chunks = (batch + 3) / 4;
      for (int j = tid; j < 4 * chunks; j += kRankThreads) {
        const std::uint64_t k = j < batch ? perm_key(at, static_cast<std::uint32_t>(j), p.key_bits) : ~0ull;
        hi[j] = static_cast<std::uint32_t>(k >> 32);
        lo[j] = static_cast<std::uint32_t>(k);
      }
      rank_warps_barrier();
      const SplitKeys keys{hi, lo};
      const int i = begin + tid / kGroup;
      const RankCount c = rank_of(keys, reinterpret_cast<const FourHalves*>(hi), chunks, batch, i, i < end);
      if (i < end && tid % kGroup == 0) place_sample(at, keys, batch, i, c, p.sigma, p.rank);
    }
    if (begin + tid < end && tid < kSlice) validate_sample(p, begin + tid);
  }
  finish_call(p, step_sh);
}

// ---- batches above kRankMax ----
struct Scratch {
  std::uint64_t* keys_in;
  std::uint64_t* keys_out;
  std::int32_t* idx_in;
  void* sort_temp;
  std::size_t sort_temp_bytes;
};

std::size_t align_up(std::size_t n) { return (n + 255) & ~static_cast<std::size_t>(255); }

std::size_t sort_temp_bytes(std::int32_t batch) {
  std::size_t bytes = 0;
  cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const std::uint64_t*>(nullptr),
                                  static_cast<std::uint64_t*>(nullptr),
                                  static_cast<const std::int32_t*>(nullptr),
                                  static_cast<std::int32_t*>(nullptr), batch);
  return bytes;
}

Scratch carve(void* base, std::int32_t batch) {
  const std::size_t n = static_cast<std::size_t>(batch);
  char* b = static_cast<char*>(base);
  Scratch s{};
  s.keys_in = reinterpret_cast<std::uint64_t*>(b);
  b += align_up(n * 8);
  s.keys_out = reinterpret_cast<std::uint64_t*>(b);
  b += align_up(n * 8);
  s.idx_in = reinterpret_cast<std::int32_t*>(b);
  b += align_up(n * 4);
  s.sort_temp = b;
  s.sort_temp_bytes = sort_temp_bytes(batch);
  return s;
}

__global__ void keys_kernel(PairingLaunch p, Scratch s) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.batch) return;
  StreamAddress at = p.at;
  at.step = step_of(p);
  s.keys_in[i] = perm_key(at, static_cast<std::uint32_t>(i), p.key_bits);
  s.idx_in[i] = i;
}

// σ holds the sorted order (stable by index); each run of equal keys is shuffled by the
// thread at its start.
__global__ void ties_kernel(PairingLaunch p, Scratch s) {
  const int pos = blockIdx.x * blockDim.x + threadIdx.x;
  if (pos + 1 >= p.batch) return;
  const auto tie = [&](int q) { return q + 1 < p.batch && s.keys_out[q] == s.keys_out[q + 1]; };
  if (!tie(pos) || (pos > 0 && tie(pos - 1))) return;
  int len = 1;
  while (tie(pos + len - 1)) ++len;
  StreamAddress at = p.at;
  at.step = step_of(p);
  shuffle_tie_run(at, static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(len), p.sigma);
}

// σ is final (or not needed): ranks, λ and checks, one sample per thread.
__global__ void __launch_bounds__(kTailThreads, 2) pairing_tail_kernel(PairingLaunch p, bool have_sigma) {
  __shared__ std::uint64_t step_sh;
  pdl_launch_dependents();
  if (threadIdx.x == 0) step_sh = step_of(p);
  __syncthreads();
  StreamAddress at = p.at;
  at.step = step_sh;
  const int i = static_cast<int>(blockIdx.x) * kTailThreads + threadIdx.x;
  if (i < p.batch) {
    if (have_sigma) p.rank[p.sigma[i]] = i;
    draw_lambda(p, at, i);
    validate_sample(p, i);
  }
  finish_call(p, step_sh);
}

}  // namespace

std::size_t pairing_workspace_bytes(std::int32_t max_batch) {
  if (max_batch <= kRankMax) return 0;
  const std::size_t n = static_cast<std::size_t>(max_batch);
  return 2 * align_up(n * 8) + align_up(n * 4) + align_up(sort_temp_bytes(max_batch));
}

cudaError_t launch_pairing(const PairingLaunch& p, cudaStream_t stream) {
  if (p.batch <= 0) return cudaSuccess;
  const bool draw_perm = p.given_perm == nullptr && p.pairing != Pairing::kFlip;
  if (p.batch <= kRankMax) {
    const unsigned blocks = static_cast<unsigned>((p.batch + kSlice - 1) / kSlice);
    pairing_rank_kernel<<<blocks, kBlockThreads, 0, stream>>>(p);
    return cudaGetLastError();
  }
  if (p.workspace == nullptr || p.workspace_bytes < pairing_workspace_bytes(p.batch))
    return cudaErrorInvalidValue;
  const unsigned blocks = static_cast<unsigned>((p.batch + kTailThreads - 1) / kTailThreads);
  if (draw_perm) {
    Scratch s = carve(p.workspace, p.batch);
    keys_kernel<<<blocks, kTailThreads, 0, stream>>>(p, s);
    const int end_bit = p.key_bits >= 64 ? 64 : p.key_bits;
    const cudaError_t e = cub::DeviceRadixSort::SortPairs(s.sort_temp, s.sort_temp_bytes, s.keys_in,
                                                          s.keys_out, s.idx_in, p.sigma, p.batch, 0, end_bit,
                                                          stream);
    if (e != cudaSuccess) return e;
    ties_kernel<<<blocks, kTailThreads, 0, stream>>>(p, s);
  }
  pairing_tail_kernel<<<blocks, kTailThreads, 0, stream>>>(p, draw_perm);
  return cudaGetLastError();
}

}  // namespace mixup::core
