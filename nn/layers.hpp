// The trainer's layers on the CPU: a 2-D convolution (im2col of several images side by side,
// register-blocked GEMMs in gemm.cpp, the batch split over the thread pool, filter gradients
// summed in a fixed order so training is reproducible whatever the thread count), ReLU,
// adaptive average pooling to 1×1, and fastai v1's simple_cnn built from them. Activations
// are float32, NCHW.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace mixup::detail {
class ThreadPool;
}

namespace mixup::nn {

struct Shape4 {
  std::int64_t n, c, h, w;
  std::int64_t size() const { return n * c * h * w; }
  std::int64_t per_sample() const { return c * h * w; }
};

// out = conv(in, weight [O, I, k, k]) + bias [O], square kernel, stride s, padding k/2.
struct Conv2d {
  std::int64_t in_ch, out_ch, kernel, stride, pad;
  std::vector<float> weight, bias, grad_weight, grad_bias;

  Conv2d(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t s);
  Shape4 output_shape(const Shape4& in) const;
  // keep_patches: the im2col matrices are kept for the next backward with the same input
  // pointer and shape, which then skips building them again (the input must not change in
  // between). The output is the same either way.
  void forward(const float* in, const Shape4& s, float* out, detail::ThreadPool& pool,
               bool keep_patches = false) const;
  // Accumulates grad_weight / grad_bias (zero them first) and writes d_in (if not null).
  void backward(const float* in, const Shape4& s, const float* d_out, float* d_in, detail::ThreadPool& pool);

 private:
  void patches(const float* in, const Shape4& s, std::int64_t n0, std::int64_t cnt, std::int64_t ld,
               float* col, float* padded) const;
  mutable std::vector<float> patch_cache_;
  mutable const float* patches_of_ = nullptr;
  mutable Shape4 patches_shape_{};
};

// Batch normalisation over (N, H, W) per channel, PyTorch's conventions: biased variance for
// normalising, unbiased for the running estimate, momentum 0.1, ε = 1e-5.
struct BatchNorm2d {
  std::int64_t channels;
  float eps = 1e-5f, momentum = 0.1f;
  std::vector<float> gamma, beta, grad_gamma, grad_beta, running_mean, running_var;
  explicit BatchNorm2d(std::int64_t c)
      : channels(c), gamma(c, 1.0f), beta(c, 0.0f), grad_gamma(c), grad_beta(c), running_mean(c, 0.0f),
        running_var(c, 1.0f) {}
  // train: batch statistics (and the running ones updated); otherwise the running ones.
  void forward(const float* x, const Shape4& s, float* y, bool train);
  // After a training forward: accumulates grad_gamma / grad_beta, writes dx.
  void backward(const Shape4& s, const float* dy, float* dx);

 private:
  std::vector<float> xhat_, inv_std_;
};

void relu_forward(float* x, std::int64_t n);
void relu_backward(const float* y, float* dy, std::int64_t n);  // y: the ReLU's output
// [N, C, H, W] → [N, C]
void avgpool_forward(const float* in, const Shape4& s, float* out);
void avgpool_backward(const float* d_out, const Shape4& s, float* d_in);

// Kaiming-uniform (fan_in, a = √5 as PyTorch's default conv init) from a seed.
void kaiming_uniform(Conv2d& conv, std::uint64_t seed);
// fastai v1's conv init: kaiming_normal_ (fan_in, gain √2, std = √(2 / fan_in)) and a zero bias.
void kaiming_normal(Conv2d& conv, std::uint64_t seed);

// fastai v1 simple_cnn(actns, kernel_szs, strides, bn): conv + ReLU for each pair of channel
// counts (ReLU after the last one too, unless last_relu is false), with bn a BatchNorm after
// the ReLU of every conv but the last (fastai v1's conv_layer order), then average pool and
// flatten to [N, actns.back()].
class SimpleCnn {
 public:
  SimpleCnn(const std::vector<std::int64_t>& actns, const std::vector<std::int64_t>& kernels,
            const std::vector<std::int64_t>& strides, bool last_relu, std::uint64_t seed, bool bn = false);
  std::int64_t classes() const { return convs_.back().out_ch; }
  // logits [N, classes]; keeps what backward needs.
  // train selects BatchNorm's batch statistics (no effect without bn).
  const std::vector<float>& forward(const float* x, const Shape4& s, detail::ThreadPool& pool,
                                    bool train = true);
  // from dL/dlogits: fills every layer's gradient
  void backward(const float* d_logits, detail::ThreadPool& pool);
  std::vector<Conv2d>& layers() { return convs_; }
  const std::vector<Conv2d>& layers() const { return convs_; }
  bool last_relu() const { return last_relu_; }
  bool batch_norm() const { return !bns_.empty(); }
  std::vector<BatchNorm2d>& norms() { return bns_; }
  const std::vector<BatchNorm2d>& norms() const { return bns_; }
  std::vector<std::int64_t> spec() const;  // actns

 private:
  std::vector<Conv2d> convs_;
  std::vector<BatchNorm2d> bns_;  // one per conv but the last, when bn
  bool last_relu_;
  Shape4 in_shape_{};
  const float* input_ = nullptr;
  std::vector<Shape4> shapes_;              // output shape of each conv
  std::vector<std::vector<float>> acts_;    // output of each conv (after ReLU where there is one)
  std::vector<std::vector<float>> normed_;  // output of each BatchNorm
  std::vector<float> logits_, grad_a_, grad_b_;
};

}  // namespace mixup::nn
