// Built instead of cudnn_engine.cpp where CMake found no cuDNN: asking for the GPU engine is
// then a clear runtime error, and nothing else in the trainer needs to know.
#include <stdexcept>

#include "engine.hpp"

namespace mixup::nn {

std::unique_ptr<Engine> make_cudnn_engine(SimpleCnn&, const EngineConfig&) {
  throw std::runtime_error("this build has no cuDNN: the trainer runs on the CPU only");
}

}  // namespace mixup::nn
