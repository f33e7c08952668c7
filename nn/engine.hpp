// Where the learner computes. An Engine holds the model's working copy, the batch's buffers and
// the optimiser state, and runs one step as upload → forward → (the learner's loss) →
// backward → step. Two implementations: the CPU one (host vectors, SimpleCnn, AdamW:
// nn/cpu_engine.cpp) and the cuDNN one (device buffers, GpuCnn: nn/gpu/cudnn_engine.cpp). The
// Learner talks to this interface only, so it never asks which backend it runs on; whether a
// build can make the cuDNN engine is decided by CMake (nn/gpu/no_cudnn_engine.cpp stands in
// where cuDNN is missing).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace mixup::nn {

struct BatchState;
class SimpleCnn;

struct EngineConfig {
  std::int64_t max_batch = 0;          // the most samples one batch holds
  std::int64_t pixels = 0;             // the most pixels one image holds (train and valid sets)
  std::int64_t height = 0, width = 0;  // the training images' size
  int threads = 1;                     // CPU worker threads, the caller's included
  float weight_decay = 0.0f;           // AdamW's decoupled weight decay
  int device = 0;                      // the GPU (cuDNN engine), made current for this thread
};

// The arguments of the plain normalising pass (λ = 1, every sample its own partner), in the
// memory the engine computes in.
struct PlainInput {
  const void* images = nullptr;        // u8 [n, pixels]
  float* x = nullptr;                  // f32 [n, pixels], written
  const float* ones = nullptr;         // λ = 1, [n]
  const std::int32_t* self = nullptr;  // 0, 1, …, n − 1
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual bool on_gpu() const = 0;
  // What the library's calls run on: a cudaStream_t on the GPU, null on the CPU.
  virtual void* stream() = 0;
  // Makes the loaded batch (b.images, b.labels) available where the engine computes.
  virtual void upload(BatchState& b) = 0;
  // Where the plain input of b goes; sets its y_a to the labels.
  virtual PlainInput plain_input(BatchState& b) = 0;
  // Logits [n, classes], where the engine computes; train picks BatchNorm's batch statistics.
  virtual const float* forward(BatchState& b, bool train) = 0;
  // Where dL/dlogits of an n-sample batch is written, [n, classes].
  virtual float* grad(std::int64_t n) = 0;
  // Where the fused loss writes its value, and that value read back.
  virtual float* loss_out() = 0;
  virtual float loss_value() = 0;
  // Every parameter's gradient from dL/dlogits (after a training forward).
  virtual void backward(const float* grad) = 0;
  // One AdamW step; beta1 < 0 keeps the optimiser's own β1 (0.9).
  virtual void step(float lr, float beta1) = 0;
  // A host copy of logits (the same pointer on the CPU).
  virtual const float* host_logits(const float* logits, std::int64_t n) = 0;
  // Brings the host model up to date (checkpoints read it); nothing to do on the CPU.
  virtual void sync_model() = 0;

  // Data-parallel training (nn/parallel): the model as one flat host array in AdamW's order
  // (each conv's weight and bias, then each BatchNorm's γ and β): its parameters or their
  // gradients; or BatchNorm's running statistics (each norm's mean, then its variance). The
  // same order and bits on both engines, so checksums and checkpoints agree; on the GPU the
  // copies are staged through pinned memory on the engine's stream and synchronised.
  enum class Flat { params, grads, buffers };
  virtual void read_flat(Flat, std::vector<float>&) = 0;
  // Throws std::invalid_argument where `in` is not the part's size.
  virtual void write_flat(Flat, const std::vector<float>&) = 0;
};

std::unique_ptr<Engine> make_cpu_engine(SimpleCnn& model, const EngineConfig& c);
// Throws std::runtime_error where the build has no cuDNN, or there is no usable device.
std::unique_ptr<Engine> make_cudnn_engine(SimpleCnn& model, const EngineConfig& c);

}  // namespace mixup::nn
