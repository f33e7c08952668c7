// Shared by the CPU and CUDA CutMix benchmarks: the cases, the fused handle (CutMix only,
// one box per sample), the step every timed call is pinned to, and the floor.
//
// The floor counts the bytes a CutMix call must move, which depend on the boxes drawn. Every
// timed fused call runs at the same step (mixup_set_step before each), so each draws the
// boxes of the check call, whose draws (mixup_apply_with_draws) give the box bytes exactly.
// The baseline draws fresh boxes on the host each call and adds up their bytes itself.
//   out of place: read N + box bytes, write N (issue 12's floor; a kernel that skips the
//                 boxed pixels of x[i] could read only N, so this floor is the lenient one)
//   in place:     read and write the box bytes only (involution pairing: each pair swaps)
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

#include "common.hpp"
#include "unfused_cutmix.hpp"

namespace mixup::bench {

const Shape kCutmixShapes[] = {{"256x3x32x32", 256, 3, 32, 32}, {"64x3x224x224", 64, 3, 224, 224}};
// GPU only: rows that are not a whole number of 16-byte vectors (the scalar path, by runs).
const Shape kCutmixOddShapes[] = {{"64x3x227x227", 64, 3, 227, 227}};
// In place needs the same dtype in and out.
const Kind kCutmixKinds[] = {{"f32", MIXUP_DTYPE_F32, MIXUP_DTYPE_F32},
                             {"u8_to_f32", MIXUP_DTYPE_U8, MIXUP_DTYPE_F32}};
const Kind kCutmixInPlaceKind{"f32", MIXUP_DTYPE_F32, MIXUP_DTYPE_F32};

constexpr std::uint64_t kCutmixStep = 7;  // the step of the check call and of every timed fused call
constexpr double kCutmixAlpha = 1.0;      // mixup_mixing_default()'s cutmix_alpha (torchvision's)

// A handle that does CutMix only (switch_prob = 1), a box per sample, at kCutmixStep.
inline mixup_handle_t make_cutmix_handle(mixup_backend_t backend, const Shape& s, bool in_place,
                                         int cpu_threads) {
  mixup_config_t c = mixup_config_default();
  c.backend = backend;
  c.max_batch = static_cast<std::int32_t>(s.n);
  c.cpu_threads = cpu_threads;
  c.num_classes = 10;
  c.lambda_mode = MIXUP_LAMBDA_PER_SAMPLE;
  if (in_place) c.pairing = MIXUP_PAIRING_INVOLUTION;
  if (backend == MIXUP_BACKEND_CUDA)
    c.checks = MIXUP_CHECKS_DEFERRED;  // no per-call sync: the trainer's setting
  mixup_handle_t h = nullptr;
  if (mixup_create(&c, &h) != MIXUP_STATUS_SUCCESS) return nullptr;
  mixup_mixing_t m = mixup_mixing_default();
  m.switch_prob = 1.0f;
  m.cutmix_alpha = static_cast<float>(kCutmixAlpha);
  if (mixup_set_mixing(h, &m) != MIXUP_STATUS_SUCCESS ||
      mixup_set_step(h, kCutmixStep) != MIXUP_STATUS_SUCCESS) {
    mixup_destroy(h);
    return nullptr;
  }
  return h;
}

// The bytes one call must move, given the elements pasted from partners.
inline double cutmix_floor_bytes(const Shape& s, const Kind& k, bool in_place, double boxed) {
  if (in_place) return 2.0 * boxed * bytes_of(k.in);
  return (double(s.elems()) + boxed) * bytes_of(k.in) + double(s.elems()) * bytes_of(k.out);
}

// floor_ratio = time per call / floor time (1.0 = at the floor); box_share = pasted share of
// the batch, so a reader sees how large the boxes of this run were.
inline void report_cutmix(benchmark::State& state, const Shape& s, const Kind& k, bool in_place,
                          double boxed_per_call, double floor_bw, double seconds_per_call) {
  const double bytes = cutmix_floor_bytes(s, k, in_place, boxed_per_call);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes * state.iterations()));
  state.counters["floor_ratio"] = seconds_per_call / (bytes / floor_bw);
  state.counters["box_share"] = boxed_per_call / double(s.elems());
  state.counters["copy_GBps"] = floor_bw / 1e9;
}

}  // namespace mixup::bench
