#include "gpu_cnn.hpp"

#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.cuh"

namespace mixup::nn {
namespace {

void cuda_ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}
void cudnn_ok(cudnnStatus_t s, const char* what) {
  if (s != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(s));
}
#define CU(x) cuda_ok((x), #x)
#define DNN(x) cudnn_ok((x), #x)

struct DeviceArray {
  float* p = nullptr;
  std::int64_t n = 0;
  void alloc(std::int64_t count) {
    n = count;
    CU(cudaMalloc(reinterpret_cast<void**>(&p), static_cast<std::size_t>(count) * sizeof(float)));
    CU(cudaMemset(p, 0, static_cast<std::size_t>(count) * sizeof(float)));
  }
  ~DeviceArray() { cudaFree(p); }
};

// Descriptors and algorithms of one conv for one batch size.
struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
};

struct Layer {
  std::int64_t in_ch, out_ch, k, stride, pad, in_h, in_w, out_h, out_w;
  DeviceArray w, b, gw, gb, mw, vw, mb, vb, act;
  cudnnFilterDescriptor_t wdesc = nullptr;
  cudnnTensorDescriptor_t bdesc = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  std::map<std::int64_t, Plan> plans;
};

}  // namespace

struct GpuCnn::Impl {
  cudaStream_t stream;
  cudnnHandle_t dnn = nullptr;
  std::int64_t max_batch, n = 0;
  bool last_relu;
  std::vector<Layer> layers;
  DeviceArray logits, grad_a, grad_b;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
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
    cudaFree(workspace);
    if (dnn) cudnnDestroy(dnn);
  }

  void need_workspace(std::size_t bytes) {
    if (bytes <= workspace_bytes) return;
    cudaFree(workspace);
    workspace = nullptr;
    CU(cudaMalloc(&workspace, bytes));
    workspace_bytes = bytes;
  }

  // Algorithms chosen once per batch size: the fastest cuDNN reports that fits.
  Plan& plan(Layer& l, std::int64_t batch) {
    auto it = l.plans.find(batch);
    if (it != l.plans.end()) return it->second;
    Plan p;
    DNN(cudnnCreateTensorDescriptor(&p.x));
    DNN(cudnnCreateTensorDescriptor(&p.y));
    DNN(cudnnSetTensor4dDescriptor(p.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(batch), static_cast<int>(l.in_ch),
                                   static_cast<int>(l.in_h), static_cast<int>(l.in_w)));
    DNN(cudnnSetTensor4dDescriptor(p.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(batch), static_cast<int>(l.out_ch),
                                   static_cast<int>(l.out_h), static_cast<int>(l.out_w)));
    int got = 0;
    cudnnConvolutionFwdAlgoPerf_t f[8];
    DNN(cudnnGetConvolutionForwardAlgorithm_v7(dnn, p.x, l.wdesc, l.conv, p.y, 8, &got, f));
    if (got < 1 || f[0].status != CUDNN_STATUS_SUCCESS) throw std::runtime_error("cuDNN has no forward algorithm for this shape");
    p.fwd = f[0].algo;
    cudnnConvolutionBwdDataAlgoPerf_t d[8];
    DNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(dnn, l.wdesc, p.y, l.conv, p.x, 8, &got, d));
    if (got < 1 || d[0].status != CUDNN_STATUS_SUCCESS) throw std::runtime_error("cuDNN has no backward-data algorithm");
    p.bwd_data = d[0].algo;
    cudnnConvolutionBwdFilterAlgoPerf_t w[8];
    DNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(dnn, p.x, p.y, l.conv, l.wdesc, 8, &got, w));
    if (got < 1 || w[0].status != CUDNN_STATUS_SUCCESS) throw std::runtime_error("cuDNN has no backward-filter algorithm");
    p.bwd_filter = w[0].algo;
    std::size_t a = 0, b = 0, c = 0;
    DNN(cudnnGetConvolutionForwardWorkspaceSize(dnn, p.x, l.wdesc, l.conv, p.y, p.fwd, &a));
    DNN(cudnnGetConvolutionBackwardDataWorkspaceSize(dnn, l.wdesc, p.y, l.conv, p.x, p.bwd_data, &b));
    DNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(dnn, p.x, p.y, l.conv, l.wdesc, p.bwd_filter, &c));
    need_workspace(std::max({a, b, c}));
    return l.plans.emplace(batch, p).first->second;
  }
};

