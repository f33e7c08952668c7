// mixup-train's data-parallel flags (--comm, --reduce, --virtual-ranks, --accum,
// --mixup-off-epoch), the communicator they ask for, and "one voice": ranks other than 0 print
// nothing to stdout and write no log, checkpoint or plot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "learner.hpp"
#include "parallel/comm.hpp"

namespace mixup::tools {

struct ParallelOptions {
  std::string comm = "auto", reduce = "ordered";
  int virtual_ranks = 1, accum = 1;
  double rank_timeout = 300;
  std::int64_t mixup_off_epoch = -1;
  std::unique_ptr<nn::Communicator> communicator;  // made after parsing
  nn::ParallelConfig config() const;
};

// The flags, with --help text stating the semantics (per-rank --bs, global batch).
void add_parallel_flags(CLI::App& app, ParallelOptions& p);
// Checks between flags, after parsing (throws CLI::ValidationError naming the flag).
void check_parallel_flags(const ParallelOptions& p, bool drop_last);
// Makes p.communicator: none, mpi or nccl; auto is mpi where a launcher (mpiexec) started
// this process and the build has MPI. Throws std::runtime_error when the build lacks what was asked for.
void start_communicator(ParallelOptions& p, int* argc, char*** argv);
// "rank 1 of 2 (mpi, ordered reduction)": for the run header; empty in one plain process.
std::string describe_parallel(const ParallelOptions& p, std::int64_t bs);

}  // namespace mixup::tools
