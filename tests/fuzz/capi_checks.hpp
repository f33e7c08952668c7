// What every fuzzed C ABI call must do, whatever it was given: return one of the documented
// statuses; on failure say why and leave every byte it could reach as it was.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "capi_arena.hpp"
#include "mixup/mixup.h"
#include "targets.hpp"

namespace mixup::fuzz {

// Sizes above this are not fuzzed (a valid call would need that much real memory).
constexpr std::size_t kMaxArgBytes = std::size_t(1) << 20;

inline void check_call(const char* call, mixup_status_t s, const CapiArena& arena, bool must_fail) {
  int v;
  std::memcpy(&v, &s, sizeof v);
  const std::string who = std::string(call) + ": ";
  const char* msg = mixup_last_error();
  static const bool trace = std::getenv("MIXUP_FUZZ_TRACE") != nullptr;  // to see what a corpus reaches
  if (trace) std::fprintf(stderr, "%s -> %d %s\n", call, v, msg ? msg : "(null)");
  // INVALID_VALUE and NOT_SUPPORTED are the answers to bad arguments on the CPU backend; an
  // internal error, out-of-memory at these sizes or a CUDA status there means a bug.
  if (v != MIXUP_STATUS_SUCCESS && v != MIXUP_STATUS_INVALID_VALUE && v != MIXUP_STATUS_NOT_SUPPORTED)
    fuzz_fail("capi",
              (who + "unexpected status " + std::to_string(v) + ": " + (msg ? msg : "(null)")).c_str());
  if (v == MIXUP_STATUS_SUCCESS) {
    if (must_fail) fuzz_fail("capi", (who + "accepted arguments it must refuse").c_str());
    return;
  }
  if (msg == nullptr || *msg == '\0') fuzz_fail("capi", (who + "failed without a message").c_str());
  if (!arena.unchanged())
    fuzz_fail("capi", (who + "failed (" + msg + ") but changed memory it was given").c_str());
}

template <class H>
H untouched_handle() {
  return reinterpret_cast<H>(std::uintptr_t{0x5a5a5a50});
}

void capi_mixup_input(FuzzBytes& in);  // capi_mixup.cpp
void capi_loss_input(FuzzBytes& in);   // capi_loss.cpp

}  // namespace mixup::fuzz
