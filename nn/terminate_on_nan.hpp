// fastai's TerminateOnNaNCallback: a training loss that is NaN or infinite ends the run at
// that batch (nothing after it could be trusted), as an exception naming epoch and batch.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "learner.hpp"

namespace mixup::nn {

struct NonFiniteLoss : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class TerminateOnNaN : public Callback {
 public:
  void on_epoch_begin(Learner&) override { ++epoch_, batch_ = 0; }
  void on_batch_end(Learner&, BatchState& b) override {
    if (!b.train) return;
    if (!std::isfinite(b.loss))
      throw NonFiniteLoss("the training loss is " + std::to_string(b.loss) + " at epoch " +
                          std::to_string(epoch_) + ", batch " + std::to_string(batch_) +
                          ": training stopped (try a lower --lr)");
    ++batch_;
  }

 private:
  std::int64_t epoch_ = -1, batch_ = 0;
};

}  // namespace mixup::nn
