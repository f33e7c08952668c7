// Stands in where CMake found no NCCL, MPI or CUDA toolkit (or MIXUP_NCCL=OFF).
#include <stdexcept>

#include "comm.hpp"

namespace mixup::nn {

bool built_with_nccl() { return false; }
std::unique_ptr<Communicator> make_nccl_communicator(int*, char***) {
  throw std::runtime_error("this build has no NCCL (it needs nccl.h and libnccl, and MPI for the id)");
}

}  // namespace mixup::nn
