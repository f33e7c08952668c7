// CutMix and the mixing policy (mixup_set_mixing) against a naive double reference: every
// element inside its sample's box comes from the partner, every other from the sample; λ is
// the kept fraction; unmixed samples are themselves with λ = 1; in place equals out of place;
// bad policies are refused and change nothing. The laws (uniform centres, Beta λ, the
// probabilities) are in test_cutmix_stats.cpp.
#include "cutmix_support.hpp"

#include <set>

namespace {

using namespace mixup::test;

class CutMix : public BackendTest {};

mixup_mixing_t cutmix_only(float alpha = 1.0f) {
  mixup_mixing_t m = mixup_mixing_default();
  m.switch_prob = 1.0f;
  m.cutmix_alpha = alpha;
  return m;
}

// The reference value of element e of sample i, from what the call says it drew.
double want_element(const CallSpec& s, const Drawn& d, std::int64_t i, std::int64_t c, std::int64_t y,
                    std::int64_t x) {
  const Shape& sh = s.shape;
  const std::int64_t e = element_at(sh, c, y, x);
  const std::int64_t p = d.perm[i];
  const double a = d.x[i * sh.per() + e], b = d.x[p * sh.per() + e];
  double v = a;
  if (d.kind[i] == MIXUP_KIND_CUTMIX && inside(d.box[i], y, x)) v = b;
  if (d.kind[i] == MIXUP_KIND_MIXUP)
    v = static_cast<double>(d.lam[i]) * a + (1.0 - static_cast<double>(d.lam[i])) * b;
  if (s.in == MIXUP_DTYPE_U8) {
    v /= 255.0;
    if (s.norm_channels > 0) v = (v - s.mean[c]) / s.std[c];
  }
  return v;
}

// Checks every output element, λ, partner, labels and box of one call; returns the number of
// non-empty CutMix boxes seen (so callers can insist the check was not vacuous).
int check_call(const CallSpec& s, const Drawn& d) {
  const Shape& sh = s.shape;
  const double pixels = static_cast<double>(sh.h * sh.w);
  int nonempty = 0;
  for (std::int64_t i = 0; i < sh.n; ++i) {
    const auto& b = d.box[i];
    EXPECT_TRUE(d.kind[i] >= MIXUP_KIND_NONE && d.kind[i] <= MIXUP_KIND_CUTMIX) << "kind " << d.kind[i];
    EXPECT_EQ(d.y_a[i], d.labels[i]);
    if (!(d.perm[i] >= 0 && d.perm[i] < sh.n)) {
      ADD_FAILURE() << "perm[" << i << "] = " << d.perm[i];
      return nonempty;
    }
    EXPECT_EQ(d.y_b[i], d.labels[d.perm[i]]);
    if (d.kind[i] == MIXUP_KIND_CUTMIX) {
      EXPECT_TRUE(0 <= b[0] && b[0] <= b[2] && b[2] <= sh.h && 0 <= b[1] && b[1] <= b[3] && b[3] <= sh.w)
          << "sample " << i << " box " << b[0] << " " << b[1] << " " << b[2] << " " << b[3];
      nonempty += area(b) > 0;
      if (s.mixing.correct_lam || s.mixing.cutmix_minmax[1] > 0.0f) {
        const double kept = (pixels - static_cast<double>(area(b))) / pixels;
        EXPECT_LE(std::fabs(d.lam[i] - kept), std::ldexp(1.0, -24))
            << "sample " << i << ": λ is not the kept fraction";
      }
    } else {
      EXPECT_EQ(b, (std::array<std::int32_t, 4>{0, 0, 0, 0}))
          << "sample " << i << " is not CutMix but has a box";
    }
    if (d.kind[i] == MIXUP_KIND_NONE) {
      EXPECT_EQ(d.perm[i], i) << "an unmixed sample is its own partner";
      EXPECT_EQ(d.lam[i], 1.0f);
    }
    std::int64_t bad = 0, first_bad = -1;
    for (std::int64_t c = 0; c < sh.c; ++c)
      for (std::int64_t y = 0; y < sh.h; ++y)
        for (std::int64_t x = 0; x < sh.w; ++x) {
          const double want = want_element(s, d, i, c, y, x);
          const double got = d.out[i * sh.per() + element_at(sh, c, y, x)];
          // pasted and kept elements are copies (exact; uint8 is normalised once); a mixup
          // row is a blend in float, rounded to the output format
          const double tol = d.kind[i] == MIXUP_KIND_MIXUP || s.in == MIXUP_DTYPE_U8
                                 ? 4.0 * epsilon_of(s.out) * (std::fabs(want) + 16.0)
                                 : 0.0;
          if (!(std::fabs(got - want) <= tol)) {
            if (first_bad < 0) first_bad = (c * sh.h + y) * sh.w + x;
            ++bad;
          }
        }
    EXPECT_EQ(bad, 0) << "sample " << i << " (kind " << d.kind[i] << ", partner " << d.perm[i] << "): " << bad
                      << " wrong elements, first at (c·H + y)·W + x = " << first_bad;
  }
  return nonempty;
}

TEST_F(CutMix, EveryElementInOrOutOfItsBoxEveryDtypeLayoutAndShape) {
  const Shape shapes[] = {{5, 3, 8, 6}, {1, 3, 7, 7},    {8, 1, 1, 9},
                          {6, 2, 9, 1}, {17, 3, 32, 32}, {4, 3, 13, 5}};
  struct Types {
    mixup_dtype_t in, out;
    int norm;
  };
  const Types types[] = {{MIXUP_DTYPE_F32, MIXUP_DTYPE_F32, 0},   {MIXUP_DTYPE_F16, MIXUP_DTYPE_F16, 0},
                         {MIXUP_DTYPE_BF16, MIXUP_DTYPE_BF16, 0}, {MIXUP_DTYPE_U8, MIXUP_DTYPE_F32, 3},
                         {MIXUP_DTYPE_U8, MIXUP_DTYPE_BF16, 0},   {MIXUP_DTYPE_U8, MIXUP_DTYPE_F16, 3}};
  int nonempty = 0, calls = 0;
  for (Shape sh : shapes)
    for (const mixup_layout_t layout : {MIXUP_LAYOUT_NCHW, MIXUP_LAYOUT_NHWC})
      for (const Types& ty : types)
        for (const mixup_lambda_mode_t mode :
             {MIXUP_LAMBDA_PER_SAMPLE, MIXUP_LAMBDA_PER_PAIR, MIXUP_LAMBDA_PER_BATCH}) {
          if (ty.norm > 0 && sh.c != ty.norm) continue;
          sh.layout = layout;
          CallSpec s{config_for_tests(64), cutmix_only(), sh, ty.in, ty.out};
          s.config.lambda_mode = mode;
          s.config.pairing = mode == MIXUP_LAMBDA_PER_PAIR ? MIXUP_PAIRING_INVOLUTION
                                                           : MIXUP_PAIRING_PERMUTATION;
          s.norm_channels = ty.norm;
          s.step = static_cast<std::uint64_t>(calls++);
          const Drawn d = run_call(s);
          ASSERT_EQ(d.status, MIXUP_STATUS_SUCCESS);
          SCOPED_TRACE(testing::Message()
                       << "shape " << sh.n << "x" << sh.c << "x" << sh.h << "x" << sh.w << " layout "
                       << layout << " dtype " << ty.in << "->" << ty.out << " mode " << mode);
          for (std::int64_t i = 0; i < sh.n; ++i) EXPECT_EQ(d.kind[i], MIXUP_KIND_CUTMIX);
          if (sh.h == 1 || sh.w == 1) {
            for (std::int64_t i = 0; i < sh.n; ++i)
              EXPECT_EQ(d.lam[i], 1.0f) << "a line image has an empty box";
          }
          nonempty += check_call(s, d);
        }
  EXPECT_GT(nonempty, 200) << "too few non-empty boxes: the check above proves little";
}

// prob and switching together, per sample: each row is what its kind says, and with one-hot
// targets the rows carry the λ actually used.
TEST_F(CutMix, MixedPolicyRowsFollowTheirKind) {
  int counts[3] = {0, 0, 0};
  for (const mixup_layout_t layout : {MIXUP_LAYOUT_NCHW, MIXUP_LAYOUT_NHWC})
    for (std::uint64_t step = 0; step < 4; ++step) {
      mixup_mixing_t m = mixup_mixing_default();
      m.prob = 0.7f;
      m.switch_prob = 0.5f;
      CallSpec s{config_for_tests(64), m, Shape{63, 3, 12, 10, layout}};
      s.step = step;
      const Drawn d = run_call(s);
      ASSERT_EQ(d.status, MIXUP_STATUS_SUCCESS);
      check_call(s, d);
      for (std::int32_t k : d.kind) ++counts[k];
    }
  EXPECT_GT(counts[MIXUP_KIND_NONE], 0);
  EXPECT_GT(counts[MIXUP_KIND_MIXUP], 0);
  EXPECT_GT(counts[MIXUP_KIND_CUTMIX], 0);
}

TEST_F(CutMix, OneHotTargetsCarryTheLambdaUsed) {
  const std::int64_t B = 40, C = 10;
  mixup_config_t c = config_for_tests(B);
  c.label_smoothing = 0.1f;
  Handle h(c);
  mixup_mixing_t m = mixup_mixing_default();
  m.prob = 0.8f;
  m.switch_prob = 0.5f;
  ASSERT_EQ(mixup_set_mixing(h, &m), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  Buf<float> x(B * 3 * 9 * 9, 1.0f), out(B * 3 * 9 * 9), lam(B), soft(B * C);
  Buf<std::int32_t> labels(B), perm(B), kind(B);
  for (std::int64_t i = 0; i < B; ++i) labels.host[i] = static_cast<std::int32_t>((i * 3) % C);
  labels.upload();
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, B, 3, 9, 9, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, B, 3, 9, 9, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.mode = MIXUP_TARGETS_ONEHOT;
  t.labels = labels.ptr();
  t.lam = lam.ptr();
  t.perm = perm.ptr();
  t.soft_out = soft.ptr();
  mixup_draws_t dr{kind.ptr(), nullptr};
  ASSERT_EQ(mixup_apply_with_draws(h, &bx, &bo, &t, &dr, nullptr), MIXUP_STATUS_SUCCESS)
      << mixup_last_error();
  lam.download(), perm.download(), soft.download(), kind.download();
  std::vector<double> got, want;
  for (std::int64_t i = 0; i < B; ++i)
    for (std::int64_t k = 0; k < C; ++k) {
      const double l = lam.host[i];
      const auto smooth = [&](std::int32_t y) { return (k == y ? 0.9 : 0.0) + 0.1 / C; };
      want.push_back(l * smooth(labels.host[i]) + (1.0 - l) * smooth(labels.host[perm.host[i]]));
      got.push_back(soft.host[i * C + k]);
    }
  EXPECT_TRUE(all_close(got, want, 1e-6, 1e-6));
  std::set<std::int32_t> kinds(kind.host.begin(), kind.host.end());
  EXPECT_EQ(kinds.size(), 3u) << "the batch should hold all three kinds at these settings";
}

TEST_F(CutMix, PerSampleBoxesDifferPerPairAndPerBatchShare) {
  const Shape sh{32, 1, 32, 32};
  for (const mixup_lambda_mode_t mode :
       {MIXUP_LAMBDA_PER_SAMPLE, MIXUP_LAMBDA_PER_PAIR, MIXUP_LAMBDA_PER_BATCH}) {
    CallSpec s{config_for_tests(64), cutmix_only(), sh};
    s.config.lambda_mode = mode;
    s.config.pairing = MIXUP_PAIRING_INVOLUTION;
    const Drawn d = run_call(s);
    ASSERT_EQ(d.status, MIXUP_STATUS_SUCCESS);
    const std::set<std::array<std::int32_t, 4>> distinct(d.box.begin(), d.box.end());
    if (mode == MIXUP_LAMBDA_PER_SAMPLE) {
      EXPECT_GE(distinct.size(), 24u) << "per-sample boxes should mostly differ";
    }
    if (mode == MIXUP_LAMBDA_PER_BATCH) {
      EXPECT_EQ(distinct.size(), 1u) << "one box for the batch";
    }
    if (mode == MIXUP_LAMBDA_PER_PAIR) {
      for (std::int64_t i = 0; i < sh.n; ++i)
        EXPECT_EQ(d.box[i], d.box[d.perm[i]]) << "a pair shares its box";
      EXPECT_GE(distinct.size(), 12u);
    }
  }
}

// Involution pairing in place moves only the boxes; the result equals the out-of-place call.
TEST_F(CutMix, InPlaceEqualsOutOfPlace) {
  for (const mixup_lambda_mode_t mode :
       {MIXUP_LAMBDA_PER_SAMPLE, MIXUP_LAMBDA_PER_PAIR, MIXUP_LAMBDA_PER_BATCH})
    for (const mixup_layout_t layout : {MIXUP_LAYOUT_NCHW, MIXUP_LAYOUT_NHWC})
      for (const mixup_dtype_t t : {MIXUP_DTYPE_F32, MIXUP_DTYPE_BF16})
        for (const float prob : {1.0f, 0.7f})
          for (const float sw : {1.0f, 0.5f}) {
            mixup_mixing_t m = cutmix_only();
            m.prob = prob;
            m.switch_prob = sw;
            CallSpec s{config_for_tests(64), m, Shape{9, 3, 11, 7, layout}, t, t};
            s.config.pairing = MIXUP_PAIRING_INVOLUTION;
            s.config.lambda_mode = mode;
            s.step = 5;
            const Drawn apart = run_call(s);
            s.in_place = true;
            const Drawn in = run_call(s);
            ASSERT_EQ(in.status, MIXUP_STATUS_SUCCESS);
            EXPECT_EQ(in.out, apart.out) << "mode " << mode << " layout " << layout << " dtype " << t
                                         << " prob " << prob << " switch " << sw;
            EXPECT_EQ(in.kind, apart.kind);
            check_call(s, in);
          }
}

// The default policy is plain mixup, and an unused CutMix α changes nothing: the draws are
// the ones the library made before CutMix existed.
TEST_F(CutMix, DefaultPolicyIsPlainMixup) {
  CallSpec s{config_for_tests(64), mixup_mixing_default(), Shape{33, 3, 8, 8}};
  const Drawn plain = run_call(s);
  s.mixing.cutmix_alpha = 0.3f;
  s.mixing.cutmix_minmax[0] = 0.1f;
  s.mixing.cutmix_minmax[1] = 0.5f;
  const Drawn unused = run_call(s);
  EXPECT_EQ(plain.out, unused.out);
  EXPECT_EQ(plain.lam, unused.lam);
  for (std::int32_t k : plain.kind) EXPECT_EQ(k, MIXUP_KIND_MIXUP);
  // and the same bits as a call without draws, through the old entry point
  Handle h(s.config);
  const std::vector<std::uint8_t> raw = raw_input(MIXUP_DTYPE_F32, 33 * 192);
  Buf<std::uint8_t> x(raw.size()), out(raw.size());
  x.host = raw;
  x.upload();
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, 33, 3, 8, 8, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, 33, 3, 8, 8, MIXUP_LAYOUT_NCHW};
  ASSERT_EQ(mixup_apply(h, &bx, &bo, nullptr, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  out.download();
  for (std::size_t e = 0; e < plain.out.size(); ++e)
    ASSERT_EQ(decode(out.host.data(), MIXUP_DTYPE_F32, e), plain.out[e]);
}

TEST_F(CutMix, MinmaxBoxesLieInsideWithSidesInRange) {
  const Shape sh{64, 1, 20, 30};
  std::set<std::int32_t> heights, widths;
  for (std::uint64_t step = 0; step < 8; ++step) {
    mixup_mixing_t m = cutmix_only();
    m.cutmix_minmax[0] = 0.2f;
    m.cutmix_minmax[1] = 0.6f;
    m.correct_lam = 0;  // minmax always takes λ from the area
    CallSpec s{config_for_tests(64), m, sh};
    s.step = step;
    const Drawn d = run_call(s);
    ASSERT_EQ(d.status, MIXUP_STATUS_SUCCESS);
    check_call(s, d);
    for (const auto& b : d.box) {
      heights.insert(b[2] - b[0]);
      widths.insert(b[3] - b[1]);
    }
  }
  // sides uniform in [⌊20·0.2⌋, ⌊20·0.6⌋] = [4, 12] and [⌊30·0.2⌋, ⌊30·0.6⌋] = [6, 18]: all seen, nothing else
  EXPECT_EQ(*heights.begin(), 4);
  EXPECT_EQ(*heights.rbegin(), 12);
  EXPECT_EQ(heights.size(), 9u);
  EXPECT_EQ(*widths.begin(), 6);
  EXPECT_EQ(*widths.rbegin(), 18);
  EXPECT_EQ(widths.size(), 13u);
}

// ⌊extent·v⌋ from the decimal string v, in integers: the reference a person computes.
std::int32_t floor_times_decimal(std::int32_t extent, const char* v) {
  std::int64_t num = 0, den = 1;
  bool fraction = false;
  for (const char* c = v; *c != '\0'; ++c) {
    if (*c == '.') {
      fraction = true;
      continue;
    }
    num = num * 10 + (*c - '0');
    if (fraction) den *= 10;
  }
  return static_cast<std::int32_t>(extent * num / den);
}

// The minmax side bounds are the decimal values typed, exactly, also where H·lo and H·hi are
// integers (10·0.7f is 6.99999988 in float arithmetic; the bound is 7). 0.29 at 100 is 29
// (timm's double product, int(100 * 0.29), gives 28).
TEST_F(CutMix, MinmaxBoundsAreTheDecimalValuesTyped) {
  struct Case {
    const char *lo, *hi;
    std::int32_t h, w;
  };
  const Case cases[] = {{"0.3", "0.7", 10, 10}, {"0.25", "0.75", 8, 8}, {"0.1", "1.0", 10, 10},
                        {"0.5", "0.5", 10, 10}, {"0.3", "0.7", 20, 30}, {"0.29", "0.29", 100, 7},
                        {"0.6", "0.6", 20, 5}};
  for (const Case& k : cases) {
    mixup_mixing_t m = cutmix_only();
    m.cutmix_minmax[0] = std::strtof(k.lo, nullptr);
    m.cutmix_minmax[1] = std::strtof(k.hi, nullptr);
    std::set<std::int32_t> heights, widths;
    for (std::uint64_t step = 0; step < 2; ++step) {
      CallSpec s{config_for_tests(256), m, Shape{256, 1, k.h, k.w}};
      s.step = step;
      const Drawn d = run_call(s);
      ASSERT_EQ(d.status, MIXUP_STATUS_SUCCESS);
      for (const auto& b : d.box) {
        heights.insert(b[2] - b[0]);
        widths.insert(b[3] - b[1]);
      }
    }
    // each side uniform over at most 13 values: 512 draws miss an end with probability < 1e-17
    const std::string what = std::string("{") + k.lo + ", " + k.hi + "} at " + std::to_string(k.h) + "x" +
                             std::to_string(k.w);
    EXPECT_EQ(*heights.begin(), floor_times_decimal(k.h, k.lo)) << what;
    EXPECT_EQ(*heights.rbegin(), floor_times_decimal(k.h, k.hi)) << what;
    EXPECT_EQ(*widths.begin(), floor_times_decimal(k.w, k.lo)) << what;
    EXPECT_EQ(*widths.rbegin(), floor_times_decimal(k.w, k.hi)) << what;
  }
}

TEST_F(CutMix, BadPoliciesAreRefusedAndChangeNothing) {
  const Shape sh{8, 3, 6, 6};
  CallSpec good{config_for_tests(64), cutmix_only(0.7f), sh};
  const Drawn want = run_call(good);
  struct Bad {
    const char* field;
    void (*spoil)(mixup_mixing_t&);
  };
  const Bad bad[] = {
      {"cutmix_alpha", [](mixup_mixing_t& m) { m.cutmix_alpha = 0.0f; }},
      {"cutmix_alpha", [](mixup_mixing_t& m) { m.cutmix_alpha = -1.0f; }},
      {"cutmix_alpha", [](mixup_mixing_t& m) { m.cutmix_alpha = NAN; }},
      {"cutmix_minmax", [](mixup_mixing_t& m) { m.cutmix_minmax[0] = 0.0f, m.cutmix_minmax[1] = 0.5f; }},
      {"cutmix_minmax", [](mixup_mixing_t& m) { m.cutmix_minmax[0] = 0.5f, m.cutmix_minmax[1] = 1.5f; }},
      {"cutmix_minmax", [](mixup_mixing_t& m) { m.cutmix_minmax[0] = 0.6f, m.cutmix_minmax[1] = 0.5f; }},
      {"cutmix_minmax", [](mixup_mixing_t& m) { m.cutmix_minmax[0] = -0.2f, m.cutmix_minmax[1] = 0.5f; }},
      {"prob", [](mixup_mixing_t& m) { m.prob = -0.1f; }},
      {"prob", [](mixup_mixing_t& m) { m.prob = 1.5f; }},
      {"prob", [](mixup_mixing_t& m) { m.prob = NAN; }},
      {"switch_prob", [](mixup_mixing_t& m) { m.switch_prob = 2.0f; }},
      {"switch_prob", [](mixup_mixing_t& m) { m.switch_prob = -1.0f; }},
  };
  for (const Bad& b : bad) {
    Handle h(good.config);
    ASSERT_EQ(mixup_set_mixing(h, &good.mixing), MIXUP_STATUS_SUCCESS);
    mixup_mixing_t m = good.mixing;
    b.spoil(m);
    EXPECT_EQ(mixup_set_mixing(h, &m), MIXUP_STATUS_INVALID_VALUE) << b.field;
    EXPECT_NE(std::string(mixup_last_error()).find(b.field), std::string::npos) << mixup_last_error();
    // the handle still mixes as before the refused call
    const std::vector<std::uint8_t> raw = raw_input(MIXUP_DTYPE_F32, 8 * 108);
    Buf<std::uint8_t> x(raw.size()), out(raw.size());
    x.host = raw;
    x.upload();
    Buf<std::int32_t> kind(8), box(32);
    mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, 8, 3, 6, 6, MIXUP_LAYOUT_NCHW};
    mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, 8, 3, 6, 6, MIXUP_LAYOUT_NCHW};
    mixup_draws_t dr{kind.ptr(), box.ptr()};
    ASSERT_EQ(mixup_apply_with_draws(h, &bx, &bo, nullptr, &dr, nullptr), MIXUP_STATUS_SUCCESS)
        << mixup_last_error();
    EXPECT_EQ(kind.download(), want.kind) << "after refusing " << b.field;
    out.download();
    for (std::size_t e = 0; e < want.out.size(); ++e)
      ASSERT_EQ(decode(out.host.data(), MIXUP_DTYPE_F32, e), want.out[e]) << "after refusing " << b.field;
  }
  Handle h(good.config);
  EXPECT_EQ(mixup_set_mixing(h, nullptr), MIXUP_STATUS_INVALID_VALUE);
  EXPECT_EQ(mixup_set_mixing(nullptr, &good.mixing), MIXUP_STATUS_INVALID_VALUE);
  mixup_config_t stacked = good.config;
  stacked.stack_x = 1;
  Handle hs(stacked);
  EXPECT_EQ(mixup_set_mixing(hs, &good.mixing), MIXUP_STATUS_INVALID_VALUE);
  EXPECT_NE(std::string(mixup_last_error()).find("stack_x"), std::string::npos) << mixup_last_error();
}

}  // namespace
