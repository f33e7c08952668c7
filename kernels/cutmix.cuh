// What each λ stream mixes: nothing (probability 1 − prob), mixup, or CutMix (Yun et al.,
// 2019: a box of the partner pasted into the sample), and for CutMix the box and its λ.
// One stream per lambda_stream index, so a batch / a pair / a sample shares its choice, λ
// and box exactly as it shares its mixup λ today (timm's batch / pair / elem modes).
//
// Words of the kMixChoice stream, in this order: the "mixed at all" coin (only when
// prob < 1), the "CutMix rather than mixup" coin (only when 0 < switch_prob < 1), then for
// CutMix the box: with Beta(α, α) the centre row and column (uniform over the image) and the
// Beta draw; with minmax the two sides (uniform integers in [⌊H·lo⌋, ⌊H·hi⌋], likewise W)
// and the corner (uniform over the positions where the box fits). A mixup λ comes from the
// kLambda stream as it always has, so plain mixup draws the same bits as before CutMix.
//
// The box follows timm's rand_bbox: side = ⌊H·√(1 − λ)⌋, rows [cy − side/2, cy + side/2)
// clipped to the image (likewise columns); with correct_lam, λ = 1 − area / (H·W), the exact
// fraction of the sample's pixels kept (rounded once to float). A box may be empty (H or
// W = 1, or λ near 1): the sample is then kept whole and, corrected, λ = 1.
#pragma once

#include "streams.cuh"

