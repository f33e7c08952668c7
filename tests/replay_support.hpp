// A drawn call (mixup_apply_with_draws) and its replay (mixup_apply_replay) on the backend
// under test, with every output kept as raw bytes, so two calls can be compared bit for bit.
#pragma once

#include "cutmix_support.hpp"

namespace mixup::test {

struct ReplaySpec {
  mixup_config_t config;
  mixup_mixing_t mixing;
  Shape shape;
  mixup_dtype_t in = MIXUP_DTYPE_F32, out = MIXUP_DTYPE_F32;
  bool in_place = false;
  mixup_targets_mode_t targets = MIXUP_TARGETS_STACKED;  // or ONEHOT (soft rows, λ, partners)
  std::uint64_t step = 0;
  int norm_channels = 0;  // > 0: mean / std below for uint8 input
  float mean[3] = {0.2f, 0.5f, 0.7f}, std[3] = {0.3f, 0.25f, 0.5f};
};

// Everything one call wrote, as it lies in memory.
struct Written {
  std::vector<std::uint8_t> out;
  std::vector<float> lam, soft;
  std::vector<std::int32_t> perm, kind, box, y_a, y_b;
  std::uint64_t step_after = 0;
  mixup_status_t status = MIXUP_STATUS_SUCCESS;
};

// The buffers of one call on the backend; `x` is freshly the input for each call.
struct CallBuffers {
  Buf<std::uint8_t> x, out;
  Buf<float> lam, soft;
  Buf<std::int32_t> perm, kind, box, y_a, y_b, labels;
  CallBuffers(const ReplaySpec& s, const std::vector<std::uint8_t>& raw)
      : x(raw.size()), out(static_cast<std::size_t>(s.shape.n * s.shape.per()) * size_of(s.out), 0xAB),
        lam(s.shape.n, -1.0f), soft(s.shape.n * 10, -1.0f), perm(s.shape.n, -1), kind(s.shape.n, -1),
        box(4 * s.shape.n, -1), y_a(s.shape.n, -1), y_b(s.shape.n, -1), labels(s.shape.n) {
    x.host = raw;
    x.upload();
    for (std::int64_t i = 0; i < s.shape.n; ++i) labels.host[i] = static_cast<std::int32_t>((i * 7 + 3) % 10);
    labels.upload();
  }
  mixup_targets_t targets(const ReplaySpec& s) {
    mixup_targets_t t{};
    t.mode = s.targets;
    t.labels = labels.ptr();
    if (s.targets == MIXUP_TARGETS_STACKED) {
      t.y_a = y_a.ptr();
      t.y_b = y_b.ptr();
    } else {
      t.soft_out = soft.ptr();
    }
    t.lam = lam.ptr();
    t.perm = perm.ptr();
    return t;
  }
  Written read(const ReplaySpec& s, mixup_handle_t h) {
    Written w;
    w.out = s.in_place ? x.download() : out.download();
    w.lam = lam.download();
    w.soft = soft.download();
    w.perm = perm.download();
    w.kind = kind.download();
    w.box = box.download();
    w.y_a = y_a.download();
    w.y_b = y_b.download();
    EXPECT_EQ(mixup_get_step(h, &w.step_after), MIXUP_STATUS_SUCCESS);
    return w;
  }
};

inline mixup_batch_t batch_of(const ReplaySpec& s, void* data, mixup_dtype_t t) {
  return mixup_batch_t{data, t, s.shape.n, s.shape.c, s.shape.h, s.shape.w, s.shape.layout};
}

// Draws with mixup_apply_with_draws at s.step, then replays what it reported on the same
// handle (fresh input and outputs): {drawn, replayed}.
inline std::pair<Written, Written> draw_and_replay(const ReplaySpec& s) {
  const std::vector<std::uint8_t> raw = raw_input(s.in, static_cast<std::size_t>(s.shape.n * s.shape.per()));
  Handle h(s.config);
  EXPECT_EQ(mixup_set_mixing(h, &s.mixing), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  if (s.norm_channels > 0) {
    EXPECT_EQ(mixup_set_normalize(h, s.mean, s.std, s.norm_channels), MIXUP_STATUS_SUCCESS);
  }
  EXPECT_EQ(mixup_set_step(h, s.step), MIXUP_STATUS_SUCCESS);
  CallBuffers drawn(s, raw), again(s, raw);
  const auto out_of = [&](CallBuffers& b) { return s.in_place ? b.x.ptr() : b.out.ptr(); };
  mixup_batch_t bx = batch_of(s, drawn.x.ptr(), s.in), bo = batch_of(s, out_of(drawn), s.out);
  mixup_targets_t t = drawn.targets(s);
  mixup_draws_t d{drawn.kind.ptr(), drawn.box.ptr()};
  const mixup_status_t drew = mixup_apply_with_draws(h, &bx, &bo, &t, &d, nullptr);
  EXPECT_EQ(drew, MIXUP_STATUS_SUCCESS) << mixup_last_error();
  // the reported arrays are passed as they lie on the backend's side
  const mixup_replay_t given{drawn.lam.ptr(), drawn.perm.ptr(), drawn.kind.ptr(), drawn.box.ptr()};
  mixup_batch_t rx = batch_of(s, again.x.ptr(), s.in), ro = batch_of(s, out_of(again), s.out);
  mixup_targets_t rt = again.targets(s);
  const mixup_status_t replayed = mixup_apply_replay(h, &rx, &given, &ro, &rt, nullptr);
  EXPECT_EQ(replayed, MIXUP_STATUS_SUCCESS) << mixup_last_error();
  std::pair<Written, Written> r{drawn.read(s, h), again.read(s, h)};
  r.first.status = drew;
  r.second.status = replayed;
  return r;
}

// How many elements of two raw outputs of dtype t differ in any bit, and in how many rows.
struct BitDiff {
  std::size_t elements = 0, rows = 0;
};

inline BitDiff bit_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b,
                        mixup_dtype_t t, std::int64_t per_row) {
  BitDiff d;
  const std::size_t size = size_of(t), n = a.size() / size;
  std::int64_t last_row = -1;
  for (std::size_t e = 0; e < n; ++e) {
    if (std::memcmp(&a[e * size], &b[e * size], size) == 0) continue;
    ++d.elements;
    const std::int64_t row = static_cast<std::int64_t>(e) / per_row;
    if (row != last_row) ++d.rows, last_row = row;
  }
  return d;
}

}  // namespace mixup::test
