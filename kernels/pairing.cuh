// Pairing family: per training step, draws every sample's λ and its partner, validates the
// labels (and a caller's λ / permutation). This is the one small launch before the blend;
// nothing here touches image data, and nothing here writes a caller's output: the blend writes
// the stacked targets, once the verdict of the whole call is known.
//
// Permutation: 64-bit Philox keys, one per sample; σ = the samples ordered by (key, index);
// runs of equal keys (probability ≈ B²/2^65) are then shuffled in place with further Philox
// draws. Equal keys are exchangeable, so the shuffle makes the result exactly uniform — the
// tie break by index that biases other implementations (PyTorch PR 54113) never decides an
// order. Tests shorten the keys (`key_bits`) to force ties and check uniformity by chi-square.
//
// On the GPU σ is found by counting, not by a serial sort: the position of sample i is the
// number of keys below its key plus the number of equal keys with a smaller index
// (`RankCount`), so every sample is placed independently, by as many blocks as the batch
// needs. A run of equal keys is written whole by the thread of its lowest index
// (`place_sample`), the other members stay silent. The CPU backend sorts; both reach the same
// σ because the order (key, index) is total. λ is drawn per stream, one thread each.
#pragma once

#include "check.cuh"
#include "cutmix.cuh"

#include <cuda_runtime_api.h>