namespace mixup::core {

enum class MixKind : std::int32_t { kNone = 0, kMixup = 1, kCutMix = 2 };

// Rows [y0, y1) × columns [x0, x1) of the partner, pasted; empty when y0 == y1 or x0 == x1.
struct Box {
  std::int32_t y0, x0, y1, x1;
};

MIXUP_HD std::int64_t box_area(const Box& b) {
  return static_cast<std::int64_t>(b.y1 - b.y0) * static_cast<std::int64_t>(b.x1 - b.x0);
}

MIXUP_HD bool box_holds(const Box& b, std::int64_t y, std::int64_t x) {
  return y >= b.y0 && y < b.y1 && x >= b.x0 && x < b.x1;
}

// A decimal fraction num / den (den a power of ten): a minmax bound as the person who typed it
// meant it. mixup_set_mixing stores the shortest decimal that reads back as the float given
// (std::to_chars): 0.7f, which is 0.699999988, becomes 7/10. Any decimal of up to 6
// significant digits survives float that way, so this is the value typed; timm computes
// int(H·0.7) in double from that same decimal. The side bound is then integer arithmetic,
// exact — ⌊10·0.7⌋ = 7 where 10·0.7f gives 6 — and the same on both backends, since both
// read this one value.
struct Decimal {
  std::int64_t num, den;  // num < 10^9, den <= 10^18: extent·num stays below 2^63
};

// ⌊extent·d⌋, exactly.
MIXUP_HD std::int32_t floor_times(std::int32_t extent, const Decimal& d) {
  return static_cast<std::int32_t>(static_cast<std::int64_t>(extent) * d.num / d.den);
}

// The validated mixing policy of a handle (mixup_mixing_t).
struct MixPolicy {
  bool plain;          // prob = 1 and no CutMix: every stream is mixup, nothing else is drawn
  double prob;         // chance a stream is mixed at all
  double switch_prob;  // chance a mixed stream takes CutMix (0: mixup only, 1: CutMix only)
  double cutmix_alpha;
  bool minmax;  // box sides uniform in [⌊H·lo⌋, ⌊H·hi⌋] instead of from a Beta λ
  Decimal lo, hi;
  bool correct_lam;
};

// Plain mixup: what a handle does until mixup_set_mixing, and what a caller's λ always is.
constexpr MixPolicy kPlainMixup{true, 1.0, 0.0, 1.0, false, Decimal{0, 1}, Decimal{0, 1}, true};

struct StreamMix {
  MixKind kind;
  Lambda l;  // the λ the targets carry: of the sample itself, and of its partner
  Box box;   // CutMix only
};

// Uniform in (0, 1) from one word, in double; P(u < p) = p within 2^-32.
MIXUP_HD double open_unit(std::uint32_t w) { return (static_cast<double>(w) + 0.5) * (1.0 / 4294967296.0); }

// One side of a Beta box: [c − side/2, c + side/2) clipped to [0, extent).
MIXUP_HD void clipped_side(std::int32_t centre, std::int32_t side, std::int32_t extent, std::int32_t& lo,
                           std::int32_t& hi) {
  const std::int32_t half = side / 2;
  lo = centre - half < 0 ? 0 : centre - half;
  hi = centre + half > extent ? extent : centre + half;
}

// λ of a CutMix box: the kept fraction (correct_lam), else the drawn λ (d its log-odds).
MIXUP_HD Lambda cutmix_lambda(const Box& b, std::int32_t height, std::int32_t width, bool correct, double d) {
  if (!correct) return lambda_from_log_odds(d, false);
  const double pixels = static_cast<double>(height) * static_cast<double>(width);
  const double area = static_cast<double>(box_area(b));
  return lambda_of(static_cast<float>((pixels - area) / pixels));
}

// The CutMix box (and λ) of one stream, from its words after the coins.
template <class Words>
MIXUP_HD StreamMix draw_cutmix(const MixPolicy& m, std::int32_t height, std::int32_t width, Words& g) {
  StreamMix r{MixKind::kCutMix, Lambda{1.0f, 0.0f}, Box{0, 0, 0, 0}};
  if (m.minmax) {
    const auto side_range = [&](std::int32_t extent, std::int32_t& lo_side, std::int32_t& span) {
      lo_side = floor_times(extent, m.lo);
      span = floor_times(extent, m.hi) - lo_side + 1;
    };
    std::int32_t h_lo, h_span, w_lo, w_span;
    side_range(height, h_lo, h_span);
    side_range(width, w_lo, w_span);
    const std::int32_t side_h = h_lo +
                                static_cast<std::int32_t>(bounded(g, static_cast<std::uint32_t>(h_span)));
    const std::int32_t side_w = w_lo +
                                static_cast<std::int32_t>(bounded(g, static_cast<std::uint32_t>(w_span)));
    r.box.y0 = static_cast<std::int32_t>(bounded(g, static_cast<std::uint32_t>(height - side_h + 1)));
    r.box.x0 = static_cast<std::int32_t>(bounded(g, static_cast<std::uint32_t>(width - side_w + 1)));
    r.box.y1 = r.box.y0 + side_h;
    r.box.x1 = r.box.x0 + side_w;
    r.l = cutmix_lambda(r.box, height, width, true, 0.0);
    return r;
  }
  const std::int32_t cy = static_cast<std::int32_t>(bounded(g, static_cast<std::uint32_t>(height)));
  const std::int32_t cx = static_cast<std::int32_t>(bounded(g, static_cast<std::uint32_t>(width)));
  const double d = beta_log_odds(m.cutmix_alpha, g);
  const double ratio = sqrt(
      sigmoid_pair(d).of_minus_t);  // √(1 − λ′); sqrt is correctly rounded on both sides
  clipped_side(cy, static_cast<std::int32_t>(static_cast<double>(height) * ratio), height, r.box.y0,
               r.box.y1);
  clipped_side(cx, static_cast<std::int32_t>(static_cast<double>(width) * ratio), width, r.box.x0, r.box.x1);
  r.l = cutmix_lambda(r.box, height, width, m.correct_lam, d);
  return r;
}

// Everything stream `stream` mixes with. `alpha`/`fold` are mixup's (config.alpha, config.fold).
template <class Words>
MIXUP_HD StreamMix draw_stream_mix(const StreamAddress& at, const MixPolicy& m, double alpha, bool fold,
                                   std::int32_t height, std::int32_t width, std::uint32_t stream) {
  MixKind kind = MixKind::kMixup;
  if (!m.plain) {
    Words g(at.seed, subsequence_of(at.salt, Purpose::kMixChoice, stream), offset_of(at.step));
    if (m.prob < 1.0 && !(open_unit(g.next()) < m.prob))
      return StreamMix{MixKind::kNone, Lambda{1.0f, 0.0f}, Box{0, 0, 0, 0}};
    if (m.switch_prob >= 1.0) kind = MixKind::kCutMix;
    else if (m.switch_prob > 0.0 && open_unit(g.next()) < m.switch_prob) kind = MixKind::kCutMix;
    if (kind == MixKind::kCutMix) return draw_cutmix(m, height, width, g);
  }
  const Lambda l = lambda_from_log_odds(draw_log_odds<Words>(at, alpha, stream), fold);
  return StreamMix{MixKind::kMixup, l, Box{0, 0, 0, 0}};
}

}  // namespace mixup::core
