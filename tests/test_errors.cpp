// Bad input: every case returns its status with a message naming the problem, and no output
// (batch, targets, step) is touched.
#include <dlfcn.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include "mixup/loss.h"

#include "support.hpp"

namespace {

using namespace mixup::test;

::testing::AssertionResult fails_with(mixup_status_t got, mixup_status_t want, const std::string& words) {
  const std::string msg = mixup_last_error();
  if (got != want)
    return ::testing::AssertionFailure() << "status " << mixup_status_string(got) << ", want "
                                         << mixup_status_string(want) << " (message: " << msg << ")";
  if (msg.find(words) == std::string::npos)
    return ::testing::AssertionFailure() << "message \"" << msg << "\" does not mention \"" << words << "\"";
  return ::testing::AssertionSuccess();
}

class CreateErrors : public BackendTest {};

TEST_F(CreateErrors, BadConfigIsRefusedWithItsName) {
  mixup_handle_t h = nullptr;
  const auto refuse = [&](mixup_config_t c, const char* words) {
    h = nullptr;
    EXPECT_TRUE(fails_with(mixup_create(&c, &h), MIXUP_STATUS_INVALID_VALUE, words));
    EXPECT_EQ(h, nullptr);
  };
  const mixup_config_t ok = config_for_tests();
  for (const float a : {0.0f, -1.0f, NAN, INFINITY}) {
    mixup_config_t c = ok;
    c.alpha = a;
    refuse(c, "alpha");
  }
  for (const float e : {-0.1f, 1.0f, NAN}) {
    mixup_config_t c = ok;
    c.label_smoothing = e;
    refuse(c, "label_smoothing");
  }
  mixup_config_t c = ok;
  c.max_batch = 0;
  refuse(c, "max_batch");
  c = ok;
  c.rank_salt = 1u << 30;
  refuse(c, "rank_salt");
  c = ok;
  c.pairing = static_cast<mixup_pairing_t>(7);
  refuse(c, "pairing");
  c = ok;
  c.lambda_mode = static_cast<mixup_lambda_mode_t>(-1);
  refuse(c, "lambda_mode");
  c = ok;
  c.num_classes = -3;
  refuse(c, "num_classes");
  c = ok;
  c.backend = MIXUP_BACKEND_CPU;
  c.graph_mode = 1;
  refuse(c, "graph_mode");
  // Any int can arrive in a C enum field; the AUTO resolution must read it as an int too (the
  // fuzzer found a load of INT_MIN through the enum type under UBSan).
  for (const int b : {-1, 3, INT_MIN}) {
    c = ok;
    std::memcpy(&c.backend, &b, sizeof b);
    refuse(c, "backend");
  }
  EXPECT_TRUE(fails_with(mixup_create(nullptr, &h), MIXUP_STATUS_INVALID_VALUE, "config"));
  EXPECT_TRUE(fails_with(mixup_create(&ok, nullptr), MIXUP_STATUS_INVALID_VALUE, "handle"));
}

// The CUDA backend on a machine without a usable GPU: NO_DEVICE, saying what is missing. With
// no driver at all there is simply no device: mixup_cuda_device_count succeeds with 0, and no
// message sends anyone after a driver update (the CUDA runtime's own words would).
TEST(NoDevice, CudaBackendReportsNoDeviceAndWhy) {
  const std::string why = cuda_unavailable_reason();
  if (why.empty()) GTEST_SKIP() << "a CUDA device is present: the no-device path cannot be shown here";
  void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (driver) dlclose(driver);
  mixup_config_t c = mixup_config_default();
  c.backend = MIXUP_BACKEND_CUDA;
  mixup_handle_t h = nullptr;
  int count = -1;
#if defined(MIXUP_TEST_NO_CUDA)  // a build without CUDA says so, driver or not
  EXPECT_TRUE(
      fails_with(mixup_create(&c, &h), MIXUP_STATUS_NO_DEVICE, "the CUDA backend is not in this build"));
  driver = nullptr;
#endif
  if (!driver) {
#if !defined(MIXUP_TEST_NO_CUDA)
    EXPECT_TRUE(fails_with(mixup_create(&c, &h), MIXUP_STATUS_NO_DEVICE, "no NVIDIA driver was found"));
#endif
    EXPECT_EQ(std::string(mixup_last_error()).find("insufficient"), std::string::npos) << mixup_last_error();
    EXPECT_EQ(mixup_cuda_device_count(&count), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  } else {  // a driver that finds no GPU, or an unusable one
    EXPECT_EQ(mixup_create(&c, &h), MIXUP_STATUS_NO_DEVICE);
    mixup_cuda_device_count(&count);
  }
  EXPECT_EQ(h, nullptr);
  EXPECT_EQ(count, 0);
  // messages name files within the project, never the build machine's paths
  EXPECT_EQ(std::string(mixup_last_error()).find(MIXUP_TEST_SOURCE_DIR), std::string::npos)
      << mixup_last_error();
}

// MIXUP_BACKEND_AUTO: the CUDA backend where a device is usable, else the CPU; the handle says
// which, and the CPU handle works.
TEST(Auto, PicksCudaWithADeviceElseCpuAndSaysWhich) {
  const bool gpu = cuda_unavailable_reason().empty();
  mixup_config_t c = mixup_config_default();
  c.backend = MIXUP_BACKEND_AUTO;
  c.max_batch = 4;
  mixup_handle_t h = nullptr;
  ASSERT_EQ(mixup_create(&c, &h), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  mixup_backend_t got = MIXUP_BACKEND_AUTO;
  ASSERT_EQ(mixup_get_backend(h, &got), MIXUP_STATUS_SUCCESS);
  EXPECT_EQ(got, gpu ? MIXUP_BACKEND_CUDA : MIXUP_BACKEND_CPU);
  if (!gpu) {
    float x[4] = {1, 2, 3, 4}, y[4] = {}, lam[4] = {};
    const mixup_batch_t in{x, MIXUP_DTYPE_F32, 4, 1, 1, 1, MIXUP_LAYOUT_NCHW};
    const mixup_batch_t out{y, MIXUP_DTYPE_F32, 4, 1, 1, 1, MIXUP_LAYOUT_NCHW};
    mixup_targets_t t = mixup_targets_default();
    t.lam = lam;
    EXPECT_EQ(mixup_apply(h, &in, &out, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    for (float l : lam) EXPECT_TRUE(l >= 0.5f && l <= 1.0f) << l;
  }
  mixup_destroy(h);
  EXPECT_TRUE(fails_with(mixup_get_backend(nullptr, &got), MIXUP_STATUS_INVALID_VALUE, "handle"));
  mixup_loss_config_t lc = mixup_loss_config_default();
  lc.backend = MIXUP_BACKEND_AUTO;
  mixup_loss_t loss = nullptr;
  EXPECT_EQ(mixup_loss_create(&lc, &loss), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  mixup_loss_destroy(loss);
}

TEST(Defaults, TargetsDefaultAsksForNothing) {
  const mixup_targets_t t = mixup_targets_default();
  EXPECT_EQ(t.mode, MIXUP_TARGETS_NONE);
  EXPECT_EQ(t.labels, nullptr);
  EXPECT_EQ(t.soft_in, nullptr);
  EXPECT_EQ(t.y_a, nullptr);
  EXPECT_EQ(t.y_b, nullptr);
  EXPECT_EQ(t.lam, nullptr);
  EXPECT_EQ(t.soft_out, nullptr);
  EXPECT_EQ(t.perm, nullptr);
}

// A well-formed call, with every output poisoned; each test breaks one thing.
class ApplyErrors : public BackendTest {
 protected:
  static constexpr std::int32_t B = 7, P = 12, C = 10;
  Buf<float> x{B * P, 0.5f}, out{B * P, -99.0f}, lam{B, -99.0f}, soft{B * C, -99.0f};
  Buf<std::int32_t> labels{B, 3}, y_a{B, -99}, y_b{B, -99}, perm{B, -99};
  mixup_batch_t bx{}, bo{};
  mixup_targets_t t{};
  std::unique_ptr<Handle> h;

  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    h = std::make_unique<Handle>(config_for_tests(16));
    bx = mixup_batch_t{x.ptr(), MIXUP_DTYPE_F32, B, 1, 3, 4, MIXUP_LAYOUT_NCHW};
    bo = mixup_batch_t{out.ptr(), MIXUP_DTYPE_F32, B, 1, 3, 4, MIXUP_LAYOUT_NCHW};
    t.mode = MIXUP_TARGETS_STACKED;
    t.labels = labels.ptr();
    t.y_a = y_a.ptr();
    t.y_b = y_b.ptr();
    t.lam = lam.ptr();
    t.perm = perm.ptr();
  }
  mixup_status_t apply() { return mixup_apply(*h, &bx, &bo, &t, nullptr); }

  void expect_untouched() {
    for (float v : out.download()) ASSERT_EQ(v, -99.0f);
    for (float v : lam.download()) ASSERT_EQ(v, -99.0f);
    for (float v : soft.download()) ASSERT_EQ(v, -99.0f);
    for (std::int32_t v : y_a.download()) ASSERT_EQ(v, -99);
    for (std::int32_t v : y_b.download()) ASSERT_EQ(v, -99);
    for (std::int32_t v : perm.download()) ASSERT_EQ(v, -99);
    for (float v : x.download()) ASSERT_EQ(v, 0.5f);
    std::uint64_t step = 1;
    ASSERT_EQ(mixup_get_step(*h, &step), MIXUP_STATUS_SUCCESS);
    EXPECT_EQ(step, 0u) << "a failed call must not consume a step";
  }
};

TEST_F(ApplyErrors, TheWellFormedCallSucceeds) {
  ASSERT_EQ(apply(), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  EXPECT_NE(out.download()[0], -99.0f);
}

TEST_F(ApplyErrors, NullPointers) {
  EXPECT_TRUE(fails_with(mixup_apply(nullptr, &bx, &bo, &t, nullptr), MIXUP_STATUS_INVALID_VALUE, "handle"));
  EXPECT_TRUE(
      fails_with(mixup_apply(*h, nullptr, &bo, &t, nullptr), MIXUP_STATUS_INVALID_VALUE, "x is NULL"));
  EXPECT_TRUE(
      fails_with(mixup_apply(*h, &bx, nullptr, &t, nullptr), MIXUP_STATUS_INVALID_VALUE, "out is NULL"));
  bx.data = nullptr;
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "x.data"));
  bx.data = x.ptr();
  bo.data = nullptr;
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "out.data"));
  bo.data = out.ptr();
  t.labels = nullptr;
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "labels"));
  expect_untouched();
}

