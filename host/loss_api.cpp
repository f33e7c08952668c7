// C ABI of the loss: argument checks shared by both backends, then dispatch. Same rules as
// api.cpp: nothing escapes, a failed check writes nothing.
#include <cmath>
#include <cstdint>
#include <new>

#include "backend_setup.hpp"
#include "error.hpp"
#include "guarded.hpp"
#include "handle.hpp"
#include "loss_handle.hpp"

using namespace mixup::detail;
namespace core = mixup::core;

namespace {

bool ranges_overlap(const void* a, std::size_t an, const void* b, std::size_t bn) {
  if (a == nullptr || b == nullptr) return false;
  const auto pa = reinterpret_cast<std::uintptr_t>(a), pb = reinterpret_cast<std::uintptr_t>(b);
  return pa < pb + bn && pb < pa + an;
}

core::Reduction reduction_of(const mixup_reduction_t& field) {
  const int r = raw(field);
  MIXUP_EXPECTS(r >= MIXUP_REDUCTION_NONE && r <= MIXUP_REDUCTION_SUM, "reduction = ", r,
                " is not a reduction");
  return static_cast<core::Reduction>(r);
}

core::CeParams make_params(const mixup_loss_s& h, const mixup_ce_args_t* a) {
  MIXUP_EXPECTS(a != nullptr, "args is NULL");
  MIXUP_EXPECTS(a->batch > 0, "batch = ", a->batch, " must be > 0");
  MIXUP_EXPECTS(a->batch <= h.config.max_batch, "batch = ", a->batch,
                " exceeds config.max_batch = ", h.config.max_batch);
  MIXUP_EXPECTS(a->classes > 0, "classes = ", a->classes, " must be > 0");
  MIXUP_EXPECTS(a->logits != nullptr, "logits is NULL");
  MIXUP_EXPECTS(a->loss != nullptr, "loss is NULL");
  MIXUP_EXPECTS(raw(a->dtype) >= MIXUP_DTYPE_F32 && raw(a->dtype) <= MIXUP_DTYPE_U8,
                "dtype = ", raw(a->dtype), " is not a dtype");
  if (a->dtype == MIXUP_DTYPE_U8) throw Error(MIXUP_STATUS_NOT_SUPPORTED, "logits must be f32, f16 or bf16");
  MIXUP_EXPECTS(std::isfinite(a->label_smoothing) && a->label_smoothing >= 0.0f && a->label_smoothing < 1.0f,
                "label_smoothing = ", a->label_smoothing, " must be in [0, 1)");
  MIXUP_EXPECTS(std::isfinite(a->loss_scale), "loss_scale = ", a->loss_scale, " must be finite");
  const core::Reduction red = reduction_of(a->reduction);
  if (a->soft_targets != nullptr) {
    MIXUP_EXPECTS(a->y_a == nullptr && a->y_b == nullptr && a->lam == nullptr,
                  "soft_targets excludes y_a, y_b and lam");
  } else {
    MIXUP_EXPECTS(a->y_a != nullptr, "y_a is NULL (and no soft_targets)");
    MIXUP_EXPECTS((a->y_b == nullptr) == (a->lam == nullptr),
                  "y_b and lam go together: give both or neither");
  }
  const std::size_t ld = a->dtype == MIXUP_DTYPE_F32 ? 4 : 2;
  const std::size_t logits_bytes = static_cast<std::size_t>(a->batch) * a->classes * ld;
  if (a->grad != nullptr) {
    MIXUP_EXPECTS(raw(a->grad_dtype) == raw(a->dtype) || raw(a->grad_dtype) == MIXUP_DTYPE_F32,
                  "grad_dtype must be the logits' dtype or f32 (mismatched dtypes)");
    const std::size_t gd = a->grad_dtype == MIXUP_DTYPE_F32 ? 4 : 2;
    const std::size_t grad_bytes = static_cast<std::size_t>(a->batch) * a->classes * gd;
    const bool in_place = a->grad == a->logits && a->grad_dtype == a->dtype;
    MIXUP_EXPECTS(in_place || !ranges_overlap(a->grad, grad_bytes, a->logits, logits_bytes),
                  "grad overlaps logits (only grad == logits with the same dtype is allowed)");
  }
  const std::size_t loss_bytes = (red == core::Reduction::kNone ? static_cast<std::size_t>(a->batch) : 1) * 4;
  MIXUP_EXPECTS(!ranges_overlap(a->loss, loss_bytes, a->logits, logits_bytes), "loss overlaps logits");
  core::CeParams p{};
  p.logits = a->logits;
  p.dtype = static_cast<core::DType>(a->dtype);
  p.batch = a->batch;
  p.classes = a->classes;
  p.y_a = a->y_a;
  p.y_b = a->y_b;
  p.lam = a->lam;
  p.soft = a->soft_targets;
  p.eps = a->label_smoothing;
  p.ignore_index = a->ignore_index;
  p.reduction = red;
  p.loss_scale = a->loss_scale;
  p.row_loss = red == core::Reduction::kNone ? a->loss : nullptr;
  p.loss_out = red == core::Reduction::kNone ? nullptr : a->loss;
  p.grad = a->grad;
  p.grad_dtype = static_cast<core::DType>(a->grad != nullptr ? a->grad_dtype : a->dtype);
  return p;
}

}  // namespace

