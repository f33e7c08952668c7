// Blend family: out[i] = λ_i·x[i] + (1 − λ_i)·x[perm[i]] in one pass over memory — read the
// row and its partner once, write the mixed row once — plus, in the same kernel, the [B, C]
// targets (blended one-hot with label smoothing, or a blend of the caller's soft targets).
// uint8 images are normalised per channel in the same pass: nothing is ever written at uint8
// or in an intermediate float buffer. `stack_x` writes x[perm] alone (inputs that cannot be
// blended). λ and perm come from the pairing launch; a failed check there means no write here.
//
// Arithmetic is float: λ·a + (1−λ)·b as two products and a sum (contraction is off on both
// sides), so the CPU and the GPU write the same bits.
#pragma once

#include "dtype.cuh"
#include "pairing.cuh"

namespace mixup::core {

enum class Layout : int { kNCHW = 0, kNHWC = 1 };
enum class TargetMode : int { kNone = 0, kOneHot = 1, kSoft = 2 };

constexpr int kMaxNormChannels = 16;

struct Normalize {
  bool on;          // uint8 input only: out = v·scale[c] + shift[c]
  Layout layout;
  std::int64_t channels;
  std::int64_t plane;  // H·W
  float scale[kMaxNormChannels];  // 1 / (255·std_c)
  float shift[kMaxNormChannels];  // −mean_c / std_c
};

struct BlendParams {
  const void* x;
  void* out;
  DType in_type;
  DType out_type;
  std::int64_t batch;
  std::int64_t sample_elems;  // C·H·W
  Normalize norm;
  bool stack_x;
  bool in_place;  // involution only: out == x, pairs handled together
  // CPU: each sample's partner and λ, resolved by the pairing step
  const std::int32_t* perm;
  const float* lam;
  const float* one_minus;
  // GPU: partners and λ resolved per row from the pairing launch's scratch; the verdict of
  // the whole call; the stacked targets, written here once the verdict is known
  PairsView pairs;
  const DeviceCheck* check;
  std::int32_t* perm_out;
  std::int32_t* y_a;
  std::int32_t* y_b;
  float* lam_out;
  bool after_pairing;  // launched with programmatic stream serialization after the pairing
  // targets
  TargetMode target_mode;
  const std::int32_t* labels;
  const float* soft_in;
  float* targets_out;
  std::int32_t num_classes;
  float smoothing;
};

MIXUP_HD float mix(float a, float b, float lam, float one_minus, bool stack_x) {
  return stack_x ? b : lam * a + one_minus * b;
}

MIXUP_HD std::int64_t channel_of(const Normalize& n, std::int64_t e) {
  return n.layout == Layout::kNCHW ? e / n.plane : e % n.channels;
}

// Elements [begin, end) of one row; a, b, o already point at the row starts. Normalised
// rows go by runs of one channel (a plane in NCHW, one element in NHWC), so the channel is
// found once per run, not divided out per element.
template <class In, class Out>
MIXUP_HD void blend_range(const typename In::T* a, const typename In::T* b, typename Out::T* o,
                          std::int64_t begin, std::int64_t end, float lam, float one_minus,
                          bool stack_x, const Normalize& n) {
  if (n.on && n.layout == Layout::kNCHW) {
    for (std::int64_t e0 = begin; e0 < end;) {
      const std::int64_t c = e0 / n.plane;
      const std::int64_t e1 = (c + 1) * n.plane < end ? (c + 1) * n.plane : end;
      const float scale = n.scale[c], shift = n.shift[c];
      for (std::int64_t e = e0; e < e1; ++e)
        o[e] = Out::store(mix(In::load(a[e]), In::load(b[e]), lam, one_minus, stack_x) * scale + shift);
      e0 = e1;
    }
  } else if (n.on) {
    std::int64_t c = begin % n.channels;
    for (std::int64_t e = begin; e < end; ++e) {
      o[e] = Out::store(mix(In::load(a[e]), In::load(b[e]), lam, one_minus, stack_x) * n.scale[c] + n.shift[c]);
      c = c + 1 == n.channels ? 0 : c + 1;
    }
  } else {
    for (std::int64_t e = begin; e < end; ++e)
      o[e] = Out::store(mix(In::load(a[e]), In::load(b[e]), lam, one_minus, stack_x));
  }
}

// Target row i (partner j), classes [begin, end): label-smoothed one-hot of y_a and y_b, or
// the caller's soft rows, blended with the row's λ.
MIXUP_HD void targets_range(const BlendParams& p, std::int64_t i, std::int32_t j, float lam, float om, std::int32_t begin,
                            std::int32_t end) {
  const std::int64_t C = p.num_classes;
  float* t = p.targets_out + i * C;
  if (p.target_mode == TargetMode::kOneHot) {
    const float off = p.smoothing / static_cast<float>(C);
    const float on = (1.0f - p.smoothing) + off;
    const std::int32_t ya = p.labels[i], yb = p.labels[j];
    for (std::int32_t c = begin; c < end; ++c) t[c] = lam * (c == ya ? on : off) + om * (c == yb ? on : off);
  } else if (p.target_mode == TargetMode::kSoft) {
    const float* sa = p.soft_in + i * C;
    const float* sb = p.soft_in + static_cast<std::int64_t>(j) * C;
    for (std::int32_t c = begin; c < end; ++c) t[c] = lam * sa[c] + om * sb[c];
  }
}


// Elements a GPU block covers in one row: 256 threads × 4 vectors of 16 bytes of input.
constexpr int kBlendThreads = 256;
constexpr int kBlendVecsPerThread = 4;
MIXUP_HD std::int64_t blend_chunk_elems(DType in) {
  return static_cast<std::int64_t>(kBlendThreads) * kBlendVecsPerThread * (16 / static_cast<std::int64_t>(dtype_size(in)));
}

cudaError_t launch_blend(const BlendParams& p, cudaStream_t stream);
// Whether the blend kernels this build runs on the current device wait for the pairing grid
// (their code for sm_90 or later): only then may they be launched programmatically.
bool blend_waits_for_pairing();

}  // namespace mixup::core