namespace mixup::core {

enum class Pairing : int { kPermutation = 0, kInvolution = 1, kFlip = 2 };
enum class LambdaMode : int { kPerSample = 0, kPerBatch = 1, kPerPair = 2 };

MIXUP_HD std::uint64_t perm_key(const StreamAddress& at, std::uint32_t i, int key_bits) {
  Philox4x32 g = Philox4x32::at_aligned(at.seed, subsequence_of(at.salt, Purpose::kPermKeys, i),
                                        offset_of(at.step));
  const std::uint32_t hi = g.next();
  const std::uint32_t lo = g.next();
  const std::uint64_t k = u64_from_words(hi, lo);
  return key_bits >= 64 ? k : (k >> (64 - key_bits));
}

// Fisher–Yates over one run of equal keys, sorted positions [start, start + len).
MIXUP_HD void shuffle_tie_run(const StreamAddress& at, std::uint32_t start, std::uint32_t len,
                              std::int32_t* order) {
  Philox4x32 g(at.seed, subsequence_of(at.salt, Purpose::kTieShuffle, start), offset_of(at.step));
  for (std::uint32_t k = len - 1; k > 0; --k) {
    const std::uint32_t j = bounded(g, k + 1);
    const std::int32_t t = order[start + k];
    order[start + k] = order[start + j];
    order[start + j] = t;
  }
}

// Where sample i's key falls among all keys: lt keys are smaller, eq are equal (itself
// included), eq_before of those have a smaller index. Integer sums, so any split of the keys
// over threads gives the same counts.
struct RankCount {
  std::uint32_t lt = 0, eq = 0, eq_before = 0;
};

template <class Keys>
MIXUP_HD void count_keys(const Keys& keys, std::int32_t begin, std::int32_t end, std::int32_t stride,
                         std::uint64_t key_i, std::int32_t i, RankCount& c) {
  for (std::int32_t j = begin; j < end; j += stride) {
    const std::uint64_t k = keys[j];
    c.lt += k < key_i;
    c.eq += k == key_i;
    c.eq_before += (k == key_i) & (j < i);
  }
}

// The keys as the GPU's shared memory holds them: high and low halves in two arrays, so the
// count can compare 32-bit high halves, four per 16-byte load.
struct SplitKeys {
  const std::uint32_t* hi;
  const std::uint32_t* lo;
  MIXUP_HD std::uint64_t operator[](std::int32_t j) const { return u64_from_words(hi[j], lo[j]); }
};

// Four consecutive high halves: one 16-byte load on the GPU.
struct alignas(16) FourHalves {
  std::uint32_t v[4];
};

// Where key_i's high half falls among the high halves: lt below it, le at or below it (itself
// included). Reads chunks of four, `first`, `first + stride`, … below `chunks`; the array is
// padded to whole chunks with 0xFFFFFFFF, which is never below a half and is at or below one
// only when that half is 0xFFFFFFFF itself — a false tie, sent to the exact count.
struct HighCount {
  std::uint32_t lt = 0, le = 0;
};

// lt += v < h, le += v ≤ h
MIXUP_HD void count_half(std::uint32_t v, std::uint32_t h, std::uint32_t& lt, std::uint32_t& le) {
#if defined(__CUDA_ARCH__)
  // one compare and one predicated add each (the compiler's own choice is a select: three)
  asm("{\n\t.reg .pred p;\n\tsetp.lt.u32 p, %2, %3;\n\t@p add.u32 %0, %0, 1;\n\t"
      "setp.le.u32 p, %2, %3;\n\t@p add.u32 %1, %1, 1;\n\t}"
      : "+r"(lt), "+r"(le)
      : "r"(v), "r"(h));
#else
  lt += v < h;
  le += v <= h;
#endif
}

MIXUP_HD void count_high_halves(const FourHalves* hi, std::int32_t first, std::int32_t chunks,
                                std::int32_t stride, std::uint32_t hi_i, HighCount& c) {
  std::uint32_t lt[2] = {0, 0}, le[2] = {0, 0};  // two chains each, so the adds overlap
  for (std::int32_t q = first; q < chunks; q += stride) {
    const FourHalves f = hi[q];
    for (int k = 0; k < 4; ++k) count_half(f.v[k], hi_i, lt[k & 1], le[k & 1]);
  }
  c.lt += lt[0] + lt[1];
  c.le += le[0] + le[1];
}

// The full count follows from the high halves alone when no other key shares key_i's high
// half (le − lt = 1): every other key is then ordered by its high half, and key_i is its own
// run. Otherwise (probability about B/2^32 per sample with 64-bit keys; always with keys of 32
// bits or fewer) the caller counts the whole keys.
MIXUP_HD bool rank_from_high(const HighCount& h, RankCount& c) {
  if (h.le - h.lt != 1) return false;
  c.lt = h.lt;
  c.eq = 1;
  c.eq_before = 0;
  return true;
}

// Writes sample i's place in σ (and rank = σ⁻¹) from its counts. A sample with a unique key
// takes position lt. A run of equal keys is written by its lowest index alone: its members in
// index order (the sorted order), then the tie shuffle — the same steps as the CPU's sort.
template <class Keys>
MIXUP_HD void place_sample(const StreamAddress& at, const Keys& keys, std::int32_t batch, std::int32_t i,
                           const RankCount& c, std::int32_t* sigma, std::int32_t* rank) {
  if (c.eq == 1) {
    sigma[c.lt] = i;
    rank[i] = static_cast<std::int32_t>(c.lt);
    return;
  }
  if (c.eq_before != 0) return;
  const std::uint64_t key_i = keys[i];
  std::uint32_t pos = c.lt;
  for (std::int32_t j = i; j < batch && pos < c.lt + c.eq; ++j)
    if (keys[j] == key_i) sigma[pos++] = j;
  shuffle_tie_run(at, c.lt, c.eq, sigma);
  for (pos = c.lt; pos < c.lt + c.eq; ++pos) rank[sigma[pos]] = static_cast<std::int32_t>(pos);
}

// partner of sample `pos`-th in the uniformly shuffled order σ, for each pairing
MIXUP_HD void compose_partner(Pairing pairing, const std::int32_t* sigma, std::int32_t batch,
                              std::int32_t pos, std::int32_t* perm) {
  if (pairing == Pairing::kPermutation) {
    perm[pos] = sigma[pos];
  } else if (pairing == Pairing::kInvolution) {
    // σ read in pairs: (σ[2k], σ[2k+1]) is a uniformly random perfect matching
    const std::int32_t mate = (pos % 2 == 0) ? pos + 1 : pos - 1;
    perm[sigma[pos]] = mate < batch ? sigma[mate] : sigma[pos];
  } else {
    perm[pos] = batch - 1 - pos;
  }
}

MIXUP_HD std::uint32_t lambda_stream(LambdaMode mode, std::int32_t i, std::int32_t partner) {
  if (mode == LambdaMode::kPerBatch) return 0;
  if (mode == LambdaMode::kPerPair) return static_cast<std::uint32_t>(i < partner ? i : partner);
  return static_cast<std::uint32_t>(i);
}

// What the GPU blend reads to find each row's partner and λ: σ and its inverse, λ per stream
// (lambda_stream), or the caller's own partners and λ (and, replayed, kind and box). Written
// by the pairing launch.
struct PairsView {
  const std::int32_t* sigma;
  const std::int32_t* rank;
  const float* lam;                // [stream]
  const float* one_minus;          // [stream], fl(1 − lam) (lambda_of)
  const std::int32_t* given_perm;  // or partners already composed (the CPU backend's)
  const float* given_lambda;
  const std::int32_t* kind;        // [stream] MixKind; null: every stream is mixup (MixPolicy::plain)
  const Box* box;                  // [stream] CutMix boxes
  const std::int32_t* given_kind;  // [row] replayed MixKind; null: every given row is mixup
  const Box* given_box;            // [row] replayed CutMix boxes (read for CutMix rows only)
  Pairing pairing;
  LambdaMode lambda_mode;
  std::int32_t batch;
};

// The same partner compose_partner gives sample i, found from i instead of from its position.
MIXUP_HD std::int32_t partner_of(const PairsView& v, std::int32_t i) {
  if (v.given_perm != nullptr) return v.given_perm[i];
  if (v.pairing == Pairing::kFlip) return v.batch - 1 - i;
  if (v.pairing == Pairing::kPermutation) return v.sigma[i];
  const std::int32_t pos = v.rank[i];
  const std::int32_t mate = (pos % 2 == 0) ? pos + 1 : pos - 1;
  return mate < v.batch ? v.sigma[mate] : i;
}

MIXUP_HD Lambda lambda_of(const PairsView& v, std::int32_t i, std::int32_t partner) {
  if (v.given_lambda != nullptr) return lambda_of(v.given_lambda[i]);
  const std::uint32_t s = lambda_stream(v.lambda_mode, i, partner);
  return Lambda{v.lam[s], v.one_minus[s]};
}

// Everything row i is mixed with, as both backends resolve it.
struct RowMix {
  std::int32_t partner;  // what perm and y_b report: i itself when its stream is not mixed
  std::int32_t mate;     // the pairing's partner (in place: the row written together with i)
  MixKind kind;
  Lambda l;  // {1, 0} when not mixed
  Box box;   // CutMix only
};

// A caller's λ and partners are mixup unless a replayed kind says otherwise: the mixing
// policy shapes the handle's draws only. A replayed row's mate is its reported partner (an
// unmixed row's is itself), so in place a row is written by its own pair (blend.cu).
MIXUP_HD RowMix row_mix(const PairsView& v, std::int32_t i) {
  const std::int32_t mate = partner_of(v, i);
  RowMix r{mate, mate, MixKind::kMixup, lambda_of(v, i, mate), Box{0, 0, 0, 0}};
  if (v.given_lambda != nullptr) {
    if (v.given_kind == nullptr) return r;
    r.kind = static_cast<MixKind>(v.given_kind[i]);
    if (r.kind == MixKind::kCutMix) r.box = v.given_box[i];
    return r;
  }
  if (v.kind == nullptr) return r;
  const std::uint32_t s = lambda_stream(v.lambda_mode, i, mate);
  r.kind = static_cast<MixKind>(v.kind[s]);
  if (r.kind == MixKind::kNone) r.partner = i;
  if (r.kind == MixKind::kCutMix) r.box = v.box[s];
  return r;
}

// ---- CUDA launcher (defined in pairing.cu) ----

struct PairingLaunch {
  StreamAddress at;
  std::uint64_t* device_step;  // graph mode: read here, and advanced by one; else null
  std::int32_t batch;
  Pairing pairing;
  LambdaMode lambda_mode;
  bool fold;
  double alpha;
  MixPolicy mix;
  std::int32_t height, width;  // of the images, for CutMix boxes
  int key_bits;
  // inputs (device memory); null where unused
  const std::int32_t* labels;
  std::int32_t num_classes;
  const float* given_lambda;
  const std::int32_t* given_perm;
  // replay (mixup_apply_replay): the partners need not be a permutation (an unmixed row is its
  // own partner); kind per row (null: all mixup) and box per row (null: no CutMix row may occur)
  bool replay;
  bool in_place;  // replay in place: each mixing row's partner must mix with it or be unmixed
  const std::int32_t* given_kind;
  const Box* given_box;
  // handle scratch (device memory, max_batch entries); what the blend reads (PairsView)
  std::int32_t* sigma;
  std::int32_t* rank;
  float* lam;          // per λ stream
  float* one_minus;    // per λ stream
  std::int32_t* kind;  // per λ stream (MixKind), unused when mix.plain
  Box* box;            // per λ stream
  // handle scratch that is all zero between calls (each call's last block restores it)
  std::int32_t* seen;          // [max_batch] per value of a given permutation: INT_MAX − its first index
  std::int32_t* first_bad;     // [kNumCheckCodes] INT_MAX − first offending index; 0 = none
  std::uint32_t* arrived;      // blocks of this call that are done
  DeviceCheck* check;          // this call's verdict (the blend reads it)
  DeviceCheck* first_failure;  // the first failed verdict since the last poll; kept until then
  // caller outputs, each optional: on the CPU written by the pairing step, on the GPU by the
  // blend (once the verdict of the whole call is known)
  std::int32_t* perm_out;
  std::int32_t* y_a;
  std::int32_t* y_b;
  float* lam_out;
  std::int32_t* kind_out;  // MixKind of each sample
  Box* box_out;            // its CutMix box (empty unless CutMix)
  // scratch for batches above kRankMax (device memory, sized by pairing_workspace_bytes)
  void* workspace;
  std::size_t workspace_bytes;
};

// Batches up to this size find σ by counting in shared memory (every block holds all keys).
constexpr std::int32_t kRankMax = 4096;

// A replayed CutMix row's box: -1 when it is a box inside the image, else the first coordinate
// (0..3: y0, x0, y1, x1) that is not — 0 <= y0 <= y1 <= height, 0 <= x0 <= x1 <= width — or 4
// when no boxes were given.
MIXUP_HD int box_fault(const Box* boxes, std::int32_t i, std::int32_t height, std::int32_t width) {
  if (boxes == nullptr) return 4;
  const Box b = boxes[i];
  if (b.y0 < 0) return 0;
  if (b.x0 < 0) return 1;
  if (b.y1 < b.y0 || b.y1 > height) return 2;
  if (b.x1 < b.x0 || b.x1 > width) return 3;
  return -1;
}

// The checks of row i of a replayed call beyond λ and partner ranges, on both backends (the
// CPU's loop, the pairing kernel's validate_sample): flag(code, i) for each that fails. An
// out-of-range partner is flagged elsewhere and read nowhere here.
template <class Flag>
MIXUP_HD void check_replayed_row(const PairingLaunch& p, std::int32_t i, Flag&& flag) {
  const std::int32_t j = p.given_perm[i];
  const bool j_ok = j >= 0 && j < p.batch;
  const std::int32_t k = p.given_kind != nullptr ? p.given_kind[i]
                                                 : static_cast<std::int32_t>(MixKind::kMixup);
  if (k < static_cast<std::int32_t>(MixKind::kNone) || k > static_cast<std::int32_t>(MixKind::kCutMix)) {
    flag(CheckCode::kKindOutOfRange, i);
    return;
  }
  const MixKind kind = static_cast<MixKind>(k);
  if (kind == MixKind::kNone && (j != i || !(p.given_lambda[i] == 1.0f)))
    flag(CheckCode::kUnmixedRowMixes, i);
  if (kind == MixKind::kCutMix && box_fault(p.given_box, i, p.height, p.width) >= 0)
    flag(CheckCode::kBoxOutOfRange, i);
  if (p.in_place && kind != MixKind::kNone && j_ok && j != i) {
    // j is written by its own pair; only a j that is untouched or written with i is safe to read
    const bool j_unmixed = p.given_kind != nullptr &&
                           p.given_kind[j] == static_cast<std::int32_t>(MixKind::kNone);
    if (p.given_perm[j] != i && !j_unmixed) flag(CheckCode::kInPlaceNotPaired, i);
  }
}

// The one decoder of the pairing's checks, on both backends: from each check's first offending
// sample (kNoIndex: none) to the verdict — the lowest code first — with the value it reports.
MIXUP_HD DeviceCheck decode_first_failures(const PairingLaunch& p, const std::int32_t* first) {
  for (int code = 1; code < kNumCheckCodes; ++code) {
    const std::int32_t i = first[code];
    if (i == kNoIndex) continue;
    DeviceCheck c{code, i, 0, 0};
    switch (static_cast<CheckCode>(code)) {
      case CheckCode::kLabelOutOfRange: c.value = p.labels[i]; break;
      case CheckCode::kPermOutOfRange:
      case CheckCode::kPermNotBijective: c.value = p.given_perm[i]; break;
      case CheckCode::kLambdaOutOfRange:
        c.value = static_cast<std::int32_t>(bits_of(p.given_lambda[i]));
        break;
      case CheckCode::kKindOutOfRange: c.value = p.given_kind[i]; break;
      case CheckCode::kUnmixedRowMixes:
        c.value = p.given_perm[i];
        c.detail = static_cast<std::int32_t>(bits_of(p.given_lambda[i]));
        break;
      case CheckCode::kBoxOutOfRange:
        c.detail = box_fault(p.given_box, i, p.height, p.width);
        if (c.detail < 4) {
          const Box b = p.given_box[i];
          c.value = c.detail == 0 ? b.y0 : c.detail == 1 ? b.x0 : c.detail == 2 ? b.y1 : b.x1;
        }
        break;
      case CheckCode::kInPlaceNotPaired:
        c.value = p.given_perm[i];
        c.detail = p.given_perm[c.value];
        break;
      case CheckCode::kOk: break;
    }
    return c;
  }
  return DeviceCheck{0, 0, 0, 0};
}

MIXUP_HD PairsView pairs_view(const PairingLaunch& p) {
  const std::int32_t* kind = p.mix.plain ? nullptr : p.kind;
  return PairsView{p.sigma, p.rank,       p.lam,       p.one_minus, p.given_perm,  p.given_lambda, kind,
                   p.box,   p.given_kind, p.given_box, p.pairing,   p.lambda_mode, p.batch};
}

std::size_t pairing_workspace_bytes(std::int32_t max_batch);
// Enqueues the pairing work of one call. The kernel that follows it on the stream may be
// launched with programmatic stream serialization: the pairing lets it start early, and it
// must wait (griddepcontrol.wait) before it reads anything the pairing writes.
cudaError_t launch_pairing(const PairingLaunch& p, cudaStream_t stream);

}  // namespace mixup::core
