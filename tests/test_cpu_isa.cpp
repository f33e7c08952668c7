// The same bits at every CPU instruction-set level (util/cpu_isa.hpp): the loss, and the mixup
// op, run at each level this machine supports (forced in-process) and compared byte for byte;
// the 17-row case (rows 0..15 through the 16-row group, row 16 alone) equal at every
// position; the level detection against /proc/cpuinfo; MIXUP_CPU_ISA read from the environment
// (CTest runs CpuIsaEnv.* under several values: tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common.cuh"
#include "cpu_isa.hpp"
#include "mixup/loss.h"
#include "mixup/mixup.h"

namespace {

using mixup::util::CpuIsa;

struct Levels {
  ~Levels() { mixup::util::unforce_cpu_isa_for_testing(); }
};

std::vector<std::uint8_t> bytes_of(const void* p, std::size_t n) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  return std::vector<std::uint8_t>(b, b + n);
}

// ---- the loss ----

struct LossCase {
  std::int64_t B;
  std::int32_t C;
  mixup_dtype_t dtype, grad_dtype;
  float eps;
  bool soft;
  mixup_reduction_t red;
};

std::size_t dsize(mixup_dtype_t d) { return d == MIXUP_DTYPE_F32 ? 4 : 2; }

struct LossRun {
  std::vector<std::uint8_t> loss, grad;
};

