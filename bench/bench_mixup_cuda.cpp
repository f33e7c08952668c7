// CUDA half of bench_mixup: fused call, unfused baseline (host λ + H2D copy + separate
// kernels) and device-to-device copy, timed with CUDA events under manual time, L2 flushed
// before each timed call. Registered only when a device is present; otherwise one entry says
// why, so a CPU-only run never looks like a GPU result.
#include <cuda_runtime_api.h>

#include <random>
#include <string>

#include "common.hpp"
#include "cuda_timing.hpp"
#include "unfused.hpp"

namespace {

using namespace mixup::bench;

struct Batch {
  DeviceBuffer x, out, lam, ya, yb, labels;
  Batch(const Shape& s, const Kind& k)
      : x(s.elems() * bytes_of(k.in)), out(s.elems() * bytes_of(k.out)), lam(s.n * 4), ya(s.n * 4),
        yb(s.n * 4), labels(s.n * 4) {
    const std::vector<std::uint8_t> host = make_input(s, k);
    cudaMemcpy(x.p, host.data(), host.size(), cudaMemcpyHostToDevice);
    cudaMemset(labels.p, 0, s.n * 4);
  }
};

void BM_cuda_fused(benchmark::State& state, const Shape& s, const Kind& k) {
  mixup_config_t c = mixup_config_default();
  c.backend = MIXUP_BACKEND_CUDA;
  c.max_batch = static_cast<std::int32_t>(s.n);
  c.num_classes = 10;
  c.checks = MIXUP_CHECKS_DEFERRED;  // no per-call sync: the trainer's setting
  mixup_handle_t h = nullptr;
  if (mixup_create(&c, &h) != MIXUP_STATUS_SUCCESS) return state.SkipWithError(mixup_last_error());
  Batch b(s, k);
  mixup_batch_t bx{b.x.p, k.in, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{b.out.p, k.out, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{MIXUP_TARGETS_STACKED,   b.labels.as<std::int32_t>(), nullptr, b.ya.as<std::int32_t>(),
                    b.yb.as<std::int32_t>(), b.lam.as<float>(),           nullptr, nullptr};
  // check before timing: against the CPU backend on the same step, bit for bit
  if (mixup_apply(h, &bx, &bo, &t, nullptr) != MIXUP_STATUS_SUCCESS)
    return state.SkipWithError(mixup_last_error());
  std::vector<std::uint8_t> got(s.elems() * bytes_of(k.out)), want(got.size());
  cudaMemcpy(got.data(), b.out.p, got.size(), cudaMemcpyDeviceToHost);
  {
    mixup_handle_t cpu = make_handle(MIXUP_BACKEND_CPU, s, 2);
    std::vector<std::uint8_t> x = make_input(s, k);
    std::vector<std::int32_t> labels(s.n, 0), ya(s.n), yb(s.n);
    std::vector<float> lam(s.n);
    mixup_batch_t cx{x.data(), k.in, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
    mixup_batch_t co{want.data(), k.out, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
    mixup_targets_t ct{
        MIXUP_TARGETS_STACKED, labels.data(), nullptr, ya.data(), yb.data(), lam.data(), nullptr, nullptr};
    mixup_apply(cpu, &cx, &co, &ct, nullptr);
    mixup_destroy(cpu);
  }
  const bool same = got == want;
  const double bw = device_copy_bandwidth(std::max(got.size(), s.elems() * bytes_of(k.in)));
  const double per_call = time_calls(state, [&] {
    return mixup_apply(h, &bx, &bo, &t, nullptr) == MIXUP_STATUS_SUCCESS;
  });
  report(state, s, k, bw, per_call);
  record_self_check(state, same, "CUDA output differs from the CPU backend on the same step");
  mixup_destroy(h);
}

void BM_cuda_unfused(benchmark::State& state, const Shape& s, const Kind& k) {
  Batch b(s, k);
  DeviceBuffer f(s.elems() * 4), xb(s.elems() * 4), t1(s.elems() * 4), t2(s.elems() * 4), perm(s.n * 4);
  std::mt19937_64 rng(3);
  HostDraws d{std::vector<float>(s.n), std::vector<std::int32_t>(s.n)};
  const double bw = device_copy_bandwidth(s.elems() * 4);
  const double per_call = time_calls(state, [&] {
    draw_on_host(rng, 0.4f, d);
    bool ok = cudaMemcpyAsync(b.lam.p, d.lam.data(), s.n * 4, cudaMemcpyHostToDevice) == cudaSuccess &&
              cudaMemcpyAsync(perm.p, d.perm.data(), s.n * 4, cudaMemcpyHostToDevice) == cudaSuccess;
    const float* src = b.x.as<float>();
    if (k.in == MIXUP_DTYPE_U8) {
      ok = ok && cuda_u8_to_f32(b.x.as<std::uint8_t>(), f.as<float>(), s.elems(), nullptr) == cudaSuccess;
      src = f.as<float>();
    }
    ok = ok &&
         cuda_gather_rows(src, perm.as<std::int32_t>(), xb.as<float>(), s.n, s.per(), nullptr) == cudaSuccess;
    ok = ok &&
         cuda_scale_rows(src, b.lam.as<float>(), false, t1.as<float>(), s.n, s.per(), nullptr) == cudaSuccess;
    ok = ok && cuda_scale_rows(xb.as<float>(), b.lam.as<float>(), true, t2.as<float>(), s.n, s.per(),
                               nullptr) == cudaSuccess;
    return ok &&
           cuda_add(t1.as<float>(), t2.as<float>(), b.out.as<float>(), s.elems(), nullptr) == cudaSuccess;
  });
  report(state, s, k, bw, per_call);
}

void BM_cuda_copy(benchmark::State& state, const Shape& s) {
  const std::size_t bytes = s.elems() * 4;
  DeviceBuffer a(bytes), b(bytes);
  time_calls(state,
             [&] { return cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice) == cudaSuccess; });
  state.SetBytesProcessed(static_cast<std::int64_t>(2 * bytes) * state.iterations());
}

// The pairing's fixed cost: the whole fused call on [B, 1, 1, 1] (the blend moves 12·B bytes).
void BM_cuda_pairing(benchmark::State& state, std::int64_t n) {
  const Shape s{"pairing", n, 1, 1, 1};
  const Kind k{"f32", MIXUP_DTYPE_F32, MIXUP_DTYPE_F32};
  mixup_config_t c = mixup_config_default();
  c.backend = MIXUP_BACKEND_CUDA;
  c.max_batch = static_cast<std::int32_t>(n);
  c.num_classes = 10;
  c.checks = MIXUP_CHECKS_DEFERRED;
  mixup_handle_t h = nullptr;
  if (mixup_create(&c, &h) != MIXUP_STATUS_SUCCESS) return state.SkipWithError(mixup_last_error());
  Batch b(s, k);
  mixup_batch_t bx{b.x.p, k.in, s.n, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{b.out.p, k.out, s.n, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{MIXUP_TARGETS_STACKED,   b.labels.as<std::int32_t>(), nullptr, b.ya.as<std::int32_t>(),
                    b.yb.as<std::int32_t>(), b.lam.as<float>(),           nullptr, nullptr};
  if (mixup_apply(h, &bx, &bo, &t, nullptr) != MIXUP_STATUS_SUCCESS ||
      mixup_poll_checks(h, nullptr) != MIXUP_STATUS_SUCCESS)
    return state.SkipWithError(mixup_last_error());
  time_calls(state, [&] { return mixup_apply(h, &bx, &bo, &t, nullptr) == MIXUP_STATUS_SUCCESS; });
  state.counters["batch"] = static_cast<double>(n);
  mixup_destroy(h);
}

void register_shape(const Shape& s) {
  benchmark::RegisterBenchmark((std::string("BM_cuda_copy/") + s.name + "/f32").c_str(), BM_cuda_copy, s)
      ->UseManualTime();
  for (const Kind& k : kKinds) {
    const std::string tail = std::string("/") + s.name + "/" + k.name;
    benchmark::RegisterBenchmark(("BM_cuda_fused" + tail).c_str(), BM_cuda_fused, s, k)->UseManualTime();
    if (k.in != MIXUP_DTYPE_BF16)  // the baseline kernels are f32 (uint8 input is converted first)
      benchmark::RegisterBenchmark(("BM_cuda_unfused" + tail).c_str(), BM_cuda_unfused, s, k)->UseManualTime();
  }
}

}  // namespace

void register_cutmix_cuda_benchmarks();  // bench_cutmix_cuda.cpp

void register_cuda_benchmarks() {
  if (!mixup::bench::cuda_benchmarks_possible()) return;
  for (const std::int64_t n : kPairingBatches)
    benchmark::RegisterBenchmark(("BM_cuda_pairing/" + std::to_string(n)).c_str(), BM_cuda_pairing, n)
        ->UseManualTime();
  for (const Shape& s : kShapes) register_shape(s);
  for (const Shape& s : kOddShapes) {
    benchmark::RegisterBenchmark((std::string("BM_cuda_copy/") + s.name + "/f32").c_str(), BM_cuda_copy, s)
        ->UseManualTime();
    benchmark::RegisterBenchmark((std::string("BM_cuda_fused/") + s.name + "/f32").c_str(), BM_cuda_fused, s,
                                 kKinds[0])
        ->UseManualTime();
  }
  for (const Shape& s : kBatchSweep) {
    if (std::string(s.name) == "256x3x32x32") continue;  // already among kShapes
    register_shape(s);
  }
  register_cutmix_cuda_benchmarks();
}
