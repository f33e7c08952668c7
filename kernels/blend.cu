// CUDA side of the blend family. One block covers one chunk of one row: 16-byte loads of the
// row and of its partner, scalar prologue/tail where the row start is not 16-byte aligned,
// a scalar path when the row, its partner and the output disagree in alignment (row sizes
// that are not a multiple of the vector width). The chunk-0 block of each row also writes
// that row's targets (stacked y_a, y_b, λ, partner; or the [B, C] rows). 64-bit indexing.
//
// Launched right behind the pairing with programmatic stream serialization (Hopper): the
// blocks start while the pairing still runs, pull their own row towards L2, then wait for
// the pairing grid (griddepcontrol.wait) before they read a partner, a λ or the verdict.
#include "blend.cuh"
#include "pdl.cuh"

#include <type_traits>

namespace mixup::core {
namespace {

template <class In>
constexpr int kVec = 16 / static_cast<int>(sizeof(typename In::T));

// One 128-bit store (a plain uint4 assignment from a local array is split into four 32-bit
// stores by NVVM); evict-first, so the streamed output leaves L2 to the partners' reads.
__device__ __forceinline__ void store16(uint4* dst, uint4 v) { __stcs(dst, v); }

// Normalises (uint8 input) and stores one vector of V values at element e.
template <class In, class Out>
__device__ __forceinline__ void store_vector(typename Out::T* o, std::int64_t e, const float (&v)[kVec<In>],
                                             const Normalize& n) {
  constexpr int V = kVec<In>;
  alignas(16) typename Out::T vo[V];
  if (n.on) {
    // one division per vector; a vector crosses at most one NCHW plane boundary when
    // plane ≥ V, and walks the channels in order in NHWC
    std::int64_t c = channel_of(n, e);
    const std::int64_t next_plane = (c + 1) * n.plane;
    std::int64_t nhwc_c = c;  // NHWC: the channel walks with the element, wrapping (no modulo)
#pragma unroll
    for (int k = 0; k < V; ++k) {
      std::int64_t ck = c;
      if (n.layout == Layout::kNCHW) {
        ck = (n.plane >= V) ? (e + k >= next_plane ? c + 1 : c) : channel_of(n, e + k);
      } else {
        ck = nhwc_c;
        nhwc_c = nhwc_c + 1 == n.channels ? 0 : nhwc_c + 1;
      }
      vo[k] = Out::store(v[k] * n.scale[ck] + n.shift[ck]);
    }
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) vo[k] = Out::store(v[k]);
  }
  constexpr int kOutBytes = V * static_cast<int>(sizeof(typename Out::T));
#pragma unroll
  for (int q = 0; q < kOutBytes / 16; ++q)
    store16(reinterpret_cast<uint4*>(o + e) + q, reinterpret_cast<const uint4*>(vo)[q]);
}

// 16 bytes global → shared without passing through registers (cp.async, sm_80+; a plain
// load and store before that), and the wait for this thread's copies.
__device__ __forceinline__ void copy16_async(uint4* smem, const uint4* gmem) {
#if __CUDA_ARCH__ >= 800
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(dst), "l"(gmem) : "memory");
#else
  *smem = __ldg(gmem);
#endif
}

