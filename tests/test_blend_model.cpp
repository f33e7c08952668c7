// The GPU blend's scalar path (rows that are not a whole number of 16-byte vectors), modelled
// on the CPU with the cores the kernel runs: an ElementWalk striding by the block width gives
// every element's coordinates without dividing, and row_element then writes what the CPU
// backend's range cores (blend_range, cut_range) write — bit for bit. The kernel itself is
// compared with the CPU backend on a GPU (test_cuda_vs_cpu, test_cutmix); this is what can be
// checked without one.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "blend.cuh"

namespace {

using namespace mixup::core;

// Every element the walk visits has the coordinates a division gives, for strides below and
// above a line, a plane and a whole sample, in both layouts, including H, W or C of 1.
TEST(BlendModel, ElementWalkMatchesDivision) {
  std::mt19937 rng(5);
  int checked = 0;
  for (const Layout layout : {Layout::kNCHW, Layout::kNHWC})
    for (const std::int64_t c : {1, 3, 4})
      for (const std::int64_t h : {1, 2, 7, 31})
        for (const std::int64_t w : {1, 5, 32, 227}) {
          const Geometry g{layout, c, h, w};
          const std::int64_t n = c * h * w;
          for (const std::int64_t step : {1, 3, 32, 256, 1000}) {
            const std::int64_t first = static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(n));
            ElementWalk<std::int64_t> walk = element_walk<std::int64_t>(g, first, step);
            ElementWalk<std::int32_t> walk32 = element_walk<std::int32_t>(g, static_cast<std::int32_t>(first),
                                                                          static_cast<std::int32_t>(step));
            for (std::int64_t e = first; e < n; e += step, advance(g, walk), advance(g, walk32)) {
              std::int64_t wc, wy, wx;
              element_coords<std::int64_t>(g, e, wc, wy, wx);
              ASSERT_TRUE(walk32.c == walk.c && walk32.y == walk.y && walk32.x == walk.x)
                  << "32-bit walk, e " << e;
              ASSERT_EQ(walk.c, wc) << "layout " << static_cast<int>(layout) << " " << c << "x" << h << "x"
                                    << w << " step " << step << " e " << e;
              ASSERT_EQ(walk.y, wy) << "e " << e;
              ASSERT_EQ(walk.x, wx) << "e " << e;
              // and the coordinates are the element's: the layout's formula gives e back
              const std::int64_t back = layout == Layout::kNCHW ? (wc * h + wy) * w + wx
                                                                : (wy * w + wx) * c + wc;
              ASSERT_EQ(back, e);
              ++checked;
            }
          }
        }
  EXPECT_GT(checked, 100000);
}

template <class In, class Out>
struct Case {
  static void run(const Geometry& g, const Normalize& norm, MixKind kind, const Box& box,
                  std::uint32_t seed) {
    const std::int64_t n = g.channels * g.height * g.width;
    std::mt19937 rng(seed);
    std::vector<typename In::T> a(n), b(n);
    for (std::int64_t e = 0; e < n; ++e) {
      if constexpr (std::is_same_v<In, U8>) {
        a[e] = static_cast<std::uint8_t>(rng());
        b[e] = static_cast<std::uint8_t>(rng());
      } else {
        a[e] = In::store(std::uniform_real_distribution<float>(-3, 3)(rng));
        b[e] = In::store(std::uniform_real_distribution<float>(-3, 3)(rng));
      }
    }
    const float lam = 0.6875f, om = 1.0f - lam;
    // the CPU backend: one range over the row (its cores)
    std::vector<typename Out::T> want(n), got(n);
    if (kind == MixKind::kMixup)
      blend_range<In, Out>(a.data(), b.data(), want.data(), 0, n, lam, om, false, norm);
    else cut_range<In, Out>(a.data(), b.data(), want.data(), 0, n, g, box, norm);
    // the kernel's scalar path: chunks of `chunk` elements, `threads` per block, each thread
    // walking its elements with a stride of the block width
    const std::int64_t chunk = 4096, threads = 256;
    for (std::int64_t begin = 0; begin < n; begin += chunk)
      for (std::int64_t t = 0; t < threads; ++t) {
        const std::int64_t end = std::min(n, begin + chunk), first = begin + t;
        if (first >= end) continue;
        ElementWalk<std::int32_t> w = element_walk<std::int32_t>(g, static_cast<std::int32_t>(first),
                                                                 static_cast<std::int32_t>(threads));
        for (std::int64_t e = first; e < end; e += threads, advance(g, w))
          got[e] = row_element<In, Out>(a.data(), b.data(), e, kind == MixKind::kMixup, lam, om, false,
                                        box_holds(box, w.y, w.x), w.c, norm);
      }
    ASSERT_EQ(std::memcmp(want.data(), got.data(), n * sizeof(typename Out::T)), 0)
        << "kind " << static_cast<int>(kind) << " layout " << static_cast<int>(g.layout) << " " << g.channels
        << "x" << g.height << "x" << g.width;
  }
};

Normalize normalize(Layout layout, std::int64_t c, std::int64_t plane, bool on) {
  Normalize n{};
  n.on = on;
  n.layout = layout;
  n.channels = c;
  n.plane = plane;
  for (int k = 0; k < kMaxNormChannels; ++k) {
    n.scale[k] = 1.0f / (255.0f * (0.2f + 0.05f * static_cast<float>(k)));
    n.shift[k] = -(0.4f + 0.01f * static_cast<float>(k)) / (0.2f + 0.05f * static_cast<float>(k));
  }
  return n;
}

// Mixup, CutMix (boxes inside, at the edges, empty: kept whole) and unmixed rows, f32 / bf16 /
// uint8 normalised into f32 and bf16, NCHW and NHWC, rows of odd lengths (3·227·227 among
// them): the same bytes as the range cores.
TEST(BlendModel, ScalarPathWritesWhatTheRangeCoresWrite) {
  const Box boxes[] = {{10, 20, 150, 90}, {0, 0, 227, 5}, {3, 3, 3, 3}};
  const std::int64_t dims[][3] = {{3, 227, 227}, {1, 7, 9}, {4, 5, 33}};
  std::uint32_t seed = 1;
  for (const auto& d : dims)
    for (const Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
      const Geometry g{layout, d[0], d[1], d[2]};
      const Normalize off = normalize(layout, d[0], d[1] * d[2], false);
      const Normalize on = normalize(layout, d[0], d[1] * d[2], true);
      for (Box box : boxes) {
        box.y1 = std::min<std::int32_t>(box.y1, static_cast<std::int32_t>(d[1]));
        box.x1 = std::min<std::int32_t>(box.x1, static_cast<std::int32_t>(d[2]));
        box.y0 = std::min(box.y0, box.y1);
        box.x0 = std::min(box.x0, box.x1);
        for (const MixKind kind : {MixKind::kMixup, MixKind::kCutMix, MixKind::kNone}) {
          const Box used = kind == MixKind::kCutMix ? box : Box{0, 0, 0, 0};
          Case<F32, F32>::run(g, off, kind, used, ++seed);
          Case<BF16, BF16>::run(g, off, kind, used, ++seed);
          Case<U8, F32>::run(g, on, kind, used, ++seed);
          Case<U8, BF16>::run(g, on, kind, used, ++seed);
        }
      }
    }
}

}  // namespace
