// One array taken from Python through DLPack (the legacy 0.6 capsule of Debian's
// libdlpack-dev): from any object with __dlpack__ (PyTorch, NumPy >= 1.22, CuPy, JAX) or a
// "dltensor" capsule. The capsule is renamed "used_dltensor" (the array API's rule: it is
// consumed once) and the producer's deleter runs when the Array dies, at the end of the call
// that borrowed it. Nothing is copied: `data` is the producer's memory.
#pragma once

#include <dlpack/dlpack.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mixup/mixup.h"

namespace mixup_py {

struct Device {
  mixup_backend_t backend = MIXUP_BACKEND_CPU;
  int index = 0;
  std::string str() const;
};

class Array {
 public:
  Array() = default;
  Array(DLManagedTensor* t, std::string name);
  Array(Array&& o) noexcept;
  Array& operator=(Array&&) = delete;
  Array(const Array&) = delete;
  ~Array();

  const std::string& name() const { return name_; }
  void* data() const;
  int ndim() const { return t_->dl_tensor.ndim; }
  std::int64_t dim(int i) const { return t_->dl_tensor.shape[i]; }
  std::int64_t numel() const;
  const DLDataType& dtype() const { return t_->dl_tensor.dtype; }
  std::string dtype_name() const;
  std::string shape_str() const;
  Device device() const;
  // C-contiguous, or (rank 4) channels-last: then `nhwc` is set.
  bool contiguous() const;
  bool channels_last() const;

 private:
  DLManagedTensor* t_ = nullptr;
  std::string name_;
};

// `stream` (CUDA arrays only) is passed to __dlpack__: the producer orders its pending work
// before that stream. An object without __dlpack__ that is not a capsule: TypeError.
Array borrow(pybind11::handle obj, const char* name, std::optional<std::intptr_t> stream);
std::optional<Array> borrow_opt(pybind11::handle obj, const char* name, std::optional<std::intptr_t> stream);

// Checks that raise Python exceptions naming the argument and the fix.
void expect_device(const Array& a, const Device& want);
void expect_contiguous(const Array& a);
void expect_int32_vector(const Array& a, std::int64_t n);
void expect_float32(const Array& a, std::int64_t numel);
// f32, f16, bf16 or (allow_u8) u8 -> the library's dtype.
mixup_dtype_t float_dtype(const Array& a, bool allow_u8);

}  // namespace mixup_py
