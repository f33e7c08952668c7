// Device-side checks, shared by every kernel family and both backends: what a check found
// (one code per kind of bad input), the verdict one call leaves, and how a verdict is kept
// until a poll reads it. The words for each code are written once, on the host
// (describe_check in host/api.cpp).
#pragma once

#include "common.cuh"

namespace mixup::core {

// What a device-side check found; the blend reads it and writes nothing unless it is kOk.
enum class CheckCode : std::int32_t {
  kOk = 0,
  kLabelOutOfRange = 1,
  kPermOutOfRange = 2,
  kPermNotBijective = 3,
  kLambdaOutOfRange = 4,
  // a replayed call (mixup_apply_replay)
  kKindOutOfRange = 5,    // kind[i] is not a mixup_kind_t
  kUnmixedRowMixes = 6,   // kind NONE, but partner ≠ i or λ ≠ 1
  kBoxOutOfRange = 7,     // a CutMix row's box is not inside the image (or there is no box)
  kInPlaceNotPaired = 8,  // in place: i mixes with j, and j neither mixes with i nor is unmixed
};

struct DeviceCheck {
  std::int32_t code;    // CheckCode
  std::int32_t index;   // the first offending sample
  std::int32_t value;   // the offending label / partner / kind (λ: its bits)
  std::int32_t detail;  // a second value where one is not enough (decode_first_failures)
};

MIXUP_HD bool check_failed(const DeviceCheck& c) {
  return c.code != static_cast<std::int32_t>(CheckCode::kOk);
}

// Stores a call's verdict, and keeps the first failure until a poll reads (and clears) it:
// with deferred checks a failed call followed by good ones is still reported.
MIXUP_HD void publish_check(const DeviceCheck& verdict, DeviceCheck* now, DeviceCheck* first_failure) {
  *now = verdict;
  if (check_failed(verdict) && first_failure != nullptr && !check_failed(*first_failure))
    *first_failure = verdict;
}

constexpr int kNumCheckCodes = 9;  // CheckCode values, kOk included

// "No sample failed this check", where a check's first offending index is kept.
constexpr std::int32_t kNoIndex = 0x7FFFFFFF;

}  // namespace mixup::core
