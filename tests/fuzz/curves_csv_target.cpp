// viz::read_training_csv (what `mixup-viz curves` reads) on fuzzer bytes.
#include <string>

#include "targets.hpp"
#include "viz/plots.hpp"

namespace mixup::fuzz {

void curves_csv_input(const std::uint8_t* data, std::size_t size) {
  const char* path = scratch_file("curves_csv", data, size);
  try {
    for (const nn::viz::RunCurves& r : nn::viz::read_training_csv(path)) {
      const std::size_t n = r.epoch.size();
      if (n == 0 || r.train_loss.size() != n || r.valid_loss.size() != n || r.accuracy.size() != n)
        fuzz_fail("curves_csv", "a run's columns have different lengths, or none");
    }
  } catch (const nn::viz::VizError& e) {
    if (std::string(e.what()).find(path) != 0)
      fuzz_fail("curves_csv", "error message does not start with the file's path");
  }
}

}  // namespace mixup::fuzz
