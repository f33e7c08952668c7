// One batch on its way through a training or validation step: what the loader gave, the
// network input, the stacked targets, and where the engine keeps them on the device.
#pragma once

#include <cstdint>
#include <vector>

namespace mixup::nn {

struct BatchState {
  bool train = false;
  std::int64_t n = 0, h = 0, w = 0;  // batch size and image size
  std::vector<std::uint8_t> images;  // as loaded
  std::vector<std::int32_t> labels;
  std::vector<float> x;  // network input, normalised (and mixed, in training with mixup)
  std::vector<std::int32_t> y_a, y_b;
  std::vector<float> lam;
  bool mixed = false;     // set by whoever wrote a mixed x and stacked targets
  std::int32_t rank = 0;  // data-parallel: the (logical) rank whose micro-batch this is: mixup's salt
  float loss = 0.0f;
  // On the GPU path the batch lives on the device too (the vectors above hold the host side
  // of images and labels only); these point at the engine's device buffers.
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

}  // namespace mixup::nn
