// fastai's MixUpCallback: on train begin it swaps in MixUpLoss, on each training batch it mixes
// with libmixup_cuda (λ ~ Beta(α, α) per sample, folded; or CutMix, switching and a mixing
// probability as its mixing policy says), on train end it puts the original loss back.
// Validation batches are never mixed. Data-parallel: each (logical) rank mixes its own
// micro-batch with its own handle, rank_salt = the batch's rank (timm's practice), so ranks
// draw different λ and partners from one seed; from --mixup-off-epoch on nothing is mixed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "learner.hpp"
#include "mixup/mixup.hpp"

namespace mixup::nn {

class MixUpCallback : public Callback {
 public:
  // `mixing`: CutMix, switching and probability (mixup_set_mixing); the default is plain mixup.
  MixUpCallback(float alpha, std::uint64_t seed, const mixup_mixing_t& mixing = mixup_mixing_default())
      : alpha_(alpha), seed_(seed), mixing_(mixing) {}
  // Epochs from `epoch` on (0-based, counted over this callback's fits) train unmixed (timm's
  // mixup_off_epoch); negative: never.
  void set_off_epoch(std::int64_t epoch) { off_epoch_ = epoch; }
  void on_train_begin(Learner& l) override;
  void on_epoch_begin(Learner&) override { ++epoch_; }
  void on_batch_begin(Learner& l, BatchState& b) override;
  void on_epoch_end(Learner& l, const EpochResult& r) override;  // GPU: polls the deferred checks
  void on_train_end(Learner& l) override;

 private:
  float alpha_;
  std::uint64_t seed_;
  mixup_mixing_t mixing_;
  mixup::Mixup& handle(Learner& l, std::int32_t rank);
  std::int64_t off_epoch_ = -1, epoch_ = -1;
  // One per rank salt, made on first use on the learner's backend, kept across fits.
  std::map<std::int32_t, std::unique_ptr<mixup::Mixup>> mix_;
  std::unique_ptr<MixUpLoss> loss_;
  LossFunction* saved_ = nullptr;
};

}  // namespace mixup::nn
