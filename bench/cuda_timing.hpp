// CUDA timing shared by the benchmarks: an owning device buffer, an L2 flush outside the timed
// region, the device's copy bandwidth (the floor), a CUDA-event timing loop under manual
// time, and the entry that says why there is no CUDA result on a machine without a GPU.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace mixup::bench {

struct DeviceBuffer {
  void* p = nullptr;
  explicit DeviceBuffer(std::size_t bytes) {
    if (cudaMalloc(&p, bytes) != cudaSuccess) p = nullptr;
  }
  ~DeviceBuffer() { cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p);
  }
};

// Writing a buffer larger than L2 between timed calls, outside the timed region.
inline void flush_l2() {
  static DeviceBuffer big(256u << 20);
  cudaMemsetAsync(big.p, 0, 256u << 20);
}

// The result of a benchmark's check before timing, kept beside its timing: a bit mismatch is
// a failure of its own (scripts/gpu_verdicts.py fails the rows that read it), not a reason to
// throw the timing away. Said on stderr too, for the log.
inline void record_self_check(benchmark::State& state, bool matches, const char* what) {
  state.counters["self_check"] = matches ? 1 : 0;
  if (!matches) std::fprintf(stderr, "SELF-CHECK FAILED (timed all the same): %s\n", what);
}

// Bytes per second (read + write counted), best of ten device-to-device copies.
inline double device_copy_bandwidth(std::size_t bytes) {
  DeviceBuffer a(bytes), b(bytes);
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  double best = 0;
  for (int rep = 0; rep < 10; ++rep) {
    flush_l2();
    cudaEventRecord(e0);
    cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    best = std::max(best, 2.0 * bytes / (ms * 1e-3));
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  return best;
}

// Times body() per iteration with CUDA events; returns the mean seconds per call.
template <class Body>
double time_calls(benchmark::State& state, Body body) {
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  double total = 0;
  for (auto _ : state) {
    flush_l2();
    cudaEventRecord(e0);
    if (!body()) {
      state.SkipWithError("a CUDA call failed inside the timed loop");
      break;
    }
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float ms = 0;
    cudaEventElapsedTime(&ms, e0, e1);
    state.SetIterationTime(ms * 1e-3);
    total += ms * 1e-3;
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  return state.iterations() ? total / state.iterations() : 0;
}

// True when a device is there; otherwise registers one entry that reports why not.
inline bool cuda_benchmarks_possible() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaSuccess && n > 0) return true;
  const std::string why = std::string("no CUDA device: ") +
                          (e != cudaSuccess ? cudaGetErrorString(e) : "count is 0");
  benchmark::RegisterBenchmark("BM_cuda_unavailable", [why](benchmark::State& st) {
    for (auto _ : st) {
    }
    st.SkipWithError(why.c_str());
  });
  return false;
}

}  // namespace mixup::bench