__device__ __forceinline__ void copies_commit() {
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

__device__ __forceinline__ void copies_wait() {
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group 0;" ::: "memory");
#endif
}

// Mixes one vector of the row (bits ra) with one of its partner (bits rb) and stores it at e.
template <class In, class Out>
__device__ __forceinline__ void mix_vector(uint4 ra, uint4 rb, typename Out::T* o, std::int64_t e, float lam,
                                           float om, bool stack_x, const Normalize& n) {
  constexpr int V = kVec<In>;
  // 16-byte aligned locals: they are read and written as uint4
  alignas(16) typename In::T va[V];
  alignas(16) typename In::T vb[V];
  *reinterpret_cast<uint4*>(va) = ra;
  *reinterpret_cast<uint4*>(vb) = rb;
  float v[V];
#pragma unroll
  for (int k = 0; k < V; ++k) v[k] = mix(In::load(va[k]), In::load(vb[k]), lam, om, stack_x);
  store_vector<In, Out>(o, e, v, n);
}

template <class In, class Out>
__device__ __forceinline__ void blend_vector(const typename In::T* a, const typename In::T* b,
                                             typename Out::T* o, std::int64_t e, float lam, float om,
                                             bool stack_x, const Normalize& n) {
  const uint4 ra = stack_x ? uint4{0, 0, 0, 0} : __ldg(reinterpret_cast<const uint4*>(a + e));
  mix_vector<In, Out>(ra, __ldg(reinterpret_cast<const uint4*>(b + e)), o, e, lam, om, stack_x, n);
}

// Every row of the call is mixup (no kind to read: plain policy, or a caller's λ without kinds),
// so a block knows before the pairing's verdict that it will read its whole row.
__device__ bool every_row_mixup(const PairsView& v) {
  return v.given_lambda != nullptr ? v.given_kind == nullptr : v.kind == nullptr;
}

// Which of the V elements from e lie in the box: one pair of 32-bit divisions per vector
// (rows below 2^31 elements), then a walk along the image line.
template <int V, class Index>
__device__ __forceinline__ unsigned box_mask(const Geometry& g, const Box& box, Index e) {
  const Index W = static_cast<Index>(g.width), H = static_cast<Index>(g.height),
              C = static_cast<Index>(g.channels);
  Index c, y, x;  // NCHW: c is not walked (a vector stays in its plane's rows, wrapping y)
  element_coords(g, e, c, y, x);
  unsigned mask = 0;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    if (box_holds(box, static_cast<std::int64_t>(y), static_cast<std::int64_t>(x))) mask |= 1u << k;
    if (g.layout == Layout::kNHWC && ++c < C) continue;
    c = 0;
    if (++x == W) {
      x = 0;
      if (++y == H) y = 0;
    }
  }
  return mask;
}

// CutMix: the row with its partner's box pasted; each side is loaded only where it is used.
template <class In, class Out>
__device__ __forceinline__ void cut_vector(const typename In::T* a, const typename In::T* b,
                                           typename Out::T* o, std::int64_t e, const Geometry& g,
                                           const Box& box, bool small_rows, const Normalize& n) {
  constexpr int V = kVec<In>;
  const unsigned mask = small_rows ? box_mask<V>(g, box, static_cast<std::uint32_t>(e))
                                   : box_mask<V>(g, box, e);
  alignas(16) typename In::T va[V];
  alignas(16) typename In::T vb[V];
  if (mask != (1u << V) - 1u) *reinterpret_cast<uint4*>(va) = __ldg(reinterpret_cast<const uint4*>(a + e));
  if (mask != 0u) *reinterpret_cast<uint4*>(vb) = __ldg(reinterpret_cast<const uint4*>(b + e));
  if constexpr (std::is_same_v<In, Out>) {  // the same bits, as copy_range writes them on the CPU
#pragma unroll
    for (int k = 0; k < V; ++k) va[k] = (mask >> k) & 1u ? vb[k] : va[k];
    store16(reinterpret_cast<uint4*>(o + e), *reinterpret_cast<const uint4*>(va));
  } else {  // an else, not a return: the conversion is then not instantiated for In == Out (nvcc #128-D)
    float v[V];
#pragma unroll
    for (int k = 0; k < V; ++k) v[k] = In::load((mask >> k) & 1u ? vb[k] : va[k]);
    store_vector<In, Out>(o, e, v, n);
  }
}

// Asks L2 for this block's part of a row while the pairing still runs (one line per thread).
__device__ void prefetch_chunk(const void* row, std::int64_t begin_byte, std::int64_t end_byte) {
  const std::int64_t at = begin_byte + static_cast<std::int64_t>(threadIdx.x) * 128;
  if (at < end_byte) asm volatile("prefetch.global.L2 [%0];" ::"l"(static_cast<const char*>(row) + at));
}

// The row's partner, λ, kind and box, and — from the chunk-0 block — its targets. Only after
// the verdict.
__device__ RowMix resolve_row(const BlendParams& p, std::int64_t row, std::int64_t chunk) {
  const std::int32_t i = static_cast<std::int32_t>(row);
  const RowMix r = row_mix(p.pairs, i);
  if (chunk != 0) return r;
  if (threadIdx.x == 0) {
    if (p.perm_out != nullptr) p.perm_out[i] = r.partner;
    if (p.lam_out != nullptr) p.lam_out[i] = r.l.lam;
    if (p.kind_out != nullptr) p.kind_out[i] = static_cast<std::int32_t>(r.kind);
    if (p.box_out != nullptr) p.box_out[i] = r.box;
    if (p.y_a != nullptr) p.y_a[i] = p.labels[i];
    if (p.y_b != nullptr) p.y_b[i] = p.labels[r.partner];
  }
  if (p.target_mode != TargetMode::kNone) {
    for (std::int32_t c = threadIdx.x; c < p.num_classes; c += blockDim.x)
      targets_range(p, row, r.partner, r.l.lam, r.l.one_minus, c, c + 1);
  }
  return r;
}

