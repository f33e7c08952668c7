// Test hook of mixup-train (tests/tools/mpi_cases.sh): MIXUP_TRAIN_FAULT=KIND@N makes this
// process fail on purpose, so the data-parallel failure paths can be run: nan@N (the N-th
// training micro-batch's loss becomes NaN), throw@N (it throws), kill@N (the process kills
// itself with SIGKILL), stall@N (it sleeps forever, neither failing nor arriving: the
// watchdog's case), diverge@E (a weight is nudged when epoch E begins: the ranks'
// checksums then differ). N and E count from 0 in this process. Unset: nothing happens.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include "learner.hpp"

namespace mixup::tools {

class FaultInjection : public nn::Callback {
 public:
  FaultInjection() {
    const char* s = std::getenv("MIXUP_TRAIN_FAULT");
    if (s == nullptr) return;
    const std::string f = s;
    const auto at = f.find('@');
    if (at == std::string::npos) throw std::runtime_error("MIXUP_TRAIN_FAULT=" + f + ": expected KIND@N");
    kind_ = f.substr(0, at);
    when_ = std::stoll(f.substr(at + 1));
  }
  bool armed() const { return !kind_.empty(); }
  void on_epoch_begin(nn::Learner& l) override {
    // the host model is the CPU engine's working copy; the cuDNN engine's is on the device
    if (kind_ == "diverge" && l.on_gpu())
      throw std::runtime_error("MIXUP_TRAIN_FAULT=diverge: CPU engine only");
    if (kind_ == "diverge" && ++epoch_ == when_) l.model().layers()[0].weight[0] += 1e-3f;
  }
  void on_backward_begin(nn::Learner&, nn::BatchState& b) override {
    if (!b.train || batch_++ != when_) return;
    if (kind_ == "nan") b.loss = std::numeric_limits<float>::quiet_NaN();
    if (kind_ == "throw")
      throw std::runtime_error("injected failure (MIXUP_TRAIN_FAULT) at micro-batch " +
                               std::to_string(when_));
    if (kind_ == "kill") std::raise(SIGKILL);
    while (kind_ == "stall") std::this_thread::sleep_for(std::chrono::seconds(1));
  }

 private:
  std::string kind_;
  long long when_ = -1, epoch_ = -1, batch_ = 0;
};

}  // namespace mixup::tools
