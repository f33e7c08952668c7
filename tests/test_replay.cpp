// mixup_apply_replay: what a drawn call reported (λ, partners, kinds, boxes) is a complete
// description of it. Replayed, it gives the same bits — output, targets, λ and partners —
// for every mixing policy, λ mode, pairing, fold, dtype pair and layout, in place too; every
// mixup output is fl(fl(λ·a) + fl(fl(1 − λ)·b)) of the reported λ, checked by plain float
// arithmetic here; the partners need not be a permutation; bad input is refused by name and
// leaves every output untouched.
#include "replay_support.hpp"

#include <algorithm>
#include <functional>
#include <string>

namespace {

using namespace mixup::test;

class Replay : public BackendTest {};

struct Mixing {
  const char* name;
  mixup_mixing_t m;
};

std::vector<Mixing> mixings() {
  std::vector<Mixing> r;
  mixup_mixing_t m = mixup_mixing_default();
  r.push_back({"mixup", m});
  m.prob = 0.5f;
  r.push_back({"mixup prob 0.5", m});
  m = mixup_mixing_default();
  m.switch_prob = 1.0f;
  r.push_back({"cutmix", m});
  m.correct_lam = 0;
  r.push_back({"cutmix uncorrected", m});
  m = mixup_mixing_default();
  m.prob = 0.8f;
  m.switch_prob = 0.5f;
  r.push_back({"switch 0.5 prob 0.8", m});
  m.cutmix_minmax[0] = 0.3f;
  m.cutmix_minmax[1] = 0.7f;
  r.push_back({"switch minmax", m});
  return r;
}

struct DTypes {
  mixup_dtype_t in, out;
};
constexpr DTypes kDTypes[] = {{MIXUP_DTYPE_F32, MIXUP_DTYPE_F32},   {MIXUP_DTYPE_F16, MIXUP_DTYPE_F16},
                              {MIXUP_DTYPE_BF16, MIXUP_DTYPE_BF16}, {MIXUP_DTYPE_U8, MIXUP_DTYPE_F32},
                              {MIXUP_DTYPE_U8, MIXUP_DTYPE_F16},    {MIXUP_DTYPE_U8, MIXUP_DTYPE_BF16}};

std::string describe(const ReplaySpec& s, const char* mixing) {
  return std::string(mixing) + ", lambda mode " + std::to_string(s.config.lambda_mode) + ", pairing " +
         std::to_string(s.config.pairing) + ", fold " + std::to_string(s.config.fold) + ", dtype " +
         std::to_string(s.in) + "->" + std::to_string(s.out) + ", layout " + std::to_string(s.shape.layout) +
         (s.in_place ? ", in place" : "") + ", batch " + std::to_string(s.shape.n);
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Replays one drawn call and insists on equal bits everywhere; false on the first mismatch.
bool expect_replay_equal(const ReplaySpec& s, const char* mixing) {
  const auto [drawn, again] = draw_and_replay(s);
  const std::string what = describe(s, mixing);
  const BitDiff d = bit_diff(drawn.out, again.out, s.out, s.shape.per());
  EXPECT_EQ(d.elements, 0u) << what << ": " << d.elements << " output elements differ, in " << d.rows
                            << " rows";
  EXPECT_TRUE(same_bits(drawn.lam, again.lam)) << what << ": λ";
  EXPECT_EQ(drawn.perm, again.perm) << what;
  EXPECT_EQ(drawn.y_a, again.y_a) << what;
  EXPECT_EQ(drawn.y_b, again.y_b) << what;
  EXPECT_TRUE(same_bits(drawn.soft, again.soft)) << what << ": soft targets";
  EXPECT_EQ(again.step_after, s.step + 1) << what << ": the replay advanced the step";
  return d.elements == 0 && same_bits(drawn.lam, again.lam) && drawn.perm == again.perm &&
         same_bits(drawn.soft, again.soft) && drawn.y_b == again.y_b;
}

ReplaySpec base_spec(std::int64_t n) {
  ReplaySpec s;
  s.config = config_for_tests(64);
  s.config.cpu_threads = 2;
  s.mixing = mixup_mixing_default();
  s.shape = Shape{n, 3, 5, 6};
  s.step = 11;
  return s;
}

TEST_F(Replay, GivesTheDrawnBitsOutOfPlace) {
  int cases = 0;
  for (const Mixing& mx : mixings())
    for (const auto mode : {MIXUP_LAMBDA_PER_SAMPLE, MIXUP_LAMBDA_PER_BATCH, MIXUP_LAMBDA_PER_PAIR})
      for (const auto pairing : {MIXUP_PAIRING_PERMUTATION, MIXUP_PAIRING_INVOLUTION, MIXUP_PAIRING_FLIP})
        for (const int fold : {1, 0})
          for (const DTypes& t : kDTypes)
            for (const auto layout : {MIXUP_LAYOUT_NCHW, MIXUP_LAYOUT_NHWC}) {
              ReplaySpec s = base_spec(7);
              s.mixing = mx.m;
              s.config.lambda_mode = mode;
              s.config.pairing = pairing;
              s.config.fold = fold;
              s.in = t.in;
              s.out = t.out;
              s.shape.layout = layout;
              s.targets = cases % 2 == 0 ? MIXUP_TARGETS_STACKED : MIXUP_TARGETS_ONEHOT;
              s.norm_channels = t.in == MIXUP_DTYPE_U8 && cases % 3 == 0 ? 3 : 0;
              s.step += static_cast<std::uint64_t>(cases++);
              if (!expect_replay_equal(s, mx.name)) return;
            }
}

TEST_F(Replay, GivesTheDrawnBitsInPlace) {
  int cases = 0;
  for (const Mixing& mx : mixings())
    for (const auto mode : {MIXUP_LAMBDA_PER_SAMPLE, MIXUP_LAMBDA_PER_BATCH, MIXUP_LAMBDA_PER_PAIR})
      for (const int fold : {1, 0})
        for (const mixup_dtype_t t : {MIXUP_DTYPE_F32, MIXUP_DTYPE_F16, MIXUP_DTYPE_BF16})
          for (const auto layout : {MIXUP_LAYOUT_NCHW, MIXUP_LAYOUT_NHWC})
            for (const std::int64_t n : {7, 8}) {
              ReplaySpec s = base_spec(n);
              s.mixing = mx.m;
              s.config.lambda_mode = mode;
              s.config.pairing = MIXUP_PAIRING_INVOLUTION;
              s.config.fold = fold;
              s.in = s.out = t;
              s.shape.layout = layout;
              s.in_place = true;
              s.targets = cases % 2 == 0 ? MIXUP_TARGETS_STACKED : MIXUP_TARGETS_ONEHOT;
              s.step += static_cast<std::uint64_t>(cases++);
              if (!expect_replay_equal(s, mx.name)) return;
            }
}

// The issue's case: 3,564 of 12,288 elements differed, in 56 of 64 rows, before λ's partner
// weight was fl(1 − λ) on every path.
TEST_F(Replay, IssueCase64x3x8x8F32HasNoDifferingElement) {
  ReplaySpec s = base_spec(64);
  s.shape = Shape{64, 3, 8, 8};
  s.step = 0;
  const auto [drawn, again] = draw_and_replay(s);
  const BitDiff d = bit_diff(drawn.out, again.out, s.out, s.shape.per());
  EXPECT_EQ(d.elements, 0u) << d.elements << " of 12288 elements differ, in " << d.rows << " of 64 rows";
}

// Round to nearest even at `bits` significant bits, spacing never below 2^min_exp (the
// format's subnormals): f16 is (11, −24), bf16 (8, −133). Values here are far from overflow.
double round_to_format(double v, int bits, int min_exp) {
  if (v == 0.0) return v;
  int e = 0;
  std::frexp(v, &e);
  const int q = std::max(e - bits, min_exp);
  return std::ldexp(std::nearbyint(std::ldexp(v, -q)), q);
}

double stored(float v, mixup_dtype_t t) {
  if (t == MIXUP_DTYPE_F16) return round_to_format(v, 11, -24);
  if (t == MIXUP_DTYPE_BF16) return round_to_format(v, 8, -133);
  return v;
}

// Every mixup output is fl(fl(λ·a) + fl(fl(1 − λ)·b)) with the λ the call reported (then
// /255 as a float product for uint8, and rounded once to the output format): plain float
// operations here, this file built with contraction off.
TEST_F(Replay, EveryMixupOutputIsTheFloatBlendOfTheReportedLambda) {
  int mixup_rows = 0, cases = 0;
  for (const Mixing& mx : mixings())
    for (const auto mode : {MIXUP_LAMBDA_PER_SAMPLE, MIXUP_LAMBDA_PER_PAIR})
      for (const DTypes& t : kDTypes)
        for (const auto layout : {MIXUP_LAYOUT_NCHW, MIXUP_LAYOUT_NHWC})
          for (const bool in_place : {false, true}) {
            if (in_place && t.in != t.out) continue;
            ReplaySpec s = base_spec(8);
            s.mixing = mx.m;
            s.config.lambda_mode = mode;
            s.config.pairing = in_place ? MIXUP_PAIRING_INVOLUTION : MIXUP_PAIRING_PERMUTATION;
            s.in = t.in;
            s.out = t.out;
            s.shape.layout = layout;
            s.in_place = in_place;
            s.step += static_cast<std::uint64_t>(cases++);
            const Written w = draw_and_replay(s).first;
            const std::vector<std::uint8_t> x = raw_input(s.in, static_cast<std::size_t>(s.shape.n *
                                                                                         s.shape.per()));
            std::int64_t bad = 0;
            for (std::int64_t i = 0; i < s.shape.n; ++i) {
              if (w.kind[i] != MIXUP_KIND_MIXUP) continue;
              ++mixup_rows;
              const float lam = w.lam[i], om = 1.0f - lam;
              for (std::int64_t e = 0; e < s.shape.per(); ++e) {
                const float a = static_cast<float>(decode(x.data(), s.in, i * s.shape.per() + e));
                const float b = static_cast<float>(decode(x.data(), s.in, w.perm[i] * s.shape.per() + e));
                const float la = lam * a, ob = om * b;
                float v = la + ob;
                if (s.in == MIXUP_DTYPE_U8) v = v * (1.0f / 255.0f) + 0.0f;
                const double got = decode(w.out.data(), s.out, i * s.shape.per() + e);
                if (got != stored(v, s.out) && bad++ == 0)
                  ADD_FAILURE() << describe(s, mx.name) << ": row " << i << " element " << e << ": got "
                                << got << ", want " << stored(v, s.out) << " (λ = " << lam << ")";
              }
            }
            if (bad != 0) return;
          }
  EXPECT_GT(mixup_rows, 500) << "too few mixup rows to check";
}

// Hand-written replays: a reference per row, from the given arrays alone.
struct Given {
  Buf<float> lam;
  Buf<std::int32_t> perm, kind, box;
  explicit Given(std::int64_t n) : lam(n, 1.0f), perm(n, 0), kind(n, MIXUP_KIND_MIXUP), box(4 * n, 0) {}
  void upload() {
    lam.upload();
    perm.upload();
    kind.upload();
    box.upload();
  }
  mixup_replay_t c(bool with_kind = true, bool with_box = true) {
    return mixup_replay_t{lam.ptr(), perm.ptr(), with_kind ? kind.ptr() : nullptr,
                          with_box ? box.ptr() : nullptr};
  }
};

// f32, NCHW: what row i of a replay must be.
float want_f32(const std::vector<float>& x, Given& g, std::int64_t i, std::int64_t e, const Shape& sh) {
  const std::int64_t j = g.perm.host[i];
  const float a = x[i * sh.per() + e], b = x[j * sh.per() + e];
  if (g.kind.host[i] == MIXUP_KIND_MIXUP) {
    const float lam = g.lam.host[i], om = 1.0f - lam;
    return lam * a + om * b;
  }
  if (g.kind.host[i] == MIXUP_KIND_CUTMIX) {
    const std::int64_t y = (e % (sh.h * sh.w)) / sh.w, xc = e % sh.w;
    const std::int32_t* b4 = &g.box.host[4 * i];
    if (y >= b4[0] && y < b4[2] && xc >= b4[1] && xc < b4[3]) return b;
  }
  return a;
}

std::vector<float> f32_input(const Shape& sh) {
  std::vector<float> x(static_cast<std::size_t>(sh.n * sh.per()));
  for (std::size_t e = 0; e < x.size(); ++e)
    x[e] = static_cast<float>((e * 2654435761u) % 977) / 97.0f - 5.0f;
  return x;
}

// Partners that are not a permutation (every row mixes with row 0, an unmixed row 1, a CutMix
// row 2 with a box touching the bottom-right corner), out of place and, since row 0 is left
// whole, in place on an involution handle.
TEST_F(Replay, PartnersNeedNotBeAPermutation) {
  const Shape sh{5, 2, 4, 5};
  for (const bool in_place : {false, true}) {
    mixup_config_t c = config_for_tests(8);
    c.pairing = MIXUP_PAIRING_INVOLUTION;
    Handle h(c);
    Given g(sh.n);
    g.kind.host = {MIXUP_KIND_NONE, MIXUP_KIND_NONE, MIXUP_KIND_CUTMIX, MIXUP_KIND_MIXUP, MIXUP_KIND_MIXUP};
    g.perm.host = {0, 1, 0, 0, 0};
    g.lam.host = {1.0f, 1.0f, 0.7f, 0.3f, 0.6f};
    const std::int32_t box[4] = {1, 2, 4, 5};
    std::copy(box, box + 4, &g.box.host[8]);
    g.upload();
    const std::vector<float> xs = f32_input(sh);
    Buf<float> x(xs.size()), out(xs.size(), NAN);
    x.host = xs;
    x.upload();
    mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, sh.n, sh.c, sh.h, sh.w, MIXUP_LAYOUT_NCHW};
    mixup_batch_t bo = bx;
    if (!in_place) bo.data = out.ptr();
    const mixup_replay_t given = g.c();
    ASSERT_EQ(mixup_apply_replay(h, &bx, &given, &bo, nullptr, nullptr), MIXUP_STATUS_SUCCESS)
        << mixup_last_error();
    const std::vector<float>& got = in_place ? x.download() : out.download();
    for (std::int64_t i = 0; i < sh.n; ++i)
      for (std::int64_t e = 0; e < sh.per(); ++e)
        ASSERT_EQ(got[i * sh.per() + e], want_f32(xs, g, i, e, sh))
            << (in_place ? "in place" : "out of place") << ", row " << i << " element " << e;
  }
}

// One bad replay: refused with INVALID_VALUE, a message naming the problem, nothing written.
void expect_refused(const char* what, const std::function<void(Given&)>& spoil, const char* message,
                    bool in_place = false, bool with_box = true) {
  SCOPED_TRACE(what);
  const Shape sh{4, 1, 3, 3};
  mixup_config_t c = config_for_tests(8);
  c.pairing = MIXUP_PAIRING_INVOLUTION;
  Handle h(c);
  Given g(sh.n);
  g.kind.host = {MIXUP_KIND_MIXUP, MIXUP_KIND_MIXUP, MIXUP_KIND_CUTMIX, MIXUP_KIND_CUTMIX};
  g.perm.host = {1, 0, 3, 2};
  g.lam.host = {0.25f, 0.25f, 0.5f, 0.5f};
  for (int i = 2; i < 4; ++i) {
    const std::int32_t b[4] = {0, 1, 3, 3};
    std::copy(b, b + 4, &g.box.host[4 * i]);
  }
  spoil(g);
  g.upload();
  const std::vector<float> xs = f32_input(sh);
  Buf<float> x(xs.size()), out(xs.size(), -7.0f), lam(sh.n, -1.0f);
  Buf<std::int32_t> perm(sh.n, -1), labels(sh.n, 1), y_b(sh.n, -1);
  x.host = xs;
  x.upload();
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, sh.n, sh.c, sh.h, sh.w, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo = bx;
  if (!in_place) bo.data = out.ptr();
  mixup_targets_t t{};
  t.mode = MIXUP_TARGETS_STACKED;
  t.labels = labels.ptr();
  t.y_b = y_b.ptr();
  t.lam = lam.ptr();
  t.perm = perm.ptr();
  const mixup_replay_t given = g.c(true, with_box);
  EXPECT_EQ(mixup_apply_replay(h, &bx, &given, &bo, &t, nullptr), MIXUP_STATUS_INVALID_VALUE);
  EXPECT_NE(std::string(mixup_last_error()).find(message), std::string::npos)
      << "message: " << mixup_last_error() << "\nwanted: " << message;
  EXPECT_EQ(x.download(), xs) << "x was written";
  EXPECT_EQ(out.download(), std::vector<float>(xs.size(), -7.0f)) << "out was written";
  EXPECT_EQ(lam.download(), std::vector<float>(sh.n, -1.0f));
  EXPECT_EQ(perm.download(), std::vector<std::int32_t>(sh.n, -1));
  EXPECT_EQ(y_b.download(), std::vector<std::int32_t>(sh.n, -1));
}

TEST_F(Replay, BadInputIsRefusedByNameAndWritesNothing) {
  expect_refused(
      "kind 3", [](Given& g) { g.kind.host[2] = 3; }, "kind[2] = 3 is not a mixup_kind_t");
  expect_refused(
      "kind -1", [](Given& g) { g.kind.host[1] = -1; }, "kind[1] = -1 is not a mixup_kind_t");
  expect_refused(
      "unmixed with a partner", [](Given& g) { g.kind.host[1] = MIXUP_KIND_NONE, g.lam.host[1] = 1.0f; },
      "kind[1] = MIXUP_KIND_NONE needs perm[1] = 1 and lam[1] = 1, not 0 and 1");
  expect_refused(
      "unmixed with λ < 1", [](Given& g) { g.kind.host[1] = MIXUP_KIND_NONE, g.perm.host[1] = 1; },
      "kind[1] = MIXUP_KIND_NONE needs perm[1] = 1 and lam[1] = 1, not 1 and 0.25");
  expect_refused(
      "λ above 1", [](Given& g) { g.lam.host[3] = 1.0000001f; }, "lam[3] = 1.0000001 is outside [0, 1]");
  expect_refused(
      "λ NaN", [](Given& g) { g.lam.host[0] = NAN; }, "lam[0] = nan is outside [0, 1]");
  expect_refused(
      "partner out of range", [](Given& g) { g.perm.host[2] = 4; }, "perm[2] = 4 is outside [0, batch = 4)");
  expect_refused(
      "box below the image", [](Given& g) { g.box.host[4 * 3 + 2] = 4; },
      "box[3].y1 = 4: a CutMix box needs 0 <= y0 <= y1 <= x.h and 0 <= x0 <= x1 <= x.w");
  expect_refused(
      "box inverted", [](Given& g) { g.box.host[4 * 2 + 1] = 3, g.box.host[4 * 2 + 3] = 2; },
      "box[2].x1 = 2");
  expect_refused(
      "box negative", [](Given& g) { g.box.host[4 * 2 + 0] = -1; }, "box[2].y0 = -1");
  expect_refused(
      "CutMix without boxes", [](Given&) {},
      "kind[2] = MIXUP_KIND_CUTMIX needs a box, but given->box is NULL", false, false);
  // a mixup row's box is never read: nonsense there is fine, so the first failure is row 3's
  expect_refused(
      "first failure named", [](Given& g) { g.box.host[2] = 99, g.kind.host[3] = 9; },
      "kind[3] = 9 is not a mixup_kind_t");
  // in place: 0 mixes with 1, whose partner is 2 and which is mixed
  expect_refused(
      "in place, not paired",
      [](Given& g) {
        g.perm.host = {1, 2, 3, 2};
      },
      "in place, sample 0 mixes with 1, whose partner is 2, not 0, and which is mixed", true);
}

TEST_F(Replay, BadArgumentsAreRefused) {
  const Shape sh{4, 1, 3, 3};
  mixup_config_t c = config_for_tests(8);
  Handle h(c);
  Given g(sh.n);
  Buf<float> x(sh.n * sh.per(), 1.0f), out(sh.n * sh.per(), -7.0f);
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, sh.n, sh.c, sh.h, sh.w, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo = bx;
  bo.data = out.ptr();
  EXPECT_EQ(mixup_apply_replay(h, &bx, nullptr, &bo, nullptr, nullptr), MIXUP_STATUS_INVALID_VALUE);
  EXPECT_STREQ(mixup_last_error(), "given is NULL");
  mixup_replay_t given = g.c();
  given.lam = nullptr;
  EXPECT_EQ(mixup_apply_replay(h, &bx, &given, &bo, nullptr, nullptr), MIXUP_STATUS_INVALID_VALUE);
  EXPECT_STREQ(mixup_last_error(), "given->lam is NULL");
  given = g.c();
  given.perm = nullptr;
  EXPECT_EQ(mixup_apply_replay(h, &bx, &given, &bo, nullptr, nullptr), MIXUP_STATUS_INVALID_VALUE);
  EXPECT_STREQ(mixup_last_error(), "given->perm is NULL");
  given = g.c();  // in place needs an involution handle
  EXPECT_EQ(mixup_apply_replay(h, &bx, &given, &bx, nullptr, nullptr), MIXUP_STATUS_INVALID_VALUE);
  EXPECT_NE(std::string(mixup_last_error()).find("MIXUP_PAIRING_INVOLUTION"), std::string::npos);
  EXPECT_EQ(out.download(), std::vector<float>(out.size(), -7.0f));
}

}  // namespace
