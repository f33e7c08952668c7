// fastai's Learner, in C++: fit() runs epochs of training batches and a validation pass, and
// calls its callbacks at the same points fastai v1 does. Losses are objects the learner holds
// by pointer, so a callback can swap one in (MixUpCallback, mixup_callback.hpp, does) and must
// put it back. Where the steps run, CPU or cuDNN, is the Engine's business (engine.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "batch.hpp"
#include "data.hpp"
#include "engine.hpp"
#include "layers.hpp"
#include "parallel/parallel_config.hpp"
#include "mixup/loss.hpp"
#include "mixup/mixup.hpp"

namespace mixup::nn {

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

// A criterion: mean loss over the batch, and dL/dlogits into grad when it is not null. logits
// and grad are where the learner computes (device memory on the GPU path).
struct LossFunction {
  virtual ~LossFunction() = default;
  virtual float operator()(Learner& l, const float* logits, const BatchState& b, float* grad) = 0;
  virtual std::string name() const = 0;
};

// Plain cross-entropy on the sample's own label (y_a).
struct CrossEntropyLoss : LossFunction {
  float operator()(Learner& l, const float* logits, const BatchState& b, float* grad) override;
  std::string name() const override { return "CrossEntropyLoss"; }
};

// fastai's MixUpLoss: λ·crit(z, y_a) + (1 − λ)·crit(z, y_b) on mixed batches (one fused call),
// the wrapped criterion itself on unmixed ones (validation).
struct MixUpLoss : LossFunction {
  LossFunction* original;
  explicit MixUpLoss(LossFunction* o) : original(o) {}
  float operator()(Learner& l, const float* logits, const BatchState& b, float* grad) override;
  std::string name() const override { return "MixUpLoss"; }
};

struct LearnerConfig {
  std::int64_t batch_size = 64;
  float lr = 3e-3f;
  float weight_decay = 1e-2f;
  bool one_cycle = false;
  bool drop_last = false;  // leave out each epoch's last partial training batch (fastai v1 does)
  std::uint64_t seed = 0;
  int threads = 0;
  float mean = 0.2860f, std = 0.3530f;  // Fashion-MNIST pixel statistics
  bool progress = true;
  bool cuda = false;  // train on the GPU (cuDNN); needs a device and a build with cuDNN
  int device = 0;     // which GPU: the engine's and the library handles' (NCCL: the local rank's)
  // Data-parallel training and gradient accumulation (nn/parallel/data_parallel.hpp): with
  // several ranks, virtual ranks or micro-batches, batch_size is one micro-batch's size.
  ParallelConfig parallel;
};

class Learner {
 public:
  // Throws mixup::Error for a configuration the library refuses (e.g. std ≤ 0), and
  // std::runtime_error where cfg.cuda asks for a GPU this build or machine does not have.
  Learner(SimpleCnn& model, ImageSet train, ImageSet valid, LearnerConfig cfg);
  Learner(const Learner&) = delete;
  Learner& operator=(const Learner&) = delete;

  // Trains for `epochs`; on_train_end runs whatever happens (early stop, exception).
  std::vector<EpochResult> fit(std::int64_t epochs,
                               const std::function<void(const EpochResult&)>& on_epoch = nullptr);
  // Validation loss (mean plain cross-entropy) and accuracy over `set`; data-parallel, each
  // rank takes its shard and the sums are reduced.
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
  mixup_loss_t loss_handle() { return loss_.get(); }
  Engine& engine() { return *engine_; }
  bool on_gpu() const { return engine_->on_gpu(); }
  void* gpu_stream() {
    return engine_->stream();
  }  // GPU path: the stream everything runs on (a cudaStream_t); else null
  // GPU path: throws if a device-side check (labels, λ) failed since the last poll; fit() polls
  // after every epoch. No-op on the CPU, where every call checks before it writes.
  void poll_device_checks();

  LossFunction* loss_fn;  // what training minimises; callbacks may swap it
  bool stop = false;      // a callback may set it to end training after the current batch

 private:
  friend class DataParallel;
  // The sums of plain cross-entropy and of correct predictions over `set`.
  std::pair<double, double> validate_sums(const ImageSet& set);
  // meanwhile runs once the forward pass is under way (fit loads the next batch there).
  void train_batch(BatchState& b, std::int64_t step, std::int64_t total_steps,
                   const std::function<void()>& meanwhile = nullptr);
  // Prepares b for a forward pass: the engine's buffers (upload), then callbacks.
  void begin_batch(BatchState& b, bool train);

  SimpleCnn& model_;
  ImageSet train_, valid_;
  LearnerConfig cfg_;
  CrossEntropyLoss default_loss_;
  // Owned, in this order: a constructor step that throws destroys what the earlier ones made.
  mixup::Mixup normalizer_;
  mixup::Loss loss_;
  std::unique_ptr<Engine> engine_;
  std::vector<Callback*> callbacks_;
};

}  // namespace mixup::nn
