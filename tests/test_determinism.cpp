// Same (seed, salt, step) → the same bits; another step, seed or salt → other draws; the
// thread count never matters.
#include "support.hpp"

namespace {

using namespace mixup::test;

struct Draw {
  std::vector<float> out, lam;
  std::vector<std::int32_t> perm;
  bool operator==(const Draw& o) const { return out == o.out && lam == o.lam && perm == o.perm; }
};

Draw run(const mixup_config_t& c, std::uint64_t step, int batch = 65, int per_sample = 37) {
  Handle h(c);
  EXPECT_EQ(mixup_set_step(h, step), MIXUP_STATUS_SUCCESS);
  Buf<float> x(static_cast<std::size_t>(batch) * per_sample), out(x.size(), -7.0f), lam(batch);
  Buf<std::int32_t> perm(batch);
  for (std::size_t i = 0; i < x.size(); ++i)
    x.host[i] = static_cast<float>((i * 2654435761u) % 1000) / 999.0f;
  x.upload();
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, batch, 1, 1, per_sample, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, batch, 1, 1, per_sample, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.lam = lam.ptr();
  t.perm = perm.ptr();
  EXPECT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  return Draw{out.download(), lam.download(), perm.download()};
}

class Determinism : public BackendTest {};

TEST_F(Determinism, SameSeedAndStepGiveSameBits) {
  const mixup_config_t c = config_for_tests(128);
  EXPECT_TRUE(run(c, 5) == run(c, 5));
}

TEST_F(Determinism, NextStepDrawsAgain) {
  const mixup_config_t c = config_for_tests(128);
  const Draw a = run(c, 5), b = run(c, 6);
  EXPECT_NE(a.lam, b.lam);
  EXPECT_NE(a.perm, b.perm);
}

TEST_F(Determinism, SeedAndRankSaltChangeTheDraws) {
  mixup_config_t c = config_for_tests(128);
  const Draw base = run(c, 0);
  c.rank_salt = 1;
  const Draw salted = run(c, 0);
  EXPECT_NE(base.lam, salted.lam);
  EXPECT_NE(base.perm, salted.perm);
  c.rank_salt = 0;
  c.seed += 1;
  const Draw reseeded = run(c, 0);
  EXPECT_NE(base.lam, reseeded.lam);
}

TEST_F(Determinism, ApplyAdvancesTheStepAndSetStepReplays) {
  const mixup_config_t c = config_for_tests(128);
  Handle h(c);
  std::uint64_t step = 99;
  ASSERT_EQ(mixup_get_step(h, &step), MIXUP_STATUS_SUCCESS);
  EXPECT_EQ(step, 0u);
  Buf<float> x(16, 1.0f), out(16), lam(16);
  mixup_batch_t bx{x.ptr(), MIXUP_DTYPE_F32, 16, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.ptr(), MIXUP_DTYPE_F32, 16, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.lam = lam.ptr();
  ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS);
  const std::vector<float> first = lam.download();
  ASSERT_EQ(mixup_get_step(h, &step), MIXUP_STATUS_SUCCESS);
  EXPECT_EQ(step, 1u);
  ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS);
  EXPECT_NE(lam.download(), first);
  ASSERT_EQ(mixup_set_step(h, 0), MIXUP_STATUS_SUCCESS);
  ASSERT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS);
  EXPECT_EQ(lam.download(), first);
}

TEST_F(Determinism, ThreadCountDoesNotMatter) {
  if (kBackend != MIXUP_BACKEND_CPU) GTEST_SKIP() << "thread count is a CPU-backend setting";
  mixup_config_t c = config_for_tests(4096);
  c.cpu_threads = 1;
  const Draw one = run(c, 3, 4096, 300);
  c.cpu_threads = 2;
  const Draw two = run(c, 3, 4096, 300);
  c.cpu_threads = 7;
  const Draw seven = run(c, 3, 4096, 300);
  EXPECT_TRUE(one == two);
  EXPECT_TRUE(one == seven);
}

// λ of sample i does not depend on the batch it is drawn in: streams are addressed by
// (seed, salt, step, i), never by position in a grid.
TEST_F(Determinism, LambdaDoesNotDependOnBatchSize) {
  const mixup_config_t c = config_for_tests(128);
  const Draw small = run(c, 4, 8), large = run(c, 4, 128);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(small.lam[i], large.lam[i]) << "sample " << i;
}

}  // namespace
