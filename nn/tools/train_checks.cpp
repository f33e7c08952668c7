#include "train_checks.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "cli.hpp"
#include "labels.hpp"

namespace mixup::tools {

double training_bytes(const nn::SimpleCnn& model, std::int64_t bs, std::int64_t h, std::int64_t w) {
  nn::Shape4 s{bs, model.layers().front().in_ch, h, w};
  double floats = 2.0 * s.n * s.c * s.h * s.w;  // input and its mixed / normalised copy
  for (const nn::Conv2d& c : model.layers()) {
    const nn::Shape4 o = c.output_shape(s);
    floats += 2.0 * o.n * o.c * o.h * o.w;                                           // output, gradient
    floats += static_cast<double>(o.n) * o.h * o.w * c.in_ch * c.kernel * c.kernel;  // patches
    s = o;
  }
  return 4.0 * floats;
}

double available_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream s(line);
    std::string key;
    double kb = 0;
    if (s >> key >> kb && key == "MemAvailable:") return kb * 1024.0;
  }
  return -1;
}

void check_memory(const nn::SimpleCnn& model, std::int64_t bs, std::int64_t h, std::int64_t w) {
  const double need = training_bytes(model, bs, h, w), have = available_bytes();
  if (have < 0 || need <= have) return;
  char msg[256];
  std::snprintf(msg, sizeof msg,
                "--bs %lld needs at least %.1f GiB for this model, %.1f GiB of memory is available",
                static_cast<long long>(bs), need / (1u << 30), have / (1u << 30));
  throw Failure(msg);
}

std::int64_t check_data_labels(const nn::IdxDataset& data, std::int64_t model_classes) {
  try {
    nn::check_labels(data.train_labels, model_classes);
    nn::check_labels(data.test_labels, model_classes);
  } catch (const nn::IdxError& e) {
    throw Failure(e.what());
  }
  return std::max(nn::label_classes(data.train_labels), nn::label_classes(data.test_labels));
}

}  // namespace mixup::tools
