#include "learner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "optim.hpp"
#include "parallel/data_parallel.hpp"

namespace mixup::nn {

namespace {

// The fused loss on the learner's backend: mean reduction, gradient in f32.
float fused_loss(Learner& l, const float* logits, std::int64_t n, std::int64_t classes,
                 const std::int32_t* ya, const std::int32_t* yb, const float* lam, float* grad) {
  mixup_ce_args_t a = mixup_ce_args_default();
  a.logits = logits;
  a.batch = n;
  a.classes = static_cast<std::int32_t>(classes);
  a.y_a = ya;
  a.y_b = yb;
  a.lam = lam;
  a.loss = l.engine().loss_out();
  a.grad = grad;
  check(mixup_cross_entropy(l.loss_handle(), &a, l.gpu_stream()));
  return l.engine().loss_value();
}

}  // namespace

float CrossEntropyLoss::operator()(Learner& l, const float* logits, const BatchState& b, float* grad) {
  return fused_loss(l, logits, b.n, l.model().classes(), b.ya_ptr(), nullptr, nullptr, grad);
}

float MixUpLoss::operator()(Learner& l, const float* logits, const BatchState& b, float* grad) {
  if (!b.mixed) return (*original)(l, logits, b, grad);
  return fused_loss(l, logits, b.n, l.model().classes(), b.ya_ptr(), b.yb_ptr(), b.lam_ptr(), grad);
}

namespace {

int resolve_threads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The normaliser: the mixup op with λ = 1 and every sample its own partner. On the GPU the
// device-side label checks are read once per epoch (poll_device_checks), not after every call:
// a step then has one sync, the loss value's read-back.
mixup_config_t normalizer_config(const LearnerConfig& cfg, const SimpleCnn& model) {
  mixup_config_t mc = mixup_config_default();
  mc.backend = cfg.cuda ? MIXUP_BACKEND_CUDA : MIXUP_BACKEND_CPU;
  mc.max_batch = static_cast<std::int32_t>(std::max<std::int64_t>(cfg.batch_size, 1024));
  mc.num_classes = static_cast<std::int32_t>(model.classes());
  mc.cpu_threads = resolve_threads(cfg.threads);
  mc.checks = cfg.cuda ? MIXUP_CHECKS_DEFERRED : MIXUP_CHECKS_SYNC;
  mc.device = cfg.device;
  return mc;
}

mixup_loss_config_t loss_config(const LearnerConfig& cfg, const SimpleCnn& model) {
  const mixup_config_t mc = normalizer_config(cfg, model);
  mixup_loss_config_t lc = mixup_loss_config_default();
  lc.backend = mc.backend;
  lc.max_batch = mc.max_batch;
  lc.cpu_threads = mc.cpu_threads;
  lc.checks = mc.checks;
  lc.device = mc.device;
  return lc;
}

std::unique_ptr<Engine> make_engine(SimpleCnn& model, const ImageSet& train, const ImageSet& valid,
                                    const LearnerConfig& cfg) {
  EngineConfig ec;
  ec.max_batch = cfg.batch_size;  // every batch the learner forms; the 1024 floor is the handles' only
  ec.pixels = std::max(train.h * train.w, valid.h * valid.w);
  ec.height = train.h, ec.width = train.w;
  ec.threads = resolve_threads(cfg.threads);
  ec.weight_decay = cfg.weight_decay;
  ec.device = cfg.device;
  return cfg.cuda ? make_cudnn_engine(model, ec) : make_cpu_engine(model, ec);
}

}  // namespace

Learner::Learner(SimpleCnn& model, ImageSet train, ImageSet valid, LearnerConfig cfg)
    : loss_fn(&default_loss_), model_(model), train_(train), valid_(valid), cfg_(cfg),
      normalizer_(normalizer_config(cfg, model)), loss_(loss_config(cfg, model)),
      engine_(make_engine(model, train, valid, cfg)) {
  normalizer_.set_normalize(&cfg.mean, &cfg.std, 1);
}

void Learner::poll_device_checks() {
  if (!on_gpu()) return;
  normalizer_.poll_checks(gpu_stream());
  loss_.poll_checks(gpu_stream());
}

void Learner::normalize(BatchState& b) {
  // λ = 1 with every sample its own partner: exactly the normalised image, through the
  // same uint8 path as the mixed batches.
  const PlainInput p = engine_->plain_input(b);
  const mixup_batch_t in{const_cast<void*>(p.images), MIXUP_DTYPE_U8, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  const mixup_batch_t out{p.x, MIXUP_DTYPE_F32, b.n, 1, b.h, b.w, MIXUP_LAYOUT_NCHW};
  check(
      mixup_apply_given(normalizer_.get(), &in, p.ones, p.self, &out, nullptr, gpu_stream()));  // no targets
  b.mixed = false;
}

void Learner::begin_batch(BatchState& b, bool train) {
  b.train = train;
  b.mixed = false;
  b.on_gpu = engine_->on_gpu();
  engine_->upload(b);
  for (Callback* c : callbacks_) c->on_batch_begin(*this, b);
  if (!b.mixed) normalize(b);
}

void Learner::train_batch(BatchState& b, std::int64_t step, std::int64_t total_steps,
                          const std::function<void()>& meanwhile) {
  begin_batch(b, true);
  const float* logits = engine_->forward(b, true);
  // On the GPU the forward pass is only queued: the host loads the next batch while it runs,
  // before the loss value is read back.
  if (meanwhile) meanwhile();
  for (Callback* c : callbacks_) c->on_loss_begin(*this, b);
  float* grad = engine_->grad(b.n);
  b.loss = (*loss_fn)(*this, logits, b, grad);
  for (Callback* c : callbacks_) c->on_backward_begin(*this, b);
  const OneCycle oc{cfg_.lr, total_steps};
  const float lr = cfg_.one_cycle ? oc.lr(step) : cfg_.lr;
  engine_->backward(grad);
  for (Callback* c : callbacks_) c->on_backward_end(*this, b);
  engine_->step(lr, cfg_.one_cycle ? oc.momentum(step) : -1.0f);  // < 0: AdamW's own β1
  for (Callback* c : callbacks_) c->on_step_end(*this, b);
  for (Callback* c : callbacks_) c->on_batch_end(*this, b);
}

std::pair<double, double> Learner::validate(const ImageSet& set) {
  if (cfg_.parallel.active()) return DataParallel(*this).validate(set);
  const auto [loss_sum, correct] = validate_sums(set);
  return {loss_sum / set.count, correct / set.count};
}

std::pair<double, double> Learner::validate_sums(const ImageSet& set) {
  Loader loader(set, cfg_.batch_size, false, 0);
  loader.start_epoch(0);
  BatchState b;
  b.h = set.h, b.w = set.w;
  double loss_sum = 0, correct = 0;
  while ((b.n = loader.next(b.images, b.labels)) > 0) {
    // callbacks see validation batches too (train = false), as in fastai; MixUp leaves them be
    begin_batch(b, false);
    const float* logits = engine_->forward(b, false);
    loss_sum += static_cast<double>((*loss_fn)(*this, logits, b, nullptr)) * b.n;
    const float* z = engine_->host_logits(logits, b.n);
    const std::int64_t C = model_.classes();
    for (std::int64_t i = 0; i < b.n; ++i)
      correct += (std::max_element(z + i * C, z + (i + 1) * C) - (z + i * C)) == b.labels[i];
  }
  return {loss_sum, correct};
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
    const float* z = engine_->host_logits(engine_->forward(b, false), b.n);
    const std::int64_t C = model_.classes();
    for (std::int64_t i = 0; i < b.n; ++i)
      out.push_back(static_cast<std::int32_t>(std::max_element(z + i * C, z + (i + 1) * C) - (z + i * C)));
  }
  callbacks_ = keep;
  return out;
}

std::vector<EpochResult> Learner::fit(std::int64_t epochs,
                                      const std::function<void(const EpochResult&)>& on_epoch) {
  if (cfg_.parallel.active()) return DataParallel(*this).fit(epochs, on_epoch);
  std::vector<EpochResult> results;
  Loader loader(train_, cfg_.batch_size, true, cfg_.seed, cfg_.drop_last);
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
    engine_->sync_model();  // the host model stays the one checkpoints see
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

}  // namespace mixup::nn
