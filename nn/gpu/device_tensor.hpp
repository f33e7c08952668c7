// An owning tensor in device memory: shape, dtype, one cudaMalloc, freed on destruction.
// Move-only. Typed access is checked (as<float>() on an int32 tensor throws), and every CUDA
// failure — a machine without a GPU included — throws std::runtime_error naming the call
// and CUDA's message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

namespace mixup::nn {

enum class DType { f32, i32, u8 };

std::size_t dtype_size(DType t);
const char* dtype_name(DType t);
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::f32; }
template <>
constexpr DType dtype_of<std::int32_t>() { return DType::i32; }
template <>
constexpr DType dtype_of<std::uint8_t>() { return DType::u8; }

class DeviceTensor {
 public:
  DeviceTensor() = default;
  // Zero-filled. Every extent must be ≥ 0 (an empty tensor allocates nothing).
  DeviceTensor(std::vector<std::int64_t> shape, DType dtype);
  ~DeviceTensor();
  DeviceTensor(DeviceTensor&& o) noexcept;
  DeviceTensor& operator=(DeviceTensor&& o) noexcept;
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;

  // Elements and bytes of a shape, checked for negative extents and overflow.
  static std::int64_t count(const std::vector<std::int64_t>& shape);

  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::int64_t numel() const { return numel_; }
  std::size_t bytes() const { return static_cast<std::size_t>(numel_) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T>
  T* as() {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* as() const {
    check_dtype(dtype_of<T>());
    return static_cast<const T*>(data_);
  }

  // Whole-tensor copies; `host` must hold bytes() bytes. Synchronous.
  void upload(const void* host);
  void download(void* host) const;

 private:
  void check_dtype(DType want) const;
  std::vector<std::int64_t> shape_;
  std::int64_t numel_ = 0;
  DType dtype_ = DType::f32;
  void* data_ = nullptr;
};

}  // namespace mixup::nn
