/* The loss C header on its own, as a C99 translation unit. */
#include "mixup/loss.h"

int main(void) {
  mixup_ce_args_t a = mixup_ce_args_default();
  return a.reduction == MIXUP_REDUCTION_MEAN ? 0 : 1;
}
