// mixup-train's checks before any work: the memory a batch size needs against what the
// machine has, and the data's labels against the model.
#pragma once

#include <cstdint>

#include "idx.hpp"
#include "layers.hpp"

namespace mixup::tools {

// A lower bound of the host memory one CPU training step holds at batch size bs (float32
// input, each conv's output and its gradient, the im2col patches kept for the backward pass).
double training_bytes(const nn::SimpleCnn& model, std::int64_t bs, std::int64_t h, std::int64_t w);
// MemAvailable from /proc/meminfo, or -1 when it cannot be read.
double available_bytes();

// Throws Failure when `bs` needs more memory than is available ("--bs N needs at least X GiB").
void check_memory(const nn::SimpleCnn& model, std::int64_t bs, std::int64_t h, std::int64_t w);

// Every label of both splits against the model's classes (Failure naming file and index);
// returns the number of classes the data uses (1 + the largest label).
std::int64_t check_data_labels(const nn::IdxDataset& data, std::int64_t model_classes);

}  // namespace mixup::tools
