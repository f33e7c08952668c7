// How a native trainer uses libmixup_cuda: one handle, one call per step, on the CPU backend
// (its data is in host memory), checking what it got back. A trainer whose batches live on
// the GPU passes device pointers with MIXUP_BACKEND_CUDA, or MIXUP_BACKEND_AUTO when it can
// take either (then mixup_get_backend says where its data must be).
#include <cmath>
#include <cstdio>
#include <vector>

#include "mixup/mixup.hpp"

int main() {
  constexpr int kBatch = 8, kC = 1, kH = 4, kW = 4, kClasses = 10;
  const int per_sample = kC * kH * kW;
  std::vector<float> x(kBatch * per_sample), out(x.size());
  std::vector<std::int32_t> labels(kBatch), y_a(kBatch), y_b(kBatch), perm(kBatch);
  std::vector<float> lam(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    labels[i] = i % kClasses;
    for (int e = 0; e < per_sample; ++e) x[i * per_sample + e] = static_cast<float>(i);  // image i is all i
  }

  mixup_config_t config = mixup_config_default();  // α = 0.4, per-sample λ, folded, permutation
  config.backend = MIXUP_BACKEND_CPU;              // host pointers below
  config.num_classes = kClasses;
  config.max_batch = kBatch;
  config.seed = 7;
  try {
    mixup::Mixup mix(config);
    mixup::StackedTargets t{labels.data(), y_a.data(), y_b.data(), lam.data(), perm.data()};
    mix.apply(mixup::TensorView::images(x.data(), mixup::DType::f32, kBatch, kC, kH, kW),
              mixup::TensorView::images(out.data(), mixup::DType::f32, kBatch, kC, kH, kW), t);
    int bad = 0;
    for (int i = 0; i < kBatch; ++i) {
      const double want = lam[i] * i + (1.0 - lam[i]) * perm[i];
      bad += std::fabs(out[i * per_sample] - want) > 1e-5 || lam[i] < 0.5f || y_b[i] != labels[perm[i]];
      std::printf("sample %d: %.3f x[%d] + %.3f x[%d] -> %.4f   targets (%d, %d, %.3f)\n", i, lam[i], i,
                  1 - lam[i], perm[i], out[i * per_sample], y_a[i], y_b[i], lam[i]);
    }
    if (bad != 0) {
      std::printf("FAILED: %d samples wrong\n", bad);
      return 1;
    }
    std::printf("ok: step is now %llu\n", static_cast<unsigned long long>(mix.step()));
  } catch (const mixup::Error& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
  return 0;
}
