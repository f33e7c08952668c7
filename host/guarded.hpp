// The C ABI's one way out: run a call, map whatever it throws to a status and the
// thread-local message. No exception ever crosses the ABI.
#pragma once

#include <exception>
#include <new>

#include "error.hpp"

namespace mixup::detail {

template <class F>
mixup_status_t guarded(F&& f) noexcept {
  try {
    f();
    set_last_error("");
    return MIXUP_STATUS_SUCCESS;
  } catch (const Error& e) {
    set_last_error(e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    set_last_error("out of host memory");
    return MIXUP_STATUS_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(cat("internal error: ", e.what()));
    return MIXUP_STATUS_INTERNAL;
  } catch (...) {
    set_last_error("internal error: unknown exception");
    return MIXUP_STATUS_INTERNAL;
  }
}

// Makes `device` current for a scope and puts the previous one back.
struct DeviceGuard {
  int previous = 0;
  explicit DeviceGuard(int device) {
    MIXUP_CUDA_CHECK(cudaGetDevice(&previous));
    MIXUP_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceGuard() { cudaSetDevice(previous); }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
};

}  // namespace mixup::detail