TEST_F(ApplyErrors, BatchMustBePositiveAndFit) {
  for (const std::int64_t n : {0, -1}) {
    bx.n = bo.n = n;
    EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "x.n"));
  }
  bx.n = bo.n = 17;
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "max_batch"));
  bx.n = bo.n = B;
  bo.w = 5;
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "differs"));
  bo.w = 4;
  bx.c = bo.c = 0;
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "positive"));
  expect_untouched();
}

TEST_F(ApplyErrors, UnsupportedDtypes) {
  bo.dtype = MIXUP_DTYPE_F16;
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_NOT_SUPPORTED, "same output dtype"));
  bx.dtype = MIXUP_DTYPE_U8;
  bo.dtype = MIXUP_DTYPE_U8;
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_NOT_SUPPORTED, "uint8"));
  bx.dtype = static_cast<mixup_dtype_t>(9);
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "dtype"));
  expect_untouched();
}

TEST_F(ApplyErrors, LabelOutsideClasses) {
  for (const std::int32_t bad : {-1, C, C + 100}) {
    labels.host.assign(B, 3);
    labels.host[4] = bad;
    labels.upload();
    EXPECT_TRUE(
        fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "label " + std::to_string(bad) + " of sample 4"));
  }
  expect_untouched();
}

TEST_F(ApplyErrors, AliasingIsRefusedOutsideInvolution) {
  bo.data = x.ptr();  // exactly in place, but pairing is a permutation
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "INVOLUTION"));
  bo.data = x.ptr() + 5;  // partial overlap
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "overlaps"));
  bo.data = out.ptr();
  t.y_b = labels.ptr();
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "overlap"));
  t.y_b = y_b.ptr();
  expect_untouched();
}

