// Programmatic dependent launch (Hopper and later), written once for every kernel family: a
// primary grid lets the next kernel on the stream start early (launch_dependents); that
// kernel, launched with programmatic stream serialization, runs its prologue and then waits
// for the whole primary grid (wait) before it reads anything the primary wrote. Below sm_90
// both instructions compile to nothing, and the launch attribute is not set.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace mixup::core {

// Whether a kernel's loaded code waits in pdl_wait, from its cudaFuncAttributes: the wait is
// compiled in only where the code was compiled from a compute_90+ virtual architecture
// (ptxVersion, which __CUDA_ARCH__ follows), and runs only on an sm_90+ device (binaryVersion).
// binaryVersion alone is not enough: compute_80 PTX JIT-compiled on an H100 reports 90 there
// but has no wait in it, and launched programmatically it would read its inputs early.
constexpr bool pdl_wait_compiled_in(int ptx_version, int binary_version) {
  return ptx_version >= 90 && binary_version >= 90;
}

#if defined(__CUDACC__)
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Launches `kernel` behind the previous kernel on the stream; with `programmatic` it may start
// before that kernel ends (it must call pdl_wait before reading its results).
template <class Kernel, class... Args>
cudaError_t launch_dependent(bool programmatic, dim3 grid, dim3 block, std::size_t shared_bytes,
                             cudaStream_t stream, Kernel kernel, Args... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared_bytes;
  config.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attr;
  config.numAttrs = programmatic ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, args...);
}

// Whether the code this build runs for `kernel` on the current device actually waits: only
// then may it be launched programmatically.
template <class Kernel>
bool waits_for_previous_grid(Kernel kernel) {
  cudaFuncAttributes a{};
  return cudaFuncGetAttributes(&a, kernel) == cudaSuccess &&
         pdl_wait_compiled_in(a.ptxVersion, a.binaryVersion);
}
#endif

}  // namespace mixup::core
