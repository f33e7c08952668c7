// Labels checked when the data is loaded, not when a batch reaches them: how many classes a
// label file uses, and every label against the model's classes (the first bad one is named by
// file and index, before any training).
#pragma once

#include <cstdint>

#include "idx.hpp"

namespace mixup::nn {

// 1 + the largest label (0 for an empty file): the outputs a model needs for this data.
std::int64_t label_classes(const IdxArray& labels);
// Throws IdxError "<file>: label L at index I is not one of the model's C classes (0 to C-1)".
void check_labels(const IdxArray& labels, std::int64_t classes);

}  // namespace mixup::nn
