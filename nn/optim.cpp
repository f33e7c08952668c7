#include "optim.hpp"

#include <cmath>
#include <stdexcept>

#include "fixed_math.hpp"

namespace mixup::nn {

void AdamW::step(const std::vector<std::vector<float>*>& params,
                 const std::vector<std::vector<float>*>& grads, float lr, float beta1_now) {
  if (params.size() != grads.size()) throw std::invalid_argument("AdamW: params and grads differ in count");
  if (m_.empty()) {
    for (const auto* p : params) m_.emplace_back(p->size(), 0.0f), v_.emplace_back(p->size(), 0.0f);
  }
  ++t_;
  const float b1 = beta1_now > 0.0f ? beta1_now : beta1_;
  const float c1 = 1.0f - static_cast<float>(fixed_math::pow_int(b1, t_));
  const float c2 = 1.0f - static_cast<float>(fixed_math::pow_int(beta2_, t_));
  for (std::size_t i = 0; i < params.size(); ++i) {
    std::vector<float>& p = *params[i];
    const std::vector<float>& g = *grads[i];
    float* m = m_[i].data();
    float* v = v_[i].data();
    for (std::size_t k = 0; k < p.size(); ++k) {
      m[k] = b1 * m[k] + (1.0f - b1) * g[k];
      v[k] = beta2_ * v[k] + (1.0f - beta2_) * g[k] * g[k];
      const float update = (m[k] / c1) / (std::sqrt(v[k] / c2) + eps_);
      p[k] = p[k] - lr * wd_ * p[k] - lr * update;
    }
  }
}

namespace {
float cos_anneal(float from, float to, float pct) {
  return to + (from - to) / 2.0f * (1.0f + static_cast<float>(fixed_math::cos_pi(pct)));
}
}  // namespace

float OneCycle::lr(std::int64_t step) const {
  const std::int64_t warm = static_cast<std::int64_t>(0.3 * total_steps);
  if (step < warm)
    return cos_anneal(max_lr / 25.0f, max_lr, static_cast<float>(step) / std::max<std::int64_t>(1, warm));
  return cos_anneal(max_lr, max_lr / 25e4f,
                    static_cast<float>(step - warm) / std::max<std::int64_t>(1, total_steps - warm));
}

float OneCycle::momentum(std::int64_t step) const {
  const std::int64_t warm = static_cast<std::int64_t>(0.3 * total_steps);
  if (step < warm)
    return cos_anneal(0.95f, 0.85f, static_cast<float>(step) / std::max<std::int64_t>(1, warm));
  return cos_anneal(0.85f, 0.95f,
                    static_cast<float>(step - warm) / std::max<std::int64_t>(1, total_steps - warm));
}

}  // namespace mixup::nn
