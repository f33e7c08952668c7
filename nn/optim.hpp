// AdamW as fastai v1's fit uses it: β = (0.9, 0.99), decoupled weight decay (true_wd), one
// fused pass per parameter tensor; and the one-cycle schedule (fit_one_cycle) as an option.
#pragma once

#include <cstdint>
#include <vector>

namespace mixup::nn {

class AdamW {
 public:
  AdamW(float beta1 = 0.9f, float beta2 = 0.99f, float eps = 1e-8f, float weight_decay = 1e-2f)
      : beta1_(beta1), beta2_(beta2), eps_(eps), wd_(weight_decay) {}
  // One step for all tensors: p ← p − lr·wd·p − lr·m̂/(√v̂ + ε). beta1 may be overridden (one-cycle momentum).
  void step(const std::vector<std::vector<float>*>& params, const std::vector<std::vector<float>*>& grads,
            float lr, float beta1_now = -1.0f);
  std::int64_t steps() const { return t_; }
  std::vector<std::vector<float>>& first_moments() { return m_; }
  std::vector<std::vector<float>>& second_moments() { return v_; }
  void set_steps(std::int64_t t) { t_ = t; }

 private:
  float beta1_, beta2_, eps_, wd_;
  std::int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_;
};

// fit_one_cycle(pct_start = 0.3, div_factor = 25, final_div = 1e4): lr warms from max/25 to
// max over the first 30% with a cosine, then anneals to max/25e4; momentum 0.95 → 0.85 → 0.95.
struct OneCycle {
  float max_lr;
  std::int64_t total_steps;
  float lr(std::int64_t step) const;
  float momentum(std::int64_t step) const;
};

}  // namespace mixup::nn
