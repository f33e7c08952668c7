// CUDA side of the pairing family. Batches up to kOneBlockMax run as ONE block: keys, a
// CUB block radix sort, the tie shuffle, the partner map, validation, λ and the stacked
// targets, with σ in shared memory. Larger batches take a device-wide radix sort and five
// short launches (still no host round trip).
#include "pairing.cuh"

#include <climits>

#include <cub/block/block_radix_sort.cuh>
#include <cub/device/device_radix_sort.cuh>

namespace mixup::core {
namespace {

constexpr int kThreads = 256;
constexpr int kItems = 16;
constexpr int kOneBlockMax = kThreads * kItems;
constexpr int kNumChecks = 5;  // indexed by CheckCode

__device__ std::uint64_t step_of(const PairingLaunch& p) {
  return p.device_step != nullptr ? *p.device_step : p.at.step;
}

// Records the first offending sample of each kind of failure.
__device__ void flag(int* first_bad, CheckCode code, int index) {
  atomicMin(&first_bad[static_cast<int>(code)], index);
}

// Validation of the caller's inputs for sample i (partner map already known in perm).
__device__ void validate_sample(const PairingLaunch& p, int i, int* first_bad) {
  if (p.labels != nullptr) {
    const std::int32_t y = p.labels[i];
    if (y < 0 || y >= p.num_classes) flag(first_bad, CheckCode::kLabelOutOfRange, i);
  }
  if (p.given_lambda != nullptr) {
    const float l = p.given_lambda[i];
    if (!(l >= 0.0f && l <= 1.0f)) flag(first_bad, CheckCode::kLambdaOutOfRange, i);
  }
}

__device__ void validate_given_perm(const PairingLaunch& p, int i, int* seen, int* first_bad) {
  const std::int32_t j = p.given_perm[i];
  if (j < 0 || j >= p.batch) {
    flag(first_bad, CheckCode::kPermOutOfRange, i);
  } else if (atomicAdd(&seen[j], 1) != 0) {
    flag(first_bad, CheckCode::kPermNotBijective, i);
  }
}

// Turns the per-code first indices into the one DeviceCheck the host and the blend read.
__device__ void decode_check(const PairingLaunch& p, const int* first_bad, DeviceCheck* out) {
  DeviceCheck c{0, 0, 0, 0};
  for (int code = 1; code < kNumChecks; ++code) {
    const int i = first_bad[code];
    if (i == INT_MAX) continue;
    c.code = code;
    c.index = i;
    if (code == static_cast<int>(CheckCode::kLabelOutOfRange)) c.value = p.labels[i];
    if (code == static_cast<int>(CheckCode::kPermOutOfRange) ||
        code == static_cast<int>(CheckCode::kPermNotBijective))
      c.value = p.given_perm[i];
    if (code == static_cast<int>(CheckCode::kLambdaOutOfRange))
      c.value = static_cast<std::int32_t>(bits_of(p.given_lambda[i]));
    break;
  }
  publish_check(c, out, p.first_failure);
}

// λ and every output of sample i; perm (scratch) must hold the final partner map.
__device__ void write_sample(const PairingLaunch& p, const StreamAddress& at, int i) {
  const std::int32_t partner = p.perm[i];
  Lambda l;
  if (p.given_lambda != nullptr) {
    l.lam = p.given_lambda[i];
    l.one_minus = 1.0f - l.lam;
  } else {
    const double d = draw_log_odds<CurandWords>(at, p.alpha, lambda_stream(p.lambda_mode, i, partner));
    l = lambda_from_log_odds(d, p.fold);
  }
  p.lam[i] = l.lam;
  p.one_minus[i] = l.one_minus;
  if (p.lam_out != nullptr) p.lam_out[i] = l.lam;
  if (p.perm_out != nullptr) p.perm_out[i] = partner;
  if (p.labels != nullptr) {
    if (p.y_a != nullptr) p.y_a[i] = p.labels[i];
    if (p.y_b != nullptr) p.y_b[i] = p.labels[partner];
  }
}

__device__ void finish_step(const PairingLaunch& p, std::uint64_t step, bool ok) {
  if (p.device_step != nullptr && ok) *p.device_step = step + 1;
}

__global__ void __launch_bounds__(kThreads) pairing_one_block(PairingLaunch p) {
  using Sort = cub::BlockRadixSort<std::uint64_t, kThreads, kItems, std::int32_t>;
  __shared__ union {
    typename Sort::TempStorage sort;
    struct {
      std::int32_t sigma[kOneBlockMax];  // shuffled order; reused as `seen` counts for a given perm
      std::uint8_t tie_next[kOneBlockMax];
    } s;
  } sh;
  __shared__ std::uint64_t first_key[kThreads];
  __shared__ int first_bad[kNumChecks];
  __shared__ std::uint64_t step_sh;

  const int tid = threadIdx.x;
  const int batch = p.batch;
  if (tid == 0) step_sh = step_of(p);
  if (tid < kNumChecks) first_bad[tid] = INT_MAX;
  __syncthreads();
  StreamAddress at = p.at;
  at.step = step_sh;

  const bool draw_perm = p.given_perm == nullptr && p.pairing != Pairing::kFlip;
  if (draw_perm) {
    std::uint64_t keys[kItems];
    std::int32_t idx[kItems];
    for (int k = 0; k < kItems; ++k) {
      const int pos = tid * kItems + k;  // blocked arrangement = index order, so the sort is stable by index
      keys[k] = pos < batch ? perm_key(at, static_cast<std::uint32_t>(pos), p.key_bits) : ~0ull;
      idx[k] = pos;
    }
    Sort(sh.sort).Sort(keys, idx);
    __syncthreads();
    first_key[tid] = keys[0];
    for (int k = 0; k < kItems; ++k) sh.s.sigma[tid * kItems + k] = idx[k];
    __syncthreads();
    for (int k = 0; k < kItems; ++k) {
      const int pos = tid * kItems + k;
      const std::uint64_t next = k + 1 < kItems ? keys[k + 1] : (tid + 1 < kThreads ? first_key[tid + 1] : 0);
      sh.s.tie_next[pos] = (pos + 1 < batch && keys[k] == next) ? 1 : 0;
    }
    __syncthreads();
    for (int pos = tid; pos < batch; pos += kThreads) {
      if (sh.s.tie_next[pos] && (pos == 0 || !sh.s.tie_next[pos - 1])) {
        int len = 1;
        while (sh.s.tie_next[pos + len - 1]) ++len;
        shuffle_tie_run(at, static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(len), sh.s.sigma);
      }
    }
    __syncthreads();
    for (int pos = tid; pos < batch; pos += kThreads) compose_partner(p.pairing, sh.s.sigma, batch, pos, p.perm);
  } else if (p.given_perm != nullptr) {
    for (int i = tid; i < batch; i += kThreads) sh.s.sigma[i] = 0;
    __syncthreads();
    for (int i = tid; i < batch; i += kThreads) {
      validate_given_perm(p, i, sh.s.sigma, first_bad);
      p.perm[i] = p.given_perm[i];
    }
  } else {
    for (int pos = tid; pos < batch; pos += kThreads) compose_partner(Pairing::kFlip, nullptr, batch, pos, p.perm);
  }
  for (int i = tid; i < batch; i += kThreads) validate_sample(p, i, first_bad);
  __syncthreads();  // perm (global) and first_bad complete for the whole block

  bool ok = true;
  for (int code = 1; code < kNumChecks; ++code) ok = ok && first_bad[code] == INT_MAX;
  if (ok) {
    for (int i = tid; i < batch; i += kThreads) write_sample(p, at, i);
  }
  if (tid == 0) {
    decode_check(p, first_bad, p.check);
    finish_step(p, step_sh, ok);
  }
}

// ---- batches above kOneBlockMax ----
struct Scratch {
  std::uint64_t* keys_in;
  std::uint64_t* keys_out;
  std::int32_t* idx_in;
  std::int32_t* sigma;
  int* seen;
  int* first_bad;
  void* sort_temp;
  std::size_t sort_temp_bytes;
};

std::size_t align_up(std::size_t n) { return (n + 255) & ~static_cast<std::size_t>(255); }

std::size_t sort_temp_bytes(std::int32_t batch) {
  std::size_t bytes = 0;
  cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const std::uint64_t*>(nullptr),
                                  static_cast<std::uint64_t*>(nullptr), static_cast<const std::int32_t*>(nullptr),
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
  s.sigma = reinterpret_cast<std::int32_t*>(b);
  b += align_up(n * 4);
  s.seen = reinterpret_cast<int*>(b);
  b += align_up(n * 4);
  s.first_bad = reinterpret_cast<int*>(b);
  b += align_up(kNumChecks * sizeof(int));
  s.sort_temp = b;
  s.sort_temp_bytes = sort_temp_bytes(batch);
  return s;
}

__global__ void reset_kernel(PairingLaunch p, Scratch s) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < kNumChecks) s.first_bad[i] = INT_MAX;
  if (i < p.batch) s.seen[i] = 0;
}

