#include "gpu_cnn.hpp"

#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_check.hpp"
#include "device_tensor.hpp"
#include "kernels.cuh"

namespace mixup::nn {
namespace {

void cudnn_ok(cudnnStatus_t s, const char* what) {
  if (s != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(s));
}
#define CU(x) cuda_ok((x), #x)
#define DNN(x) cudnn_ok((x), #x)

DeviceTensor f32(std::vector<std::int64_t> shape) { return DeviceTensor(std::move(shape), ElemType::f32); }

// Parameter, gradient and AdamW's two moments.
struct Param {
  DeviceTensor value, grad, m, v;
  explicit Param(const std::vector<float>& host) {
    const std::vector<std::int64_t> shape{static_cast<std::int64_t>(host.size())};
    value = f32(shape), grad = f32(shape), m = f32(shape), v = f32(shape);
    value.upload(host.data());
  }
};

// Descriptors and algorithms of one conv for one batch size.
struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
};

struct Norm {
  Param gamma, beta;
  DeviceTensor running_mean, running_var, save_mean, save_inv_std, out;
  float eps, momentum;
  explicit Norm(const BatchNorm2d& bn, std::int64_t out_elems)
      : gamma(bn.gamma), beta(bn.beta), running_mean(f32({bn.channels})), running_var(f32({bn.channels})),
        save_mean(f32({bn.channels})), save_inv_std(f32({bn.channels})), out(f32({out_elems})), eps(bn.eps),
        momentum(bn.momentum) {
    running_mean.upload(bn.running_mean.data());
    running_var.upload(bn.running_var.data());
  }
};

struct Layer {
  std::int64_t in_ch, out_ch, k, stride, pad, in_h, in_w, out_h, out_w;
  Param w, b;
  DeviceTensor act;  // conv output, after the ReLU where there is one
  std::unique_ptr<Norm> norm;
  cudnnFilterDescriptor_t wdesc = nullptr;
  cudnnTensorDescriptor_t bdesc = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  std::map<std::int64_t, Plan> plans;
  Layer(const Conv2d& c, std::int64_t h, std::int64_t wd)
      : in_ch(c.in_ch), out_ch(c.out_ch), k(c.kernel), stride(c.stride), pad(c.pad), in_h(h), in_w(wd),
        out_h((h + 2 * c.pad - c.kernel) / c.stride + 1), out_w((wd + 2 * c.pad - c.kernel) / c.stride + 1),
        w(c.weight), b(c.bias) {}
  Layer(Layer&&) = default;
  std::int64_t out_elems(std::int64_t n) const { return n * out_ch * out_h * out_w; }
  // What the next layer reads: the BatchNorm's output where there is one.
  const float* output() const { return norm ? norm->out.as<float>() : act.as<float>(); }
};

}  // namespace

struct GpuCnn::Impl {
  cudaStream_t stream;
  cudnnHandle_t dnn = nullptr;
  std::int64_t max_batch, n = 0;
  bool last_relu;
  std::vector<Layer> layers;
  DeviceTensor logits, grad_a, grad_b, workspace;
  const float* input = nullptr;
  std::int64_t t = 0;  // AdamW steps

  ~Impl() {
    for (Layer& l : layers) {
      for (auto& kv : l.plans) {
        cudnnDestroyTensorDescriptor(kv.second.x);
        cudnnDestroyTensorDescriptor(kv.second.y);
      }
      cudnnDestroyFilterDescriptor(l.wdesc);
      cudnnDestroyTensorDescriptor(l.bdesc);
      cudnnDestroyConvolutionDescriptor(l.conv);
    }
    if (dnn) cudnnDestroy(dnn);
  }

  void need_workspace(std::size_t bytes) {
    if (bytes <= workspace.bytes()) return;
    // Convs already queued with the old buffer finish before it is freed (said, not left to
    // cudaFree's implicit synchronisation); this happens only on a new batch size.
    CU(cudaStreamSynchronize(stream));
    workspace = DeviceTensor({static_cast<std::int64_t>(bytes)}, ElemType::u8);
  }

