// Stands in where CMake found no MPI (or MIXUP_MPI=OFF): the trainer runs in one process.
#include <stdexcept>

#include "comm.hpp"

namespace mixup::nn {

bool built_with_mpi() { return false; }
std::unique_ptr<Communicator> make_mpi_communicator(int*, char***) {
  throw std::runtime_error("this build has no MPI (configure with MPI installed: libopenmpi-dev)");
}

}  // namespace mixup::nn
