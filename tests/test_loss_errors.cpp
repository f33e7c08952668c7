// Bad input to the loss: status, a message naming the problem, and the loss and gradient
// buffers untouched.
#include "mixup/loss.h"
#include "support.hpp"

namespace {

using namespace mixup::test;

class LossErrors : public BackendTest {
 protected:
  static constexpr int B = 5, C = 4;
  Buf<float> logits{B * C, 0.5f}, grad{B * C, -99.0f}, loss{B, -99.0f}, lam{B, 0.5f};
  Buf<std::int32_t> ya{B, 1}, yb{B, 2};
  mixup_loss_t h = nullptr;
  mixup_ce_args_t a{};

  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) return;
    mixup_loss_config_t c = mixup_loss_config_default();
    c.backend = kBackend;
    c.max_batch = 8;
    ASSERT_EQ(mixup_loss_create(&c, &h), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    a = mixup_ce_args_default();
    a.logits = logits.ptr();
    a.batch = B;
    a.classes = C;
    a.y_a = ya.ptr();
    a.y_b = yb.ptr();
    a.lam = lam.ptr();
    a.reduction = MIXUP_REDUCTION_NONE;
    a.loss = loss.ptr();
    a.grad = grad.ptr();
  }
  void TearDown() override { mixup_loss_destroy(h); }

  ::testing::AssertionResult refused(mixup_status_t want, const std::string& words) {
    const mixup_status_t s = mixup_cross_entropy(h, &a, nullptr);
    const std::string msg = mixup_last_error();
    if (s != want) return ::testing::AssertionFailure() << mixup_status_string(s) << ": " << msg;
    if (msg.find(words) == std::string::npos)
      return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << words << "\"";
    for (float v : loss.download())
      if (v != -99.0f) return ::testing::AssertionFailure() << "loss was written";
    for (float v : grad.download())
      if (v != -99.0f) return ::testing::AssertionFailure() << "grad was written";
    return ::testing::AssertionSuccess();
  }
};

TEST_F(LossErrors, WellFormedCallSucceeds) {
  ASSERT_EQ(mixup_cross_entropy(h, &a, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  EXPECT_NE(loss.download()[0], -99.0f);
}

TEST_F(LossErrors, LabelsOutsideClasses) {
  for (const std::int32_t bad : {-1, C, 1000}) {
    ya.host.assign(B, 1);
    ya.host[3] = bad;
    ya.upload();
    EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "label " + std::to_string(bad) + " of sample 3"));
  }
  ya.host.assign(B, 1);
  ya.upload();
  yb.host[4] = C;
  yb.upload();
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "of sample 4"));
}

TEST_F(LossErrors, IgnoreIndexIsNotAnError) {
  ya.host[2] = -100;
  ya.upload();
  ASSERT_EQ(mixup_cross_entropy(h, &a, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  EXPECT_EQ(loss.download()[2], 0.0f);
}

TEST_F(LossErrors, LambdaOutsideUnitInterval) {
  for (const float bad : {-0.01f, 1.5f, NAN}) {
    lam.host.assign(B, 0.5f);
    lam.host[1] = bad;
    lam.upload();
    EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "lam[1]"));
  }
}

// Several bad rows: both backends report the first offending row (its label before its λ),
// not the first kind of error (the GPU check preferred any bad label over an earlier bad λ).
TEST_F(LossErrors, TheFirstOffendingRowIsReported) {
  lam.host[1] = 2.0f;
  lam.upload();
  ya.host[3] = C;
  ya.upload();
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "lam[1]"));
  lam.host[3] = 2.0f;
  lam.host[1] = 0.5f;
  lam.upload();
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "of sample 3"));
}

TEST_F(LossErrors, ShapesAndPointers) {
  a.batch = 0;
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "batch"));
  a.batch = -3;
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "batch"));
  a.batch = B;
  a.classes = 0;
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "classes"));
  a.classes = C;
  a.logits = nullptr;
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "logits is NULL"));
  a.logits = logits.ptr();
  a.y_a = nullptr;
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "y_a"));
  a.y_a = ya.ptr();
  a.lam = nullptr;
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "y_b and lam go together"));
  a.lam = lam.ptr();
  EXPECT_EQ(mixup_cross_entropy(h, nullptr, nullptr), MIXUP_STATUS_INVALID_VALUE);
  EXPECT_EQ(mixup_cross_entropy(nullptr, &a, nullptr), MIXUP_STATUS_INVALID_VALUE);
}

TEST_F(LossErrors, MismatchedDtypes) {
  a.grad_dtype = MIXUP_DTYPE_F16;  // logits are f32
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "mismatched"));
  a.grad_dtype = MIXUP_DTYPE_F32;
  a.dtype = MIXUP_DTYPE_U8;
  EXPECT_TRUE(refused(MIXUP_STATUS_NOT_SUPPORTED, "f32, f16 or bf16"));
}

// Floats in messages read back as the value given: an argument field, and λ (the device
// check's words).
TEST_F(LossErrors, FloatsAreShownAsGiven) {
  a.label_smoothing = 1.0000001f;
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "label_smoothing = 1.0000001 must be in [0, 1)"));
  a.label_smoothing = 0.0f;
  lam.host[2] = 1.0000001f;
  lam.upload();
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "lam[2] = 1.0000001 is outside [0, 1]"));
}

TEST_F(LossErrors, SmoothingAndAliasing) {
  a.label_smoothing = 1.0f;
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "label_smoothing"));
  a.label_smoothing = 0.0f;
  a.grad = logits.ptr() + 1;  // overlaps, but is not in place
  EXPECT_TRUE(refused(MIXUP_STATUS_INVALID_VALUE, "overlaps"));
}

}  // namespace
