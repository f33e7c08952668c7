// Shared test plumbing: which backend this binary tests (each suite is built twice, once per
// backend, labelled `cpu` and `gpu`), buffers that live where that backend wants them, a
// fixture that skips — and says why — when the CUDA backend has no device, and the one
// tolerance helper.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "mixup/mixup.h"
#include "test_hooks.hpp"

#ifndef MIXUP_TEST_BACKEND
#define MIXUP_TEST_BACKEND MIXUP_BACKEND_CPU
#endif


namespace mixup::test {

constexpr mixup_backend_t kBackend = MIXUP_TEST_BACKEND;

// Empty when a CUDA device is usable, else the reason it is not.
inline std::string cuda_unavailable_reason() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess)
    return std::string("no CUDA device: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (n == 0) return "no CUDA device: cudaGetDeviceCount returned 0";
  return "";
}

class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kBackend == MIXUP_BACKEND_CUDA) {
      const std::string why = cuda_unavailable_reason();
      if (!why.empty()) GTEST_SKIP() << "CUDA backend suite skipped: " << why;
    }
  }
};

// Host data with a mirror where the backend wants it. `offset_bytes` shifts the start, to
// test misaligned pointers. Bytes outside the view are never read or written by the library.
template <class T>
class Buf {
 public:
  std::vector<T> host;

  explicit Buf(std::size_t n = 0, T fill = T{}, std::size_t offset_bytes = 0)
      : host(n, fill), offset_(offset_bytes) {
    raw_.resize(n * sizeof(T) + offset_ + 64);
    if (kBackend == MIXUP_BACKEND_CUDA && cudaMalloc(&dev_, raw_.size()) != cudaSuccess) dev_ = nullptr;
    upload();
  }
  ~Buf() {
    if (dev_ != nullptr) cudaFree(dev_);
  }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;

  // pointer the library is given
  T* ptr() {
    char* base = kBackend == MIXUP_BACKEND_CUDA ? static_cast<char*>(dev_) : raw_.data();
    return reinterpret_cast<T*>(base + offset_);
  }
  void upload() {
    if (!host.empty()) std::memcpy(raw_.data() + offset_, host.data(), host.size() * sizeof(T));
    if (dev_ != nullptr) cudaMemcpy(dev_, raw_.data(), raw_.size(), cudaMemcpyHostToDevice);
  }
  std::vector<T>& download() {
    if (dev_ != nullptr) cudaMemcpy(raw_.data(), dev_, raw_.size(), cudaMemcpyDeviceToHost);
    if (!host.empty()) std::memcpy(host.data(), raw_.data() + offset_, host.size() * sizeof(T));
    return host;
  }
  std::size_t size() const { return host.size(); }

 private:
  std::vector<char> raw_;
  void* dev_ = nullptr;
  std::size_t offset_;
};

inline mixup_config_t config_for_tests(std::int32_t max_batch = 4096) {
  mixup_config_t c = mixup_config_default();
  c.backend = kBackend;
  c.max_batch = max_batch;
  c.seed = 1234;
  c.num_classes = 10;
  return c;
}

// Owns a handle; fails the test (with the library's message) if creation fails.
struct Handle {
  mixup_handle_t h = nullptr;
  explicit Handle(const mixup_config_t& c) {
    const mixup_status_t s = mixup_create(&c, &h);
    EXPECT_EQ(s, MIXUP_STATUS_SUCCESS) << mixup_last_error();
  }
  ~Handle() { mixup_destroy(h); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  operator mixup_handle_t() const { return h; }
};

// |got − want| ≤ abs_tol + rel_tol·|want| everywhere; names the worst index.
inline ::testing::AssertionResult all_close(const std::vector<double>& got, const std::vector<double>& want,
                                            double abs_tol, double rel_tol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  std::size_t worst = 0, bad = 0;
  double worst_excess = -1.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double tol = abs_tol + rel_tol * std::fabs(want[i]);
    const double err = std::fabs(got[i] - want[i]);
    const bool ok = err <= tol && !std::isnan(got[i]) == !std::isnan(want[i]);
    if (!ok) {
      ++bad;
      if (err - tol > worst_excess || std::isnan(got[i])) {
        worst_excess = err - tol;
        worst = i;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << got.size() << " elements out of tolerance; worst at index " << worst << ": got "
         << got[worst] << ", want " << want[worst];
}

}  // namespace mixup::test
