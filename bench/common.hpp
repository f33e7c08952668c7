// Shapes, dtypes and helpers shared by the CPU and CUDA halves of bench_mixup.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <vector>

#include "../kernels/common.cuh"
#include "mixup/mixup.h"
#include "thread_pool.hpp"

namespace mixup::bench {

struct Shape {
  const char* name;
  std::int64_t n, c, h, w;
  std::int64_t per() const { return c * h * w; }
  std::int64_t elems() const { return n * per(); }
};
const Shape kShapes[] = {{"64x3x28x28", 64, 3, 28, 28},
                         {"256x3x32x32", 256, 3, 32, 32},
                         {"64x3x224x224", 64, 3, 224, 224}};
// The batch sweep at CIFAR's image size: the fixed cost per call shows as the line's offset.
const Shape kBatchSweep[] = {{"8x3x32x32", 8, 3, 32, 32},
                             {"64x3x32x32", 64, 3, 32, 32},
                             {"256x3x32x32", 256, 3, 32, 32},
                             {"1024x3x32x32", 1024, 3, 32, 32},
                             {"4096x3x32x32", 4096, 3, 32, 32}};
// Odd shapes (GPU only): rows of 3·227·227 elements are not a whole number of 16-byte vectors,
// so three rows in four take the scalar path; they must stay within 2× of their floor.
const Shape kOddShapes[] = {{"64x3x227x227", 64, 3, 227, 227}};
// The pairing alone (λ, partners, checks, targets): the fused call on one-element samples.
const std::int64_t kPairingBatches[] = {8, 64, 256, 1024, 4096};

// bench_cross_entropy's problems: logits [B, C].
struct CeProblem {
  std::int64_t B;
  std::int32_t C;
};
const CeProblem kCeProblems[] = {{256, 10}, {1024, 1000}, {8192, 1000}, {4096, 32768}};
// The class sweep at a fixed B·C ≈ 2^23 logits (GPU only): which kernel shape serves which C.
// An odd class count (GPU only): C = 1001 is not a multiple of the vector width.
const CeProblem kCeOdd[] = {{8192, 1001}};
const CeProblem kCeSweep[] = {{838861, 10}, {83886, 100}, {8389, 1000},
                              {839, 10000}, {256, 32768}, {64, 131072}};

struct Kind {
  const char* name;
  mixup_dtype_t in, out;
};
const Kind kKinds[] = {{"f32", MIXUP_DTYPE_F32, MIXUP_DTYPE_F32},
                       {"bf16", MIXUP_DTYPE_BF16, MIXUP_DTYPE_BF16},
                       {"u8_to_f32", MIXUP_DTYPE_U8, MIXUP_DTYPE_F32}};

inline std::size_t bytes_of(mixup_dtype_t t) {
  return t == MIXUP_DTYPE_F32 ? 4 : t == MIXUP_DTYPE_U8 ? 1 : 2;
}

inline float load(const std::uint8_t* p, mixup_dtype_t t, std::int64_t i) {
  if (t == MIXUP_DTYPE_F32) return reinterpret_cast<const float*>(p)[i];
  if (t == MIXUP_DTYPE_BF16) return mixup::core::bf16_to_f32(reinterpret_cast<const std::uint16_t*>(p)[i]);
  return static_cast<float>(p[i]);
}

inline void store(std::uint8_t* p, mixup_dtype_t t, std::int64_t i, float v) {
  if (t == MIXUP_DTYPE_F32) reinterpret_cast<float*>(p)[i] = v;
  else reinterpret_cast<std::uint16_t*>(p)[i] = mixup::core::f32_to_bf16(v);
}

inline std::vector<std::uint8_t> make_input(const Shape& s, const Kind& k) {
  std::vector<std::uint8_t> x(s.elems() * bytes_of(k.in));
  for (std::int64_t i = 0; i < s.elems(); ++i) {
    const float v = static_cast<float>((i * 2654435761u) % 251);
    if (k.in == MIXUP_DTYPE_U8) x[i] = static_cast<std::uint8_t>(v);
    else store(x.data(), k.in, i, v / 251.0f);
  }
  return x;
}

// Largest |fused − unfused| on the same draws, relative to the output scale.
inline double max_difference(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b,
                             const Kind& k, std::int64_t n) {
  double worst = 0;
  for (std::int64_t i = 0; i < n; ++i)
    worst = std::max(worst, double(std::fabs(load(a.data(), k.out, i) - load(b.data(), k.out, i))));
  return worst;
}

inline void report(benchmark::State& state, const Shape& s, const Kind& k, double floor_bw,
                   double seconds_per_call) {
  const double bytes = 2.0 * s.elems() * bytes_of(k.in) + 1.0 * s.elems() * bytes_of(k.out);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
  state.counters["floor_ratio"] = seconds_per_call / (bytes / floor_bw);
  state.counters["copy_GBps"] = floor_bw / 1e9;
}

using Clock = std::chrono::steady_clock;
constexpr int kCpuThreads = 2;
inline mixup::detail::ThreadPool& pool() {
  static mixup::detail::ThreadPool p(kCpuThreads);
  return p;
}

// Copy bandwidth in bytes/s (read + write counted), best of a few 2-thread memcpys. Never
// measured on less than 64 MiB, so it is main-memory bandwidth even where a small batch would
// fit in the last-level cache (the floor is then honest: a result below it ran from cache).
inline double cpu_copy_bandwidth(std::size_t bytes) {
  bytes = std::max<std::size_t>(bytes, std::size_t(64) << 20);
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    pool().parallel_for(kCpuThreads, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t k = b; k < e; ++k)
        std::memcpy(dst.data() + bytes * k / kCpuThreads, src.data() + bytes * k / kCpuThreads,
                    bytes / kCpuThreads);
    });
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 2.0 * bytes / s);
  }
  return best;
}

inline mixup_handle_t make_handle(mixup_backend_t backend, const Shape& s, int cpu_threads) {
  mixup_config_t c = mixup_config_default();
  c.backend = backend;
  c.max_batch = static_cast<std::int32_t>(s.n);
  c.cpu_threads = cpu_threads;
  c.num_classes = 10;
  mixup_handle_t h = nullptr;
  return mixup_create(&c, &h) == MIXUP_STATUS_SUCCESS ? h : nullptr;
}

}  // namespace mixup::bench
