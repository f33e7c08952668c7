// Test-only access into a handle; not part of the public API and not installed.
#pragma once

#include "mixup/mixup.h"

namespace mixup::detail {

struct TestHooks {
  int key_bits = 64;               // < 64 shortens permutation keys, forcing ties (uniformity tests)
  bool serial_launches = false;    // CUDA: the blend waits for the pairing the plain way (no PDL)
  bool fail_blend_launch = false;  // CUDA: the blend's launch fails after the pairing's (injected)
};

TestHooks& test_hooks(mixup_handle_t h);

}  // namespace mixup::detail
