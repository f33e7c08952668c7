#include "learner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "gpu/cuda_check.hpp"
#include "mixup/loss.hpp"
#include "mixup/mixup.hpp"
#include "thread_pool.hpp"
#if MIXUP_NN_HAS_CUDNN
#include "gpu/device_tensor.hpp"
#include "gpu/gpu_cnn.hpp"
#include "gpu/kernels.cuh"
#endif

namespace mixup::nn {

// Everything the GPU path owns: the model on the device, the batch's device buffers (filled
// from pinned staging with async copies), and the constant λ = 1 / identity arrays that turn
// the mixup op into plain normalisation.
struct Learner::Gpu {
#if MIXUP_NN_HAS_CUDNN
  cudaStream_t stream = nullptr;
  std::unique_ptr<GpuCnn> net;
  DeviceTensor images, labels, ya, yb, iota, x, lam, ones, grad, loss;
  std::uint8_t* pinned_images = nullptr;
  std::int32_t* pinned_labels = nullptr;
  std::vector<float> host_logits;
  ~Gpu() {
    net.reset();
    cudaFreeHost(pinned_images);
    cudaFreeHost(pinned_labels);
    if (stream) cudaStreamDestroy(stream);
  }
#endif
};

namespace {

// The fused loss on the learner's backend: mean reduction, gradient in f32.
float fused_loss(Learner& l, const float* logits, std::int64_t n, std::int64_t classes, const std::int32_t* ya,
                 const std::int32_t* yb, const float* lam, float* grad) {
  float loss = 0.0f;
  mixup_ce_args_t a = mixup_ce_args_default();
  a.logits = logits;
  a.batch = n;
  a.classes = static_cast<std::int32_t>(classes);
  a.y_a = ya;
  a.y_b = yb;
  a.lam = lam;
  a.loss = l.on_gpu() ? l.loss_scratch() : &loss;
  a.grad = grad;
  check(mixup_cross_entropy(l.loss_handle(), &a, l.gpu_stream()));
  if (l.on_gpu()) cuda_ok(cudaMemcpy(&loss, l.loss_scratch(), sizeof loss, cudaMemcpyDeviceToHost), "loss read-back");
  return loss;
}

}  // namespace

float CrossEntropyLoss::operator()(Learner& l, const float* logits, const BatchState& b, float* grad) {
  return fused_loss(l, logits, b.n, l.model().classes(), b.ya_ptr(), nullptr, nullptr, grad);
}

float MixUpLoss::operator()(Learner& l, const float* logits, const BatchState& b, float* grad) {
  if (!b.mixed) return (*original)(l, logits, b, grad);
  return fused_loss(l, logits, b.n, l.model().classes(), b.ya_ptr(), b.yb_ptr(), b.lam_ptr(), grad);
}

Learner::Learner(SimpleCnn& model, ImageSet train, ImageSet valid, LearnerConfig cfg)
    : loss_fn(&default_loss_), model_(model), train_(train), valid_(valid), cfg_(cfg),
      opt_(0.9f, 0.99f, 1e-8f, cfg.weight_decay) {
  const int threads = cfg.threads > 0 ? cfg.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool_ = std::make_unique<detail::ThreadPool>(threads);
  const mixup_backend_t backend = cfg.cuda ? MIXUP_BACKEND_CUDA : MIXUP_BACKEND_CPU;
  mixup_config_t mc = mixup_config_default();
  mc.backend = backend;
  mc.max_batch = static_cast<std::int32_t>(std::max<std::int64_t>(cfg.batch_size, 1024));
  mc.num_classes = static_cast<std::int32_t>(model.classes());
  mc.cpu_threads = threads;
  // On the GPU the device-side label checks are read once per epoch (poll_device_checks), not
  // after every call: a step then has one sync, the loss value's read-back.
  mc.checks = cfg.cuda ? MIXUP_CHECKS_DEFERRED : MIXUP_CHECKS_SYNC;
  check(mixup_create(&mc, &normalizer_));
  check(mixup_set_normalize(normalizer_, &cfg.mean, &cfg.std, 1));
  mixup_loss_config_t lc = mixup_loss_config_default();
  lc.backend = backend;
  lc.max_batch = mc.max_batch;
  lc.cpu_threads = threads;
  lc.checks = mc.checks;
  check(mixup_loss_create(&lc, &loss_handle_));
  if (cfg.cuda) {
#if MIXUP_NN_HAS_CUDNN
    gpu_ = std::make_unique<Gpu>();
    Gpu& g = *gpu_;
    const std::int64_t B = mc.max_batch, px = std::max(train.h * train.w, valid.h * valid.w), C = model.classes();
    cuda_ok(cudaStreamCreate(&g.stream), "cudaStreamCreate");
    g.net = std::make_unique<GpuCnn>(model, B, train.h, train.w, g.stream);
    g.images = DeviceTensor({B, px}, DType::u8);
    for (DeviceTensor* t : {&g.labels, &g.ya, &g.yb, &g.iota}) *t = DeviceTensor({B}, DType::i32);
    g.x = DeviceTensor({B, px}, DType::f32);
    for (DeviceTensor* t : {&g.lam, &g.ones, &g.loss}) *t = DeviceTensor({B}, DType::f32);
    g.grad = DeviceTensor({B, C}, DType::f32);
    cuda_ok(cudaMallocHost(reinterpret_cast<void**>(&g.pinned_images), B * px), "cudaMallocHost");
    cuda_ok(cudaMallocHost(reinterpret_cast<void**>(&g.pinned_labels), B * 4), "cudaMallocHost");
    cuda_ok(gpu::fill(g.ones.as<float>(), B, 1.0f, g.stream), "fill");
    cuda_ok(gpu::iota(g.iota.as<std::int32_t>(), B, g.stream), "iota");
    cuda_ok(cudaStreamSynchronize(g.stream), "cudaStreamSynchronize");
#else
    throw std::runtime_error("this build has no cuDNN: the trainer runs on the CPU only");
#endif
  }
}

Learner::~Learner() {
  mixup_destroy(normalizer_);
  mixup_loss_destroy(loss_handle_);
}

void* Learner::gpu_stream() {
#if MIXUP_NN_HAS_CUDNN
  if (gpu_) return gpu_->stream;
#endif
  return nullptr;
}

float* Learner::loss_scratch() {
#if MIXUP_NN_HAS_CUDNN
  if (gpu_) return gpu_->loss.as<float>();
#endif
  return nullptr;
}

void Learner::poll_device_checks() {
  if (!on_gpu()) return;
  check(mixup_poll_checks(normalizer_, gpu_stream()));
  check(mixup_loss_poll_checks(loss_handle_, gpu_stream()));
}

void Learner::normalize(BatchState& b) {
  // λ = 1 with every sample its own partner: exactly the normalised image, through the
  // same uint8 path as the mixed batches.
  const void* images = b.images.data();
  float* x = nullptr;
  const float* ones = nullptr;
  const std::int32_t* self = nullptr;
  std::vector<float> h_ones;
  std::vector<std::int32_t> h_self;
#if MIXUP_NN_HAS_CUDNN
  if (b.on_gpu) {
    images = b.dev.images, x = b.dev.x, ones = gpu_->ones.as<float>(), self = gpu_->iota.as<std::int32_t>();
    b.dev.y_a = b.dev.labels;
  }
#endif
  if (!b.on_gpu) {
    h_ones.assign(static_cast<std::size_t>(b.n), 1.0f);
    h_self.resize(static_cast<std::size_t>(b.n));
    std::iota(h_self.begin(), h_self.end(), 0);
    b.x.resize(b.images.size());
    x = b.x.data(), ones = h_ones.data(), self = h_self.data();
    b.y_a = b.labels;
  }
  const mixup_batch_t in{const_cast<void*>(images), MIXUP_DTYPE_U8, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  const mixup_batch_t out{x, MIXUP_DTYPE_F32, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  check(mixup_apply_given(normalizer_, &in, ones, self, &out, nullptr, gpu_stream()));
  b.mixed = false;
}

void Learner::begin_batch(BatchState& b, bool train) {
  b.train = train;
  b.mixed = false;
  b.on_gpu = on_gpu();
#if MIXUP_NN_HAS_CUDNN
  if (b.on_gpu) {
    Gpu& g = *gpu_;
    std::copy(b.images.begin(), b.images.end(), g.pinned_images);
    std::copy(b.labels.begin(), b.labels.end(), g.pinned_labels);
    cuda_ok(cudaMemcpyAsync(g.images.data(), g.pinned_images, b.images.size(), cudaMemcpyHostToDevice, g.stream), "upload");
    cuda_ok(cudaMemcpyAsync(g.labels.data(), g.pinned_labels, b.labels.size() * 4, cudaMemcpyHostToDevice, g.stream), "upload");
    b.dev = BatchState::Device{g.images.as<std::uint8_t>(), g.labels.as<std::int32_t>(), g.x.as<float>(),
                               g.ya.as<std::int32_t>(),     g.yb.as<std::int32_t>(),     g.lam.as<float>()};
  }
#endif
  for (Callback* c : callbacks_) c->on_batch_begin(*this, b);
  if (!b.mixed) normalize(b);
}

const float* Learner::forward(BatchState& b, bool train) {
#if MIXUP_NN_HAS_CUDNN
  if (b.on_gpu) return gpu_->net->forward(b.dev.x, b.n, train);
#endif
  return model_.forward(b.x.data(), Shape4{b.n, 1, b.h, b.w}, *pool_, train).data();
}

const float* Learner::host_logits(const float* logits, std::int64_t n) {
#if MIXUP_NN_HAS_CUDNN
  if (gpu_) {
    gpu_->host_logits.resize(static_cast<std::size_t>(n * model_.classes()));
    cuda_ok(cudaMemcpyAsync(gpu_->host_logits.data(), logits, gpu_->host_logits.size() * 4, cudaMemcpyDeviceToHost, gpu_->stream),
            "logits read-back");
    cuda_ok(cudaStreamSynchronize(gpu_->stream), "cudaStreamSynchronize");
    return gpu_->host_logits.data();
  }
#endif
  (void)n;
  return logits;
}

void Learner::train_batch(BatchState& b, std::int64_t step, std::int64_t total_steps, const std::function<void()>& meanwhile) {
  begin_batch(b, true);
  const float* logits = forward(b, true);
  // On the GPU the forward pass is only queued: the host loads the next batch while it runs,
  // before the loss value is read back.
  if (meanwhile) meanwhile();
  for (Callback* c : callbacks_) c->on_loss_begin(*this, b);
  std::vector<float> host_grad;
  float* grad = nullptr;
#if MIXUP_NN_HAS_CUDNN
  if (b.on_gpu) grad = gpu_->grad.as<float>();
#endif
  if (!b.on_gpu) {
    host_grad.resize(static_cast<std::size_t>(b.n * model_.classes()));
    grad = host_grad.data();
  }
  b.loss = (*loss_fn)(*this, logits, b, grad);
  for (Callback* c : callbacks_) c->on_backward_begin(*this, b);
  const OneCycle oc{cfg_.lr, total_steps};
  const float lr = cfg_.one_cycle ? oc.lr(step) : cfg_.lr, beta1 = cfg_.one_cycle ? oc.momentum(step) : 0.9f;
#if MIXUP_NN_HAS_CUDNN
  if (b.on_gpu) {
    gpu_->net->backward(grad);
    for (Callback* c : callbacks_) c->on_backward_end(*this, b);
    gpu_->net->adamw_step(lr, beta1, 0.99f, 1e-8f, cfg_.weight_decay);
  }
#endif
  if (!b.on_gpu) {
    model_.backward(grad, *pool_);
    for (Callback* c : callbacks_) c->on_backward_end(*this, b);
    std::vector<std::vector<float>*> params, grads;
    for (Conv2d& conv : model_.layers()) {
      params.push_back(&conv.weight), grads.push_back(&conv.grad_weight);
      params.push_back(&conv.bias), grads.push_back(&conv.grad_bias);
    }
    for (BatchNorm2d& bn : model_.norms()) {
      params.push_back(&bn.gamma), grads.push_back(&bn.grad_gamma);
      params.push_back(&bn.beta), grads.push_back(&bn.grad_beta);
    }
    opt_.step(params, grads, lr, cfg_.one_cycle ? beta1 : -1.0f);
  }
  for (Callback* c : callbacks_) c->on_step_end(*this, b);
  for (Callback* c : callbacks_) c->on_batch_end(*this, b);
}

std::pair<double, double> Learner::validate(const ImageSet& set) {
  Loader loader(set, cfg_.batch_size, false, 0);
  loader.start_epoch(0);
  BatchState b;
  b.h = set.h, b.w = set.w;
  double loss_sum = 0, correct = 0;
  while ((b.n = loader.next(b.images, b.labels)) > 0) {
    // callbacks see validation batches too (train = false), as in fastai; MixUp leaves them be
    begin_batch(b, false);
    const float* logits = forward(b, false);
    loss_sum += static_cast<double>((*loss_fn)(*this, logits, b, nullptr)) * b.n;
    const float* z = host_logits(logits, b.n);
    const std::int64_t C = model_.classes();
    for (std::int64_t i = 0; i < b.n; ++i) correct += (std::max_element(z + i * C, z + (i + 1) * C) - (z + i * C)) == b.labels[i];
  }
  return {loss_sum / set.count, correct / set.count};
}

std::vector<std::int32_t> Learner::predict(const ImageSet& set) {
  Loader loader(set, cfg_.batch_size, false, 0);
  loader.start_epoch(0);
  BatchState b;
  b.h = set.h, b.w = set.w;
  std::vector<std::int32_t> out;
  const std::vector<Callback*> keep = callbacks_;
  callbacks_.clear();  // plain inference: no callback touches these batches
  while ((b.n = loader.next(b.images, b.labels)) > 0) {
    begin_batch(b, false);
    const float* z = host_logits(forward(b, false), b.n);
    const std::int64_t C = model_.classes();
    for (std::int64_t i = 0; i < b.n; ++i)
      out.push_back(static_cast<std::int32_t>(std::max_element(z + i * C, z + (i + 1) * C) - (z + i * C)));
  }
  callbacks_ = keep;
  return out;
}

std::vector<EpochResult> Learner::fit(std::int64_t epochs, const std::function<void(const EpochResult&)>& on_epoch) {
  std::vector<EpochResult> results;
  Loader loader(train_, cfg_.batch_size, true, cfg_.seed, cfg_.drop_last);
  const std::int64_t total = epochs * loader.batches();
  std::int64_t step = 0;
  stop = false;
  bool ended = false;
  const auto sync_model = [&] {
#if MIXUP_NN_HAS_CUDNN
    if (gpu_) gpu_->net->download(model_);  // the host model stays the one checkpoints see
#endif
  };
  try {
    for (Callback* c : callbacks_) c->on_train_begin(*this);
    for (std::int64_t epoch = 0; epoch < epochs && !stop; ++epoch) {
      const auto t0 = std::chrono::steady_clock::now();
      for (Callback* c : callbacks_) c->on_epoch_begin(*this);
      loader.start_epoch(epoch);
      BatchState b, next;
      b.h = next.h = train_.h, b.w = next.w = train_.w;
      double train_sum = 0;
      std::int64_t seen = 0;
      b.n = loader.next(b.images, b.labels);
      for (; !stop && b.n > 0; std::swap(b, next)) {
        train_batch(b, step++, total, [&] { next.n = loader.next(next.images, next.labels); });
        train_sum += static_cast<double>(b.loss) * b.n;
        seen += b.n;
        const std::int64_t per_epoch = loader.samples_per_epoch();
        if (cfg_.progress && (step % 20 == 0 || seen == per_epoch))
          std::fprintf(stderr, "\r  epoch %lld  [%-30s] %3d%%  loss %.4f ", static_cast<long long>(epoch),
                       std::string(static_cast<std::size_t>(30 * seen / per_epoch), '#').c_str(),
                       static_cast<int>(100 * seen / per_epoch), train_sum / seen);
      }
      if (cfg_.progress) std::fprintf(stderr, "\r%80s\r", "");
      const auto [vloss, acc] = validate(valid_);
      poll_device_checks();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const EpochResult r{epoch, seen ? train_sum / seen : 0.0, vloss, acc, secs};
      results.push_back(r);
      for (Callback* c : callbacks_) c->on_epoch_end(*this, r);
      if (on_epoch) on_epoch(r);
    }
    sync_model();
    ended = true;
    for (Callback* c : callbacks_) c->on_train_end(*this);
  } catch (...) {
    if (!ended) {
      for (Callback* c : callbacks_) {
        try {
          c->on_train_end(*this);
        } catch (...) {  // the first failure is the one to report
        }
      }
    }
    throw;
  }
  return results;
}

MixUpCallback::~MixUpCallback() { mixup_destroy(handle_); }

void MixUpCallback::on_train_begin(Learner& l) {
  if (handle_ == nullptr) {
    mixup_config_t c = mixup_config_default();
    c.backend = l.on_gpu() ? MIXUP_BACKEND_CUDA : MIXUP_BACKEND_CPU;
    c.alpha = alpha_;
    c.seed = seed_;
    c.num_classes = static_cast<std::int32_t>(l.model().classes());
    c.max_batch = static_cast<std::int32_t>(l.config().batch_size);
    c.cpu_threads = l.config().threads;
    c.checks = l.on_gpu() ? MIXUP_CHECKS_DEFERRED : MIXUP_CHECKS_SYNC;  // polled once per epoch
    check(mixup_create(&c, &handle_));
    check(mixup_set_normalize(handle_, &l.config().mean, &l.config().std, 1));
    check(mixup_set_mixing(handle_, &mixing_));
  }
  saved_ = l.loss_fn;
  loss_ = std::make_unique<MixUpLoss>(saved_);
  l.loss_fn = loss_.get();
}

void MixUpCallback::on_batch_begin(Learner& l, BatchState& b) {
  if (!b.train) return;
  void* images = b.images.data();
  float *x = nullptr, *lam = nullptr;
  std::int32_t *labels = b.labels.data(), *ya = nullptr, *yb = nullptr;
  if (b.on_gpu) {
    images = b.dev.images, labels = b.dev.labels, x = b.dev.x, ya = b.dev.y_a, yb = b.dev.y_b, lam = b.dev.lam;
  } else {
    b.x.resize(b.images.size());
    b.y_a.resize(static_cast<std::size_t>(b.n));
    b.y_b.resize(static_cast<std::size_t>(b.n));
    b.lam.resize(static_cast<std::size_t>(b.n));
    x = b.x.data(), ya = b.y_a.data(), yb = b.y_b.data(), lam = b.lam.data();
  }
  const mixup_batch_t in{images, MIXUP_DTYPE_U8, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  const mixup_batch_t out{x, MIXUP_DTYPE_F32, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  const mixup_targets_t t = StackedTargets{labels, ya, yb, lam}.c_targets();
  check(mixup_apply(handle_, &in, &out, &t, l.gpu_stream()));
  b.mixed = true;
}

void MixUpCallback::on_epoch_end(Learner& l, const EpochResult&) {
  if (l.on_gpu() && handle_ != nullptr) check(mixup_poll_checks(handle_, l.gpu_stream()));
}

void MixUpCallback::on_train_end(Learner& l) {
  if (saved_ != nullptr) l.loss_fn = saved_;
  saved_ = nullptr;
}

}  // namespace mixup::nn
