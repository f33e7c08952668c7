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
  // On the GPU path the batch lives on the device too (the vectors above hold the host side
  // of images and labels only); these point at the learner's device buffers.
  bool on_gpu = false;
  struct Device {
    std::uint8_t* images = nullptr;
    std::int32_t* labels = nullptr;
    float* x = nullptr;
    std::int32_t* y_a = nullptr;
    std::int32_t* y_b = nullptr;
    float* lam = nullptr;
  } dev;
  // Targets where the loss reads them (host or device).
  const std::int32_t* ya_ptr() const { return on_gpu ? dev.y_a : y_a.data(); }
  const std::int32_t* yb_ptr() const { return on_gpu ? dev.y_b : y_b.data(); }
  const float* lam_ptr() const { return on_gpu ? dev.lam : lam.data(); }
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
  bool on_gpu() const { return gpu_ != nullptr; }
  void* gpu_stream();     // GPU path: the stream everything runs on (a cudaStream_t); else null
  float* loss_scratch();  // GPU path: where the fused loss writes its value
  // GPU path: throws if a device-side check (labels, λ) failed since the last poll; fit() polls
  // after every epoch. No-op on the CPU, where every call checks before it writes.
  void poll_device_checks();

  LossFunction* loss_fn;  // what training minimises; callbacks may swap it
  bool stop = false;      // a callback may set it to end training after the current batch

 private:
  // meanwhile runs once the forward pass is under way (fit loads the next batch there).
  void train_batch(BatchState& b, std::int64_t step, std::int64_t total_steps, const std::function<void()>& meanwhile = nullptr);
  // Prepares b for a forward pass: device buffers on the GPU path (upload), then callbacks.
  void begin_batch(BatchState& b, bool train);
  const float* forward(BatchState& b, bool train);  // logits, on the host or the device
  const float* host_logits(const float* logits, std::int64_t n);  // a host copy when on the GPU

  struct Gpu;
  std::unique_ptr<Gpu> gpu_;

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
  // `mixing`: CutMix, switching and probability (mixup_set_mixing); the default is plain mixup.
  MixUpCallback(float alpha, std::uint64_t seed, const mixup_mixing_t& mixing = mixup_mixing_default())
      : alpha_(alpha), seed_(seed), mixing_(mixing) {}
  ~MixUpCallback() override;
  void on_train_begin(Learner& l) override;
  void on_batch_begin(Learner& l, BatchState& b) override;
  void on_epoch_end(Learner& l, const EpochResult& r) override;  // GPU: polls the deferred checks
  void on_train_end(Learner& l) override;

 private:
  float alpha_;
  std::uint64_t seed_;
  mixup_mixing_t mixing_;
  mixup_handle_t handle_ = nullptr;
  std::unique_ptr<MixUpLoss> loss_;
  LossFunction* saved_ = nullptr;
};

}  // namespace mixup::nn