TEST_F(ApplyErrors, GivenLambdaOutsideUnitInterval) {
  Buf<float> given_lam(B, 0.5f);
  Buf<std::int32_t> given_perm(B);
  for (int i = 0; i < B; ++i) given_perm.host[i] = B - 1 - i;
  given_perm.upload();
  for (const float bad : {1.5f, -0.1f, NAN}) {
    given_lam.host.assign(B, 0.5f);
    given_lam.host[2] = bad;
    given_lam.upload();
    EXPECT_TRUE(fails_with(mixup_apply_given(*h, &bx, given_lam.ptr(), given_perm.ptr(), &bo, &t, nullptr),
                           MIXUP_STATUS_INVALID_VALUE, "lam[2]"));
  }
  expect_untouched();
}

TEST_F(ApplyErrors, GivenPermutationMustBeOne) {
  Buf<float> given_lam(B, 0.5f);
  Buf<std::int32_t> given_perm(B);
  given_perm.host = {0, 1, 2, 3, 4, 5, 7};
  given_perm.upload();
  EXPECT_TRUE(fails_with(mixup_apply_given(*h, &bx, given_lam.ptr(), given_perm.ptr(), &bo, &t, nullptr),
                         MIXUP_STATUS_INVALID_VALUE, "perm[6] = 7"));
  given_perm.host = {0, 1, 2, 3, 4, 4, 6};
  given_perm.upload();
  EXPECT_TRUE(fails_with(mixup_apply_given(*h, &bx, given_lam.ptr(), given_perm.ptr(), &bo, &t, nullptr),
                         MIXUP_STATUS_INVALID_VALUE,
                         "not a permutation: partner 4 appears again at perm[5]"));
  EXPECT_TRUE(fails_with(mixup_apply_given(*h, &bx, nullptr, given_perm.ptr(), &bo, &t, nullptr),
                         MIXUP_STATUS_INVALID_VALUE, "lam is NULL"));
  expect_untouched();
}

