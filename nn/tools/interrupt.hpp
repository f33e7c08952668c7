// SIGINT / SIGTERM for the trainer: the handler only records the signal; a callback stops
// the run at the next batch (training or validation) by throwing Interrupted, so the log is
// flushed, no checkpoint or temporary file is half-written, and the tool exits 128 + signal.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "learner.hpp"
#include "parallel/rank_failure.hpp"

namespace mixup::tools {

void install_stop_handlers();
int pending_signal();  // 0, SIGINT or SIGTERM
const char* signal_name(int sig);

struct Interrupted : std::runtime_error, nn::HasExitStatus {
  int sig;
  explicit Interrupted(int s) : std::runtime_error(std::string("stopped by ") + signal_name(s)), sig(s) {}
  int exit_status() const override { return 128 + sig; }  // the same on every rank (data-parallel)
};

// Throws Interrupted at the first batch boundary after a signal; counts where the run is.
class StopOnSignal : public nn::Callback {
 public:
  void on_epoch_begin(nn::Learner&) override { ++epoch, batch = 0; }
  void on_batch_begin(nn::Learner&, nn::BatchState&) override { poll(); }
  void on_batch_end(nn::Learner&, nn::BatchState& b) override {
    if (b.train) ++batch;
    poll();
  }
  std::int64_t epoch = -1, batch = 0;  // current epoch (0-based), training batches done in it

 private:
  static void poll() {
    if (const int s = pending_signal()) throw Interrupted(s);
  }
};

}  // namespace mixup::tools
