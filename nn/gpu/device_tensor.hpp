// An owning tensor in device memory: shape, element type, one cudaMalloc, freed on destruction.
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

// The element type of a device buffer. Not mixup::DType (the public header's, the C ABI's
// mixup_dtype_t): that one names the formats the mixup kernels read and write (f32, f16, bf16,
// u8 images), this one what the trainer stores (f32 activations, i32 labels and partners, u8
// images and workspace). They share two members and differ in the rest, so they stay two
// types with two names.
enum class ElemType { f32, i32, u8 };

std::size_t elem_size(ElemType t);
const char* elem_name(ElemType t);
template <class T>
constexpr ElemType elem_type_of();
template <>
constexpr ElemType elem_type_of<float>() {
  return ElemType::f32;
}
template <>
constexpr ElemType elem_type_of<std::int32_t>() {
  return ElemType::i32;
}
template <>
constexpr ElemType elem_type_of<std::uint8_t>() {
  return ElemType::u8;
}

class DeviceTensor {
 public:
  DeviceTensor() = default;
  // Zero-filled. Every extent must be ≥ 0 (an empty tensor allocates nothing).
  DeviceTensor(std::vector<std::int64_t> shape, ElemType type);
  ~DeviceTensor();
  DeviceTensor(DeviceTensor&& o) noexcept;
  DeviceTensor& operator=(DeviceTensor&& o) noexcept;
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;

  // Elements and bytes of a shape, checked for negative extents and overflow.
  static std::int64_t count(const std::vector<std::int64_t>& shape);

  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::int64_t numel() const { return numel_; }
  std::size_t bytes() const { return static_cast<std::size_t>(numel_) * elem_size(type_); }
  ElemType type() const { return type_; }
  void* data() { return data_; }
  const void* data() const { return data_; }
  template <class T>
  T* as() {
    check_type(elem_type_of<T>());
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* as() const {
    check_type(elem_type_of<T>());
    return static_cast<const T*>(data_);
  }

  // Whole-tensor copies; `host` must hold bytes() bytes. Synchronous.
  void upload(const void* host);
  void download(void* host) const;

 private:
  void check_type(ElemType want) const;
  std::vector<std::int64_t> shape_;
  std::int64_t numel_ = 0;
  ElemType type_ = ElemType::f32;
  void* data_ = nullptr;
};

}  // namespace mixup::nn
