// The C ABI: argument checks common to both backends, then dispatch. Every entry point
// catches everything, so no exception crosses the ABI; a failed check happens before any
// output is touched.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <new>

#include "backend_setup.hpp"
#include "error.hpp"
#include "guarded.hpp"
#include "handle.hpp"

namespace mixup::detail {
const char* last_error();
}

using mixup::detail::Error;
namespace core = mixup::core;

namespace mixup::detail {

std::string describe_check(const core::DeviceCheck& c, std::int32_t batch, std::int32_t num_classes) {
  switch (static_cast<core::CheckCode>(c.code)) {
    case core::CheckCode::kOk: return "ok";
    case core::CheckCode::kLabelOutOfRange:
      return cat("label ", c.value, " of sample ", c.index, " is outside [0, num_classes = ", num_classes,
                 ")");
    case core::CheckCode::kPermOutOfRange:
      return cat("perm[", c.index, "] = ", c.value, " is outside [0, batch",
                 batch >= 0 ? cat(" = ", batch) : "", ")");
    case core::CheckCode::kPermNotBijective:
      return cat("perm is not a permutation: partner ", c.value, " appears again at perm[", c.index, "]");
    case core::CheckCode::kLambdaOutOfRange:
      return cat("lam[", c.index, "] = ", core::float_of(static_cast<std::uint32_t>(c.value)),
                 " is outside [0, 1]");
    case core::CheckCode::kKindOutOfRange:
      return cat("kind[", c.index, "] = ", c.value,
                 " is not a mixup_kind_t (0 = NONE, 1 = MIXUP, 2 = CUTMIX)");
    case core::CheckCode::kUnmixedRowMixes:
      return cat("kind[", c.index, "] = MIXUP_KIND_NONE needs perm[", c.index, "] = ", c.index, " and lam[",
                 c.index, "] = 1, not ", c.value, " and ",
                 core::float_of(static_cast<std::uint32_t>(c.detail)));
    case core::CheckCode::kBoxOutOfRange: {
      if (c.detail < 0 || c.detail > 3)
        return cat("kind[", c.index, "] = MIXUP_KIND_CUTMIX needs a box, but given->box is NULL");
      static const char* const kCoord[4] = {"y0", "x0", "y1", "x1"};
      return cat("box[", c.index, "].", kCoord[c.detail], " = ", c.value,
                 ": a CutMix box needs 0 <= y0 <= y1 <= x.h and 0 <= x0 <= x1 <= x.w");
    }
    case core::CheckCode::kInPlaceNotPaired:
      return cat("in place, sample ", c.index, " mixes with ", c.value, ", whose partner is ", c.detail,
                 ", not ", c.index,
                 ", and which is mixed: it would be overwritten before it is read "
                 "(mix out of place, or give sample ",
                 c.value, " kind MIXUP_KIND_NONE)");
  }
  return "unknown device check";
}

std::string describe_polled_check(const core::DeviceCheck& c, std::int32_t batch, std::int32_t num_classes) {
  return cat(
      "device check of an earlier call failed (the first failure since the last poll; that call wrote "
      "nothing): ",
      describe_check(c, batch, num_classes));
}

TestHooks& test_hooks(mixup_handle_t h) { return h->hooks; }

namespace {

void check_config(const mixup_config_t& c) {
  expect_backend(c.backend);
  MIXUP_EXPECTS(std::isfinite(c.alpha) && c.alpha > 0.0f, "config.alpha = ", c.alpha,
                " must be finite and > 0");
  MIXUP_EXPECTS(raw(c.lambda_mode) >= MIXUP_LAMBDA_PER_SAMPLE && raw(c.lambda_mode) <= MIXUP_LAMBDA_PER_PAIR,
                "config.lambda_mode = ", raw(c.lambda_mode), " is not a lambda mode");
  MIXUP_EXPECTS(raw(c.pairing) >= MIXUP_PAIRING_PERMUTATION && raw(c.pairing) <= MIXUP_PAIRING_FLIP,
                "config.pairing = ", raw(c.pairing), " is not a pairing");
  MIXUP_EXPECTS(c.rank_salt < (1u << 30), "config.rank_salt = ", c.rank_salt, " must be < 2^30");
  MIXUP_EXPECTS(std::isfinite(c.label_smoothing) && c.label_smoothing >= 0.0f && c.label_smoothing < 1.0f,
                "config.label_smoothing = ", c.label_smoothing, " must be in [0, 1)");
  MIXUP_EXPECTS(c.num_classes >= 0, "config.num_classes = ", c.num_classes, " must be >= 0");
  MIXUP_EXPECTS(c.max_batch > 0, "config.max_batch = ", c.max_batch, " must be > 0");
  expect_checks_mode(c.checks);
  MIXUP_EXPECTS(c.cpu_threads >= 0, "config.cpu_threads = ", c.cpu_threads, " must be >= 0");
  MIXUP_EXPECTS(!c.graph_mode || c.backend == MIXUP_BACKEND_CUDA, "config.graph_mode needs the CUDA backend");
  MIXUP_EXPECTS(
      !c.graph_mode || c.checks == MIXUP_CHECKS_DEFERRED,
      "config.graph_mode needs config.checks = MIXUP_CHECKS_DEFERRED (a captured graph cannot sync)");
}

bool overlaps(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) {
  if (a == nullptr || b == nullptr || a_bytes == 0 || b_bytes == 0) return false;
  const auto pa = reinterpret_cast<std::uintptr_t>(a), pb = reinterpret_cast<std::uintptr_t>(b);
  return pa < pb + b_bytes && pb < pa + a_bytes;
}

core::DType dtype_of(const mixup_dtype_t& field, const char* what) {
  const int t = raw(field);
  MIXUP_EXPECTS(t >= MIXUP_DTYPE_F32 && t <= MIXUP_DTYPE_U8, what, ".dtype = ", t, " is not a dtype");
  return static_cast<core::DType>(t);
}

// The caller's draws (mixup_apply_given, mixup_apply_replay); absent for the handle's own.
struct Given {
  mixup_replay_t d;
  bool replay;  // partners need not be a permutation; kinds and boxes; in place allowed
};

// Builds the request for the mixup_apply family; throws on the first bad argument.
Request make_request(mixup_handle_s& h, const mixup_batch_t* x, const Given* gv, const mixup_batch_t* out,
                     const mixup_targets_t* targets, const mixup_draws_t* draws) {
  static const mixup_targets_t kNoTargets{};
  const bool given = gv != nullptr, replay = given && gv->replay;
  const mixup_config_t& cfg = h.config;
  MIXUP_EXPECTS(x != nullptr, "x is NULL");
  MIXUP_EXPECTS(out != nullptr, "out is NULL");
  MIXUP_EXPECTS(x->n > 0, "x.n = ", x->n, " must be > 0");
  MIXUP_EXPECTS(x->n <= cfg.max_batch, "x.n = ", x->n, " exceeds config.max_batch = ", cfg.max_batch);
  MIXUP_EXPECTS(x->c > 0 && x->h > 0 && x->w > 0, "x shape [", x->n, ", ", x->c, ", ", x->h, ", ", x->w,
                "] must be positive");
  MIXUP_EXPECTS(raw(x->layout) == MIXUP_LAYOUT_NCHW || raw(x->layout) == MIXUP_LAYOUT_NHWC,
                "x.layout = ", raw(x->layout), " is not a layout");
  MIXUP_EXPECTS(out->n == x->n && out->c == x->c && out->h == x->h && out->w == x->w, "out shape [", out->n,
                ", ", out->c, ", ", out->h, ", ", out->w, "] differs from x shape [", x->n, ", ", x->c, ", ",
                x->h, ", ", x->w, "]");
  MIXUP_EXPECTS(raw(out->layout) == raw(x->layout), "out.layout differs from x.layout");
  const core::DType in_t = dtype_of(x->dtype, "x"), out_t = dtype_of(out->dtype, "out");
  if (in_t == core::DType::kU8) {
    if (out_t == core::DType::kU8)
      throw Error(MIXUP_STATUS_NOT_SUPPORTED,
                  "uint8 input needs an f32, f16 or bf16 output (it is normalised)");
  } else if (in_t != out_t) {
    throw Error(MIXUP_STATUS_NOT_SUPPORTED, "f32, f16 and bf16 input need the same output dtype");
  }
  MIXUP_EXPECTS(x->data != nullptr, "x.data is NULL");
  MIXUP_EXPECTS(out->data != nullptr, "out.data is NULL");
  // Overflow is caught as it happens: signed overflow is undefined, so it cannot be tested after.
  std::int64_t sample = 0;
  const bool overflow = __builtin_mul_overflow(x->c, x->h, &sample) ||
                        __builtin_mul_overflow(sample, x->w, &sample);
  MIXUP_EXPECTS(!overflow && sample <= (INT64_MAX / 4) / x->n, "x is too large to index");
  const std::size_t in_bytes = static_cast<std::size_t>(x->n * sample) * core::dtype_size(in_t);
  const std::size_t out_bytes = static_cast<std::size_t>(x->n * sample) * core::dtype_size(out_t);
  const bool in_place = out->data == x->data;
  if (in_place) {
    MIXUP_EXPECTS(cfg.pairing == MIXUP_PAIRING_INVOLUTION && in_t == out_t && (!given || replay),
                  "out aliases x: in place needs config.pairing = MIXUP_PAIRING_INVOLUTION, the same dtype, "
                  "and the handle's own draws or a replay of them");
  } else {
    MIXUP_EXPECTS(!overlaps(x->data, in_bytes, out->data, out_bytes),
                  "out overlaps x (only involution pairing may mix in place)");
  }

  const mixup_targets_t* t = targets != nullptr ? targets : &kNoTargets;
  MIXUP_EXPECTS(raw(t->mode) >= MIXUP_TARGETS_NONE && raw(t->mode) <= MIXUP_TARGETS_SOFT,
                "targets.mode = ", raw(t->mode), " is not a target mode");
  // y_a / y_b given with another mode would be left unwritten: refused, never silently skipped
  MIXUP_EXPECTS(t->mode == MIXUP_TARGETS_STACKED || (t->y_a == nullptr && t->y_b == nullptr),
                "targets.y_a / y_b are written only with targets.mode = MIXUP_TARGETS_STACKED (mode is ",
                raw(t->mode), "): set the mode, or leave them NULL");
  const std::int32_t C = cfg.num_classes;
  const std::size_t n = static_cast<std::size_t>(x->n);
  const bool wants_labels = t->mode == MIXUP_TARGETS_ONEHOT ||
                            (t->mode == MIXUP_TARGETS_STACKED && (t->y_a || t->y_b));
  if (wants_labels) {
    MIXUP_EXPECTS(t->labels != nullptr, "targets.labels is NULL");
    MIXUP_EXPECTS(C > 0, "labels need config.num_classes > 0");
    MIXUP_EXPECTS(!overlaps(t->labels, n * 4, t->y_b, n * 4) && !overlaps(t->labels, n * 4, t->y_a, n * 4),
                  "targets.y_a / y_b overlap targets.labels");
  }
  if (t->mode == MIXUP_TARGETS_ONEHOT || t->mode == MIXUP_TARGETS_SOFT) {
    MIXUP_EXPECTS(C > 0, "one-hot and soft targets need config.num_classes > 0");
    MIXUP_EXPECTS(t->soft_out != nullptr, "targets.soft_out is NULL");
  }
  if (t->mode == MIXUP_TARGETS_SOFT) {
    MIXUP_EXPECTS(t->soft_in != nullptr, "targets.soft_in is NULL");
    MIXUP_EXPECTS(!overlaps(t->soft_in, n * C * 4, t->soft_out, n * C * 4),
                  "targets.soft_out overlaps targets.soft_in");
  }
  const char* lam_name = replay ? "given->lam" : "lam";
  const char* perm_name = replay ? "given->perm" : "perm";
  if (given) {
    MIXUP_EXPECTS(gv->d.lam != nullptr, lam_name, " is NULL");
    MIXUP_EXPECTS(gv->d.perm != nullptr, perm_name, " is NULL");
  }

  Request r{};
  r.advance_step = !given;
  core::PairingLaunch& p = r.pairing;
  p.at = core::StreamAddress{cfg.seed, cfg.rank_salt, h.step};
  p.batch = static_cast<std::int32_t>(x->n);
  p.pairing = static_cast<core::Pairing>(cfg.pairing);
  p.lambda_mode = static_cast<core::LambdaMode>(cfg.lambda_mode);
  p.fold = cfg.fold != 0;
  p.alpha = cfg.alpha;
  p.key_bits = h.hooks.key_bits;
  p.labels = wants_labels ? t->labels : nullptr;
  p.num_classes = C;
  p.given_lambda = given ? gv->d.lam : nullptr;
  p.given_perm = given ? gv->d.perm : nullptr;
  p.replay = replay;
  p.in_place = replay && in_place;
  p.given_kind = replay ? gv->d.kind : nullptr;
  p.given_box = replay ? reinterpret_cast<const core::Box*>(gv->d.box) : nullptr;
  p.perm_out = t->perm;
  p.lam_out = t->lam;
  p.y_a = t->mode == MIXUP_TARGETS_STACKED ? t->y_a : nullptr;
  p.y_b = t->mode == MIXUP_TARGETS_STACKED ? t->y_b : nullptr;
  p.mix = given ? core::kPlainMixup : h.mix;
  MIXUP_EXPECTS(x->h <= INT32_MAX && x->w <= INT32_MAX, "x.h and x.w must be < 2^31");
  p.height = static_cast<std::int32_t>(x->h);
  p.width = static_cast<std::int32_t>(x->w);
  p.kind_out = draws != nullptr ? draws->kind : nullptr;
  p.box_out = draws != nullptr ? reinterpret_cast<core::Box*>(draws->box) : nullptr;

  core::BlendParams& b = r.blend;
  b.x = x->data;
  b.out = out->data;
  b.in_type = in_t;
  b.out_type = out_t;
  b.batch = x->n;
  b.sample_elems = sample;
  b.stack_x = cfg.stack_x != 0;
  b.in_place = in_place;
  b.geom = core::Geometry{static_cast<core::Layout>(x->layout), x->c, x->h, x->w};
  b.target_mode = t->mode == MIXUP_TARGETS_ONEHOT ? core::TargetMode::kOneHot
                  : t->mode == MIXUP_TARGETS_SOFT ? core::TargetMode::kSoft
                                                  : core::TargetMode::kNone;
  b.labels = t->labels;
  b.soft_in = t->soft_in;
  b.targets_out = t->soft_out;
  b.num_classes = C;
  b.smoothing = cfg.label_smoothing;

  core::Normalize& nm = b.norm;
  nm.on = in_t == core::DType::kU8;
  nm.layout = static_cast<core::Layout>(x->layout);
  if (nm.on && h.norm_set) {
    MIXUP_EXPECTS(x->c == h.norm_channels, "normalisation was set for ", h.norm_channels,
                  " channels but x has ", x->c);
    nm.channels = x->c;
    nm.plane = x->h * x->w;
    for (int c = 0; c < h.norm_channels; ++c) {
      nm.scale[c] = 1.0f / (255.0f * h.std[c]);
      nm.shift[c] = -h.mean[c] / h.std[c];
    }
  } else if (nm.on) {  // plain v / 255: one "channel" spanning the sample
    nm.channels = 1;
    nm.plane = sample;
    nm.scale[0] = 1.0f / 255.0f;
    nm.shift[0] = 0.0f;
  }
  return r;
}

void apply(mixup_handle_t h, const mixup_batch_t* x, const Given* given, const mixup_batch_t* out,
           const mixup_targets_t* targets, void* stream, const mixup_draws_t* draws = nullptr) {
  MIXUP_EXPECTS(h != nullptr, "handle is NULL");
  Request r = make_request(*h, x, given, out, targets, draws);
  if (h->config.backend == MIXUP_BACKEND_CPU) cpu_apply(*h, r);
  else cuda_apply(*h, r, static_cast<cudaStream_t>(stream));
  if (r.advance_step && !h->config.graph_mode) ++h->step;
}

// v in (0, 1] as the shortest decimal that reads back as v (core::Decimal says why).
core::Decimal shortest_decimal(float v) {
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::int64_t num = 0;
  int digits = 0;
  const char* c = buf;
  for (; c < r.ptr && *c != 'e'; ++c) {
    if (*c == '.') continue;
    num = num * 10 + (*c - '0');
    ++digits;
  }
  const long exp10 = std::strtol(c + 1, nullptr, 10);  // "d.ddde-01": v = num / 10^k
  const long k = digits - 1 - exp10;                   // >= 0, since v <= 1
  // num < 10^9, so beyond k = 18 v < 1e-10 and ⌊extent·v⌋ = 0 for every extent < 2^31
  if (k > 18) return core::Decimal{0, 1};
  std::int64_t den = 1;
  for (long i = 0; i < k; ++i) den *= 10;
  return core::Decimal{num, den};
}

core::MixPolicy mix_policy(const mixup_config_t& cfg, const mixup_mixing_t& m) {
  MIXUP_EXPECTS(std::isfinite(m.prob) && m.prob >= 0.0f && m.prob <= 1.0f, "mixing.prob = ", m.prob,
                " must be in [0, 1]");
  MIXUP_EXPECTS(std::isfinite(m.switch_prob) && m.switch_prob >= 0.0f && m.switch_prob <= 1.0f,
                "mixing.switch_prob = ", m.switch_prob, " must be in [0, 1]");
  MIXUP_EXPECTS(std::isfinite(m.cutmix_alpha) && m.cutmix_alpha > 0.0f,
                "mixing.cutmix_alpha = ", m.cutmix_alpha, " must be finite and > 0");
  const float lo = m.cutmix_minmax[0], hi = m.cutmix_minmax[1];
  const bool minmax = !(lo == 0.0f && hi == 0.0f);
  MIXUP_EXPECTS(!minmax || (lo > 0.0f && hi <= 1.0f && lo <= hi), "mixing.cutmix_minmax = {", lo, ", ", hi,
                "} must be {0, 0} (off) or 0 < lo <= hi <= 1");
  MIXUP_EXPECTS(m.switch_prob == 0.0f || !cfg.stack_x, "CutMix (mixing.switch_prob = ", m.switch_prob,
                ") needs images to paste: config.stack_x is set");
  core::MixPolicy p{};
  p.prob = m.prob;
  p.switch_prob = m.switch_prob;
  p.cutmix_alpha = m.cutmix_alpha;
  p.minmax = minmax;
  p.lo = minmax ? shortest_decimal(lo) : core::Decimal{0, 1};
  p.hi = minmax ? shortest_decimal(hi) : core::Decimal{0, 1};
  p.correct_lam = m.correct_lam != 0;
  p.plain = m.prob == 1.0f && m.switch_prob == 0.0f;
  return p;
}

}  // namespace
}  // namespace mixup::detail

