// The cuDNN engine: the model on the device (GpuCnn), the batch's device buffers filled from
// pinned staging with async copies on one stream, and the constant λ = 1 / identity arrays
// that turn the mixup op into plain normalisation. The host SimpleCnn stays the master copy
// for checkpoints (sync_model).
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "batch.hpp"
#include "cuda_check.hpp"
#include "device_tensor.hpp"
#include "engine.hpp"
#include "gpu_cnn.hpp"
#include "kernels.cuh"

namespace mixup::nn {
namespace {

// Owners of the raw CUDA resources, so that a constructor step that throws frees what the
// earlier ones made.
// Created blocking (plain cudaStreamCreate): DeviceTensor's cudaMemset / cudaMemcpy run on the
// legacy default stream and are ordered with this one only because it blocks. Keep it so.
struct Stream {
  cudaStream_t s = nullptr;
  Stream() { cuda_ok(cudaStreamCreate(&s), "cudaStreamCreate"); }
  ~Stream() { cudaStreamDestroy(s); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};

struct Event {
  cudaEvent_t e = nullptr;
  Event() { cuda_ok(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate"); }
  ~Event() { cudaEventDestroy(e); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};

template <class T>
struct Pinned {
  T* p = nullptr;
  explicit Pinned(std::int64_t n) {
    cuda_ok(cudaMallocHost(reinterpret_cast<void**>(&p), n * sizeof(T)), "cudaMallocHost");
  }
  ~Pinned() { cudaFreeHost(p); }
  Pinned(const Pinned&) = delete;
  Pinned& operator=(const Pinned&) = delete;
};

class CudnnEngine final : public Engine {
 public:
  CudnnEngine(SimpleCnn& model, const EngineConfig& c)
      : model_(model), weight_decay_(c.weight_decay), height_(c.height), width_(c.width),
        pinned_images_(c.max_batch * c.pixels), pinned_labels_(c.max_batch), pinned_loss_(1) {
    const std::int64_t B = c.max_batch, px = c.pixels, C = model.classes();
    net_ = std::make_unique<GpuCnn>(model, B, c.height, c.width, stream_.s);
    images_ = DeviceTensor({B, px}, ElemType::u8);
    for (DeviceTensor* t : {&labels_, &ya_, &yb_, &iota_}) *t = DeviceTensor({B}, ElemType::i32);
    x_ = DeviceTensor({B, px}, ElemType::f32);
    for (DeviceTensor* t : {&lam_, &ones_, &loss_}) *t = DeviceTensor({B}, ElemType::f32);
    grad_ = DeviceTensor({B, C}, ElemType::f32);
    cuda_ok(gpu::fill(ones_.as<float>(), B, 1.0f, stream_.s), "fill");
    cuda_ok(gpu::iota(iota_.as<std::int32_t>(), B, stream_.s), "iota");
    cuda_ok(cudaStreamSynchronize(stream_.s), "cudaStreamSynchronize");
  }
  // The network first: its cuDNN handles were made on the stream.
  ~CudnnEngine() override { net_.reset(); }

  bool on_gpu() const override { return true; }
  void* stream() override { return stream_.s; }

  void upload(BatchState& b) override {
    // the previous batch's copies out of the staging buffers are done before it is refilled
    cuda_ok(cudaEventSynchronize(staged_.e), "cudaEventSynchronize");
    std::copy(b.images.begin(), b.images.end(), pinned_images_.p);
    std::copy(b.labels.begin(), b.labels.end(), pinned_labels_.p);
    cuda_ok(cudaMemcpyAsync(images_.data(), pinned_images_.p, b.images.size(), cudaMemcpyHostToDevice,
                            stream_.s),
            "upload");
    cuda_ok(cudaMemcpyAsync(labels_.data(), pinned_labels_.p, b.labels.size() * 4, cudaMemcpyHostToDevice,
                            stream_.s),
            "upload");
    cuda_ok(cudaEventRecord(staged_.e, stream_.s), "cudaEventRecord");
    b.dev = BatchState::Device{images_.as<std::uint8_t>(), labels_.as<std::int32_t>(), x_.as<float>(),
                               ya_.as<std::int32_t>(),     yb_.as<std::int32_t>(),     lam_.as<float>()};
  }

  PlainInput plain_input(BatchState& b) override {
    b.dev.y_a = b.dev.labels;
    return PlainInput{b.dev.images, b.dev.x, ones_.as<float>(), iota_.as<std::int32_t>()};
  }

  // The convs' plans hold the training images' size: a batch of another size (a validation
  // set, say) would be convolved with the wrong descriptors, so it is refused.
  const float* forward(BatchState& b, bool train) override {
    if (b.h != height_ || b.w != width_)
      throw std::invalid_argument("the cuDNN engine was planned for " + std::to_string(height_) + "x" +
                                  std::to_string(width_) + " images, this batch has " + std::to_string(b.h) +
                                  "x" + std::to_string(b.w));
    return net_->forward(b.dev.x, b.n, train);
  }
  float* grad(std::int64_t) override { return grad_.as<float>(); }
  float* loss_out() override { return loss_.as<float>(); }
  // On the engine's stream (behind the loss kernel that wrote it), into pinned memory.
  float loss_value() override {
    cuda_ok(cudaMemcpyAsync(pinned_loss_.p, loss_.as<float>(), sizeof(float), cudaMemcpyDeviceToHost,
                            stream_.s),
            "loss read-back");
    cuda_ok(cudaStreamSynchronize(stream_.s), "cudaStreamSynchronize");
    return *pinned_loss_.p;
  }
  void backward(const float* grad) override { net_->backward(grad); }
  void step(float lr, float beta1) override {
    net_->adamw_step(lr, beta1 < 0.0f ? 0.9f : beta1, 0.99f, 1e-8f, weight_decay_);
  }

  const float* host_logits(const float* logits, std::int64_t n) override {
    host_logits_.resize(static_cast<std::size_t>(n * model_.classes()));
    cuda_ok(cudaMemcpyAsync(host_logits_.data(), logits, host_logits_.size() * 4, cudaMemcpyDeviceToHost,
                            stream_.s),
            "logits read-back");
    cuda_ok(cudaStreamSynchronize(stream_.s), "cudaStreamSynchronize");
    return host_logits_.data();
  }
  void sync_model() override { net_->download(model_); }

 private:
  SimpleCnn& model_;
  float weight_decay_;
  std::int64_t height_, width_;
  Stream stream_;
  Event staged_;  // recorded after the last uploads out of the staging buffers
  Pinned<std::uint8_t> pinned_images_;
  Pinned<std::int32_t> pinned_labels_;
  Pinned<float> pinned_loss_;
  DeviceTensor images_, labels_, ya_, yb_, iota_, x_, lam_, ones_, grad_, loss_;
  std::unique_ptr<GpuCnn> net_;
  std::vector<float> host_logits_;
};

}  // namespace

std::unique_ptr<Engine> make_cudnn_engine(SimpleCnn& model, const EngineConfig& c) {
  return std::make_unique<CudnnEngine>(model, c);
}

}  // namespace mixup::nn
