// Data-parallel training for the Learner (its fit and validate hand over here when
// cfg.parallel is active). What each rank does:
//   - the global batch is world × accum × bs samples (world = processes × virtual ranks); every
//     epoch one shuffled order from the seed, as one process would draw it; rank r's k-th
//     micro-batch is samples [(r·accum + k)·bs, +bs) of each global batch; the last partial
//     global batch is dropped, so every micro-batch is full;
//   - each micro-batch is mixed on its own, by rank r's mixup handle (rank_salt = r), forward
//     and backward alone (BatchNorm: that micro-batch's statistics);
//   - one flat buffer per step: the rank's gradient summed over its micro-batches, each micro-
//     batch's loss in its own slot, each rank's status in its own slot; one reduction of it
//     (ordered: gathered, summed in rank order, broadcast; or the library's all-reduce); the
//     sum / (world × accum) is every rank's gradient, and a nonzero status stops every rank;
//   - parameters (and BatchNorm statistics) broadcast from rank 0 when training begins; at
//     each epoch's end BatchNorm's running statistics are combined over the ranks (mean of
//     means; mean of variances plus the variance of the means), then a checksum of every
//     parameter is compared across ranks: a mismatch stops the run;
//   - validation: rank r takes the r-th contiguous shard; loss and correct counts are gathered
//     and summed in rank order;
//   - with several processes, a watchdog (watchdog.hpp) ends the job when a rank stalls.
// --virtual-ranks N does all this in one process for ranks 0..N−1 in turn (each with its own
// BatchNorm running statistics): the same bits as N processes under ordered reduction.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "learner.hpp"
#include "watchdog.hpp"

namespace mixup::nn {

class DataParallel {
 public:
  explicit DataParallel(Learner& l);
  std::vector<EpochResult> fit(std::int64_t epochs, const std::function<void(const EpochResult&)>& on_epoch);
  std::pair<double, double> validate(const ImageSet& set);

 private:
  // Optimizer step `step` (of `total`) on global batch `batch` of the epoch; adds its losses
  // to train_sum.
  void step(Loader& loader, std::int64_t batch, std::int64_t step, std::int64_t total, BatchState& b,
            double& train_sum, std::int64_t& seen);
  void micro_batch(BatchState& b, float* grad_sum, bool first);
  void start_training();           // rank 0's parameters and statistics everywhere
  void combine_norm_statistics();  // at each epoch's end
  void compare_checksums(std::int64_t epoch);
  bool has_norms() const { return norm_floats_ > 0; }
  // This rank's progress, for the watchdog (several processes, --rank-timeout > 0).
  void mark(const char* what, std::int64_t step, bool waiting) {
    if (watchdog_) watchdog_->beat(what, step, waiting);
  }

  Learner& l_;
  Engine& e_;
  const ParallelConfig& p_;
  Communicator* comm_;
  int procs_, me_, virt_, accum_, world_;
  std::size_t grad_floats_ = 0, norm_floats_ = 0;
  std::vector<float> flat_, parts_, scratch_;
  std::vector<std::vector<float>> norm_stats_;  // BatchNorm running statistics per virtual rank
  std::unique_ptr<Watchdog> watchdog_;          // while fit runs
};

}  // namespace mixup::nn
