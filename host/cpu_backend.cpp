// The CPU backend: the same cores as the kernels, in plain loops over a fixed thread pool.
// Every check runs before the first write, so a failed call leaves every output untouched.
#include <algorithm>
#include <numeric>
#include <thread>
#include <vector>

#include "backend_setup.hpp"
#include "error.hpp"
#include "handle.hpp"
#include "thread_pool.hpp"

namespace mixup::detail {

// What one λ stream drew (kind, λ, box), and what each row resolved to (row_mix).
struct Mixes {
  std::vector<float> lam, one_minus;
  std::vector<std::int32_t> kind;
  std::vector<core::Box> box;
  explicit Mixes(std::int32_t n) : lam(n), one_minus(n), kind(n), box(n) {}
};

struct CpuState {
  ThreadPool pool;
  std::vector<std::uint64_t> keys;
  std::vector<std::int32_t> order;
  std::vector<std::int32_t> mate;     // the pairing's partner of each row
  std::vector<std::int32_t> partner;  // what each row is mixed with (itself when not mixed)
  Mixes streams, rows;
  std::vector<std::uint8_t> seen;
  explicit CpuState(int threads, std::int32_t max_batch)
      : pool(threads), keys(max_batch), order(max_batch), mate(max_batch), partner(max_batch),
        streams(max_batch), rows(max_batch), seen(max_batch) {}
};

void CpuStateDelete::operator()(CpuState* s) const { delete s; }

void cpu_create(mixup_handle_s& h) {
  check_cpu_isa();
  const int threads = cpu_threads_for(h.config.cpu_threads);
  h.cpu.reset(new CpuState(threads, h.config.max_batch));
}

namespace {

using core::CheckCode;
using core::DeviceCheck;

// σ: a uniform shuffle of 0..B-1 from sorted Philox keys, ties shuffled (pairing.cuh).
void draw_order(CpuState& s, const core::StreamAddress& at, std::int32_t batch, int key_bits) {
  for (std::int32_t i = 0; i < batch; ++i)
    s.keys[i] = core::perm_key(at, static_cast<std::uint32_t>(i), key_bits);
  std::int32_t* order = s.order.data();
  std::iota(order, order + batch, 0);
  const std::uint64_t* keys = s.keys.data();
  std::sort(order, order + batch, [keys](std::int32_t a, std::int32_t b) {
    return keys[a] != keys[b] ? keys[a] < keys[b] : a < b;
  });
  for (std::int32_t pos = 0; pos + 1 < batch;) {
    std::int32_t len = 1;
    while (pos + len < batch && keys[order[pos + len]] == keys[order[pos]]) ++len;
    if (len > 1)
      core::shuffle_tie_run(at, static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(len), order);
    pos += len;
  }
}

// The same checks as the device's, decoded by the same function (decode_first_failures).
DeviceCheck check_inputs(CpuState& s, const core::PairingLaunch& p) {
  std::int32_t first[core::kNumCheckCodes];
  std::fill(first, first + core::kNumCheckCodes, core::kNoIndex);
  const auto flag = [&](CheckCode c, std::int32_t i) {
    first[static_cast<int>(c)] = std::min(first[static_cast<int>(c)], i);
  };
  if (p.given_perm != nullptr) {
    std::fill(s.seen.begin(), s.seen.begin() + p.batch, 0);
    for (std::int32_t i = 0; i < p.batch; ++i) {
      const std::int32_t j = p.given_perm[i];
      if (j < 0 || j >= p.batch) flag(CheckCode::kPermOutOfRange, i);
      else if (s.seen[j]++ != 0) flag(CheckCode::kPermNotBijective, i);
    }
  }
  for (std::int32_t i = 0; i < p.batch; ++i) {
    if (p.labels != nullptr && (p.labels[i] < 0 || p.labels[i] >= p.num_classes))
      flag(CheckCode::kLabelOutOfRange, i);
    if (p.given_lambda != nullptr && !(p.given_lambda[i] >= 0.0f && p.given_lambda[i] <= 1.0f))
      flag(CheckCode::kLambdaOutOfRange, i);
  }
  return core::decode_first_failures(p, first);
}

void pairing(CpuState& s, const core::PairingLaunch& p, int key_bits) {
  const std::int32_t B = p.batch;
  if (p.given_perm != nullptr) {
    std::copy(p.given_perm, p.given_perm + B, s.mate.begin());
  } else if (p.pairing == core::Pairing::kFlip) {
    for (std::int32_t pos = 0; pos < B; ++pos)
      core::compose_partner(core::Pairing::kFlip, nullptr, B, pos, s.mate.data());
  } else {
    draw_order(s, p.at, B, key_bits);
    for (std::int32_t pos = 0; pos < B; ++pos)
      core::compose_partner(p.pairing, s.order.data(), B, pos, s.mate.data());
  }
  const auto draw_streams = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t k = begin; k < end; ++k) {
      const core::StreamMix m = core::draw_stream_mix<core::Philox4x32>(p.at, p.mix, p.alpha, p.fold,
                                                                        p.height, p.width,
                                                                        static_cast<std::uint32_t>(k));
      s.streams.lam[k] = m.l.lam;
      s.streams.one_minus[k] = m.l.one_minus;
      s.streams.kind[k] = static_cast<std::int32_t>(m.kind);
      s.streams.box[k] = m.box;
    }
  };
  const std::int32_t streams = p.given_lambda != nullptr                      ? 0
                               : p.lambda_mode == core::LambdaMode::kPerBatch ? 1
                                                                              : B;
  // A λ costs about a microsecond: waking the pool only pays for large batches.
  if (streams >= 256) s.pool.parallel_for(streams, draw_streams);
  else draw_streams(0, streams);
  const core::PairsView v{nullptr,
                          nullptr,
                          s.streams.lam.data(),
                          s.streams.one_minus.data(),
                          s.mate.data(),
                          p.given_lambda,
                          p.mix.plain ? nullptr : s.streams.kind.data(),
                          s.streams.box.data(),
                          p.pairing,
                          p.lambda_mode,
                          B};
  for (std::int32_t i = 0; i < B; ++i) {
    const core::RowMix r = core::row_mix(v, i);
    s.partner[i] = r.partner;
    s.rows.lam[i] = r.l.lam;
    s.rows.one_minus[i] = r.l.one_minus;
    s.rows.kind[i] = static_cast<std::int32_t>(r.kind);
    s.rows.box[i] = r.box;
    if (p.lam_out != nullptr) p.lam_out[i] = r.l.lam;
    if (p.perm_out != nullptr) p.perm_out[i] = r.partner;
    if (p.kind_out != nullptr) p.kind_out[i] = static_cast<std::int32_t>(r.kind);
    if (p.box_out != nullptr) p.box_out[i] = r.box;
    if (p.labels != nullptr) {
      if (p.y_a != nullptr) p.y_a[i] = p.labels[i];
      if (p.y_b != nullptr) p.y_b[i] = p.labels[r.partner];
    }
  }
}

