// simple_cnn on the GPU: cuDNN convolutions (forward, backward data, backward filter, bias),
// small kernels for ReLU, average pooling and the fused AdamW step. Convolution algorithms are
// chosen once per batch size (cudnnGet*Algorithm_v7) and the largest workspace is kept.
// BatchNorm (simple_cnn(bn=True)) runs as small kernels with the CPU layer's conventions. The
// host SimpleCnn stays the master copy for initialisation and checkpoints (upload / download).
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>

#include "layers.hpp"

namespace mixup::nn {

class GpuCnn {
 public:
  GpuCnn(const SimpleCnn& model, std::int64_t max_batch, std::int64_t height, std::int64_t width,
         cudaStream_t stream);
  ~GpuCnn();
  GpuCnn(const GpuCnn&) = delete;
  GpuCnn& operator=(const GpuCnn&) = delete;

  // d_x: [n, in_ch, h, w] on the device; returns the device logits [n, classes]. train picks
  // BatchNorm's batch statistics (and updates the running ones); no effect without BatchNorm.
  const float* forward(const float* d_x, std::int64_t n, bool train = true);
  // From dL/dlogits (device), after a training forward: every parameter's gradient, on the device.
  void backward(const float* d_dlogits);
  // p ← p − lr·wd·p − lr·m̂/(√v̂ + ε) for every parameter (one kernel per tensor).
  void adamw_step(float lr, float beta1, float beta2, float eps, float weight_decay);
  // Parameters and BatchNorm running statistics into the host model (checkpoints).
  void download(SimpleCnn& model) const;
  // The last backward's gradients into the host model's grad_* (tests, debugging).
  void download_gradients(SimpleCnn& model) const;
  std::int64_t classes() const;

  // The device buffers of one part of the model, in the CPU engine's flat order
  // (nn/cpu_engine.cpp, Engine::Flat): params and grads are each conv's weight and bias, then
  // each BatchNorm's γ and β; buffers are each BatchNorm's running mean, then its variance.
  // (pointer, floats) pairs; the engine copies them on its stream.
  enum class Part { params, grads, buffers };
  std::vector<std::pair<float*, std::int64_t>> parts(Part what);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mixup::nn
