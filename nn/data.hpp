// Batches from an in-memory image set: a new shuffle every epoch, derived from (seed, epoch)
// alone, so a run is reproducible and an epoch can be replayed. Images stay uint8 here; the
// mixup op normalises them to float. With drop_last the last partial batch of an epoch is
// left out (fastai v1's training loader), so every step sees a full batch.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "idx.hpp"

namespace mixup::nn {

struct ImageSet {
  const std::uint8_t* images = nullptr;  // [count, h, w]
  const std::uint8_t* labels = nullptr;  // [count]
  std::int64_t count = 0, h = 0, w = 0;
  static ImageSet of(const IdxArray& images, const IdxArray& labels, std::int64_t limit = -1) {
    ImageSet s{images.data.data(), labels.data.data(), images.count(), images.dims[1], images.dims[2]};
    if (limit >= 0 && limit < s.count) s.count = limit;
    return s;
  }
};

class Loader {
 public:
  Loader(ImageSet set, std::int64_t batch_size, bool shuffle, std::uint64_t seed, bool drop_last = false)
      : set_(set), bs_(batch_size), shuffle_(shuffle), drop_last_(drop_last), seed_(seed),
        order_(static_cast<std::size_t>(set.count)) {}

  void start_epoch(std::int64_t epoch) {
    for (std::int64_t i = 0; i < set_.count; ++i) order_[i] = i;
    if (shuffle_) {
      std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(epoch));
      std::shuffle(order_.begin(), order_.end(), rng);
    }
    pos_ = 0;
  }
  std::int64_t batches() const { return drop_last_ ? set_.count / bs_ : (set_.count + bs_ - 1) / bs_; }
  std::int64_t size() const { return set_.count; }
  std::int64_t samples_per_epoch() const { return drop_last_ ? batches() * bs_ : set_.count; }
  const ImageSet& set() const { return set_; }

  // Copies the next batch (uint8 images, int32 labels); returns its size, 0 after the last.
  std::int64_t next(std::vector<std::uint8_t>& images, std::vector<std::int32_t>& labels) {
    const std::int64_t n = std::min(bs_, set_.count - pos_);
    if (n <= 0 || (drop_last_ && n < bs_)) return 0;
    take(pos_, n, images, labels);
    pos_ += n;
    return n;
  }
  // Copies samples [first, first + n) of this epoch's order: one rank's slice of a global
  // batch (data-parallel training); the caller keeps first + n within size().
  void take(std::int64_t first, std::int64_t n, std::vector<std::uint8_t>& images,
            std::vector<std::int32_t>& labels) const {
    const std::int64_t px = set_.h * set_.w;
    images.resize(static_cast<std::size_t>(n * px));
    labels.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t src = order_[first + i];
      std::copy(set_.images + src * px, set_.images + (src + 1) * px, images.begin() + i * px);
      labels[i] = set_.labels[src];
    }
  }

 private:
  ImageSet set_;
  std::int64_t bs_;
  bool shuffle_, drop_last_;
  std::uint64_t seed_;
  std::vector<std::int64_t> order_;
  std::int64_t pos_ = 0;
};

}  // namespace mixup::nn
