// bench_mixup's CutMix cases, CUDA half: the fused call (CutMix only, a box per sample)
// against the unfused baseline (host boxes + H2D copy of boxes and partners + a batch copy +
// a paste kernel) and against the floor (cutmix_common.hpp), out of place and in place.
// Timed with CUDA events, L2 flushed before each call (cuda_timing.hpp); registered only
// with a device, from register_cuda_benchmarks. Before timing, each fused case is checked
// bit for bit against the CPU backend on the same step, and the baseline on the fused call's
// draws against the fused output.
#include <cuda_runtime_api.h>

#include <random>
#include <string>
#include <vector>

#include "cuda_timing.hpp"
#include "cutmix_common.hpp"
#include "unfused.hpp"

namespace {

using namespace mixup::bench;

struct CutmixBatch {
  DeviceBuffer x, out, labels, ya, yb, lam, perm, box, f, snapshot;
  CutmixBatch(const Shape& s, const Kind& k, bool in_place)
      : x(s.elems() * bytes_of(k.in)), out(in_place ? 0 : s.elems() * bytes_of(k.out)), labels(s.n * 4),
        ya(s.n * 4), yb(s.n * 4), lam(s.n * 4), perm(s.n * 4), box(s.n * 16),
        f(k.in == MIXUP_DTYPE_U8 ? s.elems() * 4 : 0), snapshot(in_place ? s.elems() * 4 : 0) {
    upload(make_input(s, k));
    cudaMemset(labels.p, 0, s.n * 4);
  }
  void upload(const std::vector<std::uint8_t>& host) {
    cudaMemcpy(x.p, host.data(), host.size(), cudaMemcpyHostToDevice);
  }
  void* out_data(bool in_place) const { return in_place ? x.p : out.p; }
};

// The baseline's device work for one call's draws (already in b.perm / b.box).
bool unfused_passes(CutmixBatch& b, const Shape& s, const Kind& k, bool in_place) {
  const float* src = b.x.as<float>();
  if (k.in == MIXUP_DTYPE_U8) {
    if (cuda_u8_to_f32(b.x.as<std::uint8_t>(), b.f.as<float>(), s.elems(), nullptr) != cudaSuccess)
      return false;
    src = b.f.as<float>();
  }
  // out = x.clone(); in place, the snapshot the partners are read from (torchvision's roll)
  float* copy = in_place ? b.snapshot.as<float>() : b.out.as<float>();
  if (cudaMemcpyAsync(copy, src, s.elems() * 4, cudaMemcpyDeviceToDevice) != cudaSuccess) return false;
  return cuda_paste_boxes(in_place ? copy : src, b.perm.as<std::int32_t>(), b.box.as<std::int32_t>(),
                          static_cast<float*>(b.out_data(in_place)), s.n, s.c, s.h, s.w,
                          nullptr) == cudaSuccess;
}

bool upload_cuts(CutmixBatch& b, const HostCuts& d) {
  return cudaMemcpyAsync(b.perm.p, d.perm.data(), d.perm.size() * 4, cudaMemcpyHostToDevice) == cudaSuccess &&
         cudaMemcpyAsync(b.box.p, d.box.data(), d.box.size() * 4, cudaMemcpyHostToDevice) == cudaSuccess;
}

std::vector<std::uint8_t> download(const void* p, std::size_t bytes) {
  std::vector<std::uint8_t> v(bytes);
  cudaMemcpy(v.data(), p, bytes, cudaMemcpyDeviceToHost);
  return v;
}

// The CPU backend's output for the same handle settings and step, from the same input.
std::vector<std::uint8_t> cpu_reference(const Shape& s, const Kind& k, bool in_place) {
  std::vector<std::uint8_t> x = make_input(s, k), out(in_place ? 0 : s.elems() * bytes_of(k.out));
  mixup_handle_t cpu = make_cutmix_handle(MIXUP_BACKEND_CPU, s, in_place, 2);
  if (cpu == nullptr) return {};
  std::vector<std::int32_t> labels(s.n, 0), ya(s.n), yb(s.n);
  std::vector<float> lam(s.n);
  mixup_batch_t cx{x.data(), k.in, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_batch_t co{in_place ? x.data() : out.data(), k.out, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_targets_t ct{
      MIXUP_TARGETS_STACKED, labels.data(), nullptr, ya.data(), yb.data(), lam.data(), nullptr, nullptr};
  const bool ok = mixup_apply(cpu, &cx, &co, &ct, nullptr) == MIXUP_STATUS_SUCCESS;
  mixup_destroy(cpu);
  return !ok ? std::vector<std::uint8_t>{} : in_place ? x : out;
}

void BM_cuda_cutmix_fused(benchmark::State& state, const Shape& s, const Kind& k, bool in_place) {
  mixup_handle_t h = make_cutmix_handle(MIXUP_BACKEND_CUDA, s, in_place, 0);
  if (h == nullptr) return state.SkipWithError(mixup_last_error());
  CutmixBatch b(s, k, in_place);
  mixup_batch_t bx{b.x.p, k.in, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{b.out_data(in_place), k.out, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{MIXUP_TARGETS_STACKED,   b.labels.as<std::int32_t>(), nullptr, b.ya.as<std::int32_t>(),
                    b.yb.as<std::int32_t>(), b.lam.as<float>(),           nullptr, nullptr};
  // check before timing: against the CPU backend on the same step, bit for bit
  mixup_targets_t checked = t;
  checked.perm = b.perm.as<std::int32_t>();
  const mixup_draws_t draws{nullptr, b.box.as<std::int32_t>()};
  if (mixup_apply_with_draws(h, &bx, &bo, &checked, &draws, nullptr) != MIXUP_STATUS_SUCCESS ||
      mixup_poll_checks(h, nullptr) != MIXUP_STATUS_SUCCESS)
    return state.SkipWithError(mixup_last_error());
  const std::size_t out_bytes = s.elems() * bytes_of(k.out);
  const std::vector<std::uint8_t> got = download(b.out_data(in_place), out_bytes);
  const bool same_as_cpu = got == cpu_reference(s, k, in_place);
  // the baseline on the fused call's draws (left in b.perm / b.box) gives the same output
  HostCuts d(s.n);
  cudaMemcpy(d.perm.data(), b.perm.p, s.n * 4, cudaMemcpyDeviceToHost);
  cudaMemcpy(d.box.data(), b.box.p, s.n * 16, cudaMemcpyDeviceToHost);
  b.upload(make_input(s, k));
  if (!unfused_passes(b, s, k, in_place)) return state.SkipWithError("the baseline's kernels failed");
  const std::vector<std::uint8_t> base = download(b.out_data(in_place), out_bytes);
  const bool same_as_baseline = k.in == MIXUP_DTYPE_U8 ? max_difference(got, base, k, s.elems()) <= 1e-5
                                                       : got == base;
  const double bw = device_copy_bandwidth(std::max(out_bytes, s.elems() * bytes_of(k.in)));
  const double per_call = time_calls(state, [&] {
    mixup_set_step(h, kCutmixStep);  // the check call's draws again (cutmix_common.hpp)
    return mixup_apply(h, &bx, &bo, &t, nullptr) == MIXUP_STATUS_SUCCESS;
  });
  report_cutmix(state, s, k, in_place, static_cast<double>(box_elems(d, s.c)), bw, per_call);
  record_self_check(state, same_as_cpu && same_as_baseline,
                    !same_as_cpu ? "CUDA CutMix differs from the CPU backend on the same step"
                                 : "fused CutMix and the baseline on the same draws disagree");
  mixup_destroy(h);
}

void BM_cuda_cutmix_unfused(benchmark::State& state, const Shape& s, const Kind& k, bool in_place) {
  CutmixBatch b(s, k, in_place);
  std::mt19937_64 rng(3);
  HostCuts d(s.n);
  double boxed = 0;
  const double bw = device_copy_bandwidth(s.elems() * 4);
  const double per_call = time_calls(state, [&] {
    draw_cuts_on_host(rng, kCutmixAlpha, s.h, s.w, in_place, d);
    boxed += static_cast<double>(box_elems(d, s.c));
    return upload_cuts(b, d) && unfused_passes(b, s, k, in_place);
  });
  report_cutmix(state, s, k, in_place, state.iterations() ? boxed / state.iterations() : 0, bw, per_call);
}

}  // namespace

void register_cutmix_cuda_benchmarks() {  // called by register_cuda_benchmarks, with a device
  for (const Shape& s : kCutmixShapes) {
    const auto add = [&](const char* variant, auto fn, const Kind& k, bool in_place) {
      const std::string name = std::string("BM_cuda_cutmix_") + variant + (in_place ? "_in_place/" : "/") +
                               s.name + "/" + k.name;
      benchmark::RegisterBenchmark(name.c_str(), fn, s, k, in_place)->UseManualTime();
    };
    for (const Kind& k : kCutmixKinds) {
      add("fused", BM_cuda_cutmix_fused, k, false);
      add("unfused", BM_cuda_cutmix_unfused, k, false);
    }
    add("fused", BM_cuda_cutmix_fused, kCutmixInPlaceKind, true);
    add("unfused", BM_cuda_cutmix_unfused, kCutmixInPlaceKind, true);
  }
  for (const Shape& s : kCutmixOddShapes) {
    const std::string name = std::string("BM_cuda_cutmix_fused/") + s.name + "/f32";
    benchmark::RegisterBenchmark(name.c_str(), BM_cuda_cutmix_fused, s, kCutmixKinds[0], false)
        ->UseManualTime();
  }
}