LossRun run_loss(const LossCase& c, const std::vector<float>& z, const std::vector<std::int32_t>& ya,
                 const std::vector<std::int32_t>& yb, const std::vector<float>& lam,
                 const std::vector<float>& soft) {
  std::vector<std::uint8_t> logits(z.size() * dsize(c.dtype));
  for (std::size_t k = 0; k < z.size(); ++k) {
    if (c.dtype == MIXUP_DTYPE_F32) std::memcpy(&logits[k * 4], &z[k], 4);
    else {
      // inputs made by the library's own narrowing, as test_cross_entropy makes them
      const std::uint16_t h = c.dtype == MIXUP_DTYPE_F16 ? mixup::core::f32_to_f16(z[k])
                                                         : mixup::core::f32_to_bf16(z[k]);
      std::memcpy(&logits[k * 2], &h, 2);
    }
  }
  mixup_loss_config_t cfg = mixup_loss_config_default();
  cfg.backend = MIXUP_BACKEND_CPU;
  cfg.max_batch = static_cast<std::int32_t>(c.B);
  cfg.cpu_threads = 2;
  mixup_loss_t h = nullptr;
  EXPECT_EQ(mixup_loss_create(&cfg, &h), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  mixup_ce_args_t a = mixup_ce_args_default();
  a.logits = logits.data();
  a.dtype = c.dtype;
  a.batch = c.B;
  a.classes = c.C;
  if (c.soft) {
    a.soft_targets = soft.data();
  } else {
    a.y_a = ya.data(), a.y_b = yb.data(), a.lam = lam.data();
  }
  a.label_smoothing = c.eps;
  a.reduction = c.red;
  LossRun r;
  r.loss.assign((c.red == MIXUP_REDUCTION_NONE ? c.B : 1) * 4, 0);
  r.grad.assign(z.size() * dsize(c.grad_dtype), 0);
  a.loss = reinterpret_cast<float*>(r.loss.data());
  a.grad = r.grad.data();
  a.grad_dtype = c.grad_dtype;
  EXPECT_EQ(mixup_cross_entropy(h, &a, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  mixup_loss_destroy(h);
  return r;
}

TEST(CpuIsa, LossSameBitsAtEveryLevel) {
  Levels restore;
  const auto levels = mixup::util::isa_levels_supported();
  std::vector<LossCase> cases;
  for (const std::int32_t C : {1, 3, 10, 15, 16, 17, 100, 1000, 1001, 5000})
    for (const std::int64_t B : {1, 17, 40})
      for (const mixup_dtype_t dt : {MIXUP_DTYPE_F32, MIXUP_DTYPE_F16, MIXUP_DTYPE_BF16}) {
        if (C >= 1000 && B > 17) continue;
        cases.push_back({B, C, dt, MIXUP_DTYPE_F32, 0.0f, false, MIXUP_REDUCTION_NONE});
        cases.push_back({B, C, dt, dt, 0.1f, false, MIXUP_REDUCTION_MEAN});
        if (dt == MIXUP_DTYPE_F32) cases.push_back({B, C, dt, dt, 0.05f, true, MIXUP_REDUCTION_SUM});
      }
  std::mt19937 rng(18);
  for (const LossCase& c : cases) {
    std::normal_distribution<float> n(0.0f, 4.0f);
    std::vector<float> z(c.B * c.C), lam(c.B), soft(c.B * c.C);
    std::vector<std::int32_t> ya(c.B), yb(c.B);
    for (float& v : z) v = std::fmax(-19.0f, std::fmin(19.0f, n(rng)));
    for (std::int64_t i = 0; i < c.B; ++i) {
      ya[i] = static_cast<std::int32_t>(rng() % c.C), yb[i] = static_cast<std::int32_t>(rng() % c.C);
      lam[i] = std::uniform_real_distribution<float>(0.5f, 1.0f)(rng);
    }
    for (float& v : soft)
      v = std::uniform_real_distribution<float>(0.0f, 1.0f)(rng) / static_cast<float>(c.C);
    LossRun first;
    for (std::size_t k = 0; k < levels.size(); ++k) {
      mixup::util::force_cpu_isa_for_testing(levels[k]);
      const LossRun r = run_loss(c, z, ya, yb, lam, soft);
      if (k == 0) {
        first = r;
        continue;
      }
      const std::string what = "B " + std::to_string(c.B) + " C " + std::to_string(c.C) + " dtype " +
                               std::to_string(c.dtype) + " soft " + std::to_string(c.soft) + ": " +
                               mixup::util::isa_name(levels[k]) + " vs " + mixup::util::isa_name(levels[0]);
      ASSERT_EQ(r.loss, first.loss) << "loss bits differ, " << what;
      ASSERT_EQ(r.grad, first.grad) << "gradient bits differ, " << what;
    }
  }
  if (levels.size() == 1) GTEST_SKIP() << "this CPU has one level only (baseline): nothing to compare";
}

// The case: 17 copies of one row; rows 0..15 go through the 16-row group, row 16 alone.
TEST(CpuIsa, SeventeenCopiesEqualAtEveryPositionAndLevel) {
  Levels restore;
  static const float row[10] = {-0x1.107758p+1f, -0x1.50e368p+0f, -0x1.5b6364p+1f, 0x1.4b5188p-1f,
                                0x1.ee977ap-2f,  0x1.edb88cp+0f,  0x1.3ae3b2p+1f,  -0x1.7e712cp+1f,
                                0x1.2cbf58p+0f,  -0x1.8d34cep+1f};
  const LossCase c{17, 10, MIXUP_DTYPE_F32, MIXUP_DTYPE_F32, 0.0f, false, MIXUP_REDUCTION_NONE};
  std::vector<float> z(17 * 10), lam(17, 0x1.bd71a4p-2f), soft;
  std::vector<std::int32_t> ya(17, 6), yb(17, 9);
  for (int i = 0; i < 17; ++i) std::memcpy(&z[i * 10], row, sizeof row);
  // independent reference in double: λ·(lse − z_ya) + (1 − λ)·(lse − z_yb)
  double mx = row[0];
  for (const float v : row) mx = std::fmax(mx, v);
  double se = 0;
  for (const float v : row) se += std::exp(v - mx);
  const double lse = mx + std::log(se), l = static_cast<double>(lam[0]);
  const double ref = l * (lse - row[6]) + (1 - l) * (lse - row[9]);
  std::vector<std::uint8_t> first_loss, first_grad;
  for (const CpuIsa level : mixup::util::isa_levels_supported()) {
    mixup::util::force_cpu_isa_for_testing(level);
    const LossRun r = run_loss(c, z, ya, yb, lam, soft);
    const float* loss = reinterpret_cast<const float*>(r.loss.data());
    for (int i = 1; i < 17; ++i) {
      ASSERT_EQ(std::memcmp(&loss[i], &loss[0], 4), 0) << mixup::util::isa_name(level) << ": loss[" << i
                                                       << "] = " << loss[i] << " vs loss[0] = " << loss[0];
      ASSERT_EQ(std::memcmp(&r.grad[i * 40], &r.grad[0], 40), 0)
          << mixup::util::isa_name(level) << ": gradient row " << i << " differs from row 0";
    }
    EXPECT_NEAR(loss[0], ref, 4 * std::ldexp(1.0, -23) * ref) << mixup::util::isa_name(level);
    if (first_loss.empty()) first_loss = r.loss, first_grad = r.grad;
    EXPECT_EQ(r.loss, first_loss) << mixup::util::isa_name(level);
    EXPECT_EQ(r.grad, first_grad) << mixup::util::isa_name(level);
  }
}

// ---- the mixup op (its CPU loops are not dispatched today: this guards that they stay equal) ----

TEST(CpuIsa, MixupAndCutMixSameBitsAtEveryLevel) {
  Levels restore;
  const std::int64_t N = 33, C = 3, H = 9, W = 7, n = N * C * H * W;
  std::vector<float> x(n);
  std::mt19937 rng(7);
  for (float& v : x) v = std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng);
  std::vector<std::int32_t> labels(N);
  for (auto& y : labels) y = static_cast<std::int32_t>(rng() % 10);
  std::vector<std::uint8_t> first;
  for (const CpuIsa level : mixup::util::isa_levels_supported()) {
    mixup::util::force_cpu_isa_for_testing(level);
    mixup_config_t cfg = mixup_config_default();
    cfg.backend = MIXUP_BACKEND_CPU;
    cfg.max_batch = N;
    cfg.num_classes = 10;
    cfg.seed = 99;
    cfg.cpu_threads = 2;
    mixup_handle_t h = nullptr;
    ASSERT_EQ(mixup_create(&cfg, &h), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    mixup_mixing_t mx = mixup_mixing_default();
    mx.prob = 0.9f, mx.switch_prob = 0.5f;
    ASSERT_EQ(mixup_set_mixing(h, &mx), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    std::vector<float> out(n * 2), soft(N * 10 * 2), lam(N * 2);
    for (int step = 0; step < 2; ++step) {
      const mixup_batch_t in{x.data(), MIXUP_DTYPE_F32, N, C, H, W, MIXUP_LAYOUT_NCHW};
      const mixup_batch_t o{out.data() + step * n, MIXUP_DTYPE_F32, N, C, H, W, MIXUP_LAYOUT_NCHW};
      mixup_targets_t t{};
      t.mode = MIXUP_TARGETS_ONEHOT;
      t.labels = labels.data();
      t.soft_out = soft.data() + step * N * 10;
      t.lam = lam.data() + step * N;
      ASSERT_EQ(mixup_apply(h, &in, &o, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    }
    mixup_destroy(h);
    std::vector<std::uint8_t> all = bytes_of(out.data(), out.size() * 4);
    const auto s = bytes_of(soft.data(), soft.size() * 4), l = bytes_of(lam.data(), lam.size() * 4);
    all.insert(all.end(), s.begin(), s.end());
    all.insert(all.end(), l.begin(), l.end());
    if (first.empty()) first = all;
    ASSERT_EQ(all, first) << mixup::util::isa_name(level) << " differs from baseline";
  }
}

// ---- detection and the environment ----

// The level /proc/cpuinfo's flags allow: an oracle independent of cpuid.
std::string level_from_proc_cpuinfo() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    const auto has = [&](std::initializer_list<const char*> names) {
      for (const char* n : names)
        if (!flags.count(n)) return false;
      return true;
    };
    if (!has({"avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"}))
      return "baseline";  // (lzcnt: "abm" is not always listed)
    if (!has({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})) return "avx2";
    return "avx512";
  }
  return "";
}

TEST(CpuIsa, DetectionAgreesWithProcCpuinfo) {
  const std::string want = level_from_proc_cpuinfo();
  if (want.empty()) GTEST_SKIP() << "no flags line in /proc/cpuinfo to compare with";
  EXPECT_EQ(mixup::util::isa_name(mixup::util::isa_supported()), want);
}

// Run by CTest under MIXUP_CPU_ISA = each level name, above-the-CPU ones included, and junk.
TEST(CpuIsaEnv, HonouredOrRefusedClearly) {
  const char* env = std::getenv("MIXUP_CPU_ISA");
  const std::string v = env ? env : "";
  const int best = static_cast<int>(mixup::util::isa_supported());
  int wanted = -1;  // -1: not a level
  if (v.empty()) wanted = best;
  for (const CpuIsa l : {CpuIsa::kBaseline, CpuIsa::kAvx2, CpuIsa::kAvx512})
    if (v == mixup::util::isa_name(l)) wanted = static_cast<int>(l);
  const char* name = nullptr;
  mixup_config_t cfg = mixup_config_default();
  cfg.backend = MIXUP_BACKEND_CPU;
  mixup_handle_t h = nullptr;
  mixup_loss_config_t lc = mixup_loss_config_default();
  lc.backend = MIXUP_BACKEND_CPU;
  mixup_loss_t lh = nullptr;
  if (wanted >= 0 && wanted <= best) {
    ASSERT_EQ(mixup_cpu_isa(&name), MIXUP_STATUS_SUCCESS) << mixup_last_error();
    EXPECT_STREQ(name, mixup::util::isa_name(static_cast<CpuIsa>(wanted)));
    EXPECT_EQ(mixup_create(&cfg, &h), MIXUP_STATUS_SUCCESS);
    EXPECT_EQ(mixup_loss_create(&lc, &lh), MIXUP_STATUS_SUCCESS);
  } else {
    ASSERT_EQ(mixup_cpu_isa(&name), MIXUP_STATUS_INVALID_VALUE);
    const std::string msg = mixup_last_error();
    EXPECT_NE(msg.find("MIXUP_CPU_ISA=" + v), std::string::npos) << msg;
    EXPECT_NE(msg.find(wanted < 0 ? "is not a level" : "above what this CPU supports"), std::string::npos)
        << msg;
    EXPECT_EQ(mixup_create(&cfg, &h), MIXUP_STATUS_INVALID_VALUE);
    EXPECT_EQ(h, nullptr);
    EXPECT_EQ(mixup_loss_create(&lc, &lh), MIXUP_STATUS_INVALID_VALUE);
    EXPECT_EQ(lh, nullptr);
  }
  mixup_destroy(h);
  mixup_loss_destroy(lh);
}

}  // namespace