using namespace mixup::detail;

extern "C" {

mixup_config_t mixup_config_default(void) {
  mixup_config_t c{};
  c.backend = MIXUP_BACKEND_CPU;
  c.device = 0;
  c.alpha = 0.4f;
  c.lambda_mode = MIXUP_LAMBDA_PER_SAMPLE;
  c.pairing = MIXUP_PAIRING_PERMUTATION;
  c.fold = 1;
  c.seed = 0;
  c.rank_salt = 0;
  c.label_smoothing = 0.0f;
  c.num_classes = 0;
  c.max_batch = 4096;
  c.stack_x = 0;
  c.graph_mode = 0;
  c.checks = MIXUP_CHECKS_SYNC;
  c.cpu_threads = 0;
  return c;
}

mixup_targets_t mixup_targets_default(void) {
  mixup_targets_t t{};
  t.mode = MIXUP_TARGETS_NONE;
  return t;
}

mixup_status_t mixup_create(const mixup_config_t* config, mixup_handle_t* handle) {
  return guarded([&] {
    MIXUP_EXPECTS(config != nullptr, "config is NULL");
    MIXUP_EXPECTS(handle != nullptr, "handle is NULL");
    mixup_config_t c = *config;
    resolve_backend(c.backend, c.device);
    check_config(c);
    auto h = std::make_unique<mixup_handle_s>();
    h->config = c;
    if (c.backend == MIXUP_BACKEND_CPU) cpu_create(*h);
    else cuda_create(*h);
    *handle = h.release();
  });
}

mixup_status_t mixup_get_backend(mixup_handle_t handle, mixup_backend_t* backend) {
  return guarded([&] {
    MIXUP_EXPECTS(handle != nullptr, "handle is NULL");
    MIXUP_EXPECTS(backend != nullptr, "backend is NULL");
    *backend = handle->config.backend;
  });
}

mixup_status_t mixup_destroy(mixup_handle_t handle) {
  return guarded([&] { delete handle; });
}

mixup_status_t mixup_set_step(mixup_handle_t handle, uint64_t step) {
  return guarded([&] {
    MIXUP_EXPECTS(handle != nullptr, "handle is NULL");
    if (handle->config.graph_mode) cuda_set_step(*handle, step);
    handle->step = step;
  });
}

mixup_status_t mixup_get_step(mixup_handle_t handle, uint64_t* step) {
  return guarded([&] {
    MIXUP_EXPECTS(handle != nullptr, "handle is NULL");
    MIXUP_EXPECTS(step != nullptr, "step is NULL");
    *step = handle->config.graph_mode ? cuda_get_step(*handle) : handle->step;
  });
}

mixup_status_t mixup_set_normalize(mixup_handle_t handle, const float* mean, const float* std,
                                   int32_t channels) {
  return guarded([&] {
    MIXUP_EXPECTS(handle != nullptr, "handle is NULL");
    MIXUP_EXPECTS(channels > 0 && channels <= mixup::core::kMaxNormChannels, "channels = ", channels,
                  " must be in [1, ", mixup::core::kMaxNormChannels, "]");
    for (int c = 0; c < channels; ++c) {
      const float m = mean ? mean[c] : 0.0f, s = std ? std[c] : 1.0f;
      MIXUP_EXPECTS(std::isfinite(m), "mean[", c, "] = ", m, " is not finite");
      MIXUP_EXPECTS(std::isfinite(s) && s > 0.0f, "std[", c, "] = ", s, " must be finite and > 0");
    }
    for (int c = 0; c < channels; ++c) {
      handle->mean[c] = mean ? mean[c] : 0.0f;
      handle->std[c] = std ? std[c] : 1.0f;
    }
    handle->norm_channels = channels;
    handle->norm_set = true;
  });
}

mixup_status_t mixup_apply(mixup_handle_t handle, const mixup_batch_t* x, const mixup_batch_t* out,
                           const mixup_targets_t* targets, void* stream) {
  return guarded([&] { apply(handle, x, nullptr, out, targets, stream); });
}

mixup_status_t mixup_apply_given(mixup_handle_t handle, const mixup_batch_t* x, const float* lam,
                                 const int32_t* perm, const mixup_batch_t* out,
                                 const mixup_targets_t* targets, void* stream) {
  return guarded([&] {
    const Given g{mixup_replay_t{lam, perm, nullptr, nullptr}, false};
    apply(handle, x, &g, out, targets, stream);
  });
}

mixup_status_t mixup_apply_replay(mixup_handle_t handle, const mixup_batch_t* x, const mixup_replay_t* given,
                                  const mixup_batch_t* out, const mixup_targets_t* targets, void* stream) {
  return guarded([&] {
    MIXUP_EXPECTS(given != nullptr, "given is NULL");
    const Given g{*given, true};
    apply(handle, x, &g, out, targets, stream);
  });
}

mixup_mixing_t mixup_mixing_default(void) {
  mixup_mixing_t m{};
  m.prob = 1.0f;
  m.switch_prob = 0.0f;
  m.cutmix_alpha = 1.0f;
  m.cutmix_minmax[0] = m.cutmix_minmax[1] = 0.0f;
  m.correct_lam = 1;
  return m;
}

mixup_status_t mixup_set_mixing(mixup_handle_t handle, const mixup_mixing_t* mixing) {
  return guarded([&] {
    MIXUP_EXPECTS(handle != nullptr, "handle is NULL");
    MIXUP_EXPECTS(mixing != nullptr, "mixing is NULL");
    handle->mix = mix_policy(handle->config, *mixing);
  });
}

mixup_status_t mixup_apply_with_draws(mixup_handle_t handle, const mixup_batch_t* x, const mixup_batch_t* out,
                                      const mixup_targets_t* targets, const mixup_draws_t* draws,
                                      void* stream) {
  return guarded([&] { apply(handle, x, nullptr, out, targets, stream, draws); });
}

mixup_status_t mixup_poll_checks(mixup_handle_t handle, void* stream) {
  return guarded([&] {
    MIXUP_EXPECTS(handle != nullptr, "handle is NULL");
    if (handle->config.backend == MIXUP_BACKEND_CUDA)
      cuda_poll_checks(*handle, static_cast<cudaStream_t>(stream));
  });
}

mixup_status_t mixup_cuda_device_count(int* count) {
  return guarded([&] {
    MIXUP_EXPECTS(count != nullptr, "count is NULL");
    *count = 0;
    *count = cuda_device_count();
  });
}

mixup_status_t mixup_cpu_isa(const char** name) {
  return guarded([&] {
    MIXUP_EXPECTS(name != nullptr, "name is NULL");
    check_cpu_isa();
    *name = mixup::util::isa_name(mixup::util::isa_choice().level);
  });
}

const char* mixup_last_error(void) { return last_error(); }

const char* mixup_version(void) { return MIXUP_VERSION_STRING; }

const char* mixup_status_string(mixup_status_t status) {
  switch (status) {
    case MIXUP_STATUS_SUCCESS: return "MIXUP_STATUS_SUCCESS";
    case MIXUP_STATUS_INVALID_VALUE: return "MIXUP_STATUS_INVALID_VALUE";
    case MIXUP_STATUS_NOT_SUPPORTED: return "MIXUP_STATUS_NOT_SUPPORTED";
    case MIXUP_STATUS_NO_DEVICE: return "MIXUP_STATUS_NO_DEVICE";
    case MIXUP_STATUS_CUDA_ERROR: return "MIXUP_STATUS_CUDA_ERROR";
    case MIXUP_STATUS_OUT_OF_MEMORY: return "MIXUP_STATUS_OUT_OF_MEMORY";
    case MIXUP_STATUS_INTERNAL: return "MIXUP_STATUS_INTERNAL";
  }
  return "unknown mixup_status_t";
}

}  // extern "C"
