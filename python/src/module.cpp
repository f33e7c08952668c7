// mixup_cuda._C: the extension. It links libmixup_cuda.so.0 and nothing of any framework:
// arrays arrive through DLPack, so one build serves every PyTorch (and NumPy, CuPy, JAX).
#include <dlfcn.h>
#include <pybind11/pybind11.h>

#include <string>

#include "errors.hpp"
#include "mixup/mixup.h"

namespace py = pybind11;

namespace mixup_py {
void bind_mixup(py::module_& m);
void bind_loss(py::module_& m);
}  // namespace mixup_py

namespace {

// The file the C ABI was loaded from: tests call it through ctypes to compare bit for bit.
std::string library_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&mixup_version), &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

int device_count() {
  int n = 0;
  return mixup_cuda_device_count(&n) == MIXUP_STATUS_SUCCESS ? n : 0;
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "libmixup_cuda's C ABI over DLPack (use the mixup_cuda package, not this module)";
  mixup_py::register_errors(m);
  mixup_py::bind_mixup(m);
  mixup_py::bind_loss(m);
  m.def("version", [] { return std::string(mixup_version()); });
  m.def("library_path", &library_path);
  m.def("cuda_device_count", &device_count, "CUDA devices the library can use (0 without a driver)");
  m.def("last_error", [] { return std::string(mixup_last_error()); });
  m.def(
      "cpu_isa",
      [] {
        const char* name = nullptr;
        mixup_py::check(mixup_cpu_isa(&name));
        return std::string(name);
      },
      "The CPU backend's instruction-set level (results are the same bits at every level)");
}
