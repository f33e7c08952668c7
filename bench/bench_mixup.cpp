// bench_mixup: the fused mixup call against the unfused baseline (host λ, separate gather /
// scale / add passes) and against the memory floor (read 2N + write N at the copy bandwidth
// measured in the same process), for the batches of the issue. Names: BM_<backend>_<variant>
// /<shape>/<dtype>. Each case checks fused against unfused on the same draws before timing.
//
//   build/ci/bench/bench_mixup --benchmark_filter=cpu --benchmark_counters_tabular=true
//
// Counters: floor_ratio = time per call / floor time (1.0 = at the floor).
// CutMix's cases (BM_*_cutmix_*) live in bench_cutmix.cpp and bench_cutmix_cuda.cpp.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common.hpp"
#include "unfused.hpp"

namespace {

using namespace mixup::bench;

// Storage types for the baseline's passes, so each pass is a tight, vectorisable loop.
struct F32 {
  using T = float;
  static float get(T v) { return v; }
  static T put(float v) { return v; }
};
struct BF16 {
  using T = std::uint16_t;
  static float get(T v) { return mixup::core::bf16_to_f32(v); }
  static T put(float v) { return mixup::core::f32_to_bf16(v); }
};

// One pass over the batch, row by row on the pool: what each framework op costs.
template <class F>
void rows_pass(std::int64_t batch, F f) {
  pool().parallel_for(batch, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t r = b; r < e; ++r) f(r);
  });
}

// The baseline: host draws, then [u8 → f32 normalise], gather, scale, scale, add — five
// separate passes, each a tight loop, as a framework runs them.
struct Unfused {
  const Shape& s;
  const Kind& k;
  std::vector<std::uint8_t> f, xb, t1, t2;
  Unfused(const Shape& s_, const Kind& k_) : s(s_), k(k_) {
    const std::size_t n = s.elems() * bytes_of(k.out);
    f.resize(k.in == MIXUP_DTYPE_U8 ? n : 0);
    xb.resize(n);
    t1.resize(n);
    t2.resize(n);
  }
  template <class S>
  void passes(const typename S::T* src, const HostDraws& d, typename S::T* out) {
    using T = typename S::T;
    const std::int64_t per = s.per();
    T* g = reinterpret_cast<T*>(xb.data());
    T* a = reinterpret_cast<T*>(t1.data());
    T* b = reinterpret_cast<T*>(t2.data());
    rows_pass(s.n, [&](std::int64_t r) { std::memcpy(g + r * per, src + d.perm[r] * per, per * sizeof(T)); });
    rows_pass(s.n, [&](std::int64_t r) {
      const float l = d.lam[r];
      for (std::int64_t e = r * per; e < (r + 1) * per; ++e) a[e] = S::put(l * S::get(src[e]));
    });
    rows_pass(s.n, [&](std::int64_t r) {
      const float l = 1.0f - d.lam[r];
      for (std::int64_t e = r * per; e < (r + 1) * per; ++e) b[e] = S::put(l * S::get(g[e]));
    });
    rows_pass(s.n, [&](std::int64_t r) {
      for (std::int64_t e = r * per; e < (r + 1) * per; ++e) out[e] = S::put(S::get(a[e]) + S::get(b[e]));
    });
  }
  void run(const std::uint8_t* x, const HostDraws& d, std::uint8_t* out) {
    if (k.in == MIXUP_DTYPE_U8) {
      float* fx = reinterpret_cast<float*>(f.data());
      const std::int64_t per = s.per();
      rows_pass(s.n, [&](std::int64_t r) {
        for (std::int64_t e = r * per; e < (r + 1) * per; ++e) fx[e] = x[e] * (1.0f / 255.0f);
      });
      passes<F32>(fx, d, reinterpret_cast<float*>(out));
    } else if (k.in == MIXUP_DTYPE_F32) {
      passes<F32>(reinterpret_cast<const float*>(x), d, reinterpret_cast<float*>(out));
    } else {
      passes<BF16>(reinterpret_cast<const std::uint16_t*>(x), d, reinterpret_cast<std::uint16_t*>(out));
    }
  }
};

