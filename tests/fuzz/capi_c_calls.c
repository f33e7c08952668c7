/* The C ABI calls that take an enum by value, made from C as a C caller makes them: in C any
 * int converts to the enum, while in C++ loading an enum object outside its range is
 * undefined (UBSan's enum check would flag the harness, not the library). */
#include "mixup/loss.h"

mixup_status_t mixup_fuzz_combine_losses(mixup_loss_t loss, const float* l_a, const float* l_b,
                                         const float* lam, int64_t batch, int reduction, float* out) {
  return mixup_combine_losses(loss, l_a, l_b, lam, batch, (mixup_reduction_t)reduction, out, NULL);
}
