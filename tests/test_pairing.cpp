// Partners: bijections at every batch size, uniform over all orders (chi-square), including
// when ties between keys are forced; involutions really are involutions; flip is exact.
#include <algorithm>
#include <map>
#include <numeric>

#include "support.hpp"

namespace {

using namespace mixup::test;

// Draws partners (and λ) for a batch of one-element samples; returns perm.
std::vector<std::int32_t> draw_perm(mixup_handle_t h, std::int32_t batch,
                                    std::vector<float>* lam_out = nullptr) {
  Buf<float> x(batch, 1.0f), out(batch, -1.0f), lam(batch, -1.0f);
  Buf<std::int32_t> perm(batch, -1);
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, batch, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, batch, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.mode = MIXUP_TARGETS_NONE;
  t.perm = perm.ptr();
  t.lam = lam.ptr();
  const mixup_status_t s = mixup_apply(h, &bx, &bo, &t, nullptr);
  EXPECT_EQ(s, MIXUP_STATUS_SUCCESS) << mixup_last_error();
  if (lam_out) *lam_out = lam.download();
  return perm.download();
}

bool is_bijection(const std::vector<std::int32_t>& p) {
  std::vector<int> seen(p.size(), 0);
  for (std::int32_t v : p) {
    if (v < 0 || v >= static_cast<std::int32_t>(p.size()) || seen[v]++) return false;
  }
  return true;
}

class Pairing : public BackendTest {};

TEST_F(Pairing, PermutationIsABijectionForEveryBatchUpTo4097) {
  mixup_config_t c = config_for_tests(4097);
  Handle h(c);
  for (std::int32_t b = 1; b <= 4097; ++b) ASSERT_TRUE(is_bijection(draw_perm(h, b))) << "batch " << b;
}

TEST_F(Pairing, InvolutionIsAMatching) {
  mixup_config_t c = config_for_tests(4097);
  c.pairing = MIXUP_PAIRING_INVOLUTION;
  Handle h(c);
  for (const std::int32_t b : {1, 2, 3, 7, 64, 65, 4096, 4097}) {
    const std::vector<std::int32_t> p = draw_perm(h, b);
    ASSERT_TRUE(is_bijection(p)) << "batch " << b;
    int fixed = 0;
    for (std::int32_t i = 0; i < b; ++i) {
      ASSERT_EQ(p[p[i]], i) << "batch " << b << " sample " << i;
      fixed += p[i] == i;
    }
    EXPECT_EQ(fixed, b % 2) << "an odd batch leaves exactly one sample with itself; batch " << b;
  }
}

TEST_F(Pairing, FlipIsExact) {
  mixup_config_t c = config_for_tests(101);
  c.pairing = MIXUP_PAIRING_FLIP;
  Handle h(c);
  for (const std::int32_t b : {1, 2, 7, 101}) {
    const std::vector<std::int32_t> p = draw_perm(h, b);
    for (std::int32_t i = 0; i < b; ++i) ASSERT_EQ(p[i], b - 1 - i);
  }
}

// Pearson chi-square of counts against equal expected counts.
double chi_square(const std::map<std::vector<std::int32_t>, int>& counts, int categories, int draws) {
  const double expected = static_cast<double>(draws) / categories;
  double chi = 0.0;
  int seen = 0;
  for (const auto& kv : counts) {
    chi += (kv.second - expected) * (kv.second - expected) / expected;
    ++seen;
  }
  chi += (categories - seen) * expected;  // categories never drawn
  return chi;
}

// All 24 orders of 4 samples equally likely. With key_bits = 2 almost every draw has tied
// keys, so this also shows that ties do not bias the order. Critical value: chi-square with
// 23 degrees of freedom at p = 0.001 is 49.73.
void check_uniform_over_24(int key_bits) {
  mixup_config_t c = config_for_tests(4);
  c.seed = 2024 + key_bits;
  Handle h(c);
  mixup::detail::test_hooks(h).key_bits = key_bits;
  const int draws = 24000;
  std::map<std::vector<std::int32_t>, int> counts;
  for (int s = 0; s < draws; ++s) ++counts[draw_perm(h, 4)];
  EXPECT_EQ(counts.size(), 24u) << "key_bits " << key_bits;
  EXPECT_LT(chi_square(counts, 24, draws), 49.73) << "key_bits " << key_bits;
}

TEST_F(Pairing, UniformOverAll24Orders) { check_uniform_over_24(64); }
TEST_F(Pairing, UniformOverAll24OrdersWithForcedTies) { check_uniform_over_24(2); }

// The sort-then-break-ties-by-index approach fails this: with 1-bit keys the identity is
// far likelier than its reverse. Here both must be near 1/24.
TEST_F(Pairing, OneBitKeysStillUniform) { check_uniform_over_24(1); }

// The 3 perfect matchings of 4 samples equally likely: chi-square, 2 dof, p = 0.001 → 13.82.
TEST_F(Pairing, InvolutionUniformOverMatchings) {
  mixup_config_t c = config_for_tests(4);
  c.pairing = MIXUP_PAIRING_INVOLUTION;
  Handle h(c);
  const int draws = 9000;
  std::map<std::vector<std::int32_t>, int> counts;
  for (int s = 0; s < draws; ++s) ++counts[draw_perm(h, 4)];
  EXPECT_EQ(counts.size(), 3u);
  EXPECT_LT(chi_square(counts, 3, draws), 13.82);
}

// Per-pair λ: a sample and its partner share λ (involution makes the pairs mutual).
TEST_F(Pairing, PerPairLambdaIsSharedWithinAPair) {
  mixup_config_t c = config_for_tests(64);
  c.pairing = MIXUP_PAIRING_INVOLUTION;
  c.lambda_mode = MIXUP_LAMBDA_PER_PAIR;
  Handle h(c);
  std::vector<float> lam;
  const std::vector<std::int32_t> p = draw_perm(h, 64, &lam);
  int distinct = 0;
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(lam[i], lam[p[i]]) << "sample " << i;
    distinct += lam[i] != lam[0];
  }
  EXPECT_GT(distinct, 0) << "pairs should not all share one λ";
}

TEST_F(Pairing, PerBatchLambdaIsOneValue) {
  mixup_config_t c = config_for_tests(64);
  c.lambda_mode = MIXUP_LAMBDA_PER_BATCH;
  Handle h(c);
  std::vector<float> lam;
  draw_perm(h, 64, &lam);
  for (int i = 1; i < 64; ++i) ASSERT_EQ(lam[i], lam[0]);
  std::vector<float> next;
  draw_perm(h, 64, &next);
  EXPECT_NE(next[0], lam[0]) << "the next step draws a new λ";
}

TEST_F(Pairing, PerSampleLambdaVaries) {
  Handle h(config_for_tests(64));
  std::vector<float> lam;
  draw_perm(h, 64, &lam);
  std::sort(lam.begin(), lam.end());
  EXPECT_GT(std::unique(lam.begin(), lam.end()) - lam.begin(), 32);
  for (float l : lam) {
    ASSERT_GE(l, 0.5f);
    ASSERT_LE(l, 1.0f);
  }
}

}  // namespace
