#include "parallel_flags.hpp"

#include "cli.hpp"
#include "parallel/watchdog.hpp"

namespace mixup::tools {

nn::ParallelConfig ParallelOptions::config() const {
  nn::ParallelConfig c;
  c.comm = communicator.get();
  c.virtual_ranks = virtual_ranks;
  c.accum = accum;
  c.ordered = reduce == "ordered";
  c.rank_timeout = rank_timeout;
  return c;
}

void add_parallel_flags(CLI::App& app, ParallelOptions& p) {
  app.add_option(
         "--comm", p.comm,
         "data-parallel communicator: auto (mpi when started by mpiexec with several ranks), none, mpi, "
         "nccl. Under mpiexec --bs is per rank: the global batch is ranks x accum x bs")
      ->check(CLI::IsMember({"auto", "none", "mpi", "nccl"}))
      ->capture_default_str();
  app.add_option(
         "--reduce", p.reduce,
         "gradient sum: ordered (gathered, summed in rank order, broadcast: bit-reproducible for a rank "
         "count) or allreduce (MPI_Allreduce / NCCL: faster, rounding may differ)")
      ->check(CLI::IsMember({"ordered", "allreduce"}))
      ->capture_default_str();
  app.add_option(
         "--virtual-ranks", p.virtual_ranks,
         "one process running N ranks' micro-batches in turn (rank r's shard, mixup salt r, BatchNorm "
         "statistics): the same bits as mpiexec -n N with --reduce ordered")
      ->check(integer_in(1, 1024))
      ->capture_default_str();
  app.add_option("--accum", p.accum, "micro-batches of --bs per optimizer step, each mixed on its own")
      ->check(integer_in(1, 1 << 20))
      ->capture_default_str();
  app.add_option(
         "--rank-timeout", p.rank_timeout,
         "seconds a rank may spend in one phase of its own work (a step's micro-batches, "
         "validation) before the job is ended: the stalled rank names itself and every rank exits " +
             std::to_string(nn::kExitRankTimeout) +
             "; a rank waiting for the others allows twice as long. 0: never (several processes only)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--mixup-off-epoch", p.mixup_off_epoch,
                 "train unmixed from this epoch on (0-based, timm's mixup_off_epoch); default: never")
      ->check(integer_in(0, 100000));
}

void check_parallel_flags(const ParallelOptions& p, bool drop_last) {
  if (!drop_last && (p.virtual_ranks > 1 || p.accum > 1))
    throw CLI::ValidationError("--drop-last",
                               "off needs --virtual-ranks 1 and --accum 1 (every micro-batch is full)");
  if (p.virtual_ranks > 1 && (p.comm == "mpi" || p.comm == "nccl"))
    throw CLI::ValidationError("--virtual-ranks", "stands in for mpiexec ranks: use it with --comm none");
}

void start_communicator(ParallelOptions& p, int* argc, char*** argv) {
  const int launched = nn::launcher_world_size();
  std::string kind = p.comm;
  if (kind == "auto") kind = launched > 0 && nn::built_with_mpi() ? "mpi" : "none";
  if (kind == "none" && launched > 1)
    throw std::runtime_error("started by a launcher with " + std::to_string(launched) + " ranks, but " +
                             (p.comm == "none"
                                  ? std::string("--comm none")
                                  : std::string("this build has no MPI (install libopenmpi-dev)")) +
                             ": each rank would train alone");
  if (kind == "mpi" && !nn::built_with_mpi())
    throw std::runtime_error("--comm mpi: this build has no MPI (install libopenmpi-dev)");
  if (kind == "none") p.communicator = nn::make_single_communicator();
  if (kind == "mpi") p.communicator = nn::make_mpi_communicator(argc, argv);
  if (kind == "nccl") p.communicator = nn::make_nccl_communicator(argc, argv);
  if (p.virtual_ranks > 1 && p.communicator->size() > 1)
    throw std::runtime_error("--virtual-ranks stands in for ranks: not under mpiexec with several ranks");
}

std::string describe_parallel(const ParallelOptions& p, std::int64_t bs) {
  const nn::ParallelConfig c = p.config();
  if (!c.active() && c.processes() == 1) return "";
  const std::int64_t global = static_cast<std::int64_t>(c.world()) * c.accum * bs;
  std::string s = "data-parallel: " + std::to_string(c.world()) + " rank(s) (" +
                  (c.virtual_ranks > 1 ? std::string("virtual") : std::string(p.communicator->name())) +
                  "), accum " + std::to_string(c.accum) + ", global batch " + std::to_string(global) +
                  ", reduce " + p.reduce;
  return s;
}

}  // namespace mixup::tools