// One element where the vectors cannot go (prologue, tail, misaligned rows).
template <class In, class Out>
__device__ void scalar_element(const BlendParams& p, const RowMix& rm, const typename In::T* a,
                               const typename In::T* b, typename Out::T* o, std::int64_t e) {
  if (rm.kind == MixKind::kMixup)
    blend_range<In, Out>(a, b, o, e, e + 1, rm.l.lam, rm.l.one_minus, p.stack_x, p.norm);
  else cut_range<In, Out>(a, b, o, e, e + 1, p.geom, rm.box, p.norm);
}

// Blocks per SM the register budget must allow: ptxas, left to itself, kept some kernels at 64
// registers and spilled (up to 484 bytes for uint8 → bf16); with these bounds none spills
// (nvcc -Xptxas -v: 72 registers for f32/f16/bf16, 90–92 for uint8 input, whose 16-byte
// vectors carry 16 elements each). Unmeasured on a GPU.
template <class In>
constexpr int kBlendMinBlocks = std::is_same_v<In, U8> ? 2 : 3;

template <class In, class Out>
__global__ void __launch_bounds__(kBlendThreads, kBlendMinBlocks<In>)
    blend_kernel(BlendParams p, std::int64_t chunks_per_row) {
  const std::int64_t row = static_cast<std::int64_t>(blockIdx.x) / chunks_per_row;
  const std::int64_t chunk = static_cast<std::int64_t>(blockIdx.x) % chunks_per_row;
  const std::int64_t n = p.sample_elems;
  const auto* x = static_cast<const typename In::T*>(p.x);
  const typename In::T* a = x + row * n;
  typename Out::T* o = static_cast<typename Out::T*>(p.out) + row * n;

  constexpr int V = kVec<In>;
  constexpr std::size_t kOutAlign = (V * sizeof(typename Out::T)) < 16 ? V * sizeof(typename Out::T) : 16;
  const std::int64_t chunk_elems = blend_chunk_elems(p.in_type);
  const auto addr = [](const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr); };
  const std::int64_t misalign = static_cast<std::int64_t>((addr(a) % 16) / sizeof(typename In::T));
  const std::int64_t prologue = misalign == 0 ? 0 : (V - misalign < n ? V - misalign : n);
  const std::int64_t nvec = (n - prologue) / V;
  const std::int64_t v_begin = chunk * (chunk_elems / V);
  const std::int64_t v_end = min(nvec, v_begin + chunk_elems / V);
  const bool own_aligned = addr(a + prologue) % 16 == 0 && addr(o + prologue) % kOutAlign == 0 &&
                           kOutAlign == 16;

  // Mixup with rows a whole number of 16-byte vectors apart (every partner then aligned as the
  // row): the vector path is certain, so the block starts loading its part of its own row
  // before it waits for the pairing — x is not written by the pairing — and, after the wait,
  // has all its partner loads in flight at once (kBlendVecsPerThread per thread).
  const bool early = own_aligned && !p.stack_x && every_row_mixup(p.pairs) &&
                     (n * static_cast<std::int64_t>(sizeof(typename In::T))) % 16 == 0;
  // this thread's vectors: first + j·kBlendThreads for j < mine (at most kBlendVecsPerThread)
  const std::int64_t first = v_begin + threadIdx.x;
  const int mine = first < v_end ? static_cast<int>((v_end - first + kBlendThreads - 1) / kBlendThreads) : 0;
  // The row's vectors wait in shared memory (16 KiB a block), not in registers: held across
  // the wait and the row's resolution, 16 registers of them made the f32 kernel spill.
  __shared__ uint4 own[kBlendVecsPerThread][kBlendThreads];
  if (early) {
    const uint4* a4 = reinterpret_cast<const uint4*>(a + prologue) + first;
#pragma unroll
    for (int j = 0; j < kBlendVecsPerThread; ++j)
      if (j < mine) copy16_async(&own[j][threadIdx.x], a4 + j * kBlendThreads);
    copies_commit();
  } else if (p.after_pairing && !p.stack_x) {
    const std::int64_t bytes = n * static_cast<std::int64_t>(sizeof(typename In::T));
    const std::int64_t chunk_bytes = chunk_elems * static_cast<std::int64_t>(sizeof(typename In::T));
    prefetch_chunk(a, chunk * chunk_bytes, min(bytes, (chunk + 1) * chunk_bytes));
  }
  pdl_wait();
  if (check_failed(*p.check)) {
    if (early) copies_wait();  // no copy into shared memory outlives the block
    return;
  }
  const RowMix rm = resolve_row(p, row, chunk);
  const std::int64_t partner = rm.partner;
  const float lam = rm.l.lam, om = rm.l.one_minus;
  const bool cut = rm.kind != MixKind::kMixup;  // CutMix, or the row kept whole (empty box)
  const bool small_rows = n <= 0x7FFFFFFFll;
  const typename In::T* b = x + partner * n;
  const bool vector_ok = own_aligned && addr(b + prologue) % 16 == 0;

  if (early) {
    const uint4* b4 = reinterpret_cast<const uint4*>(b + prologue) + first;
    uint4 other[kBlendVecsPerThread];
#pragma unroll
    for (int j = 0; j < kBlendVecsPerThread; ++j)
      if (j < mine) other[j] = __ldg(b4 + j * kBlendThreads);
    copies_wait();  // this thread's own copies only: no barrier needed
#pragma unroll
    for (int j = 0; j < kBlendVecsPerThread; ++j)
      if (j < mine)
        mix_vector<In, Out>(own[j][threadIdx.x], other[j], o, prologue + (first + j * kBlendThreads) * V, lam,
                            om, false, p.norm);
  } else if (vector_ok) {
    if (cut) {
      for (std::int64_t v = v_begin + threadIdx.x; v < v_end; v += blockDim.x)
        cut_vector<In, Out>(a, b, o, prologue + v * V, p.geom, rm.box, small_rows, p.norm);
    } else {
      for (std::int64_t v = v_begin + threadIdx.x; v < v_end; v += blockDim.x)
        blend_vector<In, Out>(a, b, o, prologue + v * V, lam, om, p.stack_x, p.norm);
    }
  }
  if (early || vector_ok) {
    if (chunk == 0) {
      const std::int64_t tail = prologue + nvec * V;
      for (std::int64_t e = threadIdx.x; e < prologue; e += blockDim.x)
        scalar_element<In, Out>(p, rm, a, b, o, e);
      for (std::int64_t e = tail + threadIdx.x; e < n; e += blockDim.x)
        scalar_element<In, Out>(p, rm, a, b, o, e);
    }
  } else {
    // Rows, partners or outputs that disagree in alignment (a row length that is not a whole
    // number of vectors): element by element, the block's threads on consecutive elements
    // (coalesced). The box test and the normalisation channel come from an ElementWalk that
    // advances by the block width — no division per element (the CPU's range cores give the
    // same values: row_element).
    const std::int64_t begin = chunk * chunk_elems;
    const std::int64_t end = min(n, begin + chunk_elems);
    const std::int64_t first = begin + threadIdx.x;
    const bool mixup = rm.kind == MixKind::kMixup;
    // mixup without normalisation needs no coordinates; the rest walks them, in 32 bits where
    // the sample allows (every digit < n < 2^31)
    const auto walk = [&](auto index) {
      using Index = decltype(index);
      ElementWalk<Index> w = element_walk<Index>(p.geom, static_cast<Index>(first),
                                                 static_cast<Index>(blockDim.x));
      for (std::int64_t e = first; e < end; e += blockDim.x) {
        o[e] = row_element<In, Out>(a, b, e, mixup, lam, om, p.stack_x, box_holds(rm.box, w.y, w.x), w.c,
                                    p.norm);
        advance(p.geom, w);
      }
    };
    if (mixup && (std::is_same_v<In, Out> || !p.norm.on)) {  // normalisation: uint8 input only
      for (std::int64_t e = first; e < end; e += blockDim.x)
        o[e] = row_element<In, Out>(a, b, e, true, lam, om, p.stack_x, false, 0, p.norm);
    } else if (small_rows) {
      walk(std::int32_t{0});
    } else {
      walk(std::int64_t{0});
    }
  }
}

