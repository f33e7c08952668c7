// The NCCL communicator (llm.c's recipe): MPI launches the ranks and broadcasts NCCL's unique
// id; each rank takes the GPU of its local rank (ranks on one machine numbered by
// MPI_Comm_split_type) and sums with ncclAllReduce on its own stream. allgather and broadcast
// (small, once per epoch) go over MPI.
//
// Host-staged, not device buffers on the engine's stream (what issue 22 asked): the
// data-parallel step (data_parallel.cpp) is one engine-independent flat host buffer per step
// — the gradient, each micro-batch's loss, each rank's status (the error flag every rank must
// see) — summed by one code path in rank order for --reduce ordered and --virtual-ranks (the
// bit identity of np N and N virtual ranks rests on that one sum). sum() therefore uploads the
// buffer, reduces it on the device and downloads it, synchronised; the cuDNN engine's
// read_flat / write_flat add a download per micro-batch and an upload per step. The cost per
// step: four PCIe crossings of the gradient plus three stream syncs — for simple_cnn's 15.7 KB,
// latency (tens of µs, against a step of a fraction of a millisecond); for a ResNet-50-sized
// gradient (102 MB), ≈ 16 ms at 25 GB/s, which is where a device path (a contiguous device
// gradient in GpuCnn, accumulated and reduced in place on the engine's stream, the loss and
// status slots appended) would pay. Not built: it could not run here (no GPU) and, multi-rank,
// not on any one-GPU machine (NCCL refuses two ranks on one GPU: "Duplicate GPU detected").
// One rank has a test for the lent GPU (gpu.mpi.gpu_nccl_np1_equals_plain, not yet run there);
// across GPUs it is untested.
#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "comm.hpp"

namespace mixup::nn {
namespace {

void cuda_check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(rc));
}
void nccl_check(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) throw std::runtime_error(std::string(what) + ": " + ncclGetErrorString(rc));
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(int* argc, char*** argv) : mpi_(make_mpi_communicator(argc, argv)) {
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, mpi_->rank(), MPI_INFO_NULL, &local);
    int local_rank = 0, devices = 0;
    MPI_Comm_rank(local, &local_rank);
    MPI_Comm_free(&local);
    cuda_check(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
    if (local_rank >= devices)
      throw std::runtime_error("rank " + std::to_string(mpi_->rank()) + " is local rank " +
                               std::to_string(local_rank) + " but this machine has " +
                               std::to_string(devices) + " GPU(s): NCCL needs one GPU per rank");
    cuda_check(cudaSetDevice(local_rank), "cudaSetDevice");
    device_ = local_rank;
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    ncclUniqueId id;
    if (mpi_->rank() == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    mpi_->broadcast(&id, sizeof id, 0);
    nccl_check(ncclCommInitRank(&comm_, mpi_->size(), id, mpi_->rank()), "ncclCommInitRank");
  }
  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
    if (buf_) cudaFree(buf_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  const char* name() const override { return "nccl"; }
  int device() const override { return device_; }

  void sum(float* data, std::size_t count, bool ordered) override {
    const std::size_t parts = ordered ? static_cast<std::size_t>(size()) : 1;
    reserve((1 + parts) * count);
    float* mine = buf_;
    float* all = buf_ + count;
    cuda_check(cudaMemcpyAsync(mine, data, count * sizeof(float), cudaMemcpyHostToDevice, stream_), "upload");
    if (ordered) {
      nccl_check(ncclAllGather(mine, all, count, ncclFloat, comm_, stream_), "ncclAllGather");
      host_.resize(parts * count);
      cuda_check(cudaMemcpyAsync(host_.data(), all, parts * count * sizeof(float), cudaMemcpyDeviceToHost,
                                 stream_),
                 "download");
      cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
      sum_in_rank_order(host_.data(), size(), count, data);
      return;
    }
    nccl_check(ncclAllReduce(mine, mine, count, ncclFloat, ncclSum, comm_, stream_), "ncclAllReduce");
    cuda_check(cudaMemcpyAsync(data, mine, count * sizeof(float), cudaMemcpyDeviceToHost, stream_),
               "download");
    cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }
  void allgather(const void* in, void* out, std::size_t bytes) override { mpi_->allgather(in, out, bytes); }
  void broadcast(void* data, std::size_t bytes, int root) override { mpi_->broadcast(data, bytes, root); }
  [[noreturn]] void abort(int status) override {
    if (comm_) ncclCommAbort(comm_), comm_ = nullptr;
    mpi_->abort(status);
    std::_Exit(status);  // not reached: the compiler cannot see through the virtual call
  }

 private:
  void reserve(std::size_t floats) {
    if (floats <= capacity_) return;
    if (buf_) cudaFree(buf_), buf_ = nullptr;
    cuda_check(cudaMalloc(reinterpret_cast<void**>(&buf_), floats * sizeof(float)), "cudaMalloc");
    capacity_ = floats;
  }
  std::unique_ptr<Communicator> mpi_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
  float* buf_ = nullptr;
  std::size_t capacity_ = 0;
  std::vector<float> host_;
};

}  // namespace

bool built_with_nccl() { return true; }
std::unique_ptr<Communicator> make_nccl_communicator(int* argc, char*** argv) {
  return std::make_unique<NcclCommunicator>(argc, argv);
}

}  // namespace mixup::nn
