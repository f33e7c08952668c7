// The CPU replica of Philox4x32-10 against independent sources: Random123's published
// known answers, and cuRAND's own host generator (which runs without a GPU and whose first
// outputs are the streams of curand_init(seed, j, 0) for j = 0, 1, ...).
#include <gtest/gtest.h>

#include <curand.h>

#include <cmath>
#include <vector>

#include "philox.cuh"

namespace {

using mixup::core::Philox4x32;

TEST(Philox, Random123KnownAnswers) {
  struct Case {
    std::uint32_t ctr[4];
    std::uint32_t key[2];
    std::uint32_t want[4];
  };
  // Random123 kat_vectors, philox4x32 with 10 rounds.
  const Case cases[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Case& c : cases) {
    std::uint32_t got[4];
    Philox4x32::block(c.ctr, c.key, got);
    for (int k = 0; k < 4; ++k)
      EXPECT_EQ(got[k], c.want[k]) << "word " << k << " of ctr " << std::hex << c.ctr[0];
  }
}

class CurandHost : public ::testing::Test {
 protected:
  curandGenerator_t gen = nullptr;
  void SetUp() override {
    ASSERT_EQ(curandCreateGeneratorHost(&gen, CURAND_RNG_PSEUDO_PHILOX4_32_10), CURAND_STATUS_SUCCESS);
  }
  void TearDown() override {
    if (gen) curandDestroyGenerator(gen);
  }
};

TEST_F(CurandHost, FirstOutputsAreTheSubsequenceStreams) {
  for (const unsigned long long seed : {0ull, 1ull, 0x123456789abcdefull, ~0ull}) {
    ASSERT_EQ(curandSetPseudoRandomGeneratorSeed(gen, seed), CURAND_STATUS_SUCCESS);
    ASSERT_EQ(curandSetGeneratorOffset(gen, 0), CURAND_STATUS_SUCCESS);
    std::vector<unsigned int> want(16384);
    ASSERT_EQ(curandGenerate(gen, want.data(), want.size()), CURAND_STATUS_SUCCESS);
    int mismatches = 0;
    for (std::size_t j = 0; j < want.size() / 4; ++j) {
      Philox4x32 g(seed, j, 0);  // curand_init(seed, j, 0)
      for (int k = 0; k < 4; ++k) mismatches += g.next() != want[4 * j + k];
    }
    EXPECT_EQ(mismatches, 0) << "seed " << seed;
  }
}

TEST_F(CurandHost, UniformMappingMatches) {
  ASSERT_EQ(curandSetPseudoRandomGeneratorSeed(gen, 42), CURAND_STATUS_SUCCESS);
  std::vector<unsigned int> words(16384);
  ASSERT_EQ(curandGenerate(gen, words.data(), words.size()), CURAND_STATUS_SUCCESS);
  ASSERT_EQ(curandSetPseudoRandomGeneratorSeed(gen, 42), CURAND_STATUS_SUCCESS);
  ASSERT_EQ(curandSetGeneratorOffset(gen, 0),
            CURAND_STATUS_SUCCESS);  // setting the seed alone keeps the offset
  std::vector<float> want(words.size());
  ASSERT_EQ(curandGenerateUniform(gen, want.data(), want.size()), CURAND_STATUS_SUCCESS);
  int mismatches = 0;
  for (std::size_t i = 0; i < words.size(); ++i)
    mismatches += mixup::core::uniform_from_word(words[i]) != want[i];
  EXPECT_EQ(mismatches, 0);
}

TEST(Philox, UniformRangeIsOpenAtZeroClosedAtOne) {
  EXPECT_GT(mixup::core::uniform_from_word(0), 0.0f);
  EXPECT_EQ(mixup::core::uniform_from_word(0xffffffffu), 1.0f);
  EXPECT_LT(mixup::core::uniform_from_word(0x7fffffffu), 1.0f);
}

// skipahead(n) must land where n calls of next() land, across block and carry boundaries.
TEST(Philox, SkipaheadEqualsStepping) {
  for (const std::uint64_t offset : {0ull, 1ull, 3ull, 4ull, 5ull, 1023ull}) {
    Philox4x32 stepped(99, 7, 0);
    for (std::uint64_t k = 0; k < offset; ++k) stepped.next();
    Philox4x32 skipped(99, 7, offset);
    for (int k = 0; k < 64; ++k)
      EXPECT_EQ(stepped.next(), skipped.next()) << "offset " << offset << " word " << k;
  }
}

// Offsets past 2^32 words carry into the second counter word (the step stride is 2^32).
TEST(Philox, LargeOffsetCarriesLikeTheCounter) {
  Philox4x32 g(5, 3, (1ull << 32) * 3 + 8);
  std::uint32_t ctr[4];
  const std::uint64_t blocks = ((1ull << 32) * 3 + 8) / 4;
  ctr[0] = static_cast<std::uint32_t>(blocks);
  ctr[1] = static_cast<std::uint32_t>(blocks >> 32);
  ctr[2] = 3;  // subsequence
  ctr[3] = 0;
  const std::uint32_t key[2] = {5, 0};
  std::uint32_t want[4];
  Philox4x32::block(ctr, key, want);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(g.next(), want[k]);
}

// The one-block shortcut the permutation keys use gives curand_init's stream for every
// aligned offset, subsequence carries included.
TEST(Philox, AlignedShortcutEqualsTheFullInit) {
  for (const std::uint64_t seed : {0ull, 1ull, 0xDEADBEEFCAFEull})
    for (const std::uint64_t sub : {0ull, 7ull, 0xFFFFFFFFull, (3ull << 32) | 12345ull, ~0ull})
      for (const std::uint64_t offset : {0ull, 4ull, 1ull << 32, (1ull << 32) * 1000003ull, ~0ull - 3ull}) {
        Philox4x32 full(seed, sub, offset);
        Philox4x32 quick = Philox4x32::at_aligned(seed, sub, offset);
        for (int k = 0; k < 12; ++k)
          ASSERT_EQ(quick.next(), full.next()) << seed << " " << sub << " " << offset << " word " << k;
      }
}

}  // namespace
