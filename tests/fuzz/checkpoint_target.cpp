// nn::load_checkpoint on fuzzer bytes. A checkpoint ends with an FNV-1a checksum of the rest,
// which random mutation almost never matches; so when the first byte's low bit is set, the
// checksum is computed here and appended, and the fuzzer reaches the header and layer parsing
// behind it. The other inputs exercise the checksum and size checks themselves.
#include <cstring>
#include <string>
#include <vector>

#include "checkpoint.hpp"
#include "targets.hpp"

namespace mixup::fuzz {

void checkpoint_input(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const bool append_checksum = (data[0] & 1) != 0;
  std::vector<std::uint8_t> file(data + 1, data + size);
  if (append_checksum) {
    std::uint64_t h = 1469598103934665603ull;
    for (std::uint8_t b : file) h = (h ^ b) * 1099511628211ull;
    const auto* p = reinterpret_cast<const std::uint8_t*>(&h);
    file.insert(file.end(), p, p + sizeof h);
  }
  const char* path = scratch_file("checkpoint", file.data(), file.size());
  try {
    const nn::SimpleCnn model = nn::load_checkpoint(path);
    if (model.layers().empty()) fuzz_fail("checkpoint", "accepted a model without layers");
  } catch (const nn::CheckpointError& e) {
    if (std::string(e.what()).find(path) != 0)
      fuzz_fail("checkpoint", "error message does not start with the file's path");
  }
}

}  // namespace mixup::fuzz
