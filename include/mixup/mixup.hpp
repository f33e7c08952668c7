// libmixup_cuda — C++ front over the C ABI: an owning handle, exceptions instead of status
// codes, and a small tensor view. Header-only; links against mixup::mixup_cuda.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "mixup/mixup.h"

namespace mixup {

class Error : public std::runtime_error {
 public:
  Error(mixup_status_t status, const std::string& message)
      : std::runtime_error(std::string(mixup_status_string(status)) + ": " + message), status_(status) {}
  mixup_status_t status() const noexcept { return status_; }

 private:
  mixup_status_t status_;
};

inline void check(mixup_status_t s) {
  if (s != MIXUP_STATUS_SUCCESS) throw Error(s, mixup_last_error());
}

enum class DType {
  f32 = MIXUP_DTYPE_F32,
  f16 = MIXUP_DTYPE_F16,
  bf16 = MIXUP_DTYPE_BF16,
  u8 = MIXUP_DTYPE_U8
};
enum class Layout { nchw = MIXUP_LAYOUT_NCHW, nhwc = MIXUP_LAYOUT_NHWC };

// A non-owning view of one batch: device memory for the CUDA backend, host memory for the CPU.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;
  std::int64_t n = 0, c = 1, h = 1, w = 1;
  Layout layout = Layout::nchw;

  static TensorView images(void* data, DType t, std::int64_t n, std::int64_t c, std::int64_t h,
                           std::int64_t w, Layout layout = Layout::nchw) {
    return TensorView{data, t, n, c, h, w, layout};
  }
  static TensorView rows(void* data, DType t, std::int64_t n, std::int64_t per_sample) {
    return TensorView{data, t, n, 1, 1, per_sample, Layout::nchw};
  }
  mixup_batch_t c_batch() const {
    return mixup_batch_t{data, static_cast<mixup_dtype_t>(dtype),  n, c, h,
                         w,    static_cast<mixup_layout_t>(layout)};
  }
};

// Stacked targets for the dual-target loss: y_a = y[i], y_b = y[partner(i)], λ_i.
struct StackedTargets {
  const std::int32_t* labels = nullptr;
  std::int32_t* y_a = nullptr;
  std::int32_t* y_b = nullptr;
  float* lam = nullptr;
  std::int32_t* perm = nullptr;  // optional
  mixup_targets_t c_targets() const {
    mixup_targets_t t{};
    t.mode = MIXUP_TARGETS_STACKED;
    t.labels = labels;
    t.y_a = y_a;
    t.y_b = y_b;
    t.lam = lam;
    t.perm = perm;
    return t;
  }
};

class Mixup {
 public:
  explicit Mixup(const mixup_config_t& config) { check(mixup_create(&config, &h_)); }
  ~Mixup() { mixup_destroy(h_); }
  Mixup(const Mixup&) = delete;
  Mixup& operator=(const Mixup&) = delete;
  Mixup(Mixup&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Mixup& operator=(Mixup&& o) noexcept {
    if (this != &o) {
      mixup_destroy(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }

  // One training step; `stream` is a cudaStream_t (or nullptr) for the CUDA backend.
  void apply(const TensorView& x, const TensorView& out, const mixup_targets_t& targets,
             void* stream = nullptr) {
    const mixup_batch_t cx = x.c_batch(), co = out.c_batch();
    check(mixup_apply(h_, &cx, &co, &targets, stream));
  }
  void apply(const TensorView& x, const TensorView& out, const StackedTargets& t, void* stream = nullptr) {
    apply(x, out, t.c_targets(), stream);
  }
  // The same, also writing what each sample drew (mixup_draws_t: kind, CutMix box).
  void apply(const TensorView& x, const TensorView& out, const mixup_targets_t& targets,
             const mixup_draws_t& draws, void* stream = nullptr) {
    const mixup_batch_t cx = x.c_batch(), co = out.c_batch();
    check(mixup_apply_with_draws(h_, &cx, &co, &targets, &draws, stream));
  }
  // How later calls mix: mixup, CutMix, switching, probability (mixup_mixing_t).
  void set_mixing(const mixup_mixing_t& m) { check(mixup_set_mixing(h_, &m)); }
  void apply_given(const TensorView& x, const float* lam, const std::int32_t* perm, const TensorView& out,
                   const mixup_targets_t& targets, void* stream = nullptr) {
    const mixup_batch_t cx = x.c_batch(), co = out.c_batch();
    check(mixup_apply_given(h_, &cx, lam, perm, &co, &targets, stream));
  }
  // A drawn call again, bit for bit, from what it reported (mixup_replay_t).
  void apply_replay(const TensorView& x, const mixup_replay_t& given, const TensorView& out,
                    const mixup_targets_t& targets, void* stream = nullptr) {
    const mixup_batch_t cx = x.c_batch(), co = out.c_batch();
    check(mixup_apply_replay(h_, &cx, &given, &co, &targets, stream));
  }
  void set_normalize(const float* mean, const float* std, std::int32_t channels) {
    check(mixup_set_normalize(h_, mean, std, channels));
  }
  void set_step(std::uint64_t step) { check(mixup_set_step(h_, step)); }
  std::uint64_t step() const {
    std::uint64_t s = 0;
    check(mixup_get_step(h_, &s));
    return s;
  }
  void poll_checks(void* stream = nullptr) { check(mixup_poll_checks(h_, stream)); }
  mixup_handle_t get() const { return h_; }

 private:
  mixup_handle_t h_ = nullptr;
};

inline int cuda_device_count() {
  int n = 0;
  return mixup_cuda_device_count(&n) == MIXUP_STATUS_SUCCESS ? n : 0;
}

}  // namespace mixup