__global__ void keys_kernel(PairingLaunch p, Scratch s) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.batch) return;
  StreamAddress at = p.at;
  at.step = step_of(p);
  s.keys_in[i] = perm_key(at, static_cast<std::uint32_t>(i), p.key_bits);
  s.idx_in[i] = i;
}

__global__ void ties_kernel(PairingLaunch p, Scratch s) {
  const int pos = blockIdx.x * blockDim.x + threadIdx.x;
  if (pos + 1 >= p.batch) return;
  const auto tie = [&](int q) { return q + 1 < p.batch && s.keys_out[q] == s.keys_out[q + 1]; };
  if (!tie(pos) || (pos > 0 && tie(pos - 1))) return;
  int len = 1;
  while (tie(pos + len - 1)) ++len;
  StreamAddress at = p.at;
  at.step = step_of(p);
  shuffle_tie_run(at, static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(len), s.sigma);
}

__global__ void compose_kernel(PairingLaunch p, Scratch s, bool draw_perm) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.batch) return;
  if (draw_perm) {
    compose_partner(p.pairing, s.sigma, p.batch, i, p.perm);
  } else if (p.given_perm != nullptr) {
    validate_given_perm(p, i, s.seen, s.first_bad);
    p.perm[i] = p.given_perm[i];
  } else {
    compose_partner(Pairing::kFlip, nullptr, p.batch, i, p.perm);
  }
  validate_sample(p, i, s.first_bad);
}

