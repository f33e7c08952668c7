// The element types the kernels read and write, each with a load into float and a store from
// it (integer-only conversions, so the CPU and the GPU give the same bits). Kernels are
// specialised on these at compile time; DType is the runtime name the launchers dispatch on.
//
// One dtype, three spellings of it on purpose: mixup_dtype_t (the C ABI, include/mixup/mixup.h)
// is the definition; mixup::DType (include/mixup/mixup.hpp) is its C++ front for users; this
// DType is the kernels' own, in the kernels' kName constant style (as CheckCode), because the
// cores compile under nvcc's device pass and on their own (the kernel header self-tests),
// without the C++ front's exceptions and strings. Its values are written from the C enum, so
// host/ maps one to the other by a cast (the static_assert pins the ABI values themselves).
// The trainer's nn::ElemType is a different thing (a device buffer's element type, i32
// included) and says so in nn/gpu/device_tensor.hpp.
#pragma once

#include "common.cuh"
#include "mixup/mixup.h"

namespace mixup::core {

enum class DType : int {
  kF32 = MIXUP_DTYPE_F32,
  kF16 = MIXUP_DTYPE_F16,
  kBF16 = MIXUP_DTYPE_BF16,
  kU8 = MIXUP_DTYPE_U8
};
static_assert(static_cast<int>(DType::kF32) == 0 && static_cast<int>(DType::kF16) == 1 &&
                  static_cast<int>(DType::kBF16) == 2 && static_cast<int>(DType::kU8) == 3,
              "the C ABI's dtype values are fixed: changing them breaks every compiled user");

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