  // Algorithms chosen once per batch size: the first cuDNN ranks (fastest first) that ran,
  // uses plain FP32 math (no tensor-op conversion: the CPU comparison holds), needs at most
  // kMaxWorkspace of workspace and, where one such is deterministic, a deterministic one (same
  // bits run to run; the backward-filter ones with atomics are not). None qualifying: an error
  // naming the call.
  static constexpr std::size_t kMaxWorkspace = std::size_t{256} << 20;
  template <class Perf>
  static auto pick(const Perf* perf, int got, const char* what) {
    for (const bool deterministic : {true, false})
      for (int i = 0; i < got; ++i) {
        const Perf& a = perf[i];
        if (a.status == CUDNN_STATUS_SUCCESS && a.memory <= kMaxWorkspace &&
            (a.mathType == CUDNN_DEFAULT_MATH || a.mathType == CUDNN_FMA_MATH) &&
            (!deterministic || a.determinism == CUDNN_DETERMINISTIC))
          return a.algo;
      }
    throw std::runtime_error(std::string("cuDNN has no ") + what + " algorithm for this shape within " +
                             std::to_string(kMaxWorkspace >> 20) + " MiB of workspace");
  }

  // A plan's descriptors are owned here until the plan is stored: a step that throws (a
  // shape cuDNN refuses, no algorithm, the workspace's allocation) frees them.
  struct PlanOwner {
    Plan p;
    bool kept = false;
    ~PlanOwner() {
      if (kept) return;
      if (p.x) cudnnDestroyTensorDescriptor(p.x);
      if (p.y) cudnnDestroyTensorDescriptor(p.y);
    }
  };

  Plan& plan(Layer& l, std::int64_t batch) {
    auto it = l.plans.find(batch);
    if (it != l.plans.end()) return it->second;
    PlanOwner owner;
    Plan& p = owner.p;
    DNN(cudnnCreateTensorDescriptor(&p.x));
    DNN(cudnnCreateTensorDescriptor(&p.y));
    DNN(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(batch),
                                   static_cast<int>(l.in_ch), static_cast<int>(l.in_h),
                                   static_cast<int>(l.in_w)));
    DNN(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(batch),
                                   static_cast<int>(l.out_ch), static_cast<int>(l.out_h),
                                   static_cast<int>(l.out_w)));
    int got = 0;
    cudnnConvolutionFwdAlgoPerf_t f[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    DNN(cudnnGetConvolutionForwardAlgorithm_v7(dnn, p.x, l.wdesc, l.conv, p.y,
                                               CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, f));
    p.fwd = pick(f, got, "forward");
    cudnnConvolutionBwdDataAlgoPerf_t d[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    DNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(dnn, l.wdesc, p.y, l.conv, p.x,
                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, d));
    p.bwd_data = pick(d, got, "backward-data");
    cudnnConvolutionBwdFilterAlgoPerf_t w[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    DNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(dnn, p.x, p.y, l.conv, l.wdesc,
                                                      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, w));
    p.bwd_filter = pick(w, got, "backward-filter");
    std::size_t a = 0, b = 0, c = 0;
    DNN(cudnnGetConvolutionForwardWorkspaceSize(dnn, p.x, l.wdesc, l.conv, p.y, p.fwd, &a));
    DNN(cudnnGetConvolutionBackwardDataWorkspaceSize(dnn, l.wdesc, p.y, l.conv, p.x, p.bwd_data, &b));
    DNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(dnn, p.x, p.y, l.conv, l.wdesc, p.bwd_filter, &c));
    need_workspace(std::max({a, b, c}));
    Plan& kept = l.plans.emplace(batch, p).first->second;
    owner.kept = true;
    return kept;
  }
};

