// Philox4x32-10 exactly as cuRAND's device API runs it (curandStatePhilox4_32_10_t):
// curand_init's counter/key layout (key = seed, subsequence in counter words z,w, offset in
// x,y plus the within-block position), curand()'s word order, skipahead, and
// curand_uniform's mapping. The CPU backend runs this replica; GPU kernels run cuRAND itself
// through `CurandWords`, and tests check the replica against cuRAND's host generator here and
// against the device generator on a GPU.
//
// Streams are addressed, never carried: (seed, subsequence, offset) names every draw, so a
// value does not depend on grid shape, thread count or backend.
#pragma once

#include "common.cuh"

#if defined(__CUDACC__)
#include <curand_kernel.h>
#endif

namespace mixup::core {

struct Philox4x32 {
  std::uint32_t ctr[4];
  std::uint32_t key[2];
  std::uint32_t out[4];
  unsigned state;  // index of the next word of `out` to hand out

  static constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  static constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;

  MIXUP_HD static void block(const std::uint32_t c_in[4], const std::uint32_t k_in[2], std::uint32_t r[4]) {
    std::uint32_t c0 = c_in[0], c1 = c_in[1], c2 = c_in[2], c3 = c_in[3];
    std::uint32_t k0 = k_in[0], k1 = k_in[1];
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * c0;
      const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * c2;
      const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
      const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
      c0 = hi1 ^ c1 ^ k0;
      c1 = lo1;
      c2 = hi0 ^ c3 ^ k1;
      c3 = lo0;
      k0 += kW0;
      k1 += kW1;
    }
    r[0] = c0;
    r[1] = c1;
    r[2] = c2;
    r[3] = c3;
  }

  Philox4x32() = default;

  // curand_init(seed, subsequence, offset)
  MIXUP_HD Philox4x32(std::uint64_t seed, std::uint64_t subsequence, std::uint64_t offset)
      : ctr{0, 0, 0, 0}, key{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        out{0, 0, 0, 0}, state(0) {
    add_hi(subsequence);
    block(ctr, key, out);
    skipahead(offset);
  }

  // The same state as curand_init(seed, subsequence, offset) for an offset that is a multiple
  // of 4 (every offset the library uses: step · kStepWords), computed with one block function
  // instead of two (the constructor's first block is overwritten by skipahead's). Keys for the
  // permutation are drawn this way, B of them per GPU block, so the saving is real.
  MIXUP_HD static Philox4x32 at_aligned(std::uint64_t seed, std::uint64_t subsequence, std::uint64_t offset) {
    Philox4x32 g;
    g.ctr[0] = g.ctr[1] = g.ctr[2] = g.ctr[3] = 0;
    g.key[0] = static_cast<std::uint32_t>(seed);
    g.key[1] = static_cast<std::uint32_t>(seed >> 32);
    g.state = 0;
    g.add_hi(subsequence);
    g.add(offset / 4);
    block(g.ctr, g.key, g.out);
    return g;
  }

  // Philox_State_Incr_hi: subsequences live in counter words z, w.
  MIXUP_HD void add_hi(std::uint64_t n) {
    const std::uint32_t nlo = static_cast<std::uint32_t>(n);
    std::uint32_t nhi = static_cast<std::uint32_t>(n >> 32);
    ctr[2] += nlo;
    if (ctr[2] < nlo) ++nhi;
    ctr[3] += nhi;
  }

  // Philox_State_Incr(s, n): carries through all four words, as cuRAND does.
  MIXUP_HD void add(std::uint64_t n) {
    const std::uint32_t nlo = static_cast<std::uint32_t>(n);
    std::uint32_t nhi = static_cast<std::uint32_t>(n >> 32);
    ctr[0] += nlo;
    if (ctr[0] < nlo) ++nhi;
    ctr[1] += nhi;
    if (nhi <= ctr[1]) return;
    if (++ctr[2]) return;
    ++ctr[3];
  }

  MIXUP_HD void skipahead(std::uint64_t n) {
    state += static_cast<unsigned>(n & 3u);
    n /= 4;
    if (state > 3) {
      n += 1;
      state -= 4;
    }
    add(n);
    block(ctr, key, out);
  }

  // the word next() returns next, without consuming it
  MIXUP_HD std::uint32_t peek() const { return out[state]; }

  // curand(): next 32-bit word
  MIXUP_HD std::uint32_t next() {
    const std::uint32_t r = out[state];
    if (++state == 4) {
      add(1);
      block(ctr, key, out);
      state = 0;
    }
    return r;
  }
};

// curand_uniform's mapping of a word into (0, 1]: nvcc contracts cuRAND's `x*a + b` into one
// FMA, so the replica says fmaf explicitly. Never 0; 1.0f for the top 128 words.
MIXUP_HD float uniform_from_word(std::uint32_t x) {
  return fmaf(static_cast<float>(x), 2.3283064e-10f, 2.3283064e-10f / 2.0f);
}

// Two words as a 64-bit integer (first word high).
MIXUP_HD std::uint64_t u64_from_words(std::uint32_t hi, std::uint32_t lo) {
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

#if defined(__CUDACC__)
// The device side: cuRAND's own generator behind the same `next()` interface.
struct CurandWords {
  curandStatePhilox4_32_10_t s;
  __device__ CurandWords(std::uint64_t seed, std::uint64_t subsequence, std::uint64_t offset) {
    curand_init(seed, subsequence, offset, &s);
  }
  __device__ std::uint32_t next() { return curand(&s); }
  // curand()'s next word without consuming it (STATE < 4 between calls); a select, not an
  // index, so the state stays in registers
  __device__ std::uint32_t peek() const {
    return s.STATE == 0 ? s.output.x : s.STATE == 1 ? s.output.y : s.STATE == 2 ? s.output.z : s.output.w;
  }
};
#endif

// How the library addresses its streams. Subsequence: sample (or position) index in the low
// 32 bits, the purpose in bits 32–33, the caller's rank salt above. Offset: step · kStepWords,
// so each step owns 2^32 words of every stream — far more than any draw consumes.
// kMixChoice: the per-stream choice of mixing (mixed or not, mixup or CutMix, the box).
enum class Purpose : std::uint32_t { kLambda = 0, kPermKeys = 1, kTieShuffle = 2, kMixChoice = 3 };
constexpr std::uint64_t kStepWords = 1ull << 32;

MIXUP_HD std::uint64_t subsequence_of(std::uint32_t salt, Purpose purpose, std::uint32_t index) {
  return (static_cast<std::uint64_t>(salt) << 34) | (static_cast<std::uint64_t>(purpose) << 32) | index;
}

MIXUP_HD std::uint64_t offset_of(std::uint64_t step) { return step * kStepWords; }

}  // namespace mixup::core
