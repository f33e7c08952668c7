// The MPI communicator (Open MPI from Debian): MPI_COMM_WORLD, host buffers. Errors return
// (MPI_ERRORS_RETURN) and become exceptions; a rank that dies is MPI's to notice (mpiexec
// ends the job). MPI_THREAD_MULTIPLE is asked for so that the watchdog's thread may call
// MPI_Abort while the main thread waits in a collective (watchdog.hpp); where the library
// gives less, abort from that thread exits the process instead, and mpiexec ends the job.
#include <mpi.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "comm.hpp"

namespace mixup::nn {
namespace {

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(std::string(what) + ": " + std::string(msg, static_cast<std::size_t>(len)));
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(int* argc, char*** argv) {
    int ready = 0;
    MPI_Initialized(&ready);
    int provided = MPI_THREAD_SINGLE;
    if (!ready) mpi_check(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
    else MPI_Query_thread(&provided);
    any_thread_ = provided >= MPI_THREAD_MULTIPLE;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiCommunicator() override {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* name() const override { return "mpi"; }

  void sum(float* data, std::size_t count, bool ordered) override {
    const int n = static_cast<int>(count);
    if (!ordered) {
      mpi_check(MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
      return;
    }
    if (rank_ == 0) gathered_.resize(count * static_cast<std::size_t>(size_));
    mpi_check(MPI_Gather(data, n, MPI_FLOAT, gathered_.data(), n, MPI_FLOAT, 0, MPI_COMM_WORLD),
              "MPI_Gather");
    if (rank_ == 0) sum_in_rank_order(gathered_.data(), size_, count, data);
    mpi_check(MPI_Bcast(data, n, MPI_FLOAT, 0, MPI_COMM_WORLD), "MPI_Bcast");
  }
  void allgather(const void* in, void* out, std::size_t bytes) override {
    const int n = static_cast<int>(bytes);
    mpi_check(MPI_Allgather(in, n, MPI_BYTE, out, n, MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgather");
  }
  void broadcast(void* data, std::size_t bytes, int root) override {
    mpi_check(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
  [[noreturn]] void abort(int status) override {
    if (!any_thread_ && std::this_thread::get_id() != main_) std::_Exit(status);
    MPI_Abort(MPI_COMM_WORLD, status);
    std::_Exit(status);  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

 private:
  int rank_ = 0, size_ = 1;
  bool any_thread_ = false;  // MPI may be called from any thread (MPI_THREAD_MULTIPLE)
  const std::thread::id main_ = std::this_thread::get_id();
  std::vector<float> gathered_;
};

}  // namespace

bool built_with_mpi() { return true; }
std::unique_ptr<Communicator> make_mpi_communicator(int* argc, char*** argv) {
  return std::make_unique<MpiCommunicator>(argc, argv);
}

}  // namespace mixup::nn
