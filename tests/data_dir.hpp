// Where the tests find Fashion-MNIST: $MIXUP_DATA_DIR (the GPU check carries a copy there),
// else Debian's dataset-fashion-mnist package.
#pragma once

#include <cstdlib>
#include <string>

inline std::string fashion_mnist_dir() {
  const char* env = std::getenv("MIXUP_DATA_DIR");
  return env != nullptr && *env != '\0' ? env : "/usr/share/datasets/fashion-mnist";
}
