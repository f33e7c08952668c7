// bench_mixup's CutMix cases, CPU half: the fused call (CutMix only, a box per sample) against
// the unfused baseline (unfused_cutmix.hpp: host boxes, a batch copy, a paste per sample) and
// against the floor (cutmix_common.hpp), out of place and in place (involution pairing).
// Names: BM_cpu_cutmix_<fused|unfused>[_in_place]/<shape>/<dtype>. Each fused case first
// checks its output against the baseline run on the fused call's own draws.
//
//   build/ci/bench/bench_mixup --benchmark_filter=cpu_cutmix --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "cutmix_common.hpp"

namespace {

using namespace mixup::bench;

template <class F>
void rows_pass(std::int64_t batch, F f) {
  pool().parallel_for(batch, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t r = b; r < e; ++r) f(r);
  });
}

// The peers' passes: [u8 → f32], copy the batch (out = x.clone(); in place, the snapshot the
// partners are read from, as torchvision's roll), then paste each sample's box row by row.
struct UnfusedCutmix {
  const Shape& s;
  const Kind& k;
  bool in_place;
  std::vector<float> f, snapshot;
  UnfusedCutmix(const Shape& s_, const Kind& k_, bool in_place_) : s(s_), k(k_), in_place(in_place_) {
    f.resize(k.in == MIXUP_DTYPE_U8 ? s.elems() : 0);
    snapshot.resize(in_place ? s.elems() : 0);
  }
  void paste(const float* src, const HostCuts& d, float* dst) const {
    const std::int64_t per = s.per(), plane = s.h * s.w;
    rows_pass(s.n, [&](std::int64_t i) {
      const std::int32_t* b = d.box.data() + 4 * i;
      if (b[3] <= b[1]) return;
      for (std::int64_t ch = 0; ch < s.c; ++ch)
        for (std::int64_t y = b[0]; y < b[2]; ++y) {
          const std::int64_t at = ch * plane + y * s.w + b[1];
          std::memcpy(dst + i * per + at, src + d.perm[i] * per + at, (b[3] - b[1]) * sizeof(float));
        }
    });
  }
  // x is f32 or u8 (out of place); in place, x == out and both are f32.
  void run(const std::uint8_t* x, const HostCuts& d, std::uint8_t* out) {
    const std::int64_t per = s.per();
    const float* src = reinterpret_cast<const float*>(x);
    float* dst = reinterpret_cast<float*>(out);
    if (k.in == MIXUP_DTYPE_U8) {
      rows_pass(s.n, [&](std::int64_t r) {
        for (std::int64_t e = r * per; e < (r + 1) * per; ++e) f[e] = x[e] * (1.0f / 255.0f);
      });
      src = f.data();
    }
    float* copy = in_place ? snapshot.data() : dst;
    rows_pass(s.n, [&](std::int64_t r) { std::memcpy(copy + r * per, src + r * per, per * sizeof(float)); });
    paste(in_place ? snapshot.data() : src, d, dst);
  }
};

void BM_cpu_cutmix_fused(benchmark::State& state, const Shape& s, const Kind& k, bool in_place) {
  mixup_handle_t h = make_cutmix_handle(MIXUP_BACKEND_CPU, s, in_place, kCpuThreads);
  if (h == nullptr) return state.SkipWithError(mixup_last_error());
  const std::vector<std::uint8_t> x0 = make_input(s, k);
  std::vector<std::uint8_t> x = x0, out(in_place ? 0 : s.elems() * bytes_of(k.out));
  std::uint8_t* out_data = in_place ? x.data() : out.data();
  std::vector<std::int32_t> labels(s.n, 1), ya(s.n), yb(s.n), kind(s.n);
  std::vector<float> lam(s.n);
  mixup_batch_t bx{x.data(), k.in, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out_data, k.out, s.n, s.c, s.h, s.w, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{
      MIXUP_TARGETS_STACKED, labels.data(), nullptr, ya.data(), yb.data(), lam.data(), nullptr, nullptr};
  // check before timing: the baseline on the fused call's own draws gives the same output
  HostCuts d(s.n);
  mixup_targets_t checked = t;
  checked.perm = d.perm.data();
  const mixup_draws_t draws{kind.data(), d.box.data()};
  if (mixup_apply_with_draws(h, &bx, &bo, &checked, &draws, nullptr) != MIXUP_STATUS_SUCCESS)
    return state.SkipWithError(mixup_last_error());
  for (const std::int32_t v : kind)
    if (v != MIXUP_KIND_CUTMIX) return state.SkipWithError("a sample was not CutMix with switch_prob = 1");
  std::vector<std::uint8_t> ref = in_place ? x0 : std::vector<std::uint8_t>(out.size());
  UnfusedCutmix(s, k, in_place).run(in_place ? ref.data() : x0.data(), d, ref.data());
  const std::vector<std::uint8_t>& got = in_place ? x : out;
  if (k.in == MIXUP_DTYPE_U8 ? max_difference(got, ref, k, s.elems()) > 1e-5 : got != ref)
    return state.SkipWithError("fused CutMix and the baseline on the same draws disagree");
  const double boxed = static_cast<double>(box_elems(d, s.c));
  const double bw = cpu_copy_bandwidth(std::max(x.size(), out.size()));
  double total = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    mixup_set_step(h, kCutmixStep);  // the check call's draws again (cutmix_common.hpp)
    if (mixup_apply(h, &bx, &bo, &t, nullptr) != MIXUP_STATUS_SUCCESS)
      return state.SkipWithError(mixup_last_error());
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(sec);
    total += sec;
  }
  report_cutmix(state, s, k, in_place, boxed, bw, total / state.iterations());
  mixup_destroy(h);
}

void BM_cpu_cutmix_unfused(benchmark::State& state, const Shape& s, const Kind& k, bool in_place) {
  std::vector<std::uint8_t> x = make_input(s, k), out(in_place ? 0 : s.elems() * bytes_of(k.out));
  std::uint8_t* out_data = in_place ? x.data() : out.data();
  UnfusedCutmix u(s, k, in_place);
  std::mt19937_64 rng(2);
  HostCuts d(s.n);
  const double bw = cpu_copy_bandwidth(std::max(x.size(), out.size()));
  double total = 0, boxed = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    draw_cuts_on_host(rng, kCutmixAlpha, s.h, s.w, in_place, d);
    u.run(x.data(), d, out_data);
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(sec);
    total += sec;
    boxed += static_cast<double>(box_elems(d, s.c));
  }
  benchmark::DoNotOptimize(out_data);
  report_cutmix(state, s, k, in_place, boxed / state.iterations(), bw, total / state.iterations());
}

}  // namespace

void register_cutmix_cpu_benchmarks() {
  for (const Shape& s : kCutmixShapes) {
    const auto add = [&](const char* variant, auto fn, const Kind& k, bool in_place) {
      const std::string name = std::string("BM_cpu_cutmix_") + variant + (in_place ? "_in_place/" : "/") +
                               s.name + "/" + k.name;
      benchmark::RegisterBenchmark(name.c_str(), fn, s, k, in_place)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    };
    for (const Kind& k : kCutmixKinds) {
      add("fused", BM_cpu_cutmix_fused, k, false);
      add("unfused", BM_cpu_cutmix_unfused, k, false);
    }
    add("fused", BM_cpu_cutmix_fused, kCutmixInPlaceKind, true);
    add("unfused", BM_cpu_cutmix_unfused, kCutmixInPlaceKind, true);
  }
}