// Several bad inputs in one call: both backends report by the check's order (label, partner
// out of range, repeated partner, λ), each at its first sample — one decoder for both.
TEST_F(ApplyErrors, SeveralBadInputsAreReportedInTheChecksOrder) {
  Buf<float> given_lam(B, 0.5f);
  Buf<std::int32_t> given_perm(B);
  given_perm.host = {0, 1, 2, 3, 4, 4, 9};  // repeated at 5, out of range at 6
  given_perm.upload();
  given_lam.host[1] = 2.0f;
  given_lam.upload();
  labels.host[4] = 10;
  labels.upload();
  EXPECT_TRUE(fails_with(mixup_apply_given(*h, &bx, given_lam.ptr(), given_perm.ptr(), &bo, &t, nullptr),
                         MIXUP_STATUS_INVALID_VALUE, "label 10 of sample 4"));
  labels.host[4] = 3;
  labels.upload();
  EXPECT_TRUE(fails_with(mixup_apply_given(*h, &bx, given_lam.ptr(), given_perm.ptr(), &bo, &t, nullptr),
                         MIXUP_STATUS_INVALID_VALUE, "perm[6] = 9"));
  given_perm.host[6] = 6;
  given_perm.upload();
  EXPECT_TRUE(fails_with(mixup_apply_given(*h, &bx, given_lam.ptr(), given_perm.ptr(), &bo, &t, nullptr),
                         MIXUP_STATUS_INVALID_VALUE, "partner 4 appears again at perm[5]"));
  given_perm.host[5] = 5;
  given_perm.upload();
  EXPECT_TRUE(fails_with(mixup_apply_given(*h, &bx, given_lam.ptr(), given_perm.ptr(), &bo, &t, nullptr),
                         MIXUP_STATUS_INVALID_VALUE, "lam[1]"));
  expect_untouched();
}

TEST_F(ApplyErrors, TargetBuffersMissing) {
  t.mode = MIXUP_TARGETS_ONEHOT;
  t.y_a = t.y_b = nullptr;
  t.soft_out = nullptr;
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "soft_out"));
  t.mode = MIXUP_TARGETS_SOFT;
  t.soft_out = soft.ptr();
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "soft_in"));
  t.mode = static_cast<mixup_targets_mode_t>(11);
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "targets.mode"));
  expect_untouched();
}

