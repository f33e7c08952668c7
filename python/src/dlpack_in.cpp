#include "dlpack_in.hpp"

#include <sstream>
#include <utility>

namespace py = pybind11;

namespace mixup_py {

namespace {
constexpr const char* kCapsule = "dltensor";
constexpr const char* kUsedCapsule = "used_dltensor";
}  // namespace

std::string Device::str() const {
  return backend == MIXUP_BACKEND_CPU ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Array::Array(DLManagedTensor* t, std::string name) : t_(t), name_(std::move(name)) {}
Array::Array(Array&& o) noexcept : t_(std::exchange(o.t_, nullptr)), name_(std::move(o.name_)) {}
Array::~Array() {
  if (t_ != nullptr && t_->deleter != nullptr) t_->deleter(t_);
}

void* Array::data() const { return static_cast<char*>(t_->dl_tensor.data) + t_->dl_tensor.byte_offset; }

std::int64_t Array::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < ndim(); ++i) n *= dim(i);
  return n;
}

std::string Array::dtype_name() const {
  const DLDataType& t = dtype();
  std::ostringstream s;
  if (t.lanes != 1) s << "vector of " << t.lanes << " ";
  switch (t.code) {
    case kDLInt: s << "int" << int(t.bits); break;
    case kDLUInt: s << (t.bits == 1 ? "bool" : "uint" + std::to_string(t.bits)); break;
    case kDLFloat: s << "float" << int(t.bits); break;
    case kDLBfloat: s << "bfloat" << int(t.bits); break;
    default: s << "dtype code " << int(t.code) << " (" << int(t.bits) << " bits)";
  }
  return s.str();
}

std::string Array::shape_str() const {
  std::ostringstream s;
  s << "[";
  for (int i = 0; i < ndim(); ++i) s << (i ? ", " : "") << dim(i);
  s << "]";
  return s.str();
}

Device Array::device() const {
  const DLDevice& d = t_->dl_tensor.device;
  if (d.device_type == kDLCPU) return Device{MIXUP_BACKEND_CPU, 0};
  if (d.device_type == kDLCUDA || d.device_type == kDLCUDAManaged)
    return Device{MIXUP_BACKEND_CUDA, d.device_id};
  throw py::value_error(name_ + " is on DLPack device type " + std::to_string(int(d.device_type)) +
                        ": mixup_cuda runs on the CPU or a CUDA device; move it there first");
}

bool Array::contiguous() const {
  const std::int64_t* st = t_->dl_tensor.strides;
  if (st == nullptr) return true;  // NULL strides: compact row-major (DLPack's rule)
  std::int64_t want = 1;
  for (int i = ndim() - 1; i >= 0; --i) {
    if (dim(i) != 1 && st[i] != want) return false;  // size-1 dims may carry any stride
    want *= dim(i);
  }
  return true;
}

bool Array::channels_last() const {
  const std::int64_t* st = t_->dl_tensor.strides;
  if (ndim() != 4 || st == nullptr || contiguous()) return false;
  const std::int64_t c = dim(1), h = dim(2), w = dim(3);
  const auto ok = [&](int i, std::int64_t want) { return dim(i) == 1 || st[i] == want; };
  return ok(1, 1) && ok(3, c) && ok(2, w * c) && ok(0, h * w * c);
}

