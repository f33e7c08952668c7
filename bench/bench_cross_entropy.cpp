// bench_cross_entropy: the fused mixup loss (forward + backward in one call) against the
// unfused baseline (log-softmax written out, two NLL gathers, blend, mean; zeroed gradient,
// scatter, log-softmax backward) and against the floor (read B·C logits once, write B·C
// gradients once, at the copy bandwidth measured in the same process). Names:
// BM_<backend>_<variant>/<B>x<C>/<dtype>. Each case checks fused against unfused first.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "common.hpp"
#include "cross_entropy.cuh"
#include "mixup/loss.h"
#include "unfused_ce.hpp"

namespace {

using namespace mixup::bench;

struct Data {
  std::vector<float> z, lam;
  std::vector<std::uint16_t> z16;
  std::vector<std::int32_t> ya, yb;
  Data(const CeProblem& p, bool bf16) : z(p.B * p.C), lam(p.B), ya(p.B), yb(p.B) {
    std::mt19937 rng(1);
    std::normal_distribution<float> n(0.0f, 2.0f);
    for (auto& v : z) v = n(rng);
    for (std::int64_t i = 0; i < p.B; ++i)
      ya[i] = rng() % p.C, yb[i] = rng() % p.C, lam[i] = 0.5f + (rng() % 100) / 200.0f;
    if (bf16) {
      z16.resize(z.size());
      for (std::size_t k = 0; k < z.size(); ++k)
        z16[k] = mixup::core::f32_to_bf16(z[k]), z[k] = mixup::core::bf16_to_f32(z16[k]);
    }
  }
};

// The framework path on the CPU lives in unfused_ce_cpu.cpp, built with the same flags and
// instruction-set clones as the library's CPU loss, so the two differ in passes, not in code
// generation.
struct Unfused {
  std::vector<float> ls, g_ls, rows;
  explicit Unfused(const CeProblem& p) : ls(p.B * p.C), g_ls(p.B * p.C), rows(p.B) {}
  float run(const CeProblem& p, const Data& d, float* grad) {
    return unfused_ce_cpu(d.z.data(), d.ya.data(), d.yb.data(), d.lam.data(), p.B, p.C, ls.data(),
                          g_ls.data(), rows.data(), grad);
  }
};

void report_ce(benchmark::State& st, const CeProblem& p, std::size_t elem_bytes, double bw, double per_call) {
  const double bytes = 2.0 * p.B * p.C * elem_bytes;
  st.SetBytesProcessed(static_cast<std::int64_t>(bytes) * st.iterations());
  st.counters["floor_ratio"] = per_call / (bytes / bw);
  st.counters["copy_GBps"] = bw / 1e9;
}

mixup_ce_args_t args_for(const CeProblem& p, const void* logits, mixup_dtype_t dt, const Data& d, float* loss,
                         void* grad) {
  mixup_ce_args_t a = mixup_ce_args_default();
  a.logits = logits;
  a.dtype = dt;
  a.batch = p.B;
  a.classes = p.C;
  a.y_a = d.ya.data();
  a.y_b = d.yb.data();
  a.lam = d.lam.data();
  a.loss = loss;
  a.grad = grad;
  a.grad_dtype = dt;
  return a;
}

void BM_cpu_fused(benchmark::State& st, CeProblem p, bool bf16) {
  Data d(p, bf16);
  mixup_loss_config_t c = mixup_loss_config_default();
  c.max_batch = static_cast<std::int32_t>(p.B);
  c.cpu_threads = kCpuThreads;
  mixup_loss_t h = nullptr;
  if (mixup_loss_create(&c, &h) != MIXUP_STATUS_SUCCESS) return st.SkipWithError(mixup_last_error());
  const mixup_dtype_t dt = bf16 ? MIXUP_DTYPE_BF16 : MIXUP_DTYPE_F32;
  const std::size_t eb = bf16 ? 2 : 4;
  std::vector<std::uint8_t> grad(p.B * p.C * eb);
  float loss = 0;
  const void* z = bf16 ? static_cast<const void*>(d.z16.data()) : d.z.data();
  const mixup_ce_args_t a = args_for(p, z, dt, d, &loss, grad.data());
  // check before timing, against the unfused baseline
  if (mixup_cross_entropy(h, &a, nullptr) != MIXUP_STATUS_SUCCESS)
    return st.SkipWithError(mixup_last_error());
  Unfused u(p);
  std::vector<float> ref(p.B * p.C);
  const float ref_loss = u.run(p, d, ref.data());
  double worst = 0;
  for (std::size_t k = 0; k < ref.size(); ++k)
    worst = std::max(worst, double(std::fabs(load(grad.data(), dt, k) - ref[k])));
  if (std::fabs(loss - ref_loss) > 1e-3 * (1 + std::fabs(ref_loss)) ||
      worst > (bf16 ? 1e-2 : 1e-5) / p.B * 10)
    return st.SkipWithError("fused and unfused disagree");
  const double bw = cpu_copy_bandwidth(p.B * p.C * eb);
  double total = 0;
  for (auto _ : st) {
    const auto t0 = Clock::now();
    mixup_cross_entropy(h, &a, nullptr);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    st.SetIterationTime(s);
    total += s;
  }
  report_ce(st, p, eb, bw, total / st.iterations());
  mixup_loss_destroy(h);
}

void BM_cpu_unfused(benchmark::State& st, CeProblem p) {
  Data d(p, false);
  Unfused u(p);
  std::vector<float> grad(p.B * p.C);
  const double bw = cpu_copy_bandwidth(p.B * p.C * 4);
  double total = 0;
  for (auto _ : st) {
    const auto t0 = Clock::now();
    benchmark::DoNotOptimize(u.run(p, d, grad.data()));
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    st.SetIterationTime(s);
    total += s;
  }
  report_ce(st, p, 4, bw, total / st.iterations());
}

}  // namespace

void register_cuda_ce_benchmarks();  // bench_cross_entropy_cuda.cpp

int main(int argc, char** argv) {
  for (const CeProblem& p : kCeProblems) {
    const std::string tail = "/" + std::to_string(p.B) + "x" + std::to_string(p.C);
    benchmark::RegisterBenchmark(("BM_cpu_fused" + tail + "/f32").c_str(), BM_cpu_fused, p, false)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_cpu_fused" + tail + "/bf16").c_str(), BM_cpu_fused, p, true)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_cpu_unfused" + tail + "/f32").c_str(), BM_cpu_unfused, p)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  register_cuda_ce_benchmarks();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
