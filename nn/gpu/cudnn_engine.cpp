// The cuDNN engine: the model on the device (GpuCnn), the batch's device buffers filled from
// pinned staging with async copies on one stream, and the constant λ = 1 / identity arrays
// that turn the mixup op into plain normalisation. The host SimpleCnn stays the master copy
// for checkpoints (sync_model). Data-parallel training (nn/parallel) reads and writes the
// model as flat host arrays (read_flat / write_flat): copies on the engine's stream through
// one pinned staging buffer, synchronised before they return.
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

// The engine's GPU made current for this thread before anything is made on it (NCCL ranks
// each own one; the stream and every buffer below belong to it).
struct CurrentDevice {
  explicit CurrentDevice(int device) { cuda_ok(cudaSetDevice(device), "cudaSetDevice"); }
};

class CudnnEngine final : public Engine {
 public:
  CudnnEngine(SimpleCnn& model, const EngineConfig& c)
      : device_(c.device), model_(model), weight_decay_(c.weight_decay), height_(c.height), width_(c.width),
        pinned_images_(c.max_batch * c.pixels), pinned_labels_(c.max_batch), pinned_loss_(1) {
    const std::int64_t B = c.max_batch, px = c.pixels, C = model.classes();
    net_ = std::make_unique<GpuCnn>(model, B, c.height, c.width, stream_.s);
    std::int64_t most = 0;
    for (const GpuCnn::Part p : {GpuCnn::Part::params, GpuCnn::Part::buffers})
      most = std::max(most, floats(net_->parts(p)));
    flat_staging_ = std::make_unique<Pinned<float>>(std::max<std::int64_t>(most, 1));
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

  // Behind everything queued on the stream (the backward pass that wrote the gradients, the
  // step that wrote the parameters), then synchronised: `out` is final when this returns.
  void read_flat(Flat what, std::vector<float>& out) override {
    const auto parts = net_->parts(part_of(what));
    float* stage = flat_staging_->p;
    for (const auto& [dev, n] : parts) {
      cuda_ok(cudaMemcpyAsync(stage, dev, n * sizeof(float), cudaMemcpyDeviceToHost, stream_.s), "read_flat");
      stage += n;
    }
    cuda_ok(cudaStreamSynchronize(stream_.s), "cudaStreamSynchronize");
    out.assign(flat_staging_->p, stage);
  }
  // Ordered before the next kernel on the stream (the step that reads the gradients);
  // synchronised so the staging buffer is free again when this returns.
  void write_flat(Flat what, const std::vector<float>& in) override {
    const auto parts = net_->parts(part_of(what));
    if (static_cast<std::int64_t>(in.size()) != floats(parts))
      throw std::invalid_argument("write_flat: " + std::to_string(in.size()) + " floats for a part of " +
                                  std::to_string(floats(parts)));
    std::copy(in.begin(), in.end(), flat_staging_->p);
    const float* stage = flat_staging_->p;
    for (const auto& [dev, n] : parts) {
      cuda_ok(cudaMemcpyAsync(dev, stage, n * sizeof(float), cudaMemcpyHostToDevice, stream_.s),
              "write_flat");
      stage += n;
    }
    cuda_ok(cudaStreamSynchronize(stream_.s), "cudaStreamSynchronize");
  }

 private:
  static GpuCnn::Part part_of(Flat f) {
    return f == Flat::params  ? GpuCnn::Part::params
           : f == Flat::grads ? GpuCnn::Part::grads
                              : GpuCnn::Part::buffers;
  }
  static std::int64_t floats(const std::vector<std::pair<float*, std::int64_t>>& parts) {
    std::int64_t n = 0;
    for (const auto& p : parts) n += p.second;
    return n;
  }

  CurrentDevice device_;
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
  std::unique_ptr<Pinned<float>> flat_staging_;  // the largest flat part (params = grads ≥ buffers)
  std::vector<float> host_logits_;
};

}  // namespace

std::unique_ptr<Engine> make_cudnn_engine(SimpleCnn& model, const EngineConfig& c) {
  return std::make_unique<CudnnEngine>(model, c);
}

}  // namespace mixup::nn