__global__ void write_kernel(PairingLaunch p, Scratch s) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  bool ok = true;
  for (int code = 1; code < kNumChecks; ++code) ok = ok && s.first_bad[code] == INT_MAX;
  const std::uint64_t step = step_of(p);
  if (ok && i < p.batch) {
    StreamAddress at = p.at;
    at.step = step;
    write_sample(p, at, i);
  }
  if (i == 0) decode_check(p, s.first_bad, p.check);
}

__global__ void finish_kernel(PairingLaunch p, Scratch s) {
  bool ok = true;
  for (int code = 1; code < kNumChecks; ++code) ok = ok && s.first_bad[code] == INT_MAX;
  finish_step(p, step_of(p), ok);
}

}  // namespace

std::size_t pairing_workspace_bytes(std::int32_t max_batch) {
  if (max_batch <= kOneBlockMax) return 0;
  const std::size_t n = static_cast<std::size_t>(max_batch);
  return 2 * align_up(n * 8) + 3 * align_up(n * 4) + align_up(kNumChecks * sizeof(int)) +
         align_up(sort_temp_bytes(max_batch));
}

cudaError_t launch_pairing(const PairingLaunch& p, cudaStream_t stream) {
  if (p.batch <= 0) return cudaSuccess;
  if (p.batch <= kOneBlockMax) {
    pairing_one_block<<<1, kThreads, 0, stream>>>(p);
    return cudaGetLastError();
  }
  if (p.workspace == nullptr || p.workspace_bytes < pairing_workspace_bytes(p.batch)) return cudaErrorInvalidValue;
  Scratch s = carve(p.workspace, p.batch);
  const int blocks = (p.batch + kThreads - 1) / kThreads;
  const bool draw_perm = p.given_perm == nullptr && p.pairing != Pairing::kFlip;
  reset_kernel<<<blocks, kThreads, 0, stream>>>(p, s);
  if (draw_perm) {
    keys_kernel<<<blocks, kThreads, 0, stream>>>(p, s);
    const int end_bit = p.key_bits >= 64 ? 64 : p.key_bits;
    const cudaError_t e = cub::DeviceRadixSort::SortPairs(s.sort_temp, s.sort_temp_bytes, s.keys_in, s.keys_out, s.idx_in, s.sigma,
                                        p.batch, 0, end_bit, stream);
    if (e != cudaSuccess) return e;
    ties_kernel<<<blocks, kThreads, 0, stream>>>(p, s);
  }
  compose_kernel<<<blocks, kThreads, 0, stream>>>(p, s, draw_perm);
  write_kernel<<<blocks, kThreads, 0, stream>>>(p, s);
  finish_kernel<<<1, 1, 0, stream>>>(p, s);
  return cudaGetLastError();
}

}  // namespace mixup::core