// Element t of a box's elements, in memory order within each image line.
__device__ std::int64_t box_element(const Geometry& g, const Box& b, std::int64_t t) {
  const std::int64_t bw = b.x1 - b.x0, area = box_area(b);
  if (g.layout == Layout::kNCHW) {
    const std::int64_t c = t / area, r = t - c * area;
    return (c * g.height + b.y0 + r / bw) * g.width + b.x0 + r % bw;
  }
  const std::int64_t pixel = t / g.channels, c = t - pixel * g.channels;
  return ((b.y0 + pixel / bw) * g.width + b.x0 + pixel % bw) * g.channels + c;
}

// Involution, in place: the blocks of the lower row of each pair read both rows and write
// both, so no row is overwritten before its partner has read it. With mixup on either side:
// one read + one write of both rows. Otherwise (CutMix, or kept whole) only the boxes' elements
// move: the blocks walk the elements of the row's box, then those of the mate's box outside it.
// Replayed, an unmixed row is its own mate: a row mixed with it writes that pair (only itself).
template <class T>
__global__ void __launch_bounds__(kBlendThreads)
    blend_pairs_in_place(BlendParams p, std::int64_t chunks_per_row) {
  pdl_wait();
  if (check_failed(*p.check)) return;
  const std::int64_t row = static_cast<std::int64_t>(blockIdx.x) / chunks_per_row;
  const std::int64_t chunk = static_cast<std::int64_t>(blockIdx.x) % chunks_per_row;
  const RowMix ma = resolve_row(p, row, chunk);
  const std::int64_t mate = ma.mate;
  const RowMix mb = row_mix(p.pairs, static_cast<std::int32_t>(mate));
  if (row > mate && mb.mate == row) return;  // the mate's blocks write the pair
  const std::int64_t n = p.sample_elems;
  auto* x = static_cast<typename T::T*>(p.out);
  typename T::T* ra = x + row * n;
  typename T::T* rb = x + mate * n;
  if (ma.kind == MixKind::kMixup || mb.kind == MixKind::kMixup) {
    const std::int64_t chunk_elems = blend_chunk_elems(p.in_type);
    const std::int64_t begin = chunk * chunk_elems;
    const std::int64_t end = min(n, begin + chunk_elems);
    const bool same_row = mate == row;
    const auto element = [&](typename T::T& xa, typename T::T& xb, std::int64_t e) {
      pair_element<T>(xa, xb, e, p.geom, ma.kind, mb.kind, ma.l, mb.l, ma.box, mb.box, p.stack_x, same_row);
    };
    // Whole 16-byte vectors where both rows are aligned alike (chunks are whole vectors):
    // plain loads (this kernel writes these rows: no read-only cache), one 128-bit store per
    // row; the rest element by element.
    constexpr int V = kVec<T>;
    const auto addr = [](const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr); };
    const std::int64_t misalign = static_cast<std::int64_t>((addr(ra) % 16) / sizeof(typename T::T));
    const std::int64_t prologue = misalign == 0 ? 0 : min(n, static_cast<std::int64_t>(V) - misalign);
    if (addr(ra + prologue) % 16 == 0 && addr(rb + prologue) % 16 == 0) {
      const std::int64_t v_begin = chunk * (chunk_elems / V);
      const std::int64_t v_end = min((n - prologue) / V, v_begin + chunk_elems / V);
      for (std::int64_t v = v_begin + threadIdx.x; v < v_end; v += blockDim.x) {
        const std::int64_t e = prologue + v * V;
        alignas(16) typename T::T va[V];
        alignas(16) typename T::T vb[V];
        *reinterpret_cast<uint4*>(va) = *reinterpret_cast<const uint4*>(ra + e);
        *reinterpret_cast<uint4*>(vb) = *reinterpret_cast<const uint4*>(rb + e);
#pragma unroll
        for (int k = 0; k < V; ++k) element(va[k], vb[k], e + k);  // same_row: va written, vb not
        store16(reinterpret_cast<uint4*>(ra + e), *reinterpret_cast<const uint4*>(va));
        if (!same_row) store16(reinterpret_cast<uint4*>(rb + e), *reinterpret_cast<const uint4*>(vb));
      }
      if (chunk == 0) {  // the prologue and the tail
        const std::int64_t tail = prologue + (n - prologue) / V * V;
        for (std::int64_t e = threadIdx.x; e < prologue; e += blockDim.x) element(ra[e], rb[e], e);
        for (std::int64_t e = tail + threadIdx.x; e < n; e += blockDim.x) element(ra[e], rb[e], e);
      }
      return;
    }
    for (std::int64_t e = begin + threadIdx.x; e < end; e += blockDim.x) element(ra[e], rb[e], e);
    return;
  }
  if (mate == row) return;
  const Box none{0, 0, 0, 0};
  const Box& ba = ma.kind == MixKind::kCutMix ? ma.box : none;
  const Box& bb = mb.kind == MixKind::kCutMix ? mb.box : none;
  const std::int64_t count_a = box_area(ba) * p.geom.channels, count_b = box_area(bb) * p.geom.channels;
  const std::int64_t stride = chunks_per_row * blockDim.x;
  for (std::int64_t t = chunk * blockDim.x + threadIdx.x; t < count_a + count_b; t += stride) {
    if (t < count_a) {
      const std::int64_t e = box_element(p.geom, ba, t);
      const typename T::T va = ra[e];
      ra[e] = rb[e];
      if (element_in_box(p.geom, bb, e)) rb[e] = va;
    } else {
      const std::int64_t e = box_element(p.geom, bb, t - count_a);
      if (!element_in_box(p.geom, ba, e)) rb[e] = ra[e];
    }
  }
}

