// The element types the kernels read and write, each with a load into float and a store from
// it (integer-only conversions, so the CPU and the GPU give the same bits). Kernels are
// specialised on these at compile time; DType is the runtime name the launchers dispatch on.
#pragma once

#include "common.cuh"

namespace mixup::core {

enum class DType : int { kF32 = 0, kF16 = 1, kBF16 = 2, kU8 = 3 };

struct F32 {
  using T = float;
  MIXUP_HD static float load(T v) { return v; }
  MIXUP_HD static T store(float v) { return v; }
};
struct F16 {
  using T = std::uint16_t;
  MIXUP_HD static float load(T v) { return f16_to_f32(v); }
  MIXUP_HD static T store(float v) { return f32_to_f16(v); }
};
struct BF16 {
  using T = std::uint16_t;
  MIXUP_HD static float load(T v) { return bf16_to_f32(v); }
  MIXUP_HD static T store(float v) { return f32_to_bf16(v); }
};
struct U8 {
  using T = std::uint8_t;
  MIXUP_HD static float load(T v) { return static_cast<float>(v); }
};

MIXUP_HD std::size_t dtype_size(DType t) { return t == DType::kF32 ? 4 : (t == DType::kU8 ? 1 : 2); }

}  // namespace mixup::core
