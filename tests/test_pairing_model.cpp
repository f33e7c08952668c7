// The GPU pairing algorithm, modelled on the CPU with the same cores the kernel runs
// (count_keys split over 8 threads per sample, place_sample, partner_of, lambda_of): it must
// give the CPU backend's partners and λ bit for bit — ties forced or not, every pairing and λ
// mode — and be exactly uniform on its own (chi-square). The kernel itself is compared with
// the CPU backend on a GPU (test_cuda_vs_cpu); this is what can be checked without one.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "mixup/mixup.h"
#include "pairing.cuh"
#include "test_hooks.hpp"

namespace {

using namespace mixup::core;

constexpr int kGroup = 8;   // threads per sample in pairing_rank_kernel
constexpr int kSlice = 32;  // samples per block

struct ModelResult {
  std::vector<std::int32_t> perm;
  std::vector<float> lam;
};

// What pairing_rank_kernel and the blend compute, block by block and thread by thread. The
// blocks are placed last first (blocks run in any order on a GPU): the result must not depend
// on it.
// The keys as pairing_rank_kernel holds them: high and low halves, padded to whole chunks of
// four with all-ones keys.
struct SplitModel {
  std::vector<FourHalves> hi4;
  std::vector<std::uint32_t> lo;
  SplitKeys keys() const { return SplitKeys{reinterpret_cast<const std::uint32_t*>(hi4.data()), lo.data()}; }
  std::int32_t chunks() const { return static_cast<std::int32_t>(hi4.size()); }
};

SplitModel split(const std::vector<std::uint64_t>& keys) {
  const std::size_t chunks = (keys.size() + 3) / 4;
  SplitModel m{std::vector<FourHalves>(chunks), std::vector<std::uint32_t>(4 * chunks)};
  for (std::size_t j = 0; j < 4 * chunks; ++j) {
    const std::uint64_t k = j < keys.size() ? keys[j] : ~0ull;
    m.hi4[j / 4].v[j % 4] = static_cast<std::uint32_t>(k >> 32);
    m.lo[j] = static_cast<std::uint32_t>(k);
  }
  return m;
}

// rank_of in pairing.cu: the high halves counted by kGroup threads, then the whole keys where
// some other key shares sample i's high half.
RankCount model_rank(const SplitModel& m, std::int32_t batch, std::int32_t i, bool* exact = nullptr) {
  const SplitKeys keys = m.keys();
  HighCount h;
  for (int g = 0; g < kGroup; ++g) count_high_halves(m.hi4.data(), g, m.chunks(), kGroup, keys.hi[i], h);
  RankCount total;
  const bool from_high = rank_from_high(h, total);
  if (exact != nullptr) *exact = from_high;
  if (from_high) return total;
  for (int g = 0; g < kGroup; ++g) {
    RankCount c;
    count_keys(keys, g, batch, kGroup, keys[i], i, c);
    total.lt += c.lt, total.eq += c.eq, total.eq_before += c.eq_before;
  }
  return total;
}

ModelResult run_model(const StreamAddress& at, std::int32_t batch, Pairing pairing, LambdaMode mode,
                      double alpha, bool fold, int key_bits) {
  std::vector<std::uint64_t> keys(batch);
  for (std::int32_t j = 0; j < batch; ++j) keys[j] = perm_key(at, static_cast<std::uint32_t>(j), key_bits);
  const SplitModel m = split(keys);
  std::vector<std::int32_t> sigma(batch, -1), rank(batch, -1);
  const int blocks = (batch + kSlice - 1) / kSlice;
  for (int bb = 0; bb < blocks; ++bb) {
    const int b = blocks - 1 - bb;  // last block first: placement order must not matter
    for (int i = b * kSlice; i < std::min(batch, (b + 1) * kSlice); ++i)
      place_sample(at, m.keys(), batch, i, model_rank(m, batch, i), sigma.data(), rank.data());
  }
  std::vector<float> lam(batch), one_minus(batch);
  for (std::int32_t s = 0; s < batch; ++s) {
    const Lambda l = lambda_from_log_odds(draw_log_odds<Philox4x32>(at, alpha, static_cast<std::uint32_t>(s)),
                                          fold);
    lam[s] = l.lam, one_minus[s] = l.one_minus;
  }
  const PairsView v{sigma.data(), rank.data(), lam.data(), one_minus.data(), nullptr, nullptr, nullptr,
                    nullptr,      nullptr,     nullptr,    pairing,          mode,    batch};
  ModelResult r{std::vector<std::int32_t>(batch), std::vector<float>(batch)};
  for (std::int32_t i = 0; i < batch; ++i) {
    r.perm[i] = partner_of(v, i);
    r.lam[i] = lambda_of(v, i, r.perm[i]).lam;
  }
  return r;
}

ModelResult run_cpu_backend(mixup_config_t c, std::int32_t batch, std::uint64_t step, int key_bits) {
  mixup_handle_t h = nullptr;
  EXPECT_EQ(mixup_create(&c, &h), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  mixup::detail::test_hooks(h).key_bits = key_bits;
  EXPECT_EQ(mixup_set_step(h, step), MIXUP_STATUS_SUCCESS);
  std::vector<float> x(batch, 1.0f), out(batch);
  ModelResult r{std::vector<std::int32_t>(batch), std::vector<float>(batch)};
  mixup_batch_t bx{x.data(), MIXUP_DTYPE_F32, batch, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo{out.data(), MIXUP_DTYPE_F32, batch, 1, 1, 1, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{};
  t.perm = r.perm.data();
  t.lam = r.lam.data();
  EXPECT_EQ(mixup_apply(h, &bx, &bo, &t, nullptr), MIXUP_STATUS_SUCCESS) << mixup_last_error();
  mixup_destroy(h);
  return r;
}

TEST(PairingModel, SamePartnersAndLambdaBitsAsTheCpuBackend) {
  int compared = 0;
  for (const int key_bits : {64, 9, 4, 1})
    for (const mixup_pairing_t pairing : {MIXUP_PAIRING_PERMUTATION, MIXUP_PAIRING_INVOLUTION})
      for (const mixup_lambda_mode_t mode :
           {MIXUP_LAMBDA_PER_SAMPLE, MIXUP_LAMBDA_PER_PAIR, MIXUP_LAMBDA_PER_BATCH})
        for (const std::int32_t B : {1, 2, 7, 32, 33, 65, 257, 1000}) {
          mixup_config_t c = mixup_config_default();
          c.max_batch = B;
          c.seed = 77 + static_cast<std::uint64_t>(B);
          c.rank_salt = 5;
          c.pairing = pairing;
          c.lambda_mode = mode;
          c.alpha = B % 2 ? 0.1f : 0.4f;
          const std::uint64_t step = 3 + static_cast<std::uint64_t>(key_bits);
          const ModelResult want = run_cpu_backend(c, B, step, key_bits);
          const ModelResult got = run_model(StreamAddress{c.seed, c.rank_salt, step}, B,
                                            static_cast<Pairing>(pairing), static_cast<LambdaMode>(mode),
                                            c.alpha, true, key_bits);
          ASSERT_EQ(got.perm, want.perm) << "key_bits " << key_bits << " pairing " << pairing << " B " << B;
          for (std::int32_t i = 0; i < B; ++i)
            ASSERT_EQ(bits_of(got.lam[i]), bits_of(want.lam[i]))
                << "λ of sample " << i << ", B " << B << " mode " << mode;
          ++compared;
        }
  EXPECT_EQ(compared, 4 * 2 * 3 * 8);
}

// Shortened keys give long runs of ties, each written whole by one thread: every position
// exactly once, and σ⁻¹ = rank.
TEST(PairingModel, EveryPositionWrittenOnceUnderHeavyTies) {
  for (const int key_bits : {1, 2, 3, 64}) {
    const std::int32_t B = 300;
    const StreamAddress at{99, 0, 4};
    std::vector<std::uint64_t> keys(B);
    for (std::int32_t j = 0; j < B; ++j) keys[j] = perm_key(at, static_cast<std::uint32_t>(j), key_bits);
    std::vector<std::int32_t> sigma(B, -1), rank(B, -1), writes(B, 0);
    for (std::int32_t i = 0; i < B; ++i) {
      RankCount c;
      count_keys(keys.data(), 0, B, 1, keys[i], i, c);
      std::vector<std::int32_t> before = sigma;
      place_sample(at, keys.data(), B, i, c, sigma.data(), rank.data());
      for (std::int32_t q = 0; q < B; ++q) writes[q] += sigma[q] != before[q];
    }
    for (std::int32_t q = 0; q < B; ++q) {
      ASSERT_GE(sigma[q], 0) << "position " << q << " never written, key_bits " << key_bits;
      ASSERT_EQ(rank[sigma[q]], q) << "key_bits " << key_bits;
      ASSERT_EQ(writes[q], 1) << "position " << q << " changed by more than one sample's placement";
    }
  }
}

// The split count (high halves first, whole keys on a shared high half) equals the plain
// count of the whole keys for every sample: keys distinct in their high halves, keys of 34
// bits (high halves of 2 bits: shared all the time, low halves apart), of 2 bits (ties), and
// high halves of all ones (what the padding holds: such a half is never counted as alone).
TEST(PairingModel, SplitCountEqualsTheWholeKeyCount) {
  const StreamAddress at{7, 2, 11};
  for (const int key_bits : {64, 34, 2, 0}) {
    for (const std::int32_t B : {1, 5, 64, 301}) {
      std::vector<std::uint64_t> keys(B);
      for (std::int32_t j = 0; j < B; ++j) {
        keys[j] = perm_key(at, static_cast<std::uint32_t>(j), key_bits == 0 ? 64 : key_bits);
        if (key_bits == 0) keys[j] |= 0xFFFFFFFF00000000ull;  // the padding's high half
      }
      const SplitModel m = split(keys);
      int from_high = 0;
      for (std::int32_t i = 0; i < B; ++i) {
        RankCount want;
        count_keys(keys.data(), 0, B, 1, keys[i], i, want);
        bool exact = false;
        const RankCount got = model_rank(m, B, i, &exact);
        from_high += exact;
        ASSERT_EQ(got.lt, want.lt) << "key_bits " << key_bits << " B " << B << " i " << i;
        ASSERT_EQ(got.eq, want.eq) << "key_bits " << key_bits << " B " << B << " i " << i;
        ASSERT_EQ(got.eq_before, want.eq_before) << "key_bits " << key_bits << " B " << B << " i " << i;
      }
      // the fast path is taken where it may be, and only there
      const int want_from_high = key_bits == 64 ? B : key_bits == 2 ? (B == 1 ? 1 : 0) : 0;
      if (key_bits != 34) {
        EXPECT_EQ(from_high, want_from_high) << "key_bits " << key_bits << " B " << B;
      }
    }
  }
}

// All 24 orders of 4 samples equally likely from the model alone, with 2-bit keys (ties in
// almost every draw). Chi-square, 23 degrees of freedom, p = 0.001: 49.73.
TEST(PairingModel, UniformOverAll24OrdersWithForcedTies) {
  const int draws = 24000;
  std::map<std::vector<std::int32_t>, int> counts;
  for (int s = 0; s < draws; ++s)
    ++counts[run_model(StreamAddress{31337, 0, static_cast<std::uint64_t>(s)}, 4, Pairing::kPermutation,
                       LambdaMode::kPerBatch, 0.4, true, 2)
                 .perm];
  ASSERT_EQ(counts.size(), 24u);
  const double expected = draws / 24.0;
  double chi = 0.0;
  for (const auto& kv : counts) chi += (kv.second - expected) * (kv.second - expected) / expected;
  EXPECT_LT(chi, 49.73);
}

}  // namespace
