// --cutmix / --mix-prob / --switch-prob, shared by mixup-train and mixup-viz grid: the flags
// as the library's mixing policy. --cutmix alone makes the mixing CutMix only; --switch-prob
// (given as < 0 when absent) splits it between CutMix and mixup, as timm's switch_prob does.
#pragma once

#include "mixup/mixup.h"

namespace mixup::tools {

inline mixup_mixing_t mixing_from_flags(float cutmix, float switch_prob, float mix_prob) {
  mixup_mixing_t m = mixup_mixing_default();
  m.prob = mix_prob;
  if (cutmix > 0.0f) {
    m.cutmix_alpha = cutmix;
    m.switch_prob = switch_prob >= 0.0f ? switch_prob : 1.0f;
  }
  return m;
}

}  // namespace mixup::tools
