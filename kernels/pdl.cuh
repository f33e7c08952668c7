// Programmatic dependent launch (Hopper and later), written once for every kernel family: a
// primary grid lets the next kernel on the stream start early (launch_dependents); that
// kernel, launched with programmatic stream serialization, runs its prologue and then waits
// for the whole primary grid (wait) before it reads anything the primary wrote. Below sm_90
// both instructions compile to nothing, and the launch attribute is not set.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace mixup::core {

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

// Whether the code this build runs for `kernel` on the current device was compiled for sm_90
// or later, i.e. actually waits: only then may it be launched programmatically.
template <class Kernel>
bool waits_for_previous_grid(Kernel kernel) {
  cudaFuncAttributes a{};
  return cudaFuncGetAttributes(&a, kernel) == cudaSuccess && a.binaryVersion >= 90;
}
#endif

}  // namespace mixup::core
