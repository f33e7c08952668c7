// The C ABI on the CPU backend: the first byte chooses the family of calls (mixup or loss).
#include "capi_checks.hpp"

namespace mixup::fuzz {

void capi_input(const std::uint8_t* data, std::size_t size) {
  FuzzBytes in(data, size);
  if (in.u8() & 1) capi_loss_input(in);
  else capi_mixup_input(in);
}

}  // namespace mixup::fuzz
