// The blend against a naive double reference: every dtype pairing, both layouts, awkward
// batch and sample sizes, misaligned pointers. The output is poisoned first and every
// element is checked, so a skipped or doubled write shows.
#include <random>
#include <sstream>

#include "reference.hpp"
#include "support.hpp"

namespace {

using namespace mixup::test;

struct Case {
  mixup_dtype_t in, out;
  mixup_layout_t layout;
  std::int64_t batch, c, h, w;
  std::size_t x_offset, out_offset;  // in elements: misaligns the starts
  bool normalize;                    // uint8 only: per-channel mean/std (else v / 255)
};

std::string describe(const Case& k) {
  const char* names[] = {"f32", "f16", "bf16", "u8"};
  std::ostringstream s;
  s << names[k.in] << "->" << names[k.out] << (k.layout == MIXUP_LAYOUT_NCHW ? " NCHW" : " NHWC") << " ["
    << k.batch << "," << k.c << "," << k.h << "," << k.w << "] x+" << k.x_offset << " out+" << k.out_offset
    << (k.normalize ? " normalized" : "");
  return s.str();
}

const float kMean[3] = {0.5f, 0.4f, 0.3f};
const float kStd[3] = {0.25f, 0.2f, 0.3f};

// Raw input bytes of a random batch; values are exactly representable in the dtype.
std::vector<std::uint8_t> random_input(mixup_dtype_t t, std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> bytes(n * size_of(t));
  for (std::size_t i = 0; i < n; ++i) {
    if (t == MIXUP_DTYPE_U8) {
      bytes[i] = static_cast<std::uint8_t>(rng() & 0xFF);
    } else if (t == MIXUP_DTYPE_F32) {
      const float v = std::uniform_real_distribution<float>(-3.0f, 3.0f)(rng);
      std::memcpy(&bytes[i * 4], &v, 4);
    } else {
      // f16 / bf16: sign, a mid-range exponent and a random significand, written directly
      const std::uint32_t r = rng();
      const std::uint16_t h = t == MIXUP_DTYPE_F16
                                  ? static_cast<std::uint16_t>((r & 0x8000u) |
                                                               ((12u + (r >> 20) % 5u) << 10) | (r & 0x3FFu))
                                  : static_cast<std::uint16_t>((r & 0x8000u) |
                                                               ((124u + (r >> 20) % 5u) << 7) | (r & 0x7Fu));
      std::memcpy(&bytes[i * 2], &h, 2);
    }
  }
  return bytes;
}

void run_case(const Case& k) {
  SCOPED_TRACE(describe(k));
  const std::size_t per = static_cast<std::size_t>(k.c * k.h * k.w),
                    n = static_cast<std::size_t>(k.batch) * per;
  mixup_config_t cfg = config_for_tests(128);
  cfg.seed = 77 + static_cast<std::uint64_t>(k.batch);
  Handle h(cfg);
  if (k.normalize) {
    ASSERT_EQ(mixup_set_normalize(h, kMean, kStd, 3), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  }

  const std::vector<std::uint8_t> input = random_input(k.in, n, static_cast<std::uint32_t>(n));
  Buf<std::uint8_t> x(input.size(), 0, k.x_offset * size_of(k.in));
  x.host = input;
  x.upload();
  Buf<std::uint8_t> out(n * size_of(k.out), 0xFF,
                        k.out_offset * size_of(k.out));  // all-ones: NaN in every float format
  Buf<float> lam(k.batch, -1.0f);
  Buf<std::int32_t> perm(k.batch, -1);
  mixup_batch_t bx{x.ptr(), k.in, k.batch, k.c, k.h, k.w, k.layout};
  mixup_batch_t bo{out.ptr(), k.out, k.batch, k.c, k.h, k.w, k.layout};
  mixup_targets_t t{};
  t.lam = lam.ptr();
  t.perm = perm.ptr();
  ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  const std::vector<float>& L = lam.download();
  const std::vector<std::int32_t>& P = perm.download();
  const std::vector<std::uint8_t>& O = out.download();

  double worst = 0;
  std::size_t bad = 0, worst_at = 0;
  for (std::int64_t i = 0; i < k.batch; ++i) {
    ASSERT_GE(P[i], 0);
    ASSERT_LT(P[i], k.batch);
    ASSERT_GE(L[i], 0.5f);
    ASSERT_LE(L[i], 1.0f);
    for (std::size_t e = 0; e < per; ++e) {
      const double a = decode(input.data(), k.in, i * per + e),
                   b = decode(input.data(), k.in, P[i] * per + e);
      double want = L[i] * a + (1.0 - L[i]) * b;
      double scale = std::fabs(a) + std::fabs(b);
      if (k.in == MIXUP_DTYPE_U8) {
        const std::size_t ch = k.layout == MIXUP_LAYOUT_NCHW ? e / (k.h * k.w) : e % k.c;
        const double m = k.normalize ? kMean[ch] : 0.0, s = k.normalize ? kStd[ch] : 1.0;
        want = (want / 255.0 - m) / s;
        scale = scale / (255.0 * s) + std::fabs(m / s);
      }
      // float arithmetic (a few ulps of the inputs' scale) plus rounding to the output format
      const double tol = 4e-7 * scale + epsilon_of(k.out) * std::fabs(want) + subnormal_spacing(k.out);
      const double got = decode(O.data(), k.out, i * per + e);
      const double err = std::isnan(got) ? INFINITY : std::fabs(got - want);
      if (err > tol) {
        ++bad;
        if (err - tol > worst) worst = err - tol, worst_at = i * per + e;
      }
    }
  }
  EXPECT_EQ(bad, 0u) << "worst at element " << worst_at << " (excess " << worst << ")";
}

class Blend : public BackendTest {};

TEST_F(Blend, EveryDtypeLayoutBatchAndShapeAgainstDoubleReference) {
  const std::pair<mixup_dtype_t, mixup_dtype_t> dtypes[] = {{MIXUP_DTYPE_F32, MIXUP_DTYPE_F32},
                                                            {MIXUP_DTYPE_F16, MIXUP_DTYPE_F16},
                                                            {MIXUP_DTYPE_BF16, MIXUP_DTYPE_BF16},
                                                            {MIXUP_DTYPE_U8, MIXUP_DTYPE_F32},
                                                            {MIXUP_DTYPE_U8, MIXUP_DTYPE_F16},
                                                            {MIXUP_DTYPE_U8, MIXUP_DTYPE_BF16}};
  const std::int64_t shapes[][3] = {{3, 5, 7}, {3, 4, 4}, {1, 1, 1}, {3, 28, 28}, {3, 1, 2049}};
  for (const auto& [in, out] : dtypes)
    for (const mixup_layout_t layout : {MIXUP_LAYOUT_NCHW, MIXUP_LAYOUT_NHWC})
      for (const std::int64_t batch : {1, 2, 7, 65})
        for (const auto& s : shapes) {
          const bool normalize = in == MIXUP_DTYPE_U8 && s[0] == 3;
          run_case(Case{in, out, layout, batch, s[0], s[1], s[2], 0, 0, normalize});
          if (in == MIXUP_DTYPE_U8 && s[0] == 3)
            run_case(Case{in, out, layout, batch, s[0], s[1], s[2], 0, 0, false});
        }
}

TEST_F(Blend, MisalignedPointers) {
  const std::pair<mixup_dtype_t, mixup_dtype_t> dtypes[] = {{MIXUP_DTYPE_F32, MIXUP_DTYPE_F32},
                                                            {MIXUP_DTYPE_F16, MIXUP_DTYPE_F16},
                                                            {MIXUP_DTYPE_U8, MIXUP_DTYPE_F32}};
  for (const auto& [in, out] : dtypes)
    for (const std::size_t xo : {0, 1, 3})
      for (const std::size_t oo : {0, 1, 2})
        for (const std::int64_t w : {16, 33, 1000})
          run_case(Case{in, out, MIXUP_LAYOUT_NCHW, 7, 1, 1, w, xo, oo, false});
}

// A caller's λ and permutation are used as given: the reference needs no draw at all.
TEST_F(Blend, GivenLambdaAndPermutation) {
  const int B = 5, per = 11;
  Buf<float> x(B * per), out(B * per, NAN), lam_out(B, -1.0f);
  for (int i = 0; i < B * per; ++i) x.host[i] = static_cast<float>(i % 13) - 6.0f;
  x.upload();
  Buf<float> lam(B);
  Buf<std::int32_t> perm(B), perm_out(B, -1);
  lam.host = {1.0f, 0.0f, 0.5f, 0.25f, 0.9f};
  perm.host = {4, 2, 0, 3, 1};
  lam.upload();
  perm.upload();
  Handle h(config_for_tests(8));
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.lam = lam_out.ptr();
  t.perm = perm_out.ptr();
  ASSERT_EQ(mixup_apply_given(h, &bx, lam.ptr(), perm.ptr(), &bo, &t, nullptr), MIXUP_STATUS_SUCCESS)
      << mixup_last_error();
  std::vector<double> got, want;
  for (int i = 0; i < B; ++i)
    for (int e = 0; e < per; ++e) {
      want.push_back(lam.host[i] * double(x.host[i * per + e]) +
                     (1.0 - lam.host[i]) * double(x.host[perm.host[i] * per + e]));
      got.push_back(out.download()[i * per + e]);
    }
  EXPECT_TRUE(all_close(got, want, 1e-6, 1e-6));
  EXPECT_EQ(lam_out.download(), lam.host);
  EXPECT_EQ(perm_out.download(), perm.host);
  std::uint64_t step = 9;
  ASSERT_EQ(mixup_get_step(h, &step), MIXUP_STATUS_SUCCESS);
  EXPECT_EQ(step, 0u) << "a call with given draws does not consume a step";
}

// stack_x: out[i] = x[partner(i)] exactly, nothing blended.
TEST_F(Blend, StackXWritesThePartnerBatch) {
  mixup_config_t c = config_for_tests(64);
  c.stack_x = 1;
  Handle h(c);
  const int B = 33, per = 19;
  Buf<float> x(B * per), out(B * per, NAN);
  Buf<std::int32_t> perm(B);
  for (int i = 0; i < B * per; ++i) x.host[i] = 0.37f * static_cast<float>(i) - 5.0f;
  x.upload();
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.perm = perm.ptr();
  ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  const auto& P = perm.download();
  const auto& O = out.download();
  int moved = 0;
  for (int i = 0; i < B; ++i) {
    moved += P[i] != i;
    for (int e = 0; e < per; ++e) ASSERT_EQ(O[i * per + e], x.host[P[i] * per + e]) << "sample " << i;
  }
  EXPECT_GT(moved, 0);
}

// Involution in place gives the same bits as out of place, and needs no second buffer.
TEST_F(Blend, InvolutionInPlaceMatchesOutOfPlace) {
  mixup_config_t c = config_for_tests(64);
  c.pairing = MIXUP_PAIRING_INVOLUTION;
  const int B = 65, per = 301;
  for (const mixup_dtype_t dt : {MIXUP_DTYPE_F32, MIXUP_DTYPE_BF16}) {
    const std::vector<std::uint8_t> input = random_input(dt, B * per, 5);
    Buf<std::uint8_t> x(input.size()), out(input.size(), 0xFF), inplace(input.size());
    x.host = input;
    x.upload();
    inplace.host = input;
    inplace.upload();
    mixup_config_t cc = c;
    cc.max_batch = B;
    Handle h1(cc), h2(cc);
    mixup_batch_t bx{x.ptr(), dt, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
    mixup_batch_t bo{out.ptr(), dt, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
    mixup_batch_t bi{inplace.ptr(), dt, B, 1, 1, per, MIXUP_LAYOUT_NCHW};
    ASSERT_EQ(mixup_apply(h1, &bx, &bo, nullptr, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    ASSERT_EQ(mixup_apply(h2, &bi, &bi, nullptr, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    EXPECT_EQ(inplace.download(), out.download());
    EXPECT_NE(inplace.host, input);
  }
}

}  // namespace