template <class In, class Out>
void blend_rows(ThreadPool& pool, const core::BlendParams& p) {
  const std::int64_t n = p.sample_elems;
  // Tasks of at most 64 Ki elements keep both threads busy on small batches of big images.
  const std::int64_t per_row = std::max<std::int64_t>(1, (n + 65535) / 65536);
  const auto* x = static_cast<const typename In::T*>(p.x);
  auto* out = static_cast<typename Out::T*>(p.out);
  const auto kind_of = [&](std::int64_t row) {
    return p.kind != nullptr ? static_cast<core::MixKind>(p.kind[row]) : core::MixKind::kMixup;
  };
  const auto rows = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t row = task / per_row, part = task % per_row;
      const std::int64_t e0 = n * part / per_row, e1 = n * (part + 1) / per_row;
      const core::MixKind kind = kind_of(row);
      if (p.in_place) {
        if constexpr (std::is_same_v<In, Out>) {
          const std::int64_t mate = p.mate[row];
          if (row > mate) continue;  // the lower row of each pair writes both
          core::pair_in_place_range<In>(out + row * n, out + mate * n, e0, e1, p.geom, kind, kind_of(mate),
                                        core::Lambda{p.lam[row], p.one_minus[row]},
                                        core::Lambda{p.lam[mate], p.one_minus[mate]}, p.box[row], p.box[mate],
                                        p.stack_x, mate == row);
        }
        continue;
      }
      const std::int64_t partner = p.perm[row];
      if (kind == core::MixKind::kMixup) {
        core::blend_range<In, Out>(x + row * n, x + partner * n, out + row * n, e0, e1, p.lam[row],
                                   p.one_minus[row], p.stack_x, p.norm);
      } else {  // CutMix, or not mixed (partner = row, no box): the row itself
        core::cut_range<In, Out>(x + row * n, x + partner * n, out + row * n, e0, e1, p.geom, p.box[row],
                                 p.norm);
      }
    }
  };
  // Below ~64 Ki elements the wake-up costs more than the second thread saves.
  if (p.batch * n >= 65536) pool.parallel_for(p.batch * per_row, rows);
  else rows(0, p.batch * per_row);
  if (p.target_mode != core::TargetMode::kNone) {
    for (std::int64_t i = 0; i < p.batch; ++i)
      core::targets_range(p, i, p.perm[i], p.lam[i], p.one_minus[i], 0, p.num_classes);
  }
}

void blend(ThreadPool& pool, const core::BlendParams& p) {
  using core::DType;
  switch (p.in_type) {
    case DType::kF32: return blend_rows<core::F32, core::F32>(pool, p);
    case DType::kF16: return blend_rows<core::F16, core::F16>(pool, p);
    case DType::kBF16: return blend_rows<core::BF16, core::BF16>(pool, p);
    case DType::kU8:
      if (p.out_type == DType::kF32) return blend_rows<core::U8, core::F32>(pool, p);
      if (p.out_type == DType::kF16) return blend_rows<core::U8, core::F16>(pool, p);
      return blend_rows<core::U8, core::BF16>(pool, p);
  }
}

}  // namespace

void cpu_apply(mixup_handle_s& h, Request& r) {
  CpuState& s = *h.cpu;
  const DeviceCheck c = check_inputs(s, r.pairing);
  if (core::check_failed(c))
    throw Error(MIXUP_STATUS_INVALID_VALUE, describe_check(c, r.pairing.batch, r.pairing.num_classes));
  pairing(s, r.pairing, h.hooks.key_bits);
  r.blend.perm = s.partner.data();
  r.blend.lam = s.rows.lam.data();
  r.blend.one_minus = s.rows.one_minus.data();
  r.blend.mate = s.mate.data();
  r.blend.kind = r.pairing.mix.plain ? nullptr : s.rows.kind.data();
  r.blend.box = s.rows.box.data();
  r.blend.check = nullptr;
  blend(s.pool, r.blend);
}

}  // namespace mixup::detail