// y_a / y_b with a mode that does not write them were silently left alone (and the labels
// never checked: the GPU suite's deferred-check test passed a bad label that way). Refused.
TEST_F(ApplyErrors, StackedOutputsNeedTheStackedMode) {
  for (const mixup_targets_mode_t mode : {MIXUP_TARGETS_NONE, MIXUP_TARGETS_ONEHOT, MIXUP_TARGETS_SOFT}) {
    t.mode = mode;
    t.soft_out = soft.ptr();
    EXPECT_TRUE(
        fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "only with targets.mode = MIXUP_TARGETS_STACKED"))
        << "mode " << mode;
  }
  for (int v : y_a.download()) ASSERT_EQ(v, -99);
  for (int v : y_b.download()) ASSERT_EQ(v, -99);
  expect_untouched();
}

// Messages show a float as given, with the digits that read back as it (not six): one of each
// kind — a config field, a mixing field, the minmax pair, a normalisation constant, a given λ
// (the device check's words).
TEST_F(CreateErrors, FloatsAreShownAsGiven) {
  mixup_handle_t none = nullptr;
  mixup_config_t c = config_for_tests();
  c.label_smoothing = 1.0000001f;
  EXPECT_TRUE(fails_with(mixup_create(&c, &none), MIXUP_STATUS_INVALID_VALUE,
                         "config.label_smoothing = 1.0000001 must be in [0, 1)"));
  c = config_for_tests();
  c.alpha = -1.2345678e-8f;
  EXPECT_TRUE(fails_with(mixup_create(&c, &none), MIXUP_STATUS_INVALID_VALUE,
                         "config.alpha = -1.2345678e-08 must be finite and > 0"));
  Handle h(config_for_tests());
  mixup_mixing_t m = mixup_mixing_default();
  m.prob = 1.0000001f;
  EXPECT_TRUE(fails_with(mixup_set_mixing(h, &m), MIXUP_STATUS_INVALID_VALUE,
                         "mixing.prob = 1.0000001 must be in [0, 1]"));
  m = mixup_mixing_default();
  m.cutmix_minmax[0] = 0.3f;
  m.cutmix_minmax[1] = 1.0000001f;
  EXPECT_TRUE(fails_with(mixup_set_mixing(h, &m), MIXUP_STATUS_INVALID_VALUE,
                         "mixing.cutmix_minmax = {0.3, 1.0000001} must be"));
  const float mean[2] = {0.0f, 0.0f}, std[2] = {1.0f, -0.099999994f};
  EXPECT_TRUE(fails_with(mixup_set_normalize(h, mean, std, 2), MIXUP_STATUS_INVALID_VALUE,
                         "std[1] = -0.099999994 must be finite and > 0"));
}

TEST_F(ApplyErrors, GivenLambdaIsShownAsGiven) {
  Buf<float> given_lam(B, 0.5f);
  Buf<std::int32_t> given_perm(B);
  for (int i = 0; i < B; ++i) given_perm.host[i] = B - 1 - i;
  given_perm.upload();
  given_lam.host[1] = 1.0000001f;
  given_lam.upload();
  EXPECT_TRUE(fails_with(mixup_apply_given(*h, &bx, given_lam.ptr(), given_perm.ptr(), &bo, &t, nullptr),
                         MIXUP_STATUS_INVALID_VALUE, "lam[1] = 1.0000001 is outside [0, 1]"));
  expect_untouched();
}

TEST_F(ApplyErrors, NormalizationMustFit) {
  const float mean[3] = {0, 0, 0}, bad_std[3] = {1, 0, 1}, good_std[3] = {1, 1, 1};
  EXPECT_TRUE(fails_with(mixup_set_normalize(*h, mean, bad_std, 3), MIXUP_STATUS_INVALID_VALUE, "std[1]"));
  EXPECT_TRUE(
      fails_with(mixup_set_normalize(*h, mean, good_std, 17), MIXUP_STATUS_INVALID_VALUE, "channels"));
  ASSERT_EQ(mixup_set_normalize(*h, mean, good_std, 3), MIXUP_STATUS_SUCCESS);
  Buf<std::uint8_t> x8(B * P, 1);
  bx = mixup_batch_t{x8.ptr(), MIXUP_DTYPE_U8, B, 1, 3, 4, MIXUP_LAYOUT_NCHW};
  EXPECT_TRUE(fails_with(apply(), MIXUP_STATUS_INVALID_VALUE, "3 channels but x has 1"));
  expect_untouched();
}

}  // namespace
