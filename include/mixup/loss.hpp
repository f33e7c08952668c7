// libmixup_cuda — C++ front of the fused mixup loss (mixup/loss.h).
#pragma once

#include <utility>

#include "mixup/loss.h"
#include "mixup/mixup.hpp"

namespace mixup {

class Loss {
 public:
  explicit Loss(const mixup_loss_config_t& config) { check(mixup_loss_create(&config, &h_)); }
  ~Loss() { mixup_loss_destroy(h_); }
  Loss(const Loss&) = delete;
  Loss& operator=(const Loss&) = delete;
  Loss(Loss&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Loss& operator=(Loss&& o) noexcept {
    if (this != &o) {
      mixup_loss_destroy(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }

  // Loss (and gradient when args.grad is set) in one pass over the logits.
  void cross_entropy(const mixup_ce_args_t& args, void* stream = nullptr) {
    check(mixup_cross_entropy(h_, &args, stream));
  }

  // reduce(λ·l_a + (1 − λ)·l_b) for per-sample losses computed elsewhere.
  void combine(const float* l_a, const float* l_b, const float* lam, std::int64_t batch,
               mixup_reduction_t reduction, float* out, void* stream = nullptr) {
    check(mixup_combine_losses(h_, l_a, l_b, lam, batch, reduction, out, stream));
  }
  void poll_checks(void* stream = nullptr) { check(mixup_loss_poll_checks(h_, stream)); }
  mixup_loss_t get() const { return h_; }

 private:
  mixup_loss_t h_ = nullptr;
};

}  // namespace mixup
