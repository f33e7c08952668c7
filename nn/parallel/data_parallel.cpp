#include "data_parallel.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "optim.hpp"
#include "comm.hpp"
#include "rank_failure.hpp"

namespace mixup::nn {

int ParallelConfig::processes() const { return comm ? comm->size() : 1; }
int ParallelConfig::rank() const { return comm ? comm->rank() : 0; }

namespace {

using Flat = Engine::Flat;

Communicator& one_process() {
  static const std::unique_ptr<Communicator> single = make_single_communicator();
  return *single;
}

// Rank r's contiguous share of a validation set.
ImageSet shard_of(const ImageSet& set, int r, int ranks) {
  const std::int64_t first = set.count * r / ranks, last = set.count * (r + 1) / ranks;
  ImageSet s = set;
  s.images += first * set.h * set.w;
  s.labels += first;
  s.count = last - first;
  return s;
}

std::uint64_t fnv1a(const std::vector<float>& v, std::uint64_t h) {
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  for (std::size_t i = 0; i < v.size() * sizeof(float); ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

}  // namespace

DataParallel::DataParallel(Learner& l)
    : l_(l), e_(*l.engine_), p_(l.cfg_.parallel), comm_(p_.comm ? p_.comm : &one_process()),
      procs_(comm_->size()), me_(comm_->rank()), virt_(p_.virtual_ranks), accum_(p_.accum),
      world_(procs_ * virt_) {
  if (virt_ < 1 || accum_ < 1) throw std::invalid_argument("virtual ranks and accum must be at least 1");
  if (virt_ > 1 && procs_ > 1)
    throw std::invalid_argument("virtual ranks stand in for processes: use one or the other, not both");
  std::vector<float> v;
  e_.read_flat(Flat::grads, v);
  grad_floats_ = v.size();
  e_.read_flat(Flat::buffers, v);
  norm_floats_ = v.size();
}

void DataParallel::micro_batch(BatchState& b, float* grad_sum, bool first) {
  l_.begin_batch(b, true);
  const float* logits = e_.forward(b, true);
  for (Callback* c : l_.callbacks_) c->on_loss_begin(l_, b);
  float* grad = e_.grad(b.n);
  b.loss = (*l_.loss_fn)(l_, logits, b, grad);
  for (Callback* c : l_.callbacks_) c->on_backward_begin(l_, b);
  e_.backward(grad);
  for (Callback* c : l_.callbacks_) c->on_backward_end(l_, b);
  e_.read_flat(Flat::grads, scratch_);
  if (first) std::memcpy(grad_sum, scratch_.data(), grad_floats_ * sizeof(float));
  else
    for (std::size_t i = 0; i < grad_floats_; ++i) grad_sum[i] += scratch_[i];
  // per micro-batch, before the reduction: a callback that stops the run (NaN, a signal) does
  // so on this rank inside the step, and its status reaches every rank with the gradient
  for (Callback* c : l_.callbacks_) c->on_batch_end(l_, b);
}

void DataParallel::step(Loader& loader, std::int64_t batch, std::int64_t step, std::int64_t total,
                        BatchState& b, double& train_sum, std::int64_t& seen) {
  const std::size_t slots = static_cast<std::size_t>(world_) * accum_;
  const std::size_t stride = grad_floats_ + slots + world_;
  const std::int64_t bs = l_.cfg_.batch_size;
  mark("micro-batches", step, false);
  parts_.assign(stride * virt_, 0.0f);
  std::exception_ptr err;
  for (int v = 0; v < virt_; ++v) {
    const int r = me_ * virt_ + v;
    float* part = parts_.data() + v * stride;
    if (virt_ > 1 && has_norms()) e_.write_flat(Flat::buffers, norm_stats_[v]);
    try {
      for (int k = 0; k < accum_; ++k) {
        loader.take(((batch * world_ + r) * accum_ + k) * bs, bs, b.images, b.labels);
        b.n = bs;
        b.rank = r;
        micro_batch(b, part, k == 0);
        part[grad_floats_ + r * accum_ + k] = b.loss;
      }
    } catch (...) {
      if (procs_ == 1) throw;
      err = std::current_exception();
      part[grad_floats_ + slots + r] = static_cast<float>(exit_status_of(err));
    }
    if (virt_ > 1 && has_norms()) e_.read_flat(Flat::buffers, norm_stats_[v]);
  }
  float* sum = parts_.data();
  if (virt_ > 1) {
    flat_.resize(stride);
    sum_in_rank_order(parts_.data(), virt_, stride, flat_.data());
    sum = flat_.data();
  }
  // one rank too (accum > 1): its communicator's path runs (NCCL's on one GPU), same bits
  mark("reduction", step, true);
  if (p_.comm != nullptr && virt_ == 1) comm_->sum(sum, stride, p_.ordered);
  std::vector<int> status(static_cast<std::size_t>(world_));
  for (int r = 0; r < world_; ++r) status[r] = static_cast<int>(sum[grad_floats_ + slots + r]);
  raise_first_failure(status.data(), world_, me_ * virt_, virt_, err);

  const float parts_count = static_cast<float>(slots);
  scratch_.resize(grad_floats_);
  for (std::size_t i = 0; i < grad_floats_; ++i) scratch_[i] = sum[i] / parts_count;
  e_.write_flat(Flat::grads, scratch_);
  const LearnerConfig& cfg = l_.cfg_;
  const OneCycle oc{cfg.lr, total};
  e_.step(cfg.one_cycle ? oc.lr(step) : cfg.lr, cfg.one_cycle ? oc.momentum(step) : -1.0f);
  for (std::size_t j = 0; j < slots; ++j) train_sum += static_cast<double>(sum[grad_floats_ + j]) * bs;
  seen += static_cast<std::int64_t>(slots) * bs;
  for (Callback* c : l_.callbacks_) c->on_step_end(l_, b);
}

void DataParallel::start_training() {
  std::vector<float> v;
  if (procs_ > 1)
    for (Flat what : {Flat::params, Flat::buffers}) {
      e_.read_flat(what, v);
      comm_->broadcast(v.data(), v.size() * sizeof(float), 0);
      e_.write_flat(what, v);
    }
  e_.read_flat(Flat::buffers, v);
  norm_stats_.assign(static_cast<std::size_t>(virt_), v);
}

void DataParallel::combine_norm_statistics() {
  if (!has_norms() || world_ == 1) return;
  std::vector<float> all(norm_floats_ * world_), local;
  if (procs_ > 1) {
    e_.read_flat(Flat::buffers, local);
    comm_->allgather(local.data(), all.data(), norm_floats_ * sizeof(float));
  } else {
    for (int v = 0; v < virt_; ++v)
      std::copy(norm_stats_[v].begin(), norm_stats_[v].end(), all.begin() + v * norm_floats_);
  }
  std::vector<float> out(norm_floats_);
  std::size_t at = 0;  // each norm: running mean [c], then running variance [c]
  for (const BatchNorm2d& bn : l_.model_.norms()) {
    for (std::int64_t ch = 0; ch < bn.channels; ++ch) {
      const std::size_t im = at + ch, iv = at + bn.channels + ch;
      double mean = 0, var = 0, spread = 0;
      for (int r = 0; r < world_; ++r) mean += all[r * norm_floats_ + im], var += all[r * norm_floats_ + iv];
      mean /= world_;
      for (int r = 0; r < world_; ++r) {
        const double d = all[r * norm_floats_ + im] - mean;
        spread += d * d;
      }
      out[im] = static_cast<float>(mean);
      out[iv] = static_cast<float>(var / world_ + spread / world_);
    }
    at += 2 * static_cast<std::size_t>(bn.channels);
  }
  e_.write_flat(Flat::buffers, out);
  for (std::vector<float>& s : norm_stats_) s = out;
}

void DataParallel::compare_checksums(std::int64_t epoch) {
  if (procs_ == 1) return;
  std::vector<float> v;
  e_.read_flat(Flat::params, v);
  std::uint64_t h = fnv1a(v, 0xcbf29ce484222325ull);
  e_.read_flat(Flat::buffers, v);
  h = fnv1a(v, h);
  std::vector<std::uint64_t> all(static_cast<std::size_t>(procs_));
  comm_->allgather(&h, all.data(), sizeof h);
  for (int r = 1; r < procs_; ++r)
    if (all[r] != all[0])
      throw RankFailure("the parameters differ across ranks after epoch " + std::to_string(epoch) +
                            " (rank " + std::to_string(r) +
                            "'s checksum is not rank 0's): the ranks diverged, run stopped",
                        1, 0, me_ == 0);
}

std::pair<double, double> DataParallel::validate(const ImageSet& set) {
  std::vector<double> mine(2 * static_cast<std::size_t>(virt_)), all(2 * static_cast<std::size_t>(world_));
  mark("validation", -1, false);
  all_or_none(*comm_, [&] {
    for (int v = 0; v < virt_; ++v) {
      const auto [loss, correct] = l_.validate_sums(shard_of(set, me_ * virt_ + v, world_));
      mine[2 * v] = loss, mine[2 * v + 1] = correct;
    }
  });
  mark("validation's gather", -1, true);
  comm_->allgather(mine.data(), all.data(), mine.size() * sizeof(double));
  double loss = all[0], correct = all[1];
  for (int r = 1; r < world_; ++r) loss += all[2 * r], correct += all[2 * r + 1];
  return {loss / set.count, correct / set.count};
}

std::vector<EpochResult> DataParallel::fit(std::int64_t epochs,
                                           const std::function<void(const EpochResult&)>& on_epoch) {
  const LearnerConfig& cfg = l_.cfg_;
  if (!cfg.drop_last)
    throw std::invalid_argument(
        "data-parallel training drops each epoch's last partial global batch: set drop_last");
  const std::int64_t global = static_cast<std::int64_t>(world_) * accum_ * cfg.batch_size;
  Loader loader(l_.train_, global, true, cfg.seed, true);
  if (loader.batches() == 0) {
    const std::string why = "the global batch (" + std::to_string(world_) + " ranks x " +
                            std::to_string(accum_) + " micro-batches x " + std::to_string(cfg.batch_size) +
                            ") is more than the " + std::to_string(l_.train_.count) + " training images";
    if (procs_ > 1) throw RankFailure(why, 1, 0, me_ == 0);
    throw std::invalid_argument(why);
  }
  const std::int64_t total = epochs * loader.batches();
  std::vector<EpochResult> results;
  l_.stop = false;
  bool ended = false;
  if (procs_ > 1 && p_.rank_timeout > 0) watchdog_ = std::make_unique<Watchdog>(*comm_, p_.rank_timeout);
  struct Release {  // the watchdog stops with fit, however it ends
    std::unique_ptr<Watchdog>& w;
    ~Release() { w.reset(); }
  } release{watchdog_};
  mark("the start of training", -1, true);
  try {
    all_or_none(*comm_, [&] {
      start_training();
      for (Callback* c : l_.callbacks_) c->on_train_begin(l_);
    });
    std::int64_t step_no = 0;
    for (std::int64_t epoch = 0; epoch < epochs && !l_.stop; ++epoch) {
      const auto t0 = std::chrono::steady_clock::now();
      for (Callback* c : l_.callbacks_) c->on_epoch_begin(l_);
      loader.start_epoch(epoch);
      BatchState b;
      b.h = l_.train_.h, b.w = l_.train_.w;
      double train_sum = 0;
      std::int64_t seen = 0;
      for (std::int64_t s = 0; s < loader.batches() && !l_.stop; ++s) {
        step(loader, s, step_no++, total, b, train_sum, seen);
        if (cfg.progress)
          std::fprintf(stderr, "\r  epoch %lld  step %lld/%lld  loss %.4f ", static_cast<long long>(epoch),
                       static_cast<long long>(s + 1), static_cast<long long>(loader.batches()),
                       train_sum / seen);
      }
      if (cfg.progress) std::fprintf(stderr, "\r%80s\r", "");
      mark("epoch end (statistics, checksum)", -1, true);
      combine_norm_statistics();
      compare_checksums(epoch);
      const auto [vloss, acc] = validate(l_.valid_);
      l_.poll_device_checks();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const EpochResult r{epoch, seen ? train_sum / seen : 0.0, vloss, acc, secs};
      results.push_back(r);
      for (Callback* c : l_.callbacks_) c->on_epoch_end(l_, r);
      if (on_epoch) on_epoch(r);
    }
    e_.sync_model();
    ended = true;
    for (Callback* c : l_.callbacks_) c->on_train_end(l_);
  } catch (...) {
    if (!ended)
      for (Callback* c : l_.callbacks_) {
        try {
          c->on_train_end(l_);
        } catch (...) {  // the first failure is the one to report
        }
      }
    throw;
  }
  return results;
}

}  // namespace mixup::nn
