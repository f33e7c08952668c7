// libFuzzer's entry point for one target; MIXUP_FUZZ_ENTRY names its function (CMake sets it).
#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mixup::fuzz::MIXUP_FUZZ_ENTRY(data, size);
  return 0;
}
