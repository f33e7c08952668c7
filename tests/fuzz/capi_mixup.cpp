// mixup_create, mixup_set_step, mixup_set_normalize, mixup_set_mixing, then one mixup_apply,
// mixup_apply_with_draws, mixup_apply_given or mixup_apply_replay, all with fuzzer-chosen
// arguments. Beyond check_call: a call that succeeds was given valid labels, λ, partners (and,
// replayed, kinds and boxes), its draws are kinds and boxes inside the image, and the step
// advances exactly when a drawn apply succeeds.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "capi_checks.hpp"
#include "capi_values.hpp"

namespace mixup::fuzz {
namespace {

std::size_t dtype_bytes(int t) {
  return t == MIXUP_DTYPE_F16 || t == MIXUP_DTYPE_BF16 ? 2 : t == MIXUP_DTYPE_U8 ? 1 : 4;
}

mixup_config_t fuzz_config(FuzzBytes& in) {
  mixup_config_t c = mixup_config_default();
  // Never the CUDA backend: it needs a device, and this fuzzes the CPU side of the ABI.
  set_enum(c.backend, in.one_in(16) ? in.pick<int>({2, -1, INT_MIN}) : MIXUP_BACKEND_CPU);
  c.alpha = pick_float(in, 0.4f);
  set_enum(c.lambda_mode, enum_value(in, 3));
  set_enum(c.pairing, enum_value(in, 3));
  c.fold = in.u8() & 1;
  c.seed = in.take<std::uint64_t>();
  c.rank_salt = in.one_in(8) ? in.take<std::uint32_t>() : in.u8();
  c.label_smoothing = pick_float(in, 0.0f);
  c.num_classes = pick_int(in, {10, 3, 1, 2, 7, 0, -1, 1000});
  // Bounded: scratch for max_batch is allocated at creation, and a huge allocation is a
  // resource limit, not the parsing this fuzzes.
  c.max_batch = in.pick<std::int32_t>({8, 16, 1, 2, 3, 64, 0, -1, INT32_MIN, 4096});
  c.stack_x = in.u8() & 1;
  c.graph_mode = in.one_in(16);
  set_enum(c.checks, enum_value(in, 2));
  c.cpu_threads = in.pick<int>({1, 0, 2, 3, -1});
  return c;
}

// Labels mostly in range, sometimes just outside it or anywhere.
std::int32_t fuzz_label(FuzzBytes& in, std::int32_t classes) {
  const std::uint8_t b = in.u8();
  if (b < 240) return b % std::max(classes, 1);
  return in.pick<std::int32_t>({-1, classes, classes + 1, INT32_MIN, INT32_MAX, -100});
}

void fill_perm(FuzzBytes& in, std::int32_t* p, std::int64_t n) {
  std::iota(p, p + n, 0);
  switch (in.u8() % 4) {
    case 0: return;  // identity
    case 1:
      for (std::int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[in.take<std::uint16_t>() % (i + 1)]);
      return;
    case 2: std::reverse(p, p + n); return;
    default:
      for (std::int64_t i = 0; i < n; ++i) p[i] = in.one_in(16) ? in.take<std::int32_t>() : in.u8() % (n + 1);
  }
}

}  // namespace

void capi_mixup_input(FuzzBytes& in) {
  const mixup_config_t cfg = fuzz_config(in);
  mixup_handle_t h = untouched_handle<mixup_handle_t>();
  const mixup_status_t created = mixup_create(in.one_in(64) ? nullptr : &cfg, &h);
  CapiArena none;
  none.allocate(0);
  none.snapshot();
  check_call("mixup_create", created, none, false);
  if (created != MIXUP_STATUS_SUCCESS) {
    if (h != untouched_handle<mixup_handle_t>())
      fuzz_fail("capi", "mixup_create failed but wrote the handle");
    return;
  }
  struct Destroy {
    mixup_handle_t h;
    ~Destroy() { mixup_destroy(h); }
  } destroy{h};

  // The batch: shapes, dtypes, layouts; out usually shaped like x.
  mixup_batch_t x{}, out{};
  x.n = pick_dim(in), x.c = pick_dim(in), x.h = pick_dim(in), x.w = pick_dim(in);
  set_enum(x.dtype, enum_value(in, 4));
  set_enum(x.layout, enum_value(in, 2));
  out = x;
  set_enum(out.dtype, enum_value(in, 4));
  if (in.one_in(8)) {
    std::int64_t* dims[] = {&out.n, &out.c, &out.h, &out.w};
    *dims[in.u8() % 4] = pick_dim(in);
  }
  if (in.one_in(16)) set_enum(out.layout, enum_value(in, 2));

  const bool positive = x.n > 0 && x.c > 0 && x.h > 0 && x.w > 0;
  __int128 elems = positive ? 1 : 0;  // saturates at 2^64: enough to tell "too large" apart
  if (positive)
    for (std::int64_t d : {x.n, x.c, x.h, x.w}) elems = std::min<__int128>(elems * d, __int128(1) << 64);
  const bool too_large = elems > INT64_MAX / 4;  // the ABI's "too large to index"
  const bool fits_batch = x.n <= cfg.max_batch;
  const int in_t = enum_int(x.dtype), out_t = enum_int(out.dtype);
  const bool dtypes_ok = in_t >= 0 && in_t <= 3 && out_t >= 0 && out_t <= 3 &&
                         (in_t == MIXUP_DTYPE_U8 ? out_t != MIXUP_DTYPE_U8 : out_t == in_t);
  bool must_fail = !positive || !fits_batch || too_large || !dtypes_ok || out.n != x.n || out.c != x.c ||
                   out.h != x.h || out.w != x.w || std::memcmp(&out.layout, &x.layout, sizeof x.layout) != 0;
  const bool sized = positive && fits_batch && !too_large;
  if (sized && elems * 4 > kMaxArgBytes) return;  // valid but too big to give real memory for
  const std::int64_t n = sized ? x.n : 0;
  const std::int32_t classes = cfg.num_classes;
  const std::size_t per_class = classes > 0 ? static_cast<std::size_t>(classes) : 0;
  if (n * per_class * 4 > kMaxArgBytes) return;

  CapiArena arena;
  const std::size_t en = static_cast<std::size_t>(sized ? elems : 0), n4 = static_cast<std::size_t>(n) * 4;
  const int x_id = arena.reserve(en * dtype_bytes(in_t)), out_id = arena.reserve(en * dtype_bytes(out_t));
  const int labels_id = arena.reserve(n4), soft_in_id = arena.reserve(n4 * per_class),
            soft_out_id = arena.reserve(n4 * per_class);
  const int y_a_id = arena.reserve(n4), y_b_id = arena.reserve(n4), lam_id = arena.reserve(n4),
            perm_id = arena.reserve(n4);
  const int given_lam_id = arena.reserve(n4), given_perm_id = arena.reserve(n4);
  const int given_kind_id = arena.reserve(n4), given_box_id = arena.reserve(4 * n4);
  const int mean_id = arena.reserve(16 * 4), std_id = arena.reserve(16 * 4);
  arena.allocate(in.u8());

  // Inputs: fuzzer bytes, shaped so that valid calls are common.
  in.fill(arena.slot(x_id), arena.need(x_id));
  in.fill(arena.slot(soft_in_id), arena.need(soft_in_id));
  auto* labels = reinterpret_cast<std::int32_t*>(arena.slot(labels_id));
  auto* given_lam = reinterpret_cast<float*>(arena.slot(given_lam_id));
  for (std::int64_t i = 0; i < n; ++i) {
    labels[i] = fuzz_label(in, classes);
    given_lam[i] = pick_float(in, 0.7f);
  }
  fill_perm(in, reinterpret_cast<std::int32_t*>(arena.slot(given_perm_id)), n);
  for (int c = 0; c < 16; ++c) {
    reinterpret_cast<float*>(arena.slot(mean_id))[c] = pick_float(in, 0.3f);
    reinterpret_cast<float*>(arena.slot(std_id))[c] = pick_float(in, 0.4f);
  }

  x.data = arena.place(in, x_id, dtype_bytes(in_t));
  out.data = in.one_in(16) ? x.data : arena.place(in, out_id, dtype_bytes(out_t));
  mixup_targets_t t{};
  set_enum(t.mode, enum_value(in, 4));
  t.labels = static_cast<const std::int32_t*>(arena.place(in, labels_id, 4));
  t.soft_in = static_cast<const float*>(arena.place(in, soft_in_id, 4));
  t.soft_out = static_cast<float*>(arena.place(in, soft_out_id, 4));
  t.y_a = static_cast<std::int32_t*>(arena.place(in, y_a_id, 4));
  t.y_b = static_cast<std::int32_t*>(arena.place(in, y_b_id, 4));
  t.lam = static_cast<float*>(arena.place(in, lam_id, 4));
  t.perm = static_cast<std::int32_t*>(arena.place(in, perm_id, 4));
  const auto* lam_in = static_cast<const float*>(arena.place(in, given_lam_id, 4));
  const auto* perm_in = static_cast<const std::int32_t*>(arena.place(in, given_perm_id, 4));
  must_fail = must_fail || x.data == nullptr || out.data == nullptr;

  if (in.one_in(4)) {
    const mixup_status_t s = mixup_set_step(h, in.take<std::uint64_t>());
    if (s != MIXUP_STATUS_SUCCESS) fuzz_fail("capi", "mixup_set_step failed on a valid handle");
  }
  if (in.one_in(4)) {
    arena.snapshot();
    const std::int32_t channels = in.pick<std::int32_t>(
        {static_cast<std::int32_t>(x.c), 1, 3, 16, 0, 17, -1});
    const auto* mean = static_cast<const float*>(arena.place(in, mean_id, 4));
    const auto* std_ = static_cast<const float*>(arena.place(in, std_id, 4));
    check_call("mixup_set_normalize", mixup_set_normalize(h, mean, std_, channels), arena,
               channels < 1 || channels > 16);
  }

  if (in.one_in(3)) {
    mixup_mixing_t m = mixup_mixing_default();
    m.prob = pick_float(in, 0.8f);
    m.switch_prob = pick_float(in, 0.5f);
    m.cutmix_alpha = pick_float(in, 1.0f);
    if (in.one_in(2)) m.cutmix_minmax[0] = pick_float(in, 0.2f), m.cutmix_minmax[1] = pick_float(in, 0.8f);
    m.correct_lam = in.u8() & 1;
    const auto unit = [](float v) { return v >= 0.0f && v <= 1.0f; };
    const float lo = m.cutmix_minmax[0], hi = m.cutmix_minmax[1];
    const bool no_mixing = in.one_in(64);
    const bool bad = no_mixing || !unit(m.prob) || !unit(m.switch_prob) ||
                     !(std::isfinite(m.cutmix_alpha) && m.cutmix_alpha > 0.0f) ||
                     !((lo == 0.0f && hi == 0.0f) || (lo > 0.0f && hi <= 1.0f && lo <= hi)) ||
                     (m.switch_prob != 0.0f && cfg.stack_x);
    arena.snapshot();
    check_call("mixup_set_mixing", mixup_set_mixing(h, no_mixing ? nullptr : &m), arena, bad);
  }

  std::uint64_t step_before = 0, step_after = 0;
  mixup_get_step(h, &step_before);
  const bool given = in.u8() & 1, with_draws = !given && in.one_in(2), replay = given && in.one_in(2);
  mixup_replay_t rp{lam_in, perm_in, nullptr, nullptr};
  if (replay) {  // kinds mostly valid, unmixed rows mostly their own partners, boxes near the image
    auto* kind = reinterpret_cast<std::int32_t*>(arena.slot(given_kind_id));
    auto* box = reinterpret_cast<std::int32_t*>(arena.slot(given_box_id));
    auto* lam = reinterpret_cast<float*>(arena.slot(given_lam_id));
    auto* perm = reinterpret_cast<std::int32_t*>(arena.slot(given_perm_id));
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint8_t b = in.u8();
      kind[i] = b < 240 ? b % 3 : in.pick<std::int32_t>({3, -1, INT32_MIN, INT32_MAX});
      if (kind[i] == MIXUP_KIND_NONE && !in.one_in(8)) perm[i] = static_cast<std::int32_t>(i), lam[i] = 1.0f;
      for (int k = 0; k < 4; ++k) {
        const std::int64_t extent = k % 2 == 0 ? x.h : x.w;
        box[4 * i + k] = in.one_in(32) ? in.take<std::int32_t>()
                                       : static_cast<std::int32_t>(in.u8() % (extent + 2));
      }
      if (box[4 * i] > box[4 * i + 2] && !in.one_in(8)) std::swap(box[4 * i], box[4 * i + 2]);
      if (box[4 * i + 1] > box[4 * i + 3] && !in.one_in(8)) std::swap(box[4 * i + 1], box[4 * i + 3]);
    }
    rp.kind = static_cast<const std::int32_t*>(arena.place(in, given_kind_id, 4));
    rp.box = static_cast<const std::int32_t*>(arena.place(in, given_box_id, 4));
  }
  // outside the arena (no other pointer can land there), filled with a sentinel to see a write
  std::vector<std::int32_t> kind_buf(static_cast<std::size_t>(n), -7),
      box_buf(4 * static_cast<std::size_t>(n), -7);
  mixup_draws_t draws{in.one_in(8) ? nullptr : kind_buf.data(), in.one_in(8) ? nullptr : box_buf.data()};
  const bool no_x = in.one_in(64), no_out = in.one_in(64), no_targets = in.one_in(16);
  must_fail = must_fail || no_x || no_out;
  arena.snapshot();
  const mixup_batch_t* xp = no_x ? nullptr : &x;
  const mixup_batch_t* op = no_out ? nullptr : &out;
  const mixup_targets_t* tp = no_targets ? nullptr : &t;
  const bool no_given = replay && in.one_in(64);
  must_fail = must_fail || no_given;
  const mixup_status_t s = replay       ? mixup_apply_replay(h, xp, no_given ? nullptr : &rp, op, tp, nullptr)
                           : given      ? mixup_apply_given(h, xp, lam_in, perm_in, op, tp, nullptr)
                           : with_draws ? mixup_apply_with_draws(h, xp, op, tp, &draws, nullptr)
                                        : mixup_apply(h, xp, op, tp, nullptr);
  const char* call = replay       ? "mixup_apply_replay"
                     : given      ? "mixup_apply_given"
                     : with_draws ? "mixup_apply_with_draws"
                                  : "mixup_apply";
  check_call(call, s, arena, must_fail);
  mixup_get_step(h, &step_after);
  const bool ok = s == MIXUP_STATUS_SUCCESS;
  const auto sentinel = [](std::int32_t v) { return v == -7; };
  if (!ok && !(std::all_of(kind_buf.begin(), kind_buf.end(), sentinel) &&
               std::all_of(box_buf.begin(), box_buf.end(), sentinel)))
    fuzz_fail("capi", "mixup_apply_with_draws failed but wrote its draws");
  if (step_after != step_before + (ok && !given ? 1 : 0))
    fuzz_fail("capi", "the step moved although the call failed, or did not move on success");
  if (!ok) return;