extern "C" {

mixup_loss_config_t mixup_loss_config_default(void) {
  mixup_loss_config_t c{};
  c.backend = MIXUP_BACKEND_CPU;
  c.device = 0;
  c.max_batch = 8192;
  c.checks = MIXUP_CHECKS_SYNC;
  c.cpu_threads = 0;
  return c;
}

mixup_ce_args_t mixup_ce_args_default(void) {
  mixup_ce_args_t a{};
  a.dtype = MIXUP_DTYPE_F32;
  a.ignore_index = -100;
  a.reduction = MIXUP_REDUCTION_MEAN;
  a.loss_scale = 1.0f;
  a.grad_dtype = MIXUP_DTYPE_F32;
  return a;
}

mixup_status_t mixup_loss_create(const mixup_loss_config_t* config, mixup_loss_t* loss) {
  return guarded([&] {
    MIXUP_EXPECTS(config != nullptr, "config is NULL");
    MIXUP_EXPECTS(loss != nullptr, "loss is NULL");
    mixup_loss_config_t c = *config;
    resolve_backend(c.backend, c.device);
    expect_backend(c.backend);
    MIXUP_EXPECTS(c.max_batch > 0, "config.max_batch = ", c.max_batch, " must be > 0");
    MIXUP_EXPECTS(c.cpu_threads >= 0, "config.cpu_threads = ", c.cpu_threads, " must be >= 0");
    expect_checks_mode(c.checks);
    auto h = std::make_unique<mixup_loss_s>();
    h->config = c;
    if (c.backend == MIXUP_BACKEND_CPU) loss_cpu_create(*h);
    else loss_cuda_create(*h);
    *loss = h.release();
  });
}

mixup_status_t mixup_loss_destroy(mixup_loss_t loss) {
  return guarded([&] { delete loss; });
}

mixup_status_t mixup_cross_entropy(mixup_loss_t loss, const mixup_ce_args_t* args, void* stream) {
  return guarded([&] {
    MIXUP_EXPECTS(loss != nullptr, "loss handle is NULL");
    core::CeParams p = make_params(*loss, args);
    if (loss->config.backend == MIXUP_BACKEND_CPU) loss_cpu_cross_entropy(*loss, p);
    else loss_cuda_cross_entropy(*loss, p, static_cast<cudaStream_t>(stream));
  });
}

mixup_status_t mixup_combine_losses(mixup_loss_t loss, const float* l_a, const float* l_b, const float* lam,
                                    int64_t batch, mixup_reduction_t reduction, float* out, void* stream) {
  return guarded([&] {
    MIXUP_EXPECTS(loss != nullptr, "loss handle is NULL");
    MIXUP_EXPECTS(l_a != nullptr && l_b != nullptr && lam != nullptr && out != nullptr,
                  "l_a, l_b, lam and out must not be NULL");
    MIXUP_EXPECTS(batch > 0, "batch = ", batch, " must be > 0");
    MIXUP_EXPECTS(batch <= loss->config.max_batch, "batch = ", batch,
                  " exceeds config.max_batch = ", loss->config.max_batch);
    const core::Reduction red = reduction_of(reduction);
    if (loss->config.backend == MIXUP_BACKEND_CPU) loss_cpu_combine(*loss, l_a, l_b, lam, batch, red, out);
    else loss_cuda_combine(*loss, l_a, l_b, lam, batch, red, out, static_cast<cudaStream_t>(stream));
  });
}

mixup_status_t mixup_loss_poll_checks(mixup_loss_t loss, void* stream) {
  return guarded([&] {
    MIXUP_EXPECTS(loss != nullptr, "loss handle is NULL");
    if (loss->config.backend == MIXUP_BACKEND_CUDA) loss_cuda_poll(*loss, static_cast<cudaStream_t>(stream));
  });
}

}  // extern "C"
