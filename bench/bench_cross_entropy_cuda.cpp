// CUDA half of bench_cross_entropy: fused call vs the unfused kernels, CUDA events, L2
// flushed before each timed call; one entry says why when there is no device.
#include <cuda_runtime_api.h>

#include <random>
#include <string>
#include <vector>

#include "common.hpp"
#include "cuda_timing.hpp"
#include "mixup/loss.h"
#include "unfused_ce.hpp"

namespace {

using namespace mixup::bench;

struct DeviceData {
  DeviceBuffer z, ya, yb, lam, grad, loss;
  DeviceData(const CeProblem& p, std::size_t eb)
      : z(p.B * p.C * eb), ya(p.B * 4), yb(p.B * 4), lam(p.B * 4), grad(p.B * p.C * eb), loss(4) {
    std::mt19937 rng(1);
    std::vector<float> hz(p.B * p.C), hl(p.B);
    std::vector<std::int32_t> ha(p.B), hb(p.B);
    std::normal_distribution<float> n(0.0f, 2.0f);
    for (auto& v : hz) v = n(rng);
    for (std::int64_t i = 0; i < p.B; ++i) ha[i] = rng() % p.C, hb[i] = rng() % p.C, hl[i] = 0.75f;
    if (eb == 2) {
      std::vector<std::uint16_t> h16(hz.size());
      for (std::size_t k = 0; k < hz.size(); ++k) h16[k] = mixup::core::f32_to_bf16(hz[k]);
      cudaMemcpy(z.p, h16.data(), h16.size() * 2, cudaMemcpyHostToDevice);
    } else {
      cudaMemcpy(z.p, hz.data(), hz.size() * 4, cudaMemcpyHostToDevice);
    }
    cudaMemcpy(ya.p, ha.data(), p.B * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(yb.p, hb.data(), p.B * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(lam.p, hl.data(), p.B * 4, cudaMemcpyHostToDevice);
  }
};

void report_ce(benchmark::State& st, const CeProblem& p, std::size_t eb, double bw, double per_call) {
  const double bytes = 2.0 * p.B * p.C * eb;
  st.SetBytesProcessed(static_cast<std::int64_t>(bytes) * st.iterations());
  st.counters["floor_ratio"] = per_call / (bytes / bw);
  st.counters["copy_GBps"] = bw / 1e9;
}

void BM_cuda_fused(benchmark::State& st, CeProblem p, bool bf16) {
  const std::size_t eb = bf16 ? 2 : 4;
  DeviceData d(p, eb);
  mixup_loss_config_t c = mixup_loss_config_default();
  c.backend = MIXUP_BACKEND_CUDA;
  c.max_batch = static_cast<std::int32_t>(p.B);
  c.checks = MIXUP_CHECKS_DEFERRED;
  mixup_loss_t h = nullptr;
  if (mixup_loss_create(&c, &h) != MIXUP_STATUS_SUCCESS) return st.SkipWithError(mixup_last_error());
  mixup_ce_args_t a = mixup_ce_args_default();
  a.logits = d.z.p;
  a.dtype = bf16 ? MIXUP_DTYPE_BF16 : MIXUP_DTYPE_F32;
  a.batch = p.B;
  a.classes = p.C;
  a.y_a = d.ya.as<std::int32_t>();
  a.y_b = d.yb.as<std::int32_t>();
  a.lam = d.lam.as<float>();
  a.loss = d.loss.as<float>();
  a.grad = d.grad.p;
  a.grad_dtype = a.dtype;
  // check before timing: the fused loss against the unfused kernels (f32)
  if (mixup_cross_entropy(h, &a, nullptr) != MIXUP_STATUS_SUCCESS ||
      mixup_loss_poll_checks(h, nullptr) != MIXUP_STATUS_SUCCESS)
    return st.SkipWithError(mixup_last_error());
  bool agree = true;
  if (!bf16) {
    DeviceBuffer ls(p.B * p.C * 4), gls(p.B * p.C * 4), gz(p.B * p.C * 4), rows(p.B * 4), ref_loss(4);
    cuda_log_softmax(d.z.as<float>(), ls.as<float>(), p.B, p.C, nullptr);
    cuda_nll_blend(ls.as<float>(), d.ya.as<std::int32_t>(), d.yb.as<std::int32_t>(), d.lam.as<float>(),
                   rows.as<float>(), p.B, p.C, nullptr);
    cuda_mean(rows.as<float>(), p.B, ref_loss.as<float>(), nullptr);
    cudaMemsetAsync(gls.p, 0, p.B * p.C * 4);
    cuda_scatter_weights(gls.as<float>(), d.ya.as<std::int32_t>(), d.yb.as<std::int32_t>(), d.lam.as<float>(),
                         1.0f / p.B, p.B, p.C, nullptr);
    cuda_log_softmax_backward(ls.as<float>(), gls.as<float>(), gz.as<float>(), p.B, p.C, nullptr);
    std::vector<float> g1(p.B * p.C), g2(g1.size());
    float l1 = 0, l2 = 0;
    cudaMemcpy(g1.data(), d.grad.p, g1.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(g2.data(), gz.p, g2.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(&l1, d.loss.p, 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(&l2, ref_loss.p, 4, cudaMemcpyDeviceToHost);
    double worst = 0;
    for (std::size_t k = 0; k < g1.size(); ++k) worst = std::max(worst, double(std::fabs(g1[k] - g2[k])));
    agree = std::fabs(l1 - l2) <= 1e-3 * (1 + std::fabs(l2)) && worst <= 1e-4 / p.B;
  }
  const double bw = device_copy_bandwidth(p.B * p.C * eb);
  const double per = time_calls(st,
                                [&] { return mixup_cross_entropy(h, &a, nullptr) == MIXUP_STATUS_SUCCESS; });
  report_ce(st, p, eb, bw, per);
  if (!bf16) record_self_check(st, agree, "fused and unfused disagree");
  mixup_loss_destroy(h);
}

void BM_cuda_unfused(benchmark::State& st, CeProblem p) {
  DeviceData d(p, 4);
  DeviceBuffer ls(p.B * p.C * 4), gls(p.B * p.C * 4), rows(p.B * 4);
  const double bw = device_copy_bandwidth(p.B * p.C * 4);
  const double per = time_calls(st, [&] {
    bool ok = cuda_log_softmax(d.z.as<float>(), ls.as<float>(), p.B, p.C, nullptr) == cudaSuccess;
    ok = ok && cuda_nll_blend(ls.as<float>(), d.ya.as<std::int32_t>(), d.yb.as<std::int32_t>(),
                              d.lam.as<float>(), rows.as<float>(), p.B, p.C, nullptr) == cudaSuccess;
    ok = ok && cuda_mean(rows.as<float>(), p.B, d.loss.as<float>(), nullptr) == cudaSuccess;
    ok = ok && cudaMemsetAsync(gls.p, 0, p.B * p.C * 4) == cudaSuccess;
    ok = ok && cuda_scatter_weights(gls.as<float>(), d.ya.as<std::int32_t>(), d.yb.as<std::int32_t>(),
                                    d.lam.as<float>(), 1.0f / p.B, p.B, p.C, nullptr) == cudaSuccess;
    return ok && cuda_log_softmax_backward(ls.as<float>(), gls.as<float>(), d.grad.as<float>(), p.B, p.C,
                                           nullptr) == cudaSuccess;
  });
  report_ce(st, p, 4, bw, per);
}

}  // namespace

void register_cuda_ce_benchmarks() {
  if (!mixup::bench::cuda_benchmarks_possible()) return;
  for (const CeProblem& p : kCeProblems) {
    const std::string tail = "/" + std::to_string(p.B) + "x" + std::to_string(p.C);
    benchmark::RegisterBenchmark(("BM_cuda_fused" + tail + "/f32").c_str(), BM_cuda_fused, p, false)
        ->UseManualTime();
    benchmark::RegisterBenchmark(("BM_cuda_fused" + tail + "/bf16").c_str(), BM_cuda_fused, p, true)
        ->UseManualTime();
    benchmark::RegisterBenchmark(("BM_cuda_unfused" + tail + "/f32").c_str(), BM_cuda_unfused, p)
        ->UseManualTime();
  }
  for (const CeProblem& p : kCeOdd) {
    const std::string tail = "/" + std::to_string(p.B) + "x" + std::to_string(p.C);
    benchmark::RegisterBenchmark(("BM_cuda_fused" + tail + "/f32").c_str(), BM_cuda_fused, p, false)
        ->UseManualTime();
  }
  for (const CeProblem& p : kCeSweep) {
    const std::string tail = "/" + std::to_string(p.B) + "x" + std::to_string(p.C);
    benchmark::RegisterBenchmark(("BM_cuda_sweep_fused" + tail + "/f32").c_str(), BM_cuda_fused, p, false)
        ->UseManualTime();
    benchmark::RegisterBenchmark(("BM_cuda_sweep_unfused" + tail + "/f32").c_str(), BM_cuda_unfused, p)
        ->UseManualTime();
  }
}
