// fastai's MixUpCallback: on train begin it swaps in MixUpLoss, on each training batch it mixes
// with libmixup_cuda (λ ~ Beta(α, α) per sample, folded; or CutMix, switching and a mixing
// probability as its mixing policy says), on train end it puts the original loss back.
// Validation batches are never mixed.
#pragma once

#include <cstdint>
#include <memory>

#include "learner.hpp"
#include "mixup/mixup.hpp"

namespace mixup::nn {

class MixUpCallback : public Callback {
 public:
  // `mixing`: CutMix, switching and probability (mixup_set_mixing); the default is plain mixup.
  MixUpCallback(float alpha, std::uint64_t seed, const mixup_mixing_t& mixing = mixup_mixing_default())
      : alpha_(alpha), seed_(seed), mixing_(mixing) {}
  void on_train_begin(Learner& l) override;
  void on_batch_begin(Learner& l, BatchState& b) override;
  void on_epoch_end(Learner& l, const EpochResult& r) override;  // GPU: polls the deferred checks
  void on_train_end(Learner& l) override;

 private:
  float alpha_;
  std::uint64_t seed_;
  mixup_mixing_t mixing_;
  std::unique_ptr<mixup::Mixup> mix_;  // made on the first train begin, on the learner's backend
  std::unique_ptr<MixUpLoss> loss_;
  LossFunction* saved_ = nullptr;
};

}  // namespace mixup::nn
