// The CPU backend: the same cores as the kernels, in plain loops over a fixed thread pool.
// Every check runs before the first write, so a failed call leaves every output untouched.
#include <algorithm>
#include <climits>
#include <numeric>
#include <thread>
#include <vector>

#include "backend_setup.hpp"
#include "error.hpp"
#include "handle.hpp"
#include "thread_pool.hpp"

namespace mixup::detail {

struct CpuState {
  ThreadPool pool;
  std::vector<std::uint64_t> keys;
  std::vector<std::int32_t> order;
  std::vector<std::int32_t> perm;
  std::vector<float> lam, one_minus;
  std::vector<std::uint8_t> seen;
  explicit CpuState(int threads, std::int32_t max_batch)
      : pool(threads), keys(max_batch), order(max_batch), perm(max_batch), lam(max_batch),
        one_minus(max_batch), seen(max_batch) {}
};

void CpuStateDelete::operator()(CpuState* s) const { delete s; }

void cpu_create(mixup_handle_s& h) {
  const int threads = cpu_threads_for(h.config.cpu_threads);
  h.cpu.reset(new CpuState(threads, h.config.max_batch));
}

namespace {

using core::CheckCode;
using core::DeviceCheck;

// σ: a uniform shuffle of 0..B-1 from sorted Philox keys, ties shuffled (pairing.cuh).
void draw_order(CpuState& s, const core::StreamAddress& at, std::int32_t batch, int key_bits) {
  for (std::int32_t i = 0; i < batch; ++i) s.keys[i] = core::perm_key(at, static_cast<std::uint32_t>(i), key_bits);
  std::int32_t* order = s.order.data();
  std::iota(order, order + batch, 0);
  const std::uint64_t* keys = s.keys.data();
  std::sort(order, order + batch, [keys](std::int32_t a, std::int32_t b) {
    return keys[a] != keys[b] ? keys[a] < keys[b] : a < b;
  });
  for (std::int32_t pos = 0; pos + 1 < batch;) {
    std::int32_t len = 1;
    while (pos + len < batch && keys[order[pos + len]] == keys[order[pos]]) ++len;
    if (len > 1) core::shuffle_tie_run(at, static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(len), order);
    pos += len;
  }
}

// The same checks, in the same priority, as the device's decode_check.
DeviceCheck check_inputs(CpuState& s, const core::PairingLaunch& p) {
  int first[5] = {INT_MAX, INT_MAX, INT_MAX, INT_MAX, INT_MAX};
  const auto flag = [&](CheckCode c, int i) { first[static_cast<int>(c)] = std::min(first[static_cast<int>(c)], i); };
  if (p.given_perm != nullptr) {
    std::fill(s.seen.begin(), s.seen.begin() + p.batch, 0);
    for (std::int32_t i = 0; i < p.batch; ++i) {
      const std::int32_t j = p.given_perm[i];
      if (j < 0 || j >= p.batch) flag(CheckCode::kPermOutOfRange, i);
      else if (s.seen[j]++ != 0) flag(CheckCode::kPermNotBijective, i);
    }
  }
  for (std::int32_t i = 0; i < p.batch; ++i) {
    if (p.labels != nullptr && (p.labels[i] < 0 || p.labels[i] >= p.num_classes)) flag(CheckCode::kLabelOutOfRange, i);
    if (p.given_lambda != nullptr && !(p.given_lambda[i] >= 0.0f && p.given_lambda[i] <= 1.0f))
      flag(CheckCode::kLambdaOutOfRange, i);
  }
  DeviceCheck c{0, 0, 0, 0};
  for (int code = 1; code < 5; ++code) {
    if (first[code] == INT_MAX) continue;
    const int i = first[code];
    c = DeviceCheck{code, i, 0, 0};
    if (code == static_cast<int>(CheckCode::kLabelOutOfRange)) c.value = p.labels[i];
    if (code == static_cast<int>(CheckCode::kPermOutOfRange) || code == static_cast<int>(CheckCode::kPermNotBijective))
      c.value = p.given_perm[i];
    if (code == static_cast<int>(CheckCode::kLambdaOutOfRange)) c.value = static_cast<std::int32_t>(core::bits_of(p.given_lambda[i]));
    break;
  }
  return c;
}

void pairing(CpuState& s, const core::PairingLaunch& p, int key_bits) {
  const std::int32_t B = p.batch;
  if (p.given_perm != nullptr) {
    std::copy(p.given_perm, p.given_perm + B, s.perm.begin());
  } else if (p.pairing == core::Pairing::kFlip) {
    for (std::int32_t pos = 0; pos < B; ++pos) core::compose_partner(core::Pairing::kFlip, nullptr, B, pos, s.perm.data());
  } else {
    draw_order(s, p.at, B, key_bits);
    for (std::int32_t pos = 0; pos < B; ++pos) core::compose_partner(p.pairing, s.order.data(), B, pos, s.perm.data());
  }
  const auto draw_lambdas = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      core::Lambda l;
      if (p.given_lambda != nullptr) {
        l = core::Lambda{p.given_lambda[i], 1.0f - p.given_lambda[i]};
      } else {
        const std::uint32_t stream = core::lambda_stream(p.lambda_mode, static_cast<std::int32_t>(i), s.perm[i]);
        l = core::lambda_from_log_odds(core::draw_log_odds<core::Philox4x32>(p.at, p.alpha, stream), p.fold);
      }
      s.lam[i] = l.lam;
      s.one_minus[i] = l.one_minus;
    }
  };
  // A λ costs about a microsecond: waking the pool only pays for large batches.
  if (B >= 256) s.pool.parallel_for(B, draw_lambdas);
  else draw_lambdas(0, B);
  for (std::int32_t i = 0; i < B; ++i) {
    if (p.lam_out != nullptr) p.lam_out[i] = s.lam[i];
    if (p.perm_out != nullptr) p.perm_out[i] = s.perm[i];
    if (p.labels != nullptr) {
      if (p.y_a != nullptr) p.y_a[i] = p.labels[i];
      if (p.y_b != nullptr) p.y_b[i] = p.labels[s.perm[i]];
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
  const auto rows = [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t task = begin; task < end; ++task) {
      const std::int64_t row = task / per_row, part = task % per_row;
      const std::int64_t e0 = n * part / per_row, e1 = n * (part + 1) / per_row;
      const std::int64_t partner = p.perm[row];
      if (p.in_place) {
        if constexpr (std::is_same_v<In, Out>) {
          if (row > partner) continue;  // the lower row of each pair writes both
          typename In::T* ra = out + row * n;
          typename In::T* rb = out + partner * n;
          const float la = p.lam[row], oa = p.one_minus[row], lb = p.lam[partner], ob = p.one_minus[partner];
          for (std::int64_t e = e0; e < e1; ++e) {
            const float va = In::load(ra[e]), vb = In::load(rb[e]);
            ra[e] = In::store(core::mix(va, vb, la, oa, p.stack_x));
            if (partner != row) rb[e] = In::store(core::mix(vb, va, lb, ob, p.stack_x));
          }
        }
        continue;
      }
      core::blend_range<In, Out>(x + row * n, x + partner * n, out + row * n, e0, e1, p.lam[row],
                                 p.one_minus[row], p.stack_x, p.norm);
    }
  };
  // Below ~64 Ki elements the wake-up costs more than the second thread saves.
  if (p.batch * n >= 65536) pool.parallel_for(p.batch * per_row, rows);
  else rows(0, p.batch * per_row);
  if (p.target_mode != core::TargetMode::kNone) {
    for (std::int64_t i = 0; i < p.batch; ++i) core::targets_range(p, i, p.perm[i], p.lam[i], p.one_minus[i], 0, p.num_classes);
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
  if (c.code != 0) throw Error(MIXUP_STATUS_INVALID_VALUE, describe_check(c, r.pairing.batch, r.pairing.num_classes));
  pairing(s, r.pairing, h.hooks.key_bits);
  r.blend.perm = s.perm.data();
  r.blend.lam = s.lam.data();
  r.blend.one_minus = s.one_minus.data();
  r.blend.check = nullptr;
  blend(s.pool, r.blend);
}

}  // namespace mixup::detail
