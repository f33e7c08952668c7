// fastai's Learner, in C++: fit() runs epochs of training batches and a validation pass, and
// calls its callbacks at the same points fastai v1 does. Losses are objects the learner holds
// by pointer, so a callback can swap one in (MixUpCallback does) and must put it back.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data.hpp"
#include "layers.hpp"
#include "mixup/loss.h"
#include "mixup/mixup.h"
#include "optim.hpp"

namespace mixup::detail {
class ThreadPool;
}

namespace mixup::nn {

struct BatchState {
  bool train = false;
  std::int64_t n = 0, h = 0, w = 0;  // batch size and image size
  std::vector<std::uint8_t> images;  // as loaded
  std::vector<std::int32_t> labels;
  std::vector<float> x;              // network input, normalised (and mixed, in training with mixup)
  std::vector<std::int32_t> y_a, y_b;
  std::vector<float> lam;
  bool mixed = false;                // set by whoever wrote a mixed x and stacked targets
  float loss = 0.0f;
};

struct EpochResult {
  std::int64_t epoch;
  double train_loss, valid_loss, accuracy, seconds;
};

class Learner;

struct Callback {
  virtual ~Callback() = default;
  virtual void on_train_begin(Learner&) {}
  virtual void on_epoch_begin(Learner&) {}
  virtual void on_batch_begin(Learner&, BatchState&) {}
  virtual void on_loss_begin(Learner&, BatchState&) {}
  virtual void on_backward_begin(Learner&, BatchState&) {}
  virtual void on_backward_end(Learner&, BatchState&) {}
  virtual void on_step_end(Learner&, BatchState&) {}
  virtual void on_batch_end(Learner&, BatchState&) {}
  virtual void on_epoch_end(Learner&, const EpochResult&) {}
  virtual void on_train_end(Learner&) {}
};

// A criterion: mean loss over the batch, and dL/dlogits when grad is not null.
struct LossFunction {
  virtual ~LossFunction() = default;
  virtual float operator()(Learner& l, const std::vector<float>& logits, const BatchState& b, std::vector<float>* grad) = 0;
  virtual std::string name() const = 0;
};

// Plain cross-entropy on the sample's own label (y_a).
struct CrossEntropyLoss : LossFunction {
  float operator()(Learner& l, const std::vector<float>& logits, const BatchState& b, std::vector<float>* grad) override;
  std::string name() const override { return "CrossEntropyLoss"; }
};

// fastai's MixUpLoss: λ·crit(z, y_a) + (1 − λ)·crit(z, y_b) on mixed batches (one fused call),
// the wrapped criterion itself on unmixed ones (validation).
struct MixUpLoss : LossFunction {
  LossFunction* original;
  explicit MixUpLoss(LossFunction* o) : original(o) {}
  float operator()(Learner& l, const std::vector<float>& logits, const BatchState& b, std::vector<float>* grad) override;
  std::string name() const override { return "MixUpLoss"; }
};

struct LearnerConfig {
  std::int64_t batch_size = 64;
  float lr = 3e-3f;
  float weight_decay = 1e-2f;
  bool one_cycle = false;
  std::uint64_t seed = 0;
  int threads = 0;
  float mean = 0.2860f, std = 0.3530f;  // Fashion-MNIST pixel statistics
  bool progress = true;
};

class Learner {
 public:
  Learner(SimpleCnn& model, ImageSet train, ImageSet valid, LearnerConfig cfg);
  ~Learner();
  Learner(const Learner&) = delete;
  Learner& operator=(const Learner&) = delete;

  // Trains for `epochs`; on_train_end runs whatever happens (early stop, exception).
  std::vector<EpochResult> fit(std::int64_t epochs, const std::function<void(const EpochResult&)>& on_epoch = nullptr);
  // Validation loss (mean plain cross-entropy) and accuracy over `set`.
  std::pair<double, double> validate(const ImageSet& set);
  // Predicted class of each image in `set` (for checkpoint round trips).
  std::vector<std::int32_t> predict(const ImageSet& set);

  void add_callback(Callback* cb) { callbacks_.push_back(cb); }
  // One training step on a loaded batch (images, labels, n, h, w set): for benchmarks.
  void train_step(BatchState& b) { train_batch(b, 0, 1); }
  // Writes the plain normalised input of b.images into b.x (and y_a = labels).
  void normalize(BatchState& b);

  SimpleCnn& model() { return model_; }
  const LearnerConfig& config() const { return cfg_; }
  detail::ThreadPool& pool() { return *pool_; }
  mixup_loss_t loss_handle() { return loss_handle_; }

  LossFunction* loss_fn;  // what training minimises; callbacks may swap it
  bool stop = false;      // a callback may set it to end training after the current batch

 private:
  void train_batch(BatchState& b, std::int64_t step, std::int64_t total_steps);

  SimpleCnn& model_;
  ImageSet train_, valid_;
  LearnerConfig cfg_;
  std::unique_ptr<detail::ThreadPool> pool_;
  CrossEntropyLoss default_loss_;
  AdamW opt_;
  mixup_handle_t normalizer_ = nullptr;
  mixup_loss_t loss_handle_ = nullptr;
  std::vector<Callback*> callbacks_;
};

// fastai's MixUpCallback: on train begin it swaps in MixUpLoss, on each training batch it mixes
// with libmixup_cuda (λ ~ Beta(α, α) per sample, folded), on train end it puts the original
// loss back. Validation batches are never mixed.
class MixUpCallback : public Callback {
 public:
  MixUpCallback(float alpha, std::uint64_t seed) : alpha_(alpha), seed_(seed) {}
  ~MixUpCallback() override;
  void on_train_begin(Learner& l) override;
  void on_batch_begin(Learner& l, BatchState& b) override;
  void on_train_end(Learner& l) override;

 private:
  float alpha_;
  std::uint64_t seed_;
  mixup_handle_t handle_ = nullptr;
  std::unique_ptr<MixUpLoss> loss_;
  LossFunction* saved_ = nullptr;
};

}  // namespace mixup::nn
