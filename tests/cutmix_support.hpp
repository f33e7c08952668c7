// One mixup_apply_with_draws call on the backend under test, with everything it reports read
// back to the host, and the naive double reference every CutMix test checks it against.
#pragma once

#include "reference.hpp"
#include "support.hpp"

#include <array>
#include <numeric>

namespace mixup::test {

struct Shape {
  std::int64_t n, c, h, w;
  mixup_layout_t layout = MIXUP_LAYOUT_NCHW;
  std::int64_t per() const { return c * h * w; }
};

struct Drawn {
  std::vector<double> x, out;  // decoded
  std::vector<float> lam;
  std::vector<std::int32_t> perm, kind, y_a, y_b, labels;
  std::vector<std::array<std::int32_t, 4>> box;  // y0, x0, y1, x1
  mixup_status_t status = MIXUP_STATUS_SUCCESS;
};

struct CallSpec {
  mixup_config_t config;
  mixup_mixing_t mixing;
  Shape shape;
  mixup_dtype_t in = MIXUP_DTYPE_F32, out = MIXUP_DTYPE_F32;
  bool in_place = false;
  std::uint64_t step = 0;
  int norm_channels = 0;  // > 0: mean/std below for uint8 input
  float mean[3] = {0.2f, 0.5f, 0.7f}, std[3] = {0.3f, 0.25f, 0.5f};
};

// Distinct, exactly representable values in every dtype (small integers / 8, or bytes).
inline std::vector<std::uint8_t> raw_input(mixup_dtype_t t, std::size_t count) {
  std::vector<std::uint8_t> raw(count * size_of(t));
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t v = static_cast<std::uint32_t>((i * 2654435761u) >> 7) % 251;
    if (t == MIXUP_DTYPE_U8) {
      raw[i] = static_cast<std::uint8_t>(v);
    } else if (t == MIXUP_DTYPE_F32) {
      const float f = static_cast<float>(v) / 8.0f - 15.0f;
      std::memcpy(&raw[i * 4], &f, 4);
    } else {
      // v/8 − 15 in half or bfloat16: built from float bits (exact: at most 8 significant bits)
      const float f = static_cast<float>(v) / 8.0f - 15.0f;
      std::uint32_t u;
      std::memcpy(&u, &f, 4);
      std::uint16_t h;
      if (t == MIXUP_DTYPE_BF16) {
        h = static_cast<std::uint16_t>(u >> 16);
      } else {
        const std::uint32_t sign = (u >> 16) & 0x8000u, exp = (u >> 23) & 0xFF, mant = u & 0x7FFFFFu;
        h = f == 0.0f ? 0 : static_cast<std::uint16_t>(sign | ((exp - 112) << 10) | (mant >> 13));
      }
      std::memcpy(&raw[i * 2], &h, 2);
    }
  }
  return raw;
}

inline Drawn run_call(const CallSpec& s) {
  const Shape& sh = s.shape;
  const std::size_t count = static_cast<std::size_t>(sh.n * sh.per());
  const std::size_t n = static_cast<std::size_t>(sh.n);
  Drawn d;
  const std::vector<std::uint8_t> raw = raw_input(s.in, count);
  Buf<std::uint8_t> x(raw.size());
  x.host = raw;
  x.upload();
  Buf<std::uint8_t> out(count * size_of(s.out), 0xAB);
  Buf<float> lam(n, -1.0f);
  Buf<std::int32_t> perm(n, -1), kind(n, -1), y_a(n, -1), y_b(n, -1), box(4 * n, -1), labels(n);
  for (std::size_t i = 0; i < n; ++i) labels.host[i] = static_cast<std::int32_t>((i * 7 + 3) % 10);
  labels.upload();
  Handle h(s.config);
  EXPECT_EQ(mixup_set_mixing(h, &s.mixing), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  EXPECT_EQ(mixup_set_step(h, s.step), MIXUP_STATUS_SUCCESS);
  if (s.norm_channels > 0) {
    EXPECT_EQ(mixup_set_normalize(h, s.mean, s.std, s.norm_channels), MIXUP_STATUS_SUCCESS);
  }
  void* out_ptr = s.in_place ? static_cast<void*>(x.ptr()) : static_cast<void*>(out.ptr());
  mixup_batch_t bx{x.ptr(), s.in, sh.n, sh.c, sh.h, sh.w, sh.layout};
  mixup_batch_t bo{out_ptr, s.out, sh.n, sh.c, sh.h, sh.w, sh.layout};
  mixup_targets_t t{};
  t.mode = MIXUP_TARGETS_STACKED;
  t.labels = labels.ptr();
  t.y_a = y_a.ptr();
  t.y_b = y_b.ptr();
  t.lam = lam.ptr();
  t.perm = perm.ptr();
  mixup_draws_t dr{kind.ptr(), box.ptr()};
  d.status = mixup_apply_with_draws(h, &bx, &bo, &t, &dr, nullptr);
  EXPECT_EQ(d.status, MIXUP_STATUS_SUCCESS) << mixup_last_error();
  d.x.resize(count);
  d.out.resize(count);
  for (std::size_t e = 0; e < count; ++e) d.x[e] = decode(raw.data(), s.in, e);
  const std::vector<std::uint8_t>& o = s.in_place ? x.download() : out.download();
  for (std::size_t e = 0; e < count; ++e) d.out[e] = decode(o.data(), s.out, e);
  d.lam = lam.download();
  d.perm = perm.download();
  d.kind = kind.download();
  d.y_a = y_a.download();
  d.y_b = y_b.download();
  d.labels = labels.host;
  box.download();
  d.box.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    for (int k = 0; k < 4; ++k) d.box[i][k] = box.host[4 * i + k];
  return d;
}

// Index of element (c, y, x) of a sample, written out per layout.
inline std::int64_t element_at(const Shape& s, std::int64_t c, std::int64_t y, std::int64_t x) {
  return s.layout == MIXUP_LAYOUT_NCHW ? (c * s.h + y) * s.w + x : (y * s.w + x) * s.c + c;
}

inline bool inside(const std::array<std::int32_t, 4>& b, std::int64_t y, std::int64_t x) {
  return y >= b[0] && y < b[2] && x >= b[1] && x < b[3];
}

inline std::int64_t area(const std::array<std::int32_t, 4>& b) {
  return static_cast<std::int64_t>(b[2] - b[0]) * (b[3] - b[1]);
}

}  // namespace mixup::test
