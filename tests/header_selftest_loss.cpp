// The loss C++ header on its own.
#include "mixup/loss.hpp"

int main() {
  mixup_loss_config_t c = mixup_loss_config_default();
  return c.max_batch > 0 ? 0 : 1;
}
