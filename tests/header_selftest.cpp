// The C++ header on its own: it must bring everything it uses.
#include "mixup/mixup.hpp"

int main() {
  mixup::TensorView v = mixup::TensorView::rows(nullptr, mixup::DType::f32, 1, 1);
  return v.c_batch().n == 1 ? 0 : 1;
}