void BM_cpu_fused(benchmark::State& state, const Shape& s, const Kind& k) {
  mixup_handle_t h = make_handle(MIXUP_BACKEND_CPU, s, kCpuThreads);
  if (h == nullptr) return state.SkipWithError(mixup_last_error());
  std::vector<std::uint8_t> x = make_input(s, k), out(s.elems() * bytes_of(k.out)), ref(out.size());
  std::vector<std::int32_t> labels(s.n, 1), ya(s.n), yb(s.n);
  std::vector<float> lam(s.n);
  mixup_batch_t bx{x.data(), k.in, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.data(), k.out, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{
      MIXUP_TARGETS_STACKED, labels.data(), nullptr, ya.data(), yb.data(), lam.data(), nullptr, nullptr};
  // check before timing: fused on the baseline's draws equals the baseline
  std::mt19937_64 rng(1);
  HostDraws d{std::vector<float>(s.n), std::vector<std::int32_t>(s.n)};
  mixup::bench::draw_on_host(rng, 0.4f, d);
  Unfused(s, k).run(x.data(), d, ref.data());
  if (mixup_apply_given(h, &bx, d.lam.data(), d.perm.data(), &bo, &t, nullptr) != MIXUP_STATUS_SUCCESS)
    return state.SkipWithError(mixup_last_error());
  if (max_difference(out, ref, k, s.elems()) > (k.out == MIXUP_DTYPE_BF16 ? 1e-2 : 1e-5))
    return state.SkipWithError("fused and unfused outputs disagree");
  const double bw = cpu_copy_bandwidth(std::max(out.size(), x.size()));
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    if (mixup_apply(h, &bx, &bo, &t, nullptr) != MIXUP_STATUS_SUCCESS)
      return state.SkipWithError(mixup_last_error());
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(sec);
    total += sec;
  }
  report(state, s, k, bw, total / state.iterations());
  mixup_destroy(h);
}

void BM_cpu_unfused(benchmark::State& state, const Shape& s, const Kind& k) {
  std::vector<std::uint8_t> x = make_input(s, k), out(s.elems() * bytes_of(k.out));
  Unfused u(s, k);
  std::mt19937_64 rng(2);
  HostDraws d{std::vector<float>(s.n), std::vector<std::int32_t>(s.n)};
  const double bw = cpu_copy_bandwidth(std::max(out.size(), x.size()));
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    mixup::bench::draw_on_host(rng, 0.4f, d);
    u.run(x.data(), d, out.data());
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(sec);
    total += sec;
  }
  benchmark::DoNotOptimize(out.data());
  report(state, s, k, bw, total / state.iterations());
}

void BM_cpu_copy(benchmark::State& state, const Shape& s) {
  const std::size_t bytes = s.elems() * 4;
  std::vector<char> src(bytes, 1), dst(bytes);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    pool().parallel_for(kCpuThreads, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t q = b; q < e; ++q)
        std::memcpy(dst.data() + bytes * q / kCpuThreads, src.data() + bytes * q / kCpuThreads,
                    bytes / kCpuThreads);
    });
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(2 * bytes) * state.iterations());
}

}  // namespace

void register_cuda_benchmarks();        // bench_mixup_cuda.cpp
void register_cutmix_cpu_benchmarks();  // bench_cutmix.cpp

int main(int argc, char** argv) {
  const auto register_shape = [](const Shape& s) {
    benchmark::RegisterBenchmark((std::string("BM_cpu_copy/") + s.name + "/f32").c_str(), BM_cpu_copy, s)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    for (const Kind& k : kKinds) {
      const std::string tail = std::string("/") + s.name + "/" + k.name;
      benchmark::RegisterBenchmark(("BM_cpu_fused" + tail).c_str(), BM_cpu_fused, s, k)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("BM_cpu_unfused" + tail).c_str(), BM_cpu_unfused, s, k)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  };
  for (const Shape& s : kShapes) register_shape(s);
  for (const Shape& s : kBatchSweep)
    if (std::string(s.name) != "256x3x32x32") register_shape(s);  // already among kShapes
  register_cutmix_cpu_benchmarks();
  register_cuda_benchmarks();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