GpuCnn::GpuCnn(const SimpleCnn& model, std::int64_t max_batch, std::int64_t height, std::int64_t width,
               cudaStream_t stream)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.stream = stream;
  m.max_batch = max_batch;
  m.last_relu = model.last_relu();
  DNN(cudnnCreate(&m.dnn));
  DNN(cudnnSetStream(m.dnn, stream));
  std::int64_t h = height, w = width, biggest = 0;
  m.layers.reserve(model.layers().size());
  for (std::size_t i = 0; i < model.layers().size(); ++i) {
    const Conv2d& c = model.layers()[i];
    Layer& l = m.layers.emplace_back(c, h, w);
    h = l.out_h, w = l.out_w;
    DNN(cudnnCreateFilterDescriptor(&l.wdesc));
    DNN(cudnnSetFilter4dDescriptor(l.wdesc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, static_cast<int>(c.out_ch),
                                   static_cast<int>(c.in_ch), static_cast<int>(c.kernel),
                                   static_cast<int>(c.kernel)));
    DNN(cudnnCreateTensorDescriptor(&l.bdesc));
    DNN(cudnnSetTensor4dDescriptor(l.bdesc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1,
                                   static_cast<int>(c.out_ch), 1, 1));
    DNN(cudnnCreateConvolutionDescriptor(&l.conv));
    DNN(cudnnSetConvolution2dDescriptor(l.conv, static_cast<int>(c.pad), static_cast<int>(c.pad),
                                        static_cast<int>(c.stride), static_cast<int>(c.stride), 1, 1,
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    // Plain FP32 arithmetic: cuDNN's default lets FP32 convolutions use TF32 tensor cores on
    // Ampere and later (10-bit mantissas), which the CPU path and its tests would not match.
    DNN(cudnnSetConvolutionMathType(l.conv, CUDNN_FMA_MATH));
    l.act = f32({max_batch, l.out_ch, l.out_h, l.out_w});
    if (i < model.norms().size()) l.norm = std::make_unique<Norm>(model.norms()[i], l.out_elems(max_batch));
    biggest = std::max(biggest,
                       max_batch * std::max(l.in_ch * l.in_h * l.in_w, l.out_ch * l.out_h * l.out_w));
  }
  m.logits = f32({max_batch, model.classes()});
  m.grad_a = f32({biggest});
  m.grad_b = f32({biggest});
}

GpuCnn::~GpuCnn() = default;

std::int64_t GpuCnn::classes() const { return impl_->layers.back().out_ch; }

const float* GpuCnn::forward(const float* d_x, std::int64_t n, bool train) {
  Impl& m = *impl_;
  if (n < 1 || n > m.max_batch) throw std::runtime_error("GpuCnn: batch outside [1, max_batch]");
  m.n = n;
  m.input = d_x;
  const float one = 1.0f, zero = 0.0f;
  const float* cur = d_x;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    Layer& l = m.layers[i];
    Plan& p = m.plan(l, n);
    float* act = l.act.as<float>();
    DNN(cudnnConvolutionForward(m.dnn, &one, p.x, cur, l.wdesc, l.w.value.as<float>(), l.conv, p.fwd,
                                m.workspace.data(), m.workspace.bytes(), &zero, p.y, act));
    DNN(cudnnAddTensor(m.dnn, &one, l.bdesc, l.b.value.as<float>(), &one, p.y, act));
    if (i + 1 < m.layers.size() || m.last_relu) CU(gpu::relu_forward(act, l.out_elems(n), m.stream));
    if (Norm* bn = l.norm.get()) {
      const std::int64_t hw = l.out_h * l.out_w;
      if (train)
        CU(gpu::batchnorm_forward_train(act, n, l.out_ch, hw, bn->gamma.value.as<float>(),
                                        bn->beta.value.as<float>(), bn->eps, bn->momentum,
                                        bn->out.as<float>(), bn->save_mean.as<float>(),
                                        bn->save_inv_std.as<float>(), bn->running_mean.as<float>(),
                                        bn->running_var.as<float>(), m.stream));
      else
        CU(gpu::batchnorm_forward_eval(act, n, l.out_ch, hw, bn->gamma.value.as<float>(),
                                       bn->beta.value.as<float>(), bn->running_mean.as<float>(),
                                       bn->running_var.as<float>(), bn->eps, bn->out.as<float>(), m.stream));
    }
    cur = l.output();
  }
  const Layer& last = m.layers.back();
  CU(gpu::avgpool_forward(cur, n * last.out_ch, last.out_h * last.out_w, m.logits.as<float>(), m.stream));
  return m.logits.as<float>();
}

