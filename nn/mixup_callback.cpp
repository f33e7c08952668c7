#include "mixup_callback.hpp"

namespace mixup::nn {

mixup::Mixup& MixUpCallback::handle(Learner& l, std::int32_t rank) {
  std::unique_ptr<mixup::Mixup>& mix = mix_[rank];
  if (!mix) {
    mixup_config_t c = mixup_config_default();
    c.backend = l.on_gpu() ? MIXUP_BACKEND_CUDA : MIXUP_BACKEND_CPU;
    c.alpha = alpha_;
    c.seed = seed_;
    c.rank_salt = static_cast<std::uint32_t>(rank);
    c.num_classes = static_cast<std::int32_t>(l.model().classes());
    c.max_batch = static_cast<std::int32_t>(l.config().batch_size);
    c.cpu_threads = l.config().threads;
    c.checks = l.on_gpu() ? MIXUP_CHECKS_DEFERRED : MIXUP_CHECKS_SYNC;  // polled once per epoch
    c.device = l.config().device;
    mix = std::make_unique<mixup::Mixup>(c);
    mix->set_normalize(&l.config().mean, &l.config().std, 1);
    mix->set_mixing(mixing_);
  }
  return *mix;
}

void MixUpCallback::on_train_begin(Learner& l) {
  handle(l, 0);  // made before the first batch, as before: bad settings fail here
  saved_ = l.loss_fn;
  loss_ = std::make_unique<MixUpLoss>(saved_);
  l.loss_fn = loss_.get();
}

void MixUpCallback::on_batch_begin(Learner& l, BatchState& b) {
  if (!b.train || (off_epoch_ >= 0 && epoch_ >= off_epoch_)) return;
  void* images = b.images.data();
  float *x = nullptr, *lam = nullptr;
  std::int32_t *labels = b.labels.data(), *ya = nullptr, *yb = nullptr;
  if (b.on_gpu) {
    images = b.dev.images, labels = b.dev.labels, x = b.dev.x, ya = b.dev.y_a, yb = b.dev.y_b,
    lam = b.dev.lam;
  } else {
    b.x.resize(b.images.size());
    b.y_a.resize(static_cast<std::size_t>(b.n));
    b.y_b.resize(static_cast<std::size_t>(b.n));
    b.lam.resize(static_cast<std::size_t>(b.n));
    x = b.x.data(), ya = b.y_a.data(), yb = b.y_b.data(), lam = b.lam.data();
  }
  const auto in = TensorView::images(images, mixup::DType::u8, b.n, 1, b.h, b.w);
  const auto out = TensorView::images(x, mixup::DType::f32, b.n, 1, b.h, b.w);
  handle(l, b.rank).apply(in, out, StackedTargets{labels, ya, yb, lam}, l.gpu_stream());
  b.mixed = true;
}

void MixUpCallback::on_epoch_end(Learner& l, const EpochResult&) {
  if (l.on_gpu())
    for (auto& [rank, mix] : mix_) mix->poll_checks(l.gpu_stream());
}

void MixUpCallback::on_train_end(Learner& l) {
  if (saved_ != nullptr) l.loss_fn = saved_;
  saved_ = nullptr;
}

}  // namespace mixup::nn
