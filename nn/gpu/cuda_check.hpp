// The trainer's GPU code reports CUDA failures as exceptions naming the call and CUDA's error.
#pragma once

#include <stdexcept>
#include <string>

#include <cuda_runtime_api.h>

namespace mixup::nn {

// Throws std::runtime_error("what: cudaErrorName (message)") unless e is cudaSuccess.
inline void cuda_ok(cudaError_t e, const std::string& what) {
  if (e != cudaSuccess)
    throw std::runtime_error(what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

}  // namespace mixup::nn
