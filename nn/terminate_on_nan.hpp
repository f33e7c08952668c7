// fastai's TerminateOnNaNCallback, and more: a training loss that is NaN or infinite ends the
// run at that batch (nothing after it could be trusted), and so do weights that became NaN or
// infinite — a ReLU turns NaN activations into 0, so a model whose weights are all NaN still
// reports a finite loss (ln C) and would train on, dead, to the end. Both are an exception
// naming epoch and batch. The weights are checked after every step on the CPU (a few thousand
// floats) and at each epoch's end on the GPU, where they must be copied back first.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "learner.hpp"

namespace mixup::nn {

struct NonFiniteLoss : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

// Every parameter of the model (conv weights and biases, BatchNorm's scale and shift).
inline bool weights_finite(const SimpleCnn& m) {
  for (const Conv2d& c : m.layers())
    if (!all_finite(c.weight) || !all_finite(c.bias)) return false;
  for (const BatchNorm2d& b : m.norms())
    if (!all_finite(b.gamma) || !all_finite(b.beta)) return false;
  return true;
}

class TerminateOnNaN : public Callback {
 public:
  void on_epoch_begin(Learner&) override { ++epoch_, batch_ = 0; }
  void on_batch_end(Learner& l, BatchState& b) override {
    if (!b.train) return;
    if (!std::isfinite(b.loss))
      throw NonFiniteLoss("the training loss is " + std::to_string(b.loss) + " at epoch " +
                          std::to_string(epoch_) + ", batch " + std::to_string(batch_) +
                          ": training stopped (try a lower --lr)");
    if (!l.on_gpu() && !weights_finite(l.model())) throw NonFiniteLoss(dead_weights(std::to_string(batch_)));
    ++batch_;
  }
  void on_epoch_end(Learner& l, const EpochResult&) override {
    if (!l.on_gpu()) return;
    l.engine().sync_model();
    if (!weights_finite(l.model())) throw NonFiniteLoss(dead_weights("one of its batches"));
  }

 private:
  std::string dead_weights(const std::string& batch) const {
    return "the weights became NaN or infinite at epoch " + std::to_string(epoch_) + ", batch " + batch +
           ": training stopped (try a lower --lr or --wd)";
  }
  std::int64_t epoch_ = -1, batch_ = 0;
};

}  // namespace mixup::nn
