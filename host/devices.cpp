// How many CUDA devices there are, said plainly. The CUDA runtime reports a machine with no
// NVIDIA driver at all as "driver version is insufficient for CUDA runtime version", which
// sends people after a driver update; here that machine simply has no device.
#include <dlfcn.h>

#include "backend_setup.hpp"

namespace mixup::detail {
namespace {

bool driver_installed() {
  void* lib = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (lib) ::dlclose(lib);
  return lib != nullptr;
}

}  // namespace

int cuda_device_count() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaSuccess) return count;
  cudaGetLastError();
  if (e == cudaErrorNoDevice || (e == cudaErrorInsufficientDriver && !driver_installed())) return 0;
  MIXUP_CUDA_CHECK(e);  // a driver that is there but unusable: its own words
  return 0;
}

int checked_device(int ordinal) {
  const int count = cuda_device_count();
  if (count == 0)
    throw Error(MIXUP_STATUS_NO_DEVICE,
                kCudaBuilt
                    ? (driver_installed() ? "the CUDA backend needs a GPU: the NVIDIA driver finds none"
                                          : "the CUDA backend needs a GPU: no NVIDIA driver was found "
                                            "(libcuda.so.1); the CPU backend needs neither")
                    : "the CUDA backend is not in this build (built without CUDA: -DMIXUP_CUDA=OFF); "
                      "use the CPU backend");
  MIXUP_EXPECTS(ordinal >= 0 && ordinal < count, "config.device = ", ordinal, " but this machine has ", count,
                " CUDA device(s)");
  return ordinal;
}

void resolve_backend(mixup_backend_t& backend, int device) {
  if (raw(backend) != MIXUP_BACKEND_AUTO) return;  // read as an int: any value may arrive here
  int count = 0;
  try {
    count = cuda_device_count();
  } catch (const Error&) {  // an unusable driver: AUTO means the CPU then
  }
  backend = device >= 0 && device < count ? MIXUP_BACKEND_CUDA : MIXUP_BACKEND_CPU;
}

}  // namespace mixup::detail