GpuCnn::GpuCnn(const SimpleCnn& model, std::int64_t max_batch, std::int64_t height, std::int64_t width, cudaStream_t stream)
    : impl_(std::make_unique<Impl>()) {
  if (model.batch_norm()) throw std::runtime_error("the GPU trainer has no BatchNorm yet (use --bn off or --device cpu)");
  Impl& m = *impl_;
  m.stream = stream;
  m.max_batch = max_batch;
  m.last_relu = model.last_relu();
  DNN(cudnnCreate(&m.dnn));
  DNN(cudnnSetStream(m.dnn, stream));
  std::int64_t h = height, w = width;
  m.layers.resize(model.layers().size());
  std::int64_t biggest = 0;
  for (std::size_t i = 0; i < model.layers().size(); ++i) {
    const Conv2d& c = model.layers()[i];
    Layer& l = m.layers[i];
    l.in_ch = c.in_ch, l.out_ch = c.out_ch, l.k = c.kernel, l.stride = c.stride, l.pad = c.pad, l.in_h = h, l.in_w = w;
    l.out_h = (h + 2 * c.pad - c.kernel) / c.stride + 1;
    l.out_w = (w + 2 * c.pad - c.kernel) / c.stride + 1;
    h = l.out_h, w = l.out_w;
    DNN(cudnnCreateFilterDescriptor(&l.wdesc));
    DNN(cudnnSetFilter4dDescriptor(l.wdesc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, static_cast<int>(c.out_ch), static_cast<int>(c.in_ch),
                                   static_cast<int>(c.kernel), static_cast<int>(c.kernel)));
    DNN(cudnnCreateTensorDescriptor(&l.bdesc));
    DNN(cudnnSetTensor4dDescriptor(l.bdesc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, static_cast<int>(c.out_ch), 1, 1));
    DNN(cudnnCreateConvolutionDescriptor(&l.conv));
    DNN(cudnnSetConvolution2dDescriptor(l.conv, static_cast<int>(c.pad), static_cast<int>(c.pad), static_cast<int>(c.stride),
                                        static_cast<int>(c.stride), 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    for (DeviceArray* a : {&l.w, &l.gw, &l.mw, &l.vw}) a->alloc(static_cast<std::int64_t>(c.weight.size()));
    for (DeviceArray* a : {&l.b, &l.gb, &l.mb, &l.vb}) a->alloc(c.out_ch);
    CU(cudaMemcpy(l.w.p, c.weight.data(), c.weight.size() * sizeof(float), cudaMemcpyHostToDevice));
    CU(cudaMemcpy(l.b.p, c.bias.data(), c.bias.size() * sizeof(float), cudaMemcpyHostToDevice));
    l.act.alloc(max_batch * l.out_ch * l.out_h * l.out_w);
    biggest = std::max(biggest, max_batch * std::max(l.in_ch * l.in_h * l.in_w, l.out_ch * l.out_h * l.out_w));
  }
  m.logits.alloc(max_batch * model.classes());
  m.grad_a.alloc(biggest);
  m.grad_b.alloc(biggest);
}

GpuCnn::~GpuCnn() = default;

std::int64_t GpuCnn::classes() const { return impl_->layers.back().out_ch; }

const float* GpuCnn::forward(const float* d_x, std::int64_t n) {
  Impl& m = *impl_;
  if (n < 1 || n > m.max_batch) throw std::runtime_error("GpuCnn: batch outside [1, max_batch]");
  m.n = n;
  m.input = d_x;
  const float one = 1.0f, zero = 0.0f;
  const float* cur = d_x;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    Layer& l = m.layers[i];
    Plan& p = m.plan(l, n);
    DNN(cudnnConvolutionForward(m.dnn, &one, p.x, cur, l.wdesc, l.w.p, l.conv, p.fwd, m.workspace, m.workspace_bytes, &zero, p.y, l.act.p));
    DNN(cudnnAddTensor(m.dnn, &one, l.bdesc, l.b.p, &one, p.y, l.act.p));
    if (i + 1 < m.layers.size() || m.last_relu) CU(gpu::relu_forward(l.act.p, n * l.out_ch * l.out_h * l.out_w, m.stream));
    cur = l.act.p;
  }
  const Layer& last = m.layers.back();
  CU(gpu::avgpool_forward(cur, n * last.out_ch, last.out_h * last.out_w, m.logits.p, m.stream));
  return m.logits.p;
}

void GpuCnn::backward(const float* d_dlogits) {
  Impl& m = *impl_;
  const float one = 1.0f, zero = 0.0f;
  const std::int64_t n = m.n;
  const std::size_t L = m.layers.size();
  {
    const Layer& last = m.layers.back();
    CU(gpu::avgpool_backward(d_dlogits, n * last.out_ch, last.out_h * last.out_w, m.grad_a.p, m.stream));
  }
  float* g = m.grad_a.p;
  float* g_prev = m.grad_b.p;
  for (std::size_t i = L; i-- > 0;) {
    Layer& l = m.layers[i];
    Plan& p = m.plan(l, n);
    if (i + 1 < L || m.last_relu) CU(gpu::relu_backward(l.act.p, g, n * l.out_ch * l.out_h * l.out_w, m.stream));
    const float* in = i == 0 ? m.input : m.layers[i - 1].act.p;
    DNN(cudnnConvolutionBackwardFilter(m.dnn, &one, p.x, in, p.y, g, l.conv, p.bwd_filter, m.workspace, m.workspace_bytes, &zero,
                                       l.wdesc, l.gw.p));
    DNN(cudnnConvolutionBackwardBias(m.dnn, &one, p.y, g, &zero, l.bdesc, l.gb.p));
    if (i > 0) {
      DNN(cudnnConvolutionBackwardData(m.dnn, &one, l.wdesc, l.w.p, p.y, g, l.conv, p.bwd_data, m.workspace, m.workspace_bytes,
                                       &zero, p.x, g_prev));
      std::swap(g, g_prev);
    }
  }
}

void GpuCnn::adamw_step(float lr, float beta1, float beta2, float eps, float weight_decay) {
  Impl& m = *impl_;
  ++m.t;
  const float c1 = 1.0f - std::pow(beta1, static_cast<float>(m.t)), c2 = 1.0f - std::pow(beta2, static_cast<float>(m.t));
  for (Layer& l : m.layers) {
    CU(gpu::adamw(l.w.p, l.gw.p, l.mw.p, l.vw.p, l.w.n, lr, beta1, beta2, eps, weight_decay, c1, c2, m.stream));
    CU(gpu::adamw(l.b.p, l.gb.p, l.mb.p, l.vb.p, l.b.n, lr, beta1, beta2, eps, weight_decay, c1, c2, m.stream));
  }
}

void GpuCnn::download(SimpleCnn& model) const {
  const Impl& m = *impl_;
  CU(cudaStreamSynchronize(m.stream));
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    Conv2d& c = model.layers()[i];
    CU(cudaMemcpy(c.weight.data(), m.layers[i].w.p, c.weight.size() * sizeof(float), cudaMemcpyDeviceToHost));
    CU(cudaMemcpy(c.bias.data(), m.layers[i].b.p, c.bias.size() * sizeof(float), cudaMemcpyDeviceToHost));
  }
}

}  // namespace mixup::nn
