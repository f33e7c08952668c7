// What the mixup and the loss handles both do when they are created: pick the CPU thread
// count, check the CUDA device ordinal, ask whether the device can overlap our launches.
// One implementation, so the two handles cannot drift apart.
#pragma once

#include <algorithm>
#include <thread>

#include "cpu_isa.hpp"
#include "error.hpp"

namespace mixup::detail {

// config.cpu_threads: 0 means one per hardware thread.
inline int cpu_threads_for(int configured) {
  return configured > 0 ? configured : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The CPU backend runs at the instruction-set level chosen once per process; a MIXUP_CPU_ISA
// that names no level, or one above this CPU's, is refused here, when a CPU handle is created.
inline void check_cpu_isa() {
  const util::IsaChoice& c = util::isa_choice();
  MIXUP_EXPECTS(c.error.empty(), c.error);
}

// Whether the library was built with CUDA (-DMIXUP_CUDA=OFF builds the CPU backend alone).
#if defined(MIXUP_NO_CUDA)
constexpr bool kCudaBuilt = false;
#else
constexpr bool kCudaBuilt = true;
#endif

// The CUDA devices of this machine: 0 where there is none or no driver at all; throws for a
// driver that is there but unusable (devices.cpp).
int cuda_device_count();
// config.device, checked against the devices this machine has (NO_DEVICE, saying why, where
// it has none).
int checked_device(int ordinal);
// MIXUP_BACKEND_AUTO → CUDA where `device` is a usable GPU, else CPU; other backends unchanged.
void resolve_backend(mixup_backend_t& backend, int device);

// Programmatic dependent launch: the device has it (compute capability 9.0+) and the kernels
// that would be launched early carry the code that waits (`kernels_wait`, asked of the build).
inline bool programmatic_launch_available(int device, bool kernels_wait) {
  int major = 0;
  MIXUP_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  return major >= 9 && kernels_wait;
}

}  // namespace mixup::detail
