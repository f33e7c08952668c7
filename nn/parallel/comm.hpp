// The trainer's communicator: what data-parallel training needs from MPI or NCCL, behind one
// interface chosen at run time (none, mpi, nccl). Every call is collective: every rank makes
// the same calls in the same order, or the run hangs — data_parallel.cpp keeps that promise by
// letting a rank's failure travel inside the next reduction instead of leaving early.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mixup::nn {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const char* name() const = 0;
  // The GPU this rank computes on: NCCL's one GPU per rank (the local rank); 0 otherwise (MPI
  // ranks on one machine share device 0, their buffers staged through the host).
  virtual int device() const { return 0; }
  // Every rank's `count` floats summed, the sum on every rank. ordered: gathered to rank 0,
  // summed there in rank order (sum_in_rank_order) and broadcast, so the bits depend on the
  // rank count only; otherwise the library's all-reduce (MPI_Allreduce, ncclAllReduce).
  virtual void sum(float* data, std::size_t count, bool ordered) = 0;
  // out holds size() · bytes: rank r's `in` at out + r · bytes.
  virtual void allgather(const void* in, void* out, std::size_t bytes) = 0;
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  // Ends every rank of the job now (MPI_Abort): for a failure only this rank saw, where
  // waiting for the others would hang.
  [[noreturn]] virtual void abort(int status) = 0;
};

// acc = part[0]; acc += part[1]; …: the one summation order of --reduce ordered, shared by the
// MPI communicator and --virtual-ranks so both give the same bits.
void sum_in_rank_order(const float* parts, int ranks, std::size_t count, float* out);

// One process: rank 0 of 1.
std::unique_ptr<Communicator> make_single_communicator();
// MPI_Init + MPI_COMM_WORLD. Throws std::runtime_error where the build has no MPI.
std::unique_ptr<Communicator> make_mpi_communicator(int* argc, char*** argv);
// MPI for the job and the id; sums with NCCL on the device (one GPU per rank, the local rank
// picking it), host buffers staged through it. Throws where the build has no NCCL.
std::unique_ptr<Communicator> make_nccl_communicator(int* argc, char*** argv);
bool built_with_mpi();
bool built_with_nccl();
// The rank count a launcher announced in the environment (Open MPI, MPICH/Hydra), or 0.
int launcher_world_size();

}  // namespace mixup::nn
