/* The C ABI header on its own, as a C99 translation unit. */
#include "mixup/mixup.h"

int main(void) {
  mixup_config_t c = mixup_config_default();
  mixup_handle_t h = 0;
  (void)c;
  (void)h;
  return mixup_status_string(MIXUP_STATUS_SUCCESS) == 0;
}
