#include "error.hpp"

#include <cstring>

namespace mixup::detail {
namespace {
thread_local std::string g_last_error;
}

void set_last_error(const std::string& message) { g_last_error = message; }

const char* last_error() { return g_last_error.c_str(); }

namespace {
// __FILE__ is the build's absolute path; a message names the file within the project
// ("host/api.cpp"), never the machine it was built on.
const char* project_path(const char* file) {
  const char* last = std::strrchr(file, '/');
  if (!last) return file;
  const char* dir = last;
  while (dir > file && dir[-1] != '/') --dir;  // the start of the folder's name: "host/api.cpp"
  return dir;
}
}  // namespace

[[noreturn]] void throw_cuda(cudaError_t e, const char* expr, const char* file, int line) {
  const bool no_device = e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ||
                         e == cudaErrorInvalidDevice || e == cudaErrorDevicesUnavailable;
  const mixup_status_t status = e == cudaErrorMemoryAllocation ? MIXUP_STATUS_OUT_OF_MEMORY
                                : no_device                    ? MIXUP_STATUS_NO_DEVICE
                                                               : MIXUP_STATUS_CUDA_ERROR;
  cudaGetLastError();  // clear the sticky-free error so the next call starts clean
  throw Error(status, cat(expr, " failed: ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ") at ",
                          project_path(file), ":", line));
}

}  // namespace mixup::detail