  // It succeeded: then what it was given must have been valid.
  const std::string who = std::string(call) + ": ";
  const int mode = enum_int(t.mode);
  const bool wants_labels = !no_targets && (mode == MIXUP_TARGETS_ONEHOT ||
                                            (mode == MIXUP_TARGETS_STACKED && (t.y_a || t.y_b)));
  for (std::int64_t i = 0; i < x.n; ++i) {
    if (wants_labels) {
      const auto y = arena.before<std::int32_t>(t.labels, i);
      if (y < 0 || y >= classes) fuzz_fail("capi", (who + "accepted label " + std::to_string(y)).c_str());
    }
    if (given) {
      const auto l = arena.before<float>(lam_in, i);
      if (!(l >= 0.0f && l <= 1.0f)) fuzz_fail("capi", (who + "accepted lam " + std::to_string(l)).c_str());
    }
  }
  for (std::int64_t i = 0; with_draws && i < x.n; ++i) {
    const std::int32_t k = draws.kind != nullptr ? draws.kind[i] : MIXUP_KIND_CUTMIX;
    if (k < MIXUP_KIND_NONE || k > MIXUP_KIND_CUTMIX)
      fuzz_fail("capi", (who + "wrote kind " + std::to_string(k)).c_str());
    if (draws.box == nullptr) continue;
    const std::int32_t* b = draws.box + 4 * i;
    if (!(0 <= b[0] && b[0] <= b[2] && b[2] <= x.h && 0 <= b[1] && b[1] <= b[3] && b[3] <= x.w))
      fuzz_fail("capi", (who + "wrote a box outside the image").c_str());
    if (k != MIXUP_KIND_CUTMIX && (b[0] | b[1] | b[2] | b[3]) != 0)
      fuzz_fail("capi", (who + "a box without CutMix").c_str());
  }
  for (std::int64_t i = 0; replay && i < x.n; ++i) {  // what mixup_apply_replay promises to check
    const auto j = arena.before<std::int32_t>(perm_in, i);
    if (j < 0 || j >= x.n) fuzz_fail("capi", (who + "accepted partner " + std::to_string(j)).c_str());
    const std::int32_t k = rp.kind != nullptr ? arena.before<std::int32_t>(rp.kind, i) : MIXUP_KIND_MIXUP;
    if (k < MIXUP_KIND_NONE || k > MIXUP_KIND_CUTMIX)
      fuzz_fail("capi", (who + "accepted kind " + std::to_string(k)).c_str());
    if (k == MIXUP_KIND_NONE && (j != i || arena.before<float>(lam_in, i) != 1.0f))
      fuzz_fail("capi", (who + "accepted an unmixed row with a partner or λ < 1").c_str());
    if (k == MIXUP_KIND_CUTMIX) {
      if (rp.box == nullptr) fuzz_fail("capi", (who + "accepted CutMix without boxes").c_str());
      std::int32_t b[4];
      for (int q = 0; q < 4; ++q) b[q] = arena.before<std::int32_t>(rp.box, 4 * i + q);
      if (!(0 <= b[0] && b[0] <= b[2] && b[2] <= x.h && 0 <= b[1] && b[1] <= b[3] && b[3] <= x.w))
        fuzz_fail("capi", (who + "accepted a box outside the image").c_str());
    }
    if (out.data == x.data && k != MIXUP_KIND_NONE && j != i) {
      const std::int32_t kj = rp.kind != nullptr ? arena.before<std::int32_t>(rp.kind, j) : MIXUP_KIND_MIXUP;
      if (arena.before<std::int32_t>(perm_in, j) != i && kj != MIXUP_KIND_NONE)
        fuzz_fail("capi", (who + "accepted in place a partner that is written by another pair").c_str());
    }
  }
  if (given && !replay) {
    std::vector<bool> seen(x.n);
    for (std::int64_t i = 0; i < x.n; ++i) {
      const auto j = arena.before<std::int32_t>(perm_in, i);
      if (j < 0 || j >= x.n || seen[j])
        fuzz_fail("capi", (who + "accepted a perm that is not a permutation").c_str());
      seen[j] = true;
    }
  }
}

}  // namespace mixup::fuzz
