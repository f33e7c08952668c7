// mixup_loss_create, then one mixup_cross_entropy or mixup_combine_losses with fuzzer-chosen
// arguments. Beyond check_call: a call that succeeds was given valid labels and λ.
#include <string>

#include "capi_checks.hpp"
#include "capi_values.hpp"
#include "mixup/loss.h"

extern "C" mixup_status_t mixup_fuzz_combine_losses(mixup_loss_t loss, const float* l_a, const float* l_b,
                                                    const float* lam, int64_t batch, int reduction,
                                                    float* out);  // capi_c_calls.c

namespace mixup::fuzz {
namespace {

std::int32_t fuzz_label(FuzzBytes& in, std::int32_t classes, std::int32_t ignore_index) {
  const std::uint8_t b = in.u8();
  if (b < 224) return b % std::max(classes, 1);
  if (b < 240) return ignore_index;
  return in.pick<std::int32_t>({-1, classes, classes + 1, INT32_MIN, INT32_MAX, -100});
}

void cross_entropy(FuzzBytes& in, mixup_loss_t h, std::int32_t max_batch) {
  mixup_ce_args_t a = mixup_ce_args_default();
  const int dtype = enum_value(in, 4);
  set_enum(a.dtype, dtype);
  a.batch = pick_dim(in);
  a.classes = pick_int(in, {10, 3, 1, 2, 17, 1000, 0, -1});
  a.label_smoothing = pick_float(in, 0.0f);
  a.ignore_index = pick_int(in, {-100, -1, 0, 1, INT32_MIN});
  set_enum(a.reduction, enum_value(in, 3));
  a.loss_scale = pick_float(in, 1.0f);
  const int grad_dtype = in.u8() & 1 ? dtype : enum_value(in, 4);
  set_enum(a.grad_dtype, grad_dtype);

  const bool sized = a.batch > 0 && a.batch <= max_batch && a.classes > 0;
  const std::size_t b = sized ? static_cast<std::size_t>(a.batch) : 0,
                    c = sized ? static_cast<std::size_t>(a.classes) : 0;
  if (b * c * 4 > kMaxArgBytes) return;
  CapiArena arena;
  const int logits_id = arena.reserve(b * c * 4), grad_id = arena.reserve(b * c * 4),
            soft_id = arena.reserve(b * c * 4);
  const int y_a_id = arena.reserve(b * 4), y_b_id = arena.reserve(b * 4), lam_id = arena.reserve(b * 4);
  const int loss_id = arena.reserve(std::max<std::size_t>(b, 1) * 4);
  arena.allocate(in.u8());
  in.fill(arena.slot(logits_id), arena.need(logits_id));
  in.fill(arena.slot(soft_id), arena.need(soft_id));
  for (std::size_t i = 0; i < b; ++i) {
    reinterpret_cast<std::int32_t*>(arena.slot(y_a_id))[i] = fuzz_label(in, a.classes, a.ignore_index);
    reinterpret_cast<std::int32_t*>(arena.slot(y_b_id))[i] = fuzz_label(in, a.classes, a.ignore_index);
    reinterpret_cast<float*>(arena.slot(lam_id))[i] = pick_float(in, 0.7f);
  }
  const std::size_t elem = dtype == MIXUP_DTYPE_F16 || dtype == MIXUP_DTYPE_BF16 ? 2 : 4;
  a.logits = arena.place(in, logits_id, elem);
  a.loss = static_cast<float*>(arena.place(in, loss_id, 4));
  switch (in.u8() % 4) {  // the targets: plain, mixed, soft, or each pointer on its own
    case 0: a.y_a = static_cast<const std::int32_t*>(arena.place(in, y_a_id, 4)); break;
    case 1:
      a.y_a = static_cast<const std::int32_t*>(arena.place(in, y_a_id, 4));
      a.y_b = static_cast<const std::int32_t*>(arena.place(in, y_b_id, 4));
      a.lam = static_cast<const float*>(arena.place(in, lam_id, 4));
      break;
    case 2: a.soft_targets = static_cast<const float*>(arena.place(in, soft_id, 4)); break;
    default:
      if (in.u8() & 1) a.y_a = static_cast<const std::int32_t*>(arena.place(in, y_a_id, 4));
      if (in.u8() & 1) a.y_b = static_cast<const std::int32_t*>(arena.place(in, y_b_id, 4));
      if (in.u8() & 1) a.lam = static_cast<const float*>(arena.place(in, lam_id, 4));
      if (in.u8() & 1) a.soft_targets = static_cast<const float*>(arena.place(in, soft_id, 4));
  }
  switch (in.u8() % 4) {  // the gradient: none, in place, or somewhere
    case 0: break;
    case 1: a.grad = const_cast<void*>(a.logits); break;
    default: a.grad = arena.place(in, grad_id, grad_dtype == MIXUP_DTYPE_F32 ? 4 : 2);
  }
  const bool must_fail = !sized || a.logits == nullptr || a.loss == nullptr || dtype < 0 || dtype > 2;
  const bool no_args = in.one_in(64);
  arena.snapshot();
  const mixup_status_t s = mixup_cross_entropy(h, no_args ? nullptr : &a, nullptr);
  check_call("mixup_cross_entropy", s, arena, must_fail || no_args);
  if (s != MIXUP_STATUS_SUCCESS || a.soft_targets != nullptr) return;
  const auto ok = [&](std::int32_t y) { return y == a.ignore_index || (y >= 0 && y < a.classes); };
  for (std::int64_t i = 0; i < a.batch; ++i) {
    if (!ok(arena.before<std::int32_t>(a.y_a, i)) || (a.y_b && !ok(arena.before<std::int32_t>(a.y_b, i))))
      fuzz_fail("capi", "mixup_cross_entropy accepted a label outside [0, classes) that is not ignore_index");
    if (a.lam) {
      const float l = arena.before<float>(a.lam, i);
      if (!(l >= 0.0f && l <= 1.0f))
        fuzz_fail("capi", ("mixup_cross_entropy accepted lam " + std::to_string(l)).c_str());
    }
  }
}

void combine(FuzzBytes& in, mixup_loss_t h, std::int32_t max_batch) {
  const std::int64_t batch = pick_dim(in);
  const int reduction = enum_value(in, 3);
  const std::size_t b = batch > 0 && batch <= max_batch ? static_cast<std::size_t>(batch) : 0;
  CapiArena arena;
  const int la_id = arena.reserve(b * 4), lb_id = arena.reserve(b * 4), lam_id = arena.reserve(b * 4),
            out_id = arena.reserve(std::max<std::size_t>(b, 1) * 4);
  arena.allocate(in.u8());
  in.fill(arena.slot(la_id), b * 4);
  in.fill(arena.slot(lb_id), b * 4);
  for (std::size_t i = 0; i < b; ++i) reinterpret_cast<float*>(arena.slot(lam_id))[i] = pick_float(in, 0.7f);
  const auto* la = static_cast<const float*>(arena.place(in, la_id, 4));
  const auto* lb = static_cast<const float*>(arena.place(in, lb_id, 4));
  const auto* lam = static_cast<const float*>(arena.place(in, lam_id, 4));
  auto* out = static_cast<float*>(arena.place(in, out_id, 4));
  arena.snapshot();
  const mixup_status_t s = mixup_fuzz_combine_losses(h, la, lb, lam, batch, reduction, out);
  check_call("mixup_combine_losses", s, arena,
             b == 0 || !la || !lb || !lam || !out || reduction < 0 || reduction > 2);
  if (s != MIXUP_STATUS_SUCCESS) return;
  for (std::size_t i = 0; i < b; ++i) {
    const float l = arena.before<float>(lam, i);
    if (!(l >= 0.0f && l <= 1.0f))
      fuzz_fail("capi", ("mixup_combine_losses accepted lam " + std::to_string(l)).c_str());
  }
}

}  // namespace

void capi_loss_input(FuzzBytes& in) {
  mixup_loss_config_t cfg = mixup_loss_config_default();
  set_enum(cfg.backend,
           in.one_in(16) ? in.pick<int>({2, -1, INT_MIN}) : MIXUP_BACKEND_CPU);  // no CUDA: no device
  cfg.max_batch = in.pick<std::int32_t>({8, 16, 1, 2, 64, 0, -1, 4096});
  set_enum(cfg.checks, enum_value(in, 2));
  cfg.cpu_threads = in.pick<int>({1, 0, 2, -1});
  mixup_loss_t h = untouched_handle<mixup_loss_t>();
  CapiArena none;
  none.allocate(0);
  none.snapshot();
  const mixup_status_t created = mixup_loss_create(in.one_in(64) ? nullptr : &cfg, &h);
  check_call("mixup_loss_create", created, none, false);
  if (created != MIXUP_STATUS_SUCCESS) {
    if (h != untouched_handle<mixup_loss_t>())
      fuzz_fail("capi", "mixup_loss_create failed but wrote the handle");
    return;
  }
  struct Destroy {
    mixup_loss_t h;
    ~Destroy() { mixup_loss_destroy(h); }
  } destroy{h};
  if (in.u8() & 1) cross_entropy(in, in.one_in(64) ? nullptr : h, cfg.max_batch);
  else combine(in, in.one_in(64) ? nullptr : h, cfg.max_batch);
}

}  // namespace mixup::fuzz
