// Checkpoints of a SimpleCnn: a header (magic, version, layer shapes), the parameters, and an
// FNV-1a checksum of everything before it. Written to a temporary file in the same directory
// and renamed into place, so a crash never leaves a half-written checkpoint; a file that is
// truncated, altered or of another version is refused with a message saying which.
#pragma once

#include <stdexcept>
#include <string>

#include "layers.hpp"

namespace mixup::nn {

struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void save_checkpoint(const SimpleCnn& model, const std::string& path);
SimpleCnn load_checkpoint(const std::string& path);

}  // namespace mixup::nn