// With after_pairing the launch may begin before the pairing grid ends (the kernels wait for
// it themselves); where the device cannot, the attribute is simply not set.
template <class Kernel>
cudaError_t launch(Kernel kernel, const BlendParams& p, std::int64_t blocks, std::int64_t chunks_per_row,
                   cudaStream_t stream) {
  return launch_dependent(p.after_pairing, dim3(static_cast<unsigned>(blocks)), dim3(kBlendThreads), 0,
                          stream, kernel, p, chunks_per_row);
}

std::int64_t chunks_per_row_of(const BlendParams& p) {
  const std::int64_t chunk = blend_chunk_elems(p.in_type);
  return p.sample_elems > 0 ? (p.sample_elems + chunk - 1) / chunk : 1;
}

// The pairing advanced the step (graph mode) where its verdict was good: undone.
__global__ void undo_step_kernel(std::uint64_t* device_step, const DeviceCheck* check) {
  if (!check_failed(*check)) *device_step -= 1;
}

template <class In, class Out>
cudaError_t launch_typed(const BlendParams& p, cudaStream_t stream) {
  const std::int64_t chunks_per_row = chunks_per_row_of(p);
  const std::int64_t blocks = chunks_per_row * p.batch;
  if (blocks > 0x7FFFFFFFll) return cudaErrorInvalidConfiguration;
  if constexpr (std::is_same_v<In, Out>) {
    if (p.in_place) return launch(blend_pairs_in_place<In>, p, blocks, chunks_per_row, stream);
  }
  return launch(blend_kernel<In, Out>, p, blocks, chunks_per_row, stream);
}

}  // namespace

