// Blend family: out[i] = λ_i·x[i] + (1 − λ_i)·x[perm[i]] in one pass over memory — read the
// row and its partner once, write the mixed row once — plus, in the same kernel, the [B, C]
// targets (blended one-hot with label smoothing, or a blend of the caller's soft targets).
// uint8 images are normalised per channel in the same pass: nothing is ever written at uint8
// or in an intermediate float buffer. `stack_x` writes x[perm] alone (inputs that cannot be
// blended). λ and perm come from the pairing launch; a failed check there means no write here.
//
// Arithmetic is float: λ·a + (1−λ)·b as two products and a sum (contraction is off on both
// sides), so the CPU and the GPU write the same bits.
#pragma once

#include <type_traits>

#include "cutmix.cuh"
#include "dtype.cuh"
#include "pairing.cuh"

namespace mixup::core {

enum class Layout : int { kNCHW = 0, kNHWC = 1 };
enum class TargetMode : int { kNone = 0, kOneHot = 1, kSoft = 2 };

constexpr int kMaxNormChannels = 16;

struct Normalize {
  bool on;  // uint8 input only: out = v·scale[c] + shift[c]
  Layout layout;
  std::int64_t channels;
  std::int64_t plane;             // H·W
  float scale[kMaxNormChannels];  // 1 / (255·std_c)
  float shift[kMaxNormChannels];  // −mean_c / std_c
};

// Where an element of a sample sits in its image (for CutMix boxes).
struct Geometry {
  Layout layout;
  std::int64_t channels, height, width;
};

MIXUP_HD bool element_in_box(const Geometry& g, const Box& b, std::int64_t e) {
  const std::int64_t pixel = g.layout == Layout::kNCHW ? e % (g.height * g.width) : e / g.channels;
  return box_holds(b, pixel / g.width, pixel % g.width);
}

// Channel, row and column of elements e, e + step, e + 2·step, … of one sample: divisions
// once, then mixed-radix additions with carries. The GPU's scalar path (rows that are not a
// whole number of 16-byte vectors) strides by its block width, coalesced, and gets each
// element's box test and normalisation channel without dividing. Index: std::int32_t where a
// sample has fewer than 2^31 elements (the GPU's registers), std::int64_t otherwise.
template <class Index>
struct ElementWalk {
  Index c, y, x;     // of the current element (NCHW: c may pass C once e leaves the sample)
  Index dc, dy, dx;  // the step in the same digits
};

// (c, y, x) of element e: NCHW e = (c·H + y)·W + x, NHWC e = (y·W + x)·C + c.
template <class Index>
MIXUP_HD void element_coords(const Geometry& g, Index e, Index& c, Index& y, Index& x) {
  const Index C = static_cast<Index>(g.channels), H = static_cast<Index>(g.height),
              W = static_cast<Index>(g.width);
  if (g.layout == Layout::kNCHW) {
    const Index line = e / W;
    x = e - line * W;
    c = line / H;
    y = line - c * H;
  } else {
    const Index pixel = e / C;
    c = e - pixel * C;
    y = pixel / W;
    x = pixel - y * W;
  }
}

template <class Index>
MIXUP_HD ElementWalk<Index> element_walk(const Geometry& g, Index e, Index step) {
  ElementWalk<Index> w{};
  element_coords(g, e, w.c, w.y, w.x);
  element_coords(g, step, w.dc, w.dy, w.dx);
  return w;
}

// To the element `step` further on. Each digit plus its step digit plus a carry stays below
// twice its radix, so one subtraction per digit is enough; the most significant digit (NCHW:
// c, NHWC: y) is not wrapped.
template <class Index>
MIXUP_HD void advance(const Geometry& g, ElementWalk<Index>& w) {
  const Index C = static_cast<Index>(g.channels), H = static_cast<Index>(g.height),
              W = static_cast<Index>(g.width);
  if (g.layout == Layout::kNCHW) {
    w.x += w.dx;
    const bool cx = w.x >= W;
    if (cx) w.x -= W;
    w.y += w.dy + (cx ? 1 : 0);
    const bool cy = w.y >= H;
    if (cy) w.y -= H;
    w.c += w.dc + (cy ? 1 : 0);
  } else {
    w.c += w.dc;
    const bool cc = w.c >= C;
    if (cc) w.c -= C;
    w.x += w.dx + (cc ? 1 : 0);
    const bool cx = w.x >= W;
    if (cx) w.x -= W;
    w.y += w.dy + (cx ? 1 : 0);
  }
}

struct BlendParams {
  const void* x;
  void* out;
  DType in_type;
  DType out_type;
  std::int64_t batch;
  std::int64_t sample_elems;  // C·H·W
  Normalize norm;
  bool stack_x;
  bool in_place;  // involution only: out == x, pairs handled together
  Geometry geom;
  // CPU: each sample's partner (itself when not mixed), λ, pairing partner, kind and box,
  // resolved by the pairing step (row_mix); kind null: every row mixup
  const std::int32_t* perm;
  const float* lam;
  const float* one_minus;
  const std::int32_t* mate;
  const std::int32_t* kind;
  const Box* box;
  // GPU: partners and λ resolved per row from the pairing launch's scratch; the verdict of
  // the whole call; the stacked targets, written here once the verdict is known
  PairsView pairs;
  const DeviceCheck* check;
  std::int32_t* perm_out;
  std::int32_t* y_a;
  std::int32_t* y_b;
  float* lam_out;
  std::int32_t* kind_out;  // [B] MixKind
  Box* box_out;            // [B]
  bool after_pairing;      // launched with programmatic stream serialization after the pairing
  // targets
  TargetMode target_mode;
  const std::int32_t* labels;
  const float* soft_in;
  float* targets_out;
  std::int32_t num_classes;
  float smoothing;
};

MIXUP_HD float mix(float a, float b, float lam, float one_minus, bool stack_x) {
  return stack_x ? b : lam * a + one_minus * b;
}

MIXUP_HD std::int64_t channel_of(const Normalize& n, std::int64_t e) {
  return n.layout == Layout::kNCHW ? e / n.plane : e % n.channels;
}

// Elements [begin, end) of one row; a, b, o already point at the row starts. Normalised
// rows go by runs of one channel (a plane in NCHW, one element in NHWC), so the channel is
// found once per run, not divided out per element.
template <class In, class Out>
MIXUP_HD void blend_range(const typename In::T* a, const typename In::T* b, typename Out::T* o,
                          std::int64_t begin, std::int64_t end, float lam, float one_minus, bool stack_x,
                          const Normalize& n) {
  if (n.on && n.layout == Layout::kNCHW) {
    for (std::int64_t e0 = begin; e0 < end;) {
      const std::int64_t c = e0 / n.plane;
      const std::int64_t e1 = (c + 1) * n.plane < end ? (c + 1) * n.plane : end;
      const float scale = n.scale[c], shift = n.shift[c];
      for (std::int64_t e = e0; e < e1; ++e)
        o[e] = Out::store(mix(In::load(a[e]), In::load(b[e]), lam, one_minus, stack_x) * scale + shift);
      e0 = e1;
    }
  } else if (n.on) {
    std::int64_t c = begin % n.channels;
    for (std::int64_t e = begin; e < end; ++e) {
      o[e] = Out::store(mix(In::load(a[e]), In::load(b[e]), lam, one_minus, stack_x) * n.scale[c] +
                        n.shift[c]);
      c = c + 1 == n.channels ? 0 : c + 1;
    }
  } else {
    for (std::int64_t e = begin; e < end; ++e)
      o[e] = Out::store(mix(In::load(a[e]), In::load(b[e]), lam, one_minus, stack_x));
  }
}

// The image line holding element e0, cut at `end`: it runs to line_end, and box b covers
// its elements [s0, s1) (s0 == s1: none). One division per line, not per element.
struct LineCut {
  std::int64_t line_end, s0, s1;
};

MIXUP_HD LineCut line_cut(const Geometry& g, const Box& box, std::int64_t e0, std::int64_t end) {
  const std::int64_t line = g.layout == Layout::kNCHW ? g.width : g.width * g.channels;
  const std::int64_t per_x = g.layout == Layout::kNCHW ? 1 : g.channels;
  const std::int64_t l = e0 / line, line_start = l * line;
  const std::int64_t y = g.layout == Layout::kNCHW ? l % g.height : l;
  LineCut c;
  c.line_end = line_start + line < end ? line_start + line : end;
  const bool hit = y >= box.y0 && y < box.y1 && box.x0 < box.x1;
  std::int64_t s0 = hit ? line_start + box.x0 * per_x : c.line_end;
  std::int64_t s1 = hit ? line_start + box.x1 * per_x : c.line_end;
  c.s0 = s0 < e0 ? e0 : (s0 > c.line_end ? c.line_end : s0);
  c.s1 = s1 < c.s0 ? c.s0 : (s1 > c.line_end ? c.line_end : s1);
  return c;
}

// Elements [begin, end) of src into o: the same bits when the dtype stays (CutMix pastes
// pixels, it does not compute them), else normalised from uint8.
template <class In, class Out>
MIXUP_HD void copy_range(const typename In::T* src, typename Out::T* o, std::int64_t begin, std::int64_t end,
                         const Normalize& n) {
  if constexpr (std::is_same_v<In, Out>) {
    for (std::int64_t e = begin; e < end; ++e) o[e] = src[e];
  } else if (n.layout == Layout::kNCHW) {
    for (std::int64_t e0 = begin; e0 < end;) {  // by runs of one channel
      const std::int64_t c = e0 / n.plane;
      const std::int64_t e1 = (c + 1) * n.plane < end ? (c + 1) * n.plane : end;
      const float scale = n.scale[c], shift = n.shift[c];
      for (std::int64_t e = e0; e < e1; ++e) o[e] = Out::store(In::load(src[e]) * scale + shift);
      e0 = e1;
    }
  } else {
    std::int64_t c = begin % n.channels;
    for (std::int64_t e = begin; e < end; ++e) {
      o[e] = Out::store(In::load(src[e]) * n.scale[c] + n.shift[c]);
      c = c + 1 == n.channels ? 0 : c + 1;
    }
  }
}

// Element e of a row as blend_range (mixup) or copy_range (CutMix, or kept whole: the box
// decides the side) write it; `ch` is e's channel (the normalisation's), `in_box` whether the
// partner's box covers e.
template <class In, class Out>
MIXUP_HD typename Out::T row_element(const typename In::T* a, const typename In::T* b, std::int64_t e,
                                     bool mixup, float lam, float one_minus, bool stack_x, bool in_box,
                                     std::int64_t ch, const Normalize& n) {
  if (mixup) {
    const float v = mix(In::load(a[e]), In::load(b[e]), lam, one_minus, stack_x);
    if constexpr (std::is_same_v<In, Out>) {
      return Out::store(v);  // normalisation is for uint8 input only (n.on is false here)
    } else {
      return n.on ? Out::store(v * n.scale[ch] + n.shift[ch]) : Out::store(v);
    }
  }
  const typename In::T* src = in_box ? b : a;
  if constexpr (std::is_same_v<In, Out>) {
    return src[e];
  } else {
    return Out::store(In::load(src[e]) * n.scale[ch] + n.shift[ch]);
  }
}

// The first run of box elements at or after e0, cut at `end` ({end, end}: none). Lines the
// box does not cross are skipped whole, so the elements between two runs are one copy.
struct Segment {
  std::int64_t s0, s1;
};

MIXUP_HD Segment next_box_segment(const Geometry& g, const Box& box, std::int64_t e0, std::int64_t end) {
  if (box.y0 >= box.y1 || box.x0 >= box.x1) return Segment{end, end};
  const bool nchw = g.layout == Layout::kNCHW;
  const std::int64_t line = nchw ? g.width : g.width * g.channels;
  const std::int64_t per_x = nchw ? 1 : g.channels;
  for (std::int64_t l = e0 / line; l * line < end;) {
    const std::int64_t y = nchw ? l % g.height : l;
    if (y < box.y0) {
      l += box.y0 - y;
    } else if (y >= box.y1) {
      l += g.height - y + box.y0;  // the next channel's first box row (NHWC: past the sample)
    } else {
      const std::int64_t s0 = l * line + box.x0 * per_x, s1 = l * line + box.x1 * per_x;
      if (s1 > e0) {
        const std::int64_t lo = s0 < e0 ? e0 : s0;
        return lo >= end ? Segment{end, end} : Segment{lo, s1 < end ? s1 : end};
      }
      ++l;
    }
  }
  return Segment{end, end};
}

// Row a with the box of row b pasted (a whole when the box is empty), elements [begin, end).
template <class In, class Out>
MIXUP_HD void cut_range(const typename In::T* a, const typename In::T* b, typename Out::T* o,
                        std::int64_t begin, std::int64_t end, const Geometry& g, const Box& box,
                        const Normalize& n) {
  for (std::int64_t e0 = begin; e0 < end;) {
    const Segment c = next_box_segment(g, box, e0, end);
    copy_range<In, Out>(a, o, e0, c.s0, n);
    copy_range<In, Out>(b, o, c.s0, c.s1, n);
    e0 = c.s1;
  }
}

// In place, element e of rows a and b of one pair where either side is mixup: what xa and xb
// (row a's and row b's values) become, from the values both held before. One row paired with
// itself (same_row: xa and xb are one element) is written once.
template <class T>
MIXUP_HD void pair_element(typename T::T& xa, typename T::T& xb, std::int64_t e, const Geometry& g,
                           MixKind ka, MixKind kb, Lambda la, Lambda lb, const Box& ba, const Box& bb,
                           bool stack_x, bool same_row) {
  const typename T::T ta = xa, tb = xb;
  const float va = T::load(ta), vb = T::load(tb);
  if (ka == MixKind::kMixup) xa = T::store(mix(va, vb, la.lam, la.one_minus, stack_x));
  else if (ka == MixKind::kCutMix && element_in_box(g, ba, e)) xa = tb;
  if (same_row) return;
  if (kb == MixKind::kMixup) xb = T::store(mix(vb, va, lb.lam, lb.one_minus, stack_x));
  else if (kb == MixKind::kCutMix && element_in_box(g, bb, e)) xb = ta;
}

// In place, rows a and b of one pair, elements [begin, end): each row becomes what its kind
// says (mixup: the blend; CutMix: the partner's box pasted; none: itself), from the values
// both rows held before. Without mixup only the box bytes move (swapped where the two boxes
// overlap).
template <class T>
MIXUP_HD void pair_in_place_range(typename T::T* ra, typename T::T* rb, std::int64_t begin, std::int64_t end,
                                  const Geometry& g, MixKind ka, MixKind kb, Lambda la, Lambda lb,
                                  const Box& ba, const Box& bb, bool stack_x, bool same_row) {
  if (ka == MixKind::kMixup || kb == MixKind::kMixup) {
    for (std::int64_t e = begin; e < end; ++e)
      pair_element<T>(ra[e], rb[e], e, g, ka, kb, la, lb, ba, bb, stack_x, same_row);
    return;
  }
  if (same_row) return;  // a row pasted with itself is itself
  const Box none{0, 0, 0, 0};
  const Box& pa = ka == MixKind::kCutMix ? ba : none;
  const Box& pb = kb == MixKind::kCutMix ? bb : none;
  // Per line: a's segment [a0, a1) takes b's values, b's [b0, b1) takes a's; where they
  // overlap, [o0, o1), the two swap. The runs are disjoint (o0 and o1 clamped into each
  // segment also cover an empty overlap), so no run reads what another has written.
  const auto copy = [](typename T::T* dst, const typename T::T* src, std::int64_t lo, std::int64_t hi) {
    for (std::int64_t e = lo; e < hi; ++e) dst[e] = src[e];
  };
  const auto clamp = [](std::int64_t v, std::int64_t lo, std::int64_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
  };
  for (std::int64_t e0 = begin; e0 < end;) {
    const LineCut ca = line_cut(g, pa, e0, end), cb = line_cut(g, pb, e0, end);
    const std::int64_t o0 = ca.s0 > cb.s0 ? ca.s0 : cb.s0, o1 = ca.s1 < cb.s1 ? ca.s1 : cb.s1;
    copy(ra, rb, ca.s0, clamp(o0, ca.s0, ca.s1));
    copy(ra, rb, clamp(o1, ca.s0, ca.s1), ca.s1);
    copy(rb, ra, cb.s0, clamp(o0, cb.s0, cb.s1));
    copy(rb, ra, clamp(o1, cb.s0, cb.s1), cb.s1);
    for (std::int64_t e = o0; e < o1; ++e) {
      const typename T::T t = ra[e];
      ra[e] = rb[e];
      rb[e] = t;
    }
    e0 = ca.line_end;
  }
}

// Target row i (partner j), classes [begin, end): label-smoothed one-hot of y_a and y_b, or
// the caller's soft rows, blended with the row's λ.
MIXUP_HD void targets_range(const BlendParams& p, std::int64_t i, std::int32_t j, float lam, float om,
                            std::int32_t begin, std::int32_t end) {
  const std::int64_t C = p.num_classes;
  float* t = p.targets_out + i * C;
  if (p.target_mode == TargetMode::kOneHot) {
    const float off = p.smoothing / static_cast<float>(C);
    const float on = (1.0f - p.smoothing) + off;
    const std::int32_t ya = p.labels[i], yb = p.labels[j];
    for (std::int32_t c = begin; c < end; ++c) t[c] = lam * (c == ya ? on : off) + om * (c == yb ? on : off);
  } else if (p.target_mode == TargetMode::kSoft) {
    const float* sa = p.soft_in + i * C;
    const float* sb = p.soft_in + static_cast<std::int64_t>(j) * C;
    for (std::int32_t c = begin; c < end; ++c) t[c] = lam * sa[c] + om * sb[c];
  }
}


// Elements a GPU block covers in one row: 256 threads × 4 vectors of 16 bytes of input.
constexpr int kBlendThreads = 256;
constexpr int kBlendVecsPerThread = 4;
MIXUP_HD std::int64_t blend_chunk_elems(DType in) {
  return static_cast<std::int64_t>(kBlendThreads) * kBlendVecsPerThread *
         (16 / static_cast<std::int64_t>(dtype_size(in)));
}

cudaError_t launch_blend(const BlendParams& p, cudaStream_t stream);
// Whether launch_blend can launch p's grid, asked before the pairing is enqueued: a call the
// blend must refuse then enqueues nothing.
cudaError_t blend_launch_check(const BlendParams& p);
// After a blend that failed to launch behind a pairing that ran: only the blend writes the
// caller's outputs, so they are untouched; this puts back the device step (graph mode) the
// pairing advanced, so the failed call leaves the step where it was.
cudaError_t launch_undo_step(std::uint64_t* device_step, const DeviceCheck* check, cudaStream_t stream);
// Whether the blend kernels this build runs on the current device wait for the pairing grid
// (their code for sm_90 or later): only then may they be launched programmatically.
bool blend_waits_for_pairing();

}  // namespace mixup::core
