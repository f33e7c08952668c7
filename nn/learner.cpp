#include "learner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "mixup/loss.hpp"
#include "mixup/mixup.hpp"
#include "thread_pool.hpp"

namespace mixup::nn {
namespace {

// Runs the fused loss on host buffers: mean reduction, gradient in f32.
float fused_loss(Learner& l, const std::vector<float>& logits, std::int64_t n, std::int64_t classes, const std::int32_t* ya,
                 const std::int32_t* yb, const float* lam, std::vector<float>* grad) {
  float loss = 0.0f;
  mixup_ce_args_t a = mixup_ce_args_default();
  a.logits = logits.data();
  a.batch = n;
  a.classes = static_cast<std::int32_t>(classes);
  a.y_a = ya;
  a.y_b = yb;
  a.lam = lam;
  a.loss = &loss;
  if (grad != nullptr) {
    grad->resize(logits.size());
    a.grad = grad->data();
  }
  check(mixup_cross_entropy(l.loss_handle(), &a, nullptr));
  return loss;
}

}  // namespace

float CrossEntropyLoss::operator()(Learner& l, const std::vector<float>& logits, const BatchState& b, std::vector<float>* grad) {
  return fused_loss(l, logits, b.n, l.model().classes(), b.y_a.data(), nullptr, nullptr, grad);
}

float MixUpLoss::operator()(Learner& l, const std::vector<float>& logits, const BatchState& b, std::vector<float>* grad) {
  if (!b.mixed) return (*original)(l, logits, b, grad);
  return fused_loss(l, logits, b.n, l.model().classes(), b.y_a.data(), b.y_b.data(), b.lam.data(), grad);
}

Learner::Learner(SimpleCnn& model, ImageSet train, ImageSet valid, LearnerConfig cfg)
    : loss_fn(&default_loss_), model_(model), train_(train), valid_(valid), cfg_(cfg),
      opt_(0.9f, 0.99f, 1e-8f, cfg.weight_decay) {
  const int threads = cfg.threads > 0 ? cfg.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool_ = std::make_unique<detail::ThreadPool>(threads);
  mixup_config_t mc = mixup_config_default();
  mc.max_batch = static_cast<std::int32_t>(std::max<std::int64_t>(cfg.batch_size, 1024));
  mc.num_classes = static_cast<std::int32_t>(model.classes());
  mc.cpu_threads = threads;
  check(mixup_create(&mc, &normalizer_));
  check(mixup_set_normalize(normalizer_, &cfg.mean, &cfg.std, 1));
  mixup_loss_config_t lc = mixup_loss_config_default();
  lc.max_batch = mc.max_batch;
  lc.cpu_threads = threads;
  check(mixup_loss_create(&lc, &loss_handle_));
}

Learner::~Learner() {
  mixup_destroy(normalizer_);
  mixup_loss_destroy(loss_handle_);
}

void Learner::normalize(BatchState& b) {
  // λ = 1 with every sample its own partner: exactly the normalised image, through the
  // same uint8 path as the mixed batches.
  std::vector<float> ones(static_cast<std::size_t>(b.n), 1.0f);
  std::vector<std::int32_t> self(static_cast<std::size_t>(b.n));
  std::iota(self.begin(), self.end(), 0);
  b.x.resize(b.images.size());
  const mixup_batch_t in{b.images.data(), MIXUP_DTYPE_U8, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  const mixup_batch_t out{b.x.data(), MIXUP_DTYPE_F32, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  check(mixup_apply_given(normalizer_, &in, ones.data(), self.data(), &out, nullptr, nullptr));
  b.y_a = b.labels;
  b.mixed = false;
}

void Learner::train_batch(BatchState& b, std::int64_t step, std::int64_t total_steps) {
  b.train = true;
  b.mixed = false;
  for (Callback* c : callbacks_) c->on_batch_begin(*this, b);
  if (!b.mixed) normalize(b);
  const Shape4 s{b.n, 1, train_.h, train_.w};
  const std::vector<float>& logits = model_.forward(b.x.data(), s, *pool_);
  for (Callback* c : callbacks_) c->on_loss_begin(*this, b);
  std::vector<float> grad;
  b.loss = (*loss_fn)(*this, logits, b, &grad);
  for (Callback* c : callbacks_) c->on_backward_begin(*this, b);
  model_.backward(grad.data(), *pool_);
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
  if (cfg_.one_cycle) {
    const OneCycle oc{cfg_.lr, total_steps};
    opt_.step(params, grads, oc.lr(step), oc.momentum(step));
  } else {
    opt_.step(params, grads, cfg_.lr);
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
    b.train = false;
    b.mixed = false;
    for (Callback* c : callbacks_) c->on_batch_begin(*this, b);
    if (!b.mixed) normalize(b);
    const std::vector<float>& logits = model_.forward(b.x.data(), Shape4{b.n, 1, set.h, set.w}, *pool_, false);
    loss_sum += static_cast<double>((*loss_fn)(*this, logits, b, nullptr)) * b.n;
    const std::int64_t C = model_.classes();
    for (std::int64_t i = 0; i < b.n; ++i) {
      const float* row = logits.data() + i * C;
      correct += (std::max_element(row, row + C) - row) == b.labels[i];
    }
  }
  return {loss_sum / set.count, correct / set.count};
}

std::vector<std::int32_t> Learner::predict(const ImageSet& set) {
  Loader loader(set, cfg_.batch_size, false, 0);
  loader.start_epoch(0);
  BatchState b;
  b.h = set.h, b.w = set.w;
  std::vector<std::int32_t> out;
  while ((b.n = loader.next(b.images, b.labels)) > 0) {
    normalize(b);
    const std::vector<float>& logits = model_.forward(b.x.data(), Shape4{b.n, 1, set.h, set.w}, *pool_, false);
    const std::int64_t C = model_.classes();
    for (std::int64_t i = 0; i < b.n; ++i) {
      const float* row = logits.data() + i * C;
      out.push_back(static_cast<std::int32_t>(std::max_element(row, row + C) - row));
    }
  }
  return out;
}

std::vector<EpochResult> Learner::fit(std::int64_t epochs, const std::function<void(const EpochResult&)>& on_epoch) {
  std::vector<EpochResult> results;
  Loader loader(train_, cfg_.batch_size, true, cfg_.seed);
  const std::int64_t total = epochs * loader.batches();
  std::int64_t step = 0;
  stop = false;
  bool ended = false;
  try {
    for (Callback* c : callbacks_) c->on_train_begin(*this);
    for (std::int64_t epoch = 0; epoch < epochs && !stop; ++epoch) {
      const auto t0 = std::chrono::steady_clock::now();
      for (Callback* c : callbacks_) c->on_epoch_begin(*this);
      loader.start_epoch(epoch);
      BatchState b;
      b.h = train_.h, b.w = train_.w;
      double train_sum = 0;
      std::int64_t seen = 0;
      while (!stop && (b.n = loader.next(b.images, b.labels)) > 0) {
        train_batch(b, step++, total);
        train_sum += static_cast<double>(b.loss) * b.n;
        seen += b.n;
        if (cfg_.progress && (step % 20 == 0 || seen == loader.size()))
          std::fprintf(stderr, "\r  epoch %lld  [%-30s] %3d%%  loss %.4f ", static_cast<long long>(epoch),
                       std::string(static_cast<std::size_t>(30 * seen / loader.size()), '#').c_str(),
                       static_cast<int>(100 * seen / loader.size()), train_sum / seen);
      }
      if (cfg_.progress) std::fprintf(stderr, "\r%80s\r", "");
      const auto [vloss, acc] = validate(valid_);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const EpochResult r{epoch, seen ? train_sum / seen : 0.0, vloss, acc, secs};
      results.push_back(r);
      for (Callback* c : callbacks_) c->on_epoch_end(*this, r);
      if (on_epoch) on_epoch(r);
    }
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
    c.alpha = alpha_;
    c.seed = seed_;
    c.num_classes = static_cast<std::int32_t>(l.model().classes());
    c.max_batch = static_cast<std::int32_t>(l.config().batch_size);
    c.cpu_threads = l.config().threads;
    check(mixup_create(&c, &handle_));
    check(mixup_set_normalize(handle_, &l.config().mean, &l.config().std, 1));
  }
  saved_ = l.loss_fn;
  loss_ = std::make_unique<MixUpLoss>(saved_);
  l.loss_fn = loss_.get();
}

void MixUpCallback::on_batch_begin(Learner& l, BatchState& b) {
  if (!b.train) return;
  (void)l;
  b.x.resize(b.images.size());
  b.y_a.resize(static_cast<std::size_t>(b.n));
  b.y_b.resize(static_cast<std::size_t>(b.n));
  b.lam.resize(static_cast<std::size_t>(b.n));
  const mixup_batch_t in{b.images.data(), MIXUP_DTYPE_U8, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  const mixup_batch_t out{b.x.data(), MIXUP_DTYPE_F32, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.mode = MIXUP_TARGETS_STACKED;
  t.labels = b.labels.data();
  t.y_a = b.y_a.data();
  t.y_b = b.y_b.data();
  t.lam = b.lam.data();
  check(mixup_apply(handle_, &in, &out, &t, nullptr));
  b.mixed = true;
}

void MixUpCallback::on_train_end(Learner& l) {
  if (saved_ != nullptr) l.loss_fn = saved_;
  saved_ = nullptr;
}

}  // namespace mixup::nn
