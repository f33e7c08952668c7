// How the learner trains data-parallel (data_parallel.hpp): over which communicator, how many
// ranks one process stands in for, how many micro-batches make one step, and how gradients
// are summed.
#pragma once

namespace mixup::nn {

class Communicator;

struct ParallelConfig {
  Communicator* comm = nullptr;  // null or one rank: one process
  int virtual_ranks = 1;         // > 1: this process runs that many ranks' micro-batches in turn
  int accum = 1;                 // micro-batches per rank and optimizer step
  bool ordered = true;           // sum gradients in rank order (bit-reproducible), else all-reduce
  double rank_timeout = 300;     // seconds a rank may stall before the job is ended (0: never)
  int processes() const;
  int rank() const;
  // The ranks a step's gradient is averaged over: processes × virtual ranks.
  int world() const { return processes() * virtual_ranks; }
  // Anything but the plain one-process, one-batch step.
  bool active() const { return world() > 1 || accum > 1; }
};

}  // namespace mixup::nn
