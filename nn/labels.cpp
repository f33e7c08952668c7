#include "labels.hpp"

#include <algorithm>
#include <string>

namespace mixup::nn {

std::int64_t label_classes(const IdxArray& labels) {
  if (labels.data.empty()) return 0;
  return 1 + *std::max_element(labels.data.begin(), labels.data.end());
}

void check_labels(const IdxArray& labels, std::int64_t classes) {
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] < classes) continue;
    throw IdxError(labels.path + ": label " + std::to_string(labels.data[i]) + " at index " +
                   std::to_string(i) + " is not one of the model's " + std::to_string(classes) +
                   " classes (0 to " + std::to_string(classes - 1) + ")");
  }
}

}  // namespace mixup::nn
