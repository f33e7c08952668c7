// A watchdog for a rank that neither fails nor arrives (--rank-timeout). A failure that throws
// travels with the next reduction (rank_failure.hpp) and a rank that dies is mpiexec's to
// notice; a rank stuck in a loop, a deadlocked driver or a stopped process does neither, and
// every other rank would wait in the reduction forever. Each rank's watchdog thread watches
// its own progress marks (beat): a rank busy in one phase of its own work for longer than the
// timeout speaks, naming itself and the phase, and ends the job (Communicator::abort,
// MPI_Abort) with kExitRankTimeout. A rank waiting in a collective gives the stalled rank
// the same time again to speak first, then ends the job itself (a stopped process cannot
// speak): one message in the usual case, no hang in any.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace mixup::nn {

class Communicator;

// The exit status of a job ended by the watchdog (mixup-train's --help and README).
constexpr int kExitRankTimeout = 3;

class Watchdog {
 public:
  Watchdog(Communicator& comm, double timeout_s);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  // This rank starts a phase: its own work (waiting = false) or a collective (waiting = true).
  // `what` must outlive the phase (a string literal); `step` is named in the message (-1: none).
  void beat(const char* what, std::int64_t step, bool waiting);

 private:
  void watch();
  Communicator& comm_;
  const std::chrono::duration<double> timeout_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false, waiting_ = false;
  const char* what_ = "the start of training";
  std::int64_t step_ = -1;
  std::chrono::steady_clock::time_point since_;
  std::thread thread_;
};

}  // namespace mixup::nn
