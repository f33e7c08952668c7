/* A stand-in for the CUDA runtime's header in a build without the CUDA toolkit
 * (-DMIXUP_CUDA=OFF; CMakeLists.txt puts this folder on the include path only then). The
 * host code names CUDA types in a few signatures and asks the runtime how many devices there
 * are; here there are none, and every call fails with cudaErrorNoDevice, so each CUDA path
 * ends where it does on a machine without a GPU. Only what the CPU build uses is declared. */
#ifndef MIXUP_NO_CUDA_RUNTIME_API_H
#define MIXUP_NO_CUDA_RUNTIME_API_H

#include <stddef.h>

typedef enum cudaError {
  cudaSuccess = 0,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInsufficientDriver = 35,
  cudaErrorDevicesUnavailable = 46,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101
} cudaError_t;

typedef struct CUstream_st* cudaStream_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};

enum cudaDeviceAttr { cudaDevAttrComputeCapabilityMajor = 75 };

static inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 0;
  return cudaErrorNoDevice;
}
static inline cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaErrorNoDevice;
}
static inline cudaError_t cudaSetDevice(int device) { return (void)device, cudaErrorNoDevice; }
static inline cudaError_t cudaGetLastError(void) { return cudaSuccess; }
static inline const char* cudaGetErrorName(cudaError_t e) {
  return e == cudaSuccess ? "cudaSuccess" : "cudaErrorNoDevice";
}
static inline const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : "this build of libmixup_cuda has no CUDA (-DMIXUP_CUDA=OFF)";
}
static inline cudaError_t cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device) {
  return (void)attr, (void)device, *value = 0, cudaErrorNoDevice;
}
static inline cudaError_t cudaDeviceSynchronize(void) { return cudaErrorNoDevice; }
static inline cudaError_t cudaStreamSynchronize(cudaStream_t s) { return (void)s, cudaErrorNoDevice; }
static inline cudaError_t cudaMalloc(void** p, size_t bytes) { return (void)bytes, *p = NULL, cudaErrorNoDevice; }
static inline cudaError_t cudaMallocHost(void** p, size_t bytes) {
  return (void)bytes, *p = NULL, cudaErrorNoDevice;
}
static inline cudaError_t cudaFree(void* p) { return (void)p, cudaSuccess; }
static inline cudaError_t cudaFreeHost(void* p) { return (void)p, cudaSuccess; }
static inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, enum cudaMemcpyKind k) {
  return (void)d, (void)s, (void)n, (void)k, cudaErrorNoDevice;
}
static inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, enum cudaMemcpyKind k, cudaStream_t st) {
  return (void)d, (void)s, (void)n, (void)k, (void)st, cudaErrorNoDevice;
}
static inline cudaError_t cudaMemset(void* d, int v, size_t n) { return (void)d, (void)v, (void)n, cudaErrorNoDevice; }
static inline cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t st) {
  return (void)d, (void)v, (void)n, (void)st, cudaErrorNoDevice;
}

#endif /* MIXUP_NO_CUDA_RUNTIME_API_H */
