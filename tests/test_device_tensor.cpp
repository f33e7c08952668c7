// mixup::nn::DeviceTensor without a device: shape arithmetic, checked typed access, empty
// tensors, and the error a machine without a GPU gets (naming the call and CUDA's message).
// Where a GPU is present the allocating case checks a round trip instead.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpu/device_tensor.hpp"

namespace {

using mixup::nn::DeviceTensor;
using mixup::nn::ElemType;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(DeviceTensor, CountsElementsAndRejectsBadShapes) {
  EXPECT_EQ(DeviceTensor::count({2, 3, 4}), 24);
  EXPECT_EQ(DeviceTensor::count({}), 1);
  EXPECT_EQ(DeviceTensor::count({0, 5}), 0);
  EXPECT_NE(error_of([] {
              DeviceTensor::count({3, -1});
            }).find("negative extent in shape [3, -1]"),
            std::string::npos);
  const std::int64_t big = std::int64_t{1} << 40;
  EXPECT_NE(error_of([&] { DeviceTensor::count({big, big}); }).find("overflows"), std::string::npos);
  EXPECT_EQ(mixup::nn::elem_size(ElemType::f32), 4u);
  EXPECT_EQ(mixup::nn::elem_size(ElemType::i32), 4u);
  EXPECT_EQ(mixup::nn::elem_size(ElemType::u8), 1u);
}

TEST(DeviceTensor, EmptyTensorNeedsNoDeviceAndChecksItsType) {
  DeviceTensor t({0, 3}, ElemType::i32);
  EXPECT_EQ(t.numel(), 0);
  EXPECT_EQ(t.bytes(), 0u);
  EXPECT_EQ(t.shape(), (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(t.as<std::int32_t>(), nullptr);
  EXPECT_EQ(error_of([&] { t.as<float>(); }), "DeviceTensor: a i32 tensor read as f32");
  DeviceTensor moved(std::move(t));
  EXPECT_EQ(moved.shape(), (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(moved.type(), ElemType::i32);
  EXPECT_EQ(t.numel(), 0);
}

TEST(DeviceTensor, AllocationFailsClearlyWithoutADevice) {
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  if (e == cudaSuccess && devices > 0) {
    // A GPU is here: the allocation works and a round trip keeps every byte.
    DeviceTensor t({3, 5}, ElemType::f32);
    std::vector<float> zeros(15, 1.0f), in(15), out(15);
    t.download(zeros.data());
    for (float v : zeros) EXPECT_EQ(v, 0.0f) << "zero-filled on creation";
    for (int i = 0; i < 15; ++i) in[i] = 0.5f * static_cast<float>(i) - 3.0f;
    t.upload(in.data());
    t.download(out.data());
    EXPECT_EQ(in, out);
    return;
  }
  const std::string msg = error_of([] { DeviceTensor t({4, 2}, ElemType::f32); });
  EXPECT_NE(msg.find("cudaMalloc of [4, 2] f32"), std::string::npos) << msg;
  EXPECT_NE(msg.find(cudaGetErrorString(e == cudaSuccess ? cudaErrorNoDevice : e)), std::string::npos) << msg;
}

}  // namespace
