#include "watchdog.hpp"

#include <algorithm>
#include <cstdio>

#include "comm.hpp"

namespace mixup::nn {

Watchdog::Watchdog(Communicator& comm, double timeout_s)
    : comm_(comm), timeout_(timeout_s), since_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Watchdog::beat(const char* what, std::int64_t step, bool waiting) {
  std::lock_guard<std::mutex> lock(m_);
  what_ = what, step_ = step, waiting_ = waiting;
  since_ = std::chrono::steady_clock::now();
}

void Watchdog::watch() {
  // woken ten times per timeout (at most once a second): the stall is seen within 10% of it
  const auto tick = std::min<std::chrono::duration<double>>(timeout_ / 10, std::chrono::seconds(1));
  std::unique_lock<std::mutex> lock(m_);
  while (!stop_) {
    cv_.wait_for(lock, tick);
    if (stop_) return;
    const auto idle = std::chrono::steady_clock::now() - since_;
    if (idle < (waiting_ ? 2 * timeout_ : timeout_)) continue;
    const double secs = std::chrono::duration<double>(idle).count();
    std::string where = what_;
    if (step_ >= 0) where = "step " + std::to_string(step_) + "'s " + where;
    std::fflush(stdout);
    if (waiting_)
      std::fprintf(stderr,
                   "mixup-train: rank %d: waited %.0f s in %s for a rank that neither failed nor arrived "
                   "(--rank-timeout %.0f, doubled while waiting): ending every rank (exit %d)\n",
                   comm_.rank(), secs, where.c_str(), timeout_.count(), kExitRankTimeout);
    else
      std::fprintf(stderr,
                   "mixup-train: rank %d: stalled: %s did not finish in %.0f s (--rank-timeout %.0f): ending "
                   "every rank (exit %d)\n",
                   comm_.rank(), where.c_str(), secs, timeout_.count(), kExitRankTimeout);
    std::fflush(stderr);
    comm_.abort(kExitRankTimeout);
  }
}

}  // namespace mixup::nn