void GpuCnn::backward(const float* d_dlogits) {
  Impl& m = *impl_;
  const float one = 1.0f, zero = 0.0f;
  const std::int64_t n = m.n;
  const std::size_t L = m.layers.size();
  float* g = m.grad_a.as<float>();
  float* g_prev = m.grad_b.as<float>();
  {
    const Layer& last = m.layers.back();
    CU(gpu::avgpool_backward(d_dlogits, n * last.out_ch, last.out_h * last.out_w, g, m.stream));
  }
  for (std::size_t i = L; i-- > 0;) {
    Layer& l = m.layers[i];
    Plan& p = m.plan(l, n);
    if (Norm* bn = l.norm.get()) {  // g is dL/d(BatchNorm output): through the BatchNorm first
      CU(gpu::batchnorm_backward(l.act.as<float>(), g, n, l.out_ch, l.out_h * l.out_w,
                                 bn->gamma.value.as<float>(), bn->save_mean.as<float>(),
                                 bn->save_inv_std.as<float>(), g_prev, bn->gamma.grad.as<float>(),
                                 bn->beta.grad.as<float>(), m.stream));
      std::swap(g, g_prev);
    }
    if (i + 1 < L || m.last_relu) CU(gpu::relu_backward(l.act.as<float>(), g, l.out_elems(n), m.stream));
    const float* in = i == 0 ? m.input : m.layers[i - 1].output();
    DNN(cudnnConvolutionBackwardFilter(m.dnn, &one, p.x, in, p.y, g, l.conv, p.bwd_filter, m.workspace.data(),
                                       m.workspace.bytes(), &zero, l.wdesc, l.w.grad.as<float>()));
    DNN(cudnnConvolutionBackwardBias(m.dnn, &one, p.y, g, &zero, l.bdesc, l.b.grad.as<float>()));
    if (i > 0) {
      DNN(cudnnConvolutionBackwardData(m.dnn, &one, l.wdesc, l.w.value.as<float>(), p.y, g, l.conv,
                                       p.bwd_data, m.workspace.data(), m.workspace.bytes(), &zero, p.x,
                                       g_prev));
      std::swap(g, g_prev);
    }
  }
}

void GpuCnn::adamw_step(float lr, float beta1, float beta2, float eps, float weight_decay) {
  Impl& m = *impl_;
  ++m.t;
  const float c1 = 1.0f - std::pow(beta1, static_cast<float>(m.t)),
              c2 = 1.0f - std::pow(beta2, static_cast<float>(m.t));
  const auto step = [&](Param& p) {
    CU(gpu::adamw(p.value.as<float>(), p.grad.as<float>(), p.m.as<float>(), p.v.as<float>(), p.value.numel(),
                  lr, beta1, beta2, eps, weight_decay, c1, c2, m.stream));
  };
  for (Layer& l : m.layers) {
    step(l.w), step(l.b);
    if (l.norm) step(l.norm->gamma), step(l.norm->beta);
  }
}

std::vector<std::pair<float*, std::int64_t>> GpuCnn::parts(Part what) {
  std::vector<std::pair<float*, std::int64_t>> out;
  const auto add = [&](DeviceTensor& t) { out.emplace_back(t.as<float>(), t.numel()); };
  const auto param = [&](Param& p) { add(what == Part::grads ? p.grad : p.value); };
  if (what != Part::buffers)
    for (Layer& l : impl_->layers) param(l.w), param(l.b);
  for (Layer& l : impl_->layers) {
    if (!l.norm) continue;
    if (what == Part::buffers) add(l.norm->running_mean), add(l.norm->running_var);
    else param(l.norm->gamma), param(l.norm->beta);
  }
  return out;
}

void GpuCnn::download(SimpleCnn& model) const {
  const Impl& m = *impl_;
  CU(cudaStreamSynchronize(m.stream));
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const Layer& l = m.layers[i];
    m.layers[i].w.value.download(model.layers()[i].weight.data());
    m.layers[i].b.value.download(model.layers()[i].bias.data());
    if (l.norm) {
      BatchNorm2d& bn = model.norms()[i];
      l.norm->gamma.value.download(bn.gamma.data());
      l.norm->beta.value.download(bn.beta.data());
      l.norm->running_mean.download(bn.running_mean.data());
      l.norm->running_var.download(bn.running_var.data());
    }
  }
}

void GpuCnn::download_gradients(SimpleCnn& model) const {
  const Impl& m = *impl_;
  CU(cudaStreamSynchronize(m.stream));
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const Layer& l = m.layers[i];
    l.w.grad.download(model.layers()[i].grad_weight.data());
    l.b.grad.download(model.layers()[i].grad_bias.data());
    if (l.norm) {
      l.norm->gamma.grad.download(model.norms()[i].grad_gamma.data());
      l.norm->beta.grad.download(model.norms()[i].grad_beta.data());
    }
  }
}

}  // namespace mixup::nn