Array borrow(py::handle obj, const char* name, std::optional<std::intptr_t> stream) {
  py::object capsule;
  if (PyCapsule_CheckExact(obj.ptr())) {
    capsule = py::reinterpret_borrow<py::object>(obj);
  } else if (py::hasattr(obj, "__dlpack__")) {
    // The device is asked only when a stream is to be passed (a CUDA handle): on the CPU no
    // producer needs one, and __dlpack_device__ costs as much as the export itself.
    bool cuda = false;
    if (stream && py::hasattr(obj, "__dlpack_device__")) {
      const auto dev = obj.attr("__dlpack_device__")().cast<py::tuple>();
      const int type = dev[0].cast<int>();
      cuda = type == kDLCUDA || type == kDLCUDAManaged;
    }
    // The array API names the legacy default stream 1 (0 is not allowed); the C call gets NULL.
    const std::intptr_t dl_stream = stream && *stream == 0 ? 1 : stream.value_or(0);
    capsule = cuda && stream ? obj.attr("__dlpack__")(py::arg("stream") = dl_stream)
                             : obj.attr("__dlpack__")();
  } else {
    throw py::type_error(std::string(name) + " is a " +
                         std::string(py::str(obj.get_type().attr("__name__"))) +
                         ": pass an array with __dlpack__ (torch.Tensor, numpy.ndarray, cupy.ndarray, ...) "
                         "or a DLPack capsule");
  }
  if (!PyCapsule_IsValid(capsule.ptr(), kCapsule)) {
    throw py::value_error(std::string(name) +
                          ": the DLPack capsule was already consumed (named 'used_dltensor') or is not a "
                          "'dltensor' capsule; export the array again");
  }
  auto* t = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), kCapsule));
  // Consumed: the capsule's destructor no longer frees it, the Array's destructor does.
  if (PyCapsule_SetName(capsule.ptr(), kUsedCapsule) != 0) throw py::error_already_set();
  return Array(t, name);
}

std::optional<Array> borrow_opt(py::handle obj, const char* name, std::optional<std::intptr_t> stream) {
  if (obj.is_none()) return std::nullopt;
  return borrow(obj, name, stream);
}

void expect_device(const Array& a, const Device& want) {
  const Device d = a.device();
  if (d.backend != want.backend || d.index != want.index) {
    throw py::value_error(a.name() + " is on " + d.str() + " but this call runs on " + want.str() +
                          ": move it there (e.g. .to('" + want.str() + "')) or use a handle for " + d.str());
  }
}

void expect_contiguous(const Array& a) {
  if (!a.contiguous()) {
    throw py::value_error(a.name() + " of shape " + a.shape_str() +
                          " is not contiguous: pass a contiguous copy (.contiguous() in PyTorch, "
                          "numpy.ascontiguousarray in NumPy)");
  }
}

void expect_int32_vector(const Array& a, std::int64_t n) {
  const DLDataType& t = a.dtype();
  if (!(t.code == kDLInt && t.bits == 32 && t.lanes == 1)) {
    throw py::type_error(a.name() + " has dtype " + a.dtype_name() + "; it must be int32 class indices");
  }
  if (a.ndim() != 1 || a.dim(0) != n) {
    throw py::value_error(a.name() + " has shape " + a.shape_str() + "; it must be [" + std::to_string(n) +
                          "] (one entry per sample)");
  }
  expect_contiguous(a);
}

void expect_float32(const Array& a, std::int64_t numel) {
  const DLDataType& t = a.dtype();
  if (!(t.code == kDLFloat && t.bits == 32 && t.lanes == 1)) {
    throw py::type_error(a.name() + " has dtype " + a.dtype_name() + "; it must be float32");
  }
  if (a.numel() != numel) {
    throw py::value_error(a.name() + " has shape " + a.shape_str() + " (" + std::to_string(a.numel()) +
                          " elements); it must hold " + std::to_string(numel));
  }
  expect_contiguous(a);
}

mixup_dtype_t float_dtype(const Array& a, bool allow_u8) {
  const DLDataType& t = a.dtype();
  if (t.lanes == 1) {
    if (t.code == kDLFloat && t.bits == 32) return MIXUP_DTYPE_F32;
    if (t.code == kDLFloat && t.bits == 16) return MIXUP_DTYPE_F16;
    if (t.code == kDLBfloat && t.bits == 16) return MIXUP_DTYPE_BF16;
    if (allow_u8 && t.code == kDLUInt && t.bits == 8) return MIXUP_DTYPE_U8;
  }
  throw py::type_error(a.name() + " has dtype " + a.dtype_name() +
                       "; mixup_cuda takes float32, float16, bfloat16" + (allow_u8 ? " or uint8" : "") +
                       ": convert it (e.g. .float())");
}

}  // namespace mixup_py