bool blend_waits_for_pairing() { return waits_for_previous_grid(blend_kernel<F32, F32>); }

cudaError_t blend_launch_check(const BlendParams& p) {
  return p.batch > 0 && chunks_per_row_of(p) * p.batch > 0x7FFFFFFFll ? cudaErrorInvalidConfiguration
                                                                      : cudaSuccess;
}

cudaError_t launch_undo_step(std::uint64_t* device_step, const DeviceCheck* check, cudaStream_t stream) {
  undo_step_kernel<<<1, 1, 0, stream>>>(device_step, check);
  return cudaGetLastError();
}

cudaError_t launch_blend(const BlendParams& p, cudaStream_t stream) {
  if (p.batch <= 0) return cudaSuccess;
  switch (p.in_type) {
    case DType::kF32: return launch_typed<F32, F32>(p, stream);
    case DType::kF16: return launch_typed<F16, F16>(p, stream);
    case DType::kBF16: return launch_typed<BF16, BF16>(p, stream);
    case DType::kU8:
      if (p.out_type == DType::kF32) return launch_typed<U8, F32>(p, stream);
      if (p.out_type == DType::kF16) return launch_typed<U8, F16>(p, stream);
      if (p.out_type == DType::kBF16) return launch_typed<U8, BF16>(p, stream);
      return cudaErrorInvalidValue;
  }
  return cudaErrorInvalidValue;
}

}  // namespace mixup::core
