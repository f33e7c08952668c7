#include "device_tensor.hpp"

#include "cuda_check.hpp"

#include <limits>
#include <stdexcept>
#include <utility>

namespace mixup::nn {
namespace {


std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

std::size_t elem_size(ElemType t) {
  switch (t) {
    case ElemType::f32: return 4;
    case ElemType::i32: return 4;
    case ElemType::u8: return 1;
  }
  throw std::invalid_argument("DeviceTensor: unknown element type");
}

const char* elem_name(ElemType t) {
  switch (t) {
    case ElemType::f32: return "f32";
    case ElemType::i32: return "i32";
    case ElemType::u8: return "u8";
  }
  return "?";
}

std::int64_t DeviceTensor::count(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("DeviceTensor: negative extent in shape " + shape_text(shape));
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / 8 / d)
      throw std::invalid_argument("DeviceTensor: shape " + shape_text(shape) + " overflows");
    n *= d;
  }
  return n;
}

DeviceTensor::DeviceTensor(std::vector<std::int64_t> shape, ElemType type) : type_(type) {
  numel_ = count(shape);
  shape_ = std::move(shape);
  if (numel_ == 0) return;
  cuda_ok(cudaMalloc(&data_, bytes()),
          "DeviceTensor: cudaMalloc of " + shape_text(shape_) + " " + elem_name(type_));
  const cudaError_t e = cudaMemset(data_, 0, bytes());
  if (e != cudaSuccess) {
    cudaFree(data_);
    data_ = nullptr;
    cuda_ok(e, "DeviceTensor: cudaMemset");
  }
}

DeviceTensor::~DeviceTensor() { cudaFree(data_); }

DeviceTensor::DeviceTensor(DeviceTensor&& o) noexcept
    : shape_(std::move(o.shape_)), numel_(std::exchange(o.numel_, 0)), type_(o.type_),
      data_(std::exchange(o.data_, nullptr)) {}

DeviceTensor& DeviceTensor::operator=(DeviceTensor&& o) noexcept {
  if (this != &o) {
    cudaFree(data_);
    shape_ = std::move(o.shape_);
    numel_ = std::exchange(o.numel_, 0);
    type_ = o.type_;
    data_ = std::exchange(o.data_, nullptr);
  }
  return *this;
}

void DeviceTensor::check_type(ElemType want) const {
  if (want != type_)
    throw std::invalid_argument(std::string("DeviceTensor: a ") + elem_name(type_) + " tensor read as " +
                                elem_name(want));
}

void DeviceTensor::upload(const void* host) {
  if (numel_ > 0) cuda_ok(cudaMemcpy(data_, host, bytes(), cudaMemcpyHostToDevice), "DeviceTensor: upload");
}

void DeviceTensor::download(void* host) const {
  if (numel_ > 0) cuda_ok(cudaMemcpy(host, data_, bytes(), cudaMemcpyDeviceToHost), "DeviceTensor: download");
}

}  // namespace mixup::nn
