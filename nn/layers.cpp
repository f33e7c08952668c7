#include "layers.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "fixed_math.hpp"
#include "gemm.hpp"
#include "thread_pool.hpp"

namespace mixup::nn {
namespace {

// Gradient sums over the batch go through a fixed number of slices, added in slice order, so
// the result does not depend on how many threads ran them.
constexpr int kSlices = 8;
// Images are gathered side by side into one im2col matrix of about this many columns, so the
// GEMMs are wide enough to keep their vector registers busy (P = 16 for the last conv of
// simple_cnn on 28×28 would leave them idle).
constexpr std::int64_t kGroupColumns = 512;

std::int64_t round16(std::int64_t n) { return (n + 15) / 16 * 16; }

// The image with a zero border of `pad` on every side: [C, H + 2·pad, W + 2·pad]. The patch
// loops then need no bounds checks (small planes: the copy is cheap next to the GEMMs).
void pad_image(const float* in, std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t pad,
               float* out) {
  const std::int64_t Hp = H + 2 * pad, Wp = W + 2 * pad;
  std::fill(out, out + C * Hp * Wp, 0.0f);
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t y = 0; y < H; ++y)
      std::copy(in + (c * H + y) * W, in + (c * H + y + 1) * W, out + (c * Hp + y + pad) * Wp + pad);
}

// The padded image's patches as columns [0, Ho·Wo) of col, whose rows are ld apart. S is the
// stride when it is a compile-time constant (1 and 2: the copies vectorise), 0 otherwise.
template <int S>
void im2col_s(const float* __restrict padded, std::int64_t C, std::int64_t Hp, std::int64_t Wp,
              std::int64_t k, std::int64_t stride, std::int64_t Ho, std::int64_t Wo, float* __restrict col,
              std::int64_t ld) {
  const std::int64_t s = S > 0 ? S : stride;
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t ky = 0; ky < k; ++ky)
      for (std::int64_t kx = 0; kx < k; ++kx) {
        float* __restrict row = col + ((c * k + ky) * k + kx) * ld;
        const float* __restrict src = padded + (c * Hp + ky) * Wp + kx;
        for (std::int64_t oy = 0; oy < Ho; ++oy)
          for (std::int64_t ox = 0; ox < Wo; ++ox) row[oy * Wo + ox] = src[oy * s * Wp + ox * s];
      }
}

void im2col(const float* padded, std::int64_t C, std::int64_t Hp, std::int64_t Wp, std::int64_t k,
            std::int64_t s, std::int64_t Ho, std::int64_t Wo, float* col, std::int64_t ld) {
  if (s == 2) return im2col_s<2>(padded, C, Hp, Wp, k, s, Ho, Wo, col, ld);
  if (s == 1) return im2col_s<1>(padded, C, Hp, Wp, k, s, Ho, Wo, col, ld);
  im2col_s<0>(padded, C, Hp, Wp, k, s, Ho, Wo, col, ld);
}

// The transpose: adds the columns back into a padded image (zeroed by the caller).
template <int S>
void col2im_add_s(const float* __restrict col, std::int64_t ld, std::int64_t C, std::int64_t Hp,
                  std::int64_t Wp, std::int64_t k, std::int64_t stride, std::int64_t Ho, std::int64_t Wo,
                  float* __restrict padded) {
  const std::int64_t s = S > 0 ? S : stride;
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t ky = 0; ky < k; ++ky)
      for (std::int64_t kx = 0; kx < k; ++kx) {
        const float* __restrict row = col + ((c * k + ky) * k + kx) * ld;
        float* __restrict dst = padded + (c * Hp + ky) * Wp + kx;
        for (std::int64_t oy = 0; oy < Ho; ++oy)
          for (std::int64_t ox = 0; ox < Wo; ++ox) dst[oy * s * Wp + ox * s] += row[oy * Wo + ox];
      }
}

void col2im_add(const float* col, std::int64_t ld, std::int64_t C, std::int64_t Hp, std::int64_t Wp,
                std::int64_t k, std::int64_t s, std::int64_t Ho, std::int64_t Wo, float* padded) {
  if (s == 2) return col2im_add_s<2>(col, ld, C, Hp, Wp, k, s, Ho, Wo, padded);
  if (s == 1) return col2im_add_s<1>(col, ld, C, Hp, Wp, k, s, Ho, Wo, padded);
  col2im_add_s<0>(col, ld, C, Hp, Wp, k, s, Ho, Wo, padded);
}

// Zero columns [used, ld) of each of `rows` rows: the GEMMs read whole 16-float vectors.
void zero_tail(float* m, std::int64_t rows, std::int64_t used, std::int64_t ld) {
  for (std::int64_t r = 0; r < rows; ++r) std::fill(m + r * ld + used, m + (r + 1) * ld, 0.0f);
}

}  // namespace

Conv2d::Conv2d(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t s)
    : in_ch(in), out_ch(out), kernel(k), stride(s), pad(k / 2), weight(out * in * k * k), bias(out),
      grad_weight(weight.size()), grad_bias(out) {
  if (in <= 0 || out <= 0 || k <= 0 || s <= 0)
    throw std::invalid_argument("Conv2d: channels, kernel and stride must be > 0");
}

Shape4 Conv2d::output_shape(const Shape4& in) const {
  return Shape4{in.n, out_ch, (in.h + 2 * pad - kernel) / stride + 1, (in.w + 2 * pad - kernel) / stride + 1};
}

namespace {

// The fixed partition of a batch that the gradient sums follow: kSlices slices, each cut into
// groups of `group` images, in order; each group's im2col matrix has `ld` columns.
struct Group {
  std::int64_t n0, cnt, ld, offset;  // offset: where its patches sit in a patch cache
};

std::vector<Group> partition(std::int64_t n, std::int64_t P, std::int64_t K,
                             std::vector<std::int64_t>& slice_begin) {
  const std::int64_t group = std::max<std::int64_t>(1, kGroupColumns / P);
  std::vector<Group> gs;
  slice_begin.assign(kSlices + 1, 0);
  std::int64_t offset = 0;
  for (int slice = 0; slice < kSlices; ++slice) {
    slice_begin[slice] = static_cast<std::int64_t>(gs.size());
    const std::int64_t first = n * slice / kSlices, last = n * (slice + 1) / kSlices;
    for (std::int64_t n0 = first; n0 < last; n0 += group) {
      const std::int64_t cnt = std::min(group, last - n0), ld = round16(cnt * P);
      gs.push_back(Group{n0, cnt, ld, offset});
      offset += K * ld;
    }
  }
  slice_begin[kSlices] = static_cast<std::int64_t>(gs.size());
  return gs;
}

}  // namespace

void Conv2d::patches(const float* in, const Shape4& s, std::int64_t n0, std::int64_t cnt, std::int64_t ld,
                     float* col, float* padded) const {
  const Shape4 o = output_shape(s);
  const std::int64_t K = in_ch * kernel * kernel, P = o.h * o.w, Hp = s.h + 2 * pad, Wp = s.w + 2 * pad;
  for (std::int64_t i = 0; i < cnt; ++i) {
    pad_image(in + (n0 + i) * s.per_sample(), in_ch, s.h, s.w, pad, padded);
    im2col(padded, in_ch, Hp, Wp, kernel, stride, o.h, o.w, col + i * P, ld);
  }
  zero_tail(col, K, cnt * P, ld);
}

void Conv2d::forward(const float* in, const Shape4& s, float* out, detail::ThreadPool& pool,
                     bool keep_patches) const {
  const Shape4 o = output_shape(s);
  const std::int64_t K = in_ch * kernel * kernel, P = o.h * o.w;
  // The backward pass's partition, so a training forward can keep every group's patches for
  // it. Each output element is the same sum whatever the grouping.
  std::vector<std::int64_t> slice_begin;
  const std::vector<Group> gs = partition(s.n, P, K, slice_begin);
  if (keep_patches) patch_cache_.resize(static_cast<std::size_t>(gs.back().offset + K * gs.back().ld));
  patches_of_ = nullptr;
  pool.parallel_for(kSlices, [&](std::int64_t sb, std::int64_t se) {
    thread_local std::vector<float> col, y, padded;
    padded.resize(static_cast<std::size_t>(in_ch * (s.h + 2 * pad) * (s.w + 2 * pad)));
    for (std::int64_t g = slice_begin[sb]; g < slice_begin[se]; ++g) {
      const std::int64_t n0 = gs[g].n0, cnt = gs[g].cnt, ld = gs[g].ld;
      float* cols = patch_cache_.data() + gs[g].offset;
      if (!keep_patches) {
        col.resize(static_cast<std::size_t>(K * ld));
        cols = col.data();
      }
      patches(in, s, n0, cnt, ld, cols, padded.data());
      y.resize(static_cast<std::size_t>(out_ch * ld));
      gemm::wx_plus_b(weight.data(), bias.data(), cols, y.data(), out_ch, K, ld, ld);
      for (std::int64_t i = 0; i < cnt; ++i)
        for (std::int64_t oc = 0; oc < out_ch; ++oc) {
          const float* src = y.data() + oc * ld + i * P;
          std::copy(src, src + P, out + (n0 + i) * o.per_sample() + oc * P);
        }
    }
  });
  if (keep_patches) patches_of_ = in, patches_shape_ = s;
}

void Conv2d::backward(const float* in, const Shape4& s, const float* d_out, float* d_in,
                      detail::ThreadPool& pool) {
  const Shape4 o = output_shape(s);
  const std::int64_t K = in_ch * kernel * kernel, P = o.h * o.w, Hp = s.h + 2 * pad, Wp = s.w + 2 * pad;
  // Fixed slices and groups that depend only on the shapes: the gradient sums are the same bits
  // for any number of threads.
  std::vector<std::int64_t> slice_begin;
  const std::vector<Group> gs = partition(s.n, P, K, slice_begin);
  const bool cached = patches_of_ == in && patches_shape_.n == s.n && patches_shape_.c == s.c &&
                      patches_shape_.h == s.h && patches_shape_.w == s.w;
  std::vector<float> partial(static_cast<std::size_t>(kSlices * (out_ch * K + out_ch)), 0.0f);
  pool.parallel_for(kSlices, [&](std::int64_t sb, std::int64_t se) {
    thread_local std::vector<float> col, dy, dcol, padded;
    padded.resize(static_cast<std::size_t>(in_ch * Hp * Wp));
    for (std::int64_t slice = sb; slice < se; ++slice) {
      float* gw = partial.data() + slice * (out_ch * K + out_ch);
      float* gb = gw + out_ch * K;
      for (std::int64_t g = slice_begin[slice]; g < slice_begin[slice + 1]; ++g) {
        const std::int64_t n0 = gs[g].n0, cnt = gs[g].cnt, ld = gs[g].ld, N = cnt * P;
        const float* cols = patch_cache_.data() + gs[g].offset;
        if (!cached) {
          col.resize(static_cast<std::size_t>(K * ld));
          patches(in, s, n0, cnt, ld, col.data(), padded.data());
          cols = col.data();
        }
        dy.resize(static_cast<std::size_t>(out_ch * ld));
        for (std::int64_t i = 0; i < cnt; ++i)
          for (std::int64_t oc = 0; oc < out_ch; ++oc) {
            const float* src = d_out + (n0 + i) * o.per_sample() + oc * P;
            std::copy(src, src + P, dy.data() + oc * ld + i * P);
          }
        zero_tail(dy.data(), out_ch, N, ld);
        gemm::acc_dy_xt(dy.data(), cols, gw, out_ch, K, ld, ld);
        gemm::acc_row_sums(dy.data(), gb, out_ch, ld, ld);
        if (d_in == nullptr) continue;
        dcol.resize(static_cast<std::size_t>(K * ld));
        gemm::wt_dy(weight.data(), dy.data(), dcol.data(), out_ch, K, ld, ld);
        for (std::int64_t i = 0; i < cnt; ++i) {
          std::fill(padded.begin(), padded.end(), 0.0f);
          col2im_add(dcol.data() + i * P, ld, in_ch, Hp, Wp, kernel, stride, o.h, o.w, padded.data());
          float* dx = d_in + (n0 + i) * s.per_sample();
          for (std::int64_t c = 0; c < in_ch; ++c)
            for (std::int64_t y = 0; y < s.h; ++y) {
              const float* src = padded.data() + (c * Hp + y + pad) * Wp + pad;
              std::copy(src, src + s.w, dx + (c * s.h + y) * s.w);
            }
        }
      }
    }
  });
  patches_of_ = nullptr;  // used once
  for (int slice = 0; slice < kSlices; ++slice) {
    const float* gw = partial.data() + slice * (out_ch * K + out_ch);
    for (std::int64_t i = 0; i < out_ch * K; ++i) grad_weight[i] += gw[i];
    for (std::int64_t oc = 0; oc < out_ch; ++oc) grad_bias[oc] += gw[out_ch * K + oc];
  }
}

void BatchNorm2d::forward(const float* x, const Shape4& s, float* y, bool train) {
  const std::int64_t hw = s.h * s.w, m = s.n * hw;
  if (train) {
    xhat_.resize(static_cast<std::size_t>(s.size()));
    inv_std_.resize(static_cast<std::size_t>(channels));
  }
  for (std::int64_t c = 0; c < channels; ++c) {
    double mean, var;
    if (train) {
      double sum = 0, sq = 0;
      for (std::int64_t n = 0; n < s.n; ++n)
        for (std::int64_t p = 0; p < hw; ++p) sum += x[(n * channels + c) * hw + p];
      mean = sum / m;
      for (std::int64_t n = 0; n < s.n; ++n)
        for (std::int64_t p = 0; p < hw; ++p) {
          const double d = x[(n * channels + c) * hw + p] - mean;
          sq += d * d;
        }
      var = sq / m;
      running_mean[c] = static_cast<float>((1 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = static_cast<float>((1 - momentum) * running_var[c] +
                                          momentum * (m > 1 ? sq / (m - 1) : var));
    } else {
      mean = running_mean[c];
      var = running_var[c];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    if (train) inv_std_[c] = inv;
    for (std::int64_t n = 0; n < s.n; ++n)
      for (std::int64_t p = 0; p < hw; ++p) {
        const std::int64_t i = (n * channels + c) * hw + p;
        const float xh = static_cast<float>(x[i] - mean) * inv;
        if (train) xhat_[i] = xh;
        y[i] = gamma[c] * xh + beta[c];
      }
  }
}

void BatchNorm2d::backward(const Shape4& s, const float* dy, float* dx) {
  const std::int64_t hw = s.h * s.w;
  const float m = static_cast<float>(s.n * hw);
  for (std::int64_t c = 0; c < channels; ++c) {
    float dg = 0, db = 0;
    for (std::int64_t n = 0; n < s.n; ++n)
      for (std::int64_t p = 0; p < hw; ++p) {
        const std::int64_t i = (n * channels + c) * hw + p;
        dg += dy[i] * xhat_[i];
        db += dy[i];
      }
    grad_gamma[c] += dg;
    grad_beta[c] += db;
    const float k = gamma[c] * inv_std_[c] / m;
    for (std::int64_t n = 0; n < s.n; ++n)
      for (std::int64_t p = 0; p < hw; ++p) {
        const std::int64_t i = (n * channels + c) * hw + p;
        dx[i] = k * (m * dy[i] - db - xhat_[i] * dg);
      }
  }
}

void relu_forward(float* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(const float* y, float* dy, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void avgpool_forward(const float* in, const Shape4& s, float* out) {
  const std::int64_t hw = s.h * s.w;
  for (std::int64_t i = 0; i < s.n * s.c; ++i) {
    float acc = 0.0f;
    for (std::int64_t p = 0; p < hw; ++p) acc += in[i * hw + p];
    out[i] = acc / static_cast<float>(hw);
  }
}

void avgpool_backward(const float* d_out, const Shape4& s, float* d_in) {
  const std::int64_t hw = s.h * s.w;
  for (std::int64_t i = 0; i < s.n * s.c; ++i) {
    const float g = d_out[i] / static_cast<float>(hw);
    for (std::int64_t p = 0; p < hw; ++p) d_in[i * hw + p] = g;
  }
}

void kaiming_uniform(Conv2d& conv, std::uint64_t seed) {
  // PyTorch's Conv2d default: kaiming_uniform_(a = √5) → bound = 1/√fan_in, bias likewise
  const double fan_in = static_cast<double>(conv.in_ch * conv.kernel * conv.kernel);
  const double gain = std::sqrt(2.0 / (1.0 + 5.0));
  const double bound = gain * std::sqrt(3.0 / fan_in);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> w(-bound, bound),
      b(-1.0 / std::sqrt(fan_in), 1.0 / std::sqrt(fan_in));
  for (float& v : conv.weight) v = static_cast<float>(w(rng));
  for (float& v : conv.bias) v = static_cast<float>(b(rng));
}

void kaiming_normal(Conv2d& conv, std::uint64_t seed) {
  const double fan_in = static_cast<double>(conv.in_ch * conv.kernel * conv.kernel);
  const double sd = std::sqrt(2.0 / fan_in);
  // Marsaglia's polar method on our own log (fixed_math.hpp): std::normal_distribution's bits
  // depend on glibc's choice of log variant for the CPU. Uniforms in (−1, 1) from 53 bits.
  std::mt19937_64 rng(seed);
  const auto uniform = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-52 - 1.0; };
  std::size_t k = 0;
  while (k < conv.weight.size()) {
    const double u = uniform(), v = uniform(), s = u * u + v * v;
    if (s >= 1.0 || s == 0.0) continue;
    const double f = std::sqrt(-2.0 * fixed_math::log(s) / s);
    conv.weight[k++] = static_cast<float>(sd * u * f);
    if (k < conv.weight.size()) conv.weight[k++] = static_cast<float>(sd * v * f);
  }
  std::fill(conv.bias.begin(), conv.bias.end(), 0.0f);
}

SimpleCnn::SimpleCnn(const std::vector<std::int64_t>& actns, const std::vector<std::int64_t>& kernels,
                     const std::vector<std::int64_t>& strides, bool last_relu, std::uint64_t seed, bool bn)
    : last_relu_(last_relu) {
  const std::size_t n = actns.size() - 1;
  if (actns.size() < 2 || kernels.size() != n || strides.size() != n)
    throw std::invalid_argument(
        "simple_cnn: need at least two channel counts, and one kernel size and stride per conv");
  for (std::size_t i = 0; i < n; ++i) {
    convs_.emplace_back(actns[i], actns[i + 1], kernels[i], strides[i]);
    kaiming_uniform(convs_.back(), seed * 1000003u + i);
    if (bn && i + 1 < n) bns_.emplace_back(actns[i + 1]);
  }
}

std::vector<std::int64_t> SimpleCnn::spec() const {
  std::vector<std::int64_t> a{convs_.front().in_ch};
  for (const Conv2d& c : convs_) a.push_back(c.out_ch);
  return a;
}

const std::vector<float>& SimpleCnn::forward(const float* x, const Shape4& s, detail::ThreadPool& pool,
                                             bool train) {
  in_shape_ = s;
  input_ = x;
  shapes_.resize(convs_.size());
  acts_.resize(convs_.size());
  normed_.resize(bns_.size());
  const float* cur = x;
  Shape4 cs = s;
  for (std::size_t i = 0; i < convs_.size(); ++i) {
    shapes_[i] = convs_[i].output_shape(cs);
    acts_[i].resize(static_cast<std::size_t>(shapes_[i].size()));
    convs_[i].forward(cur, cs, acts_[i].data(), pool, train);
    if (i + 1 < convs_.size() || last_relu_) relu_forward(acts_[i].data(), shapes_[i].size());
    cur = acts_[i].data();
    if (i < bns_.size()) {
      normed_[i].resize(acts_[i].size());
      bns_[i].forward(cur, shapes_[i], normed_[i].data(), train);
      cur = normed_[i].data();
    }
    cs = shapes_[i];
  }
  logits_.resize(static_cast<std::size_t>(cs.n * cs.c));
  avgpool_forward(cur, cs, logits_.data());
  return logits_;
}

void SimpleCnn::backward(const float* d_logits, detail::ThreadPool& pool) {
  for (Conv2d& c : convs_) {
    std::fill(c.grad_weight.begin(), c.grad_weight.end(), 0.0f);
    std::fill(c.grad_bias.begin(), c.grad_bias.end(), 0.0f);
  }
  for (BatchNorm2d& b : bns_) {
    std::fill(b.grad_gamma.begin(), b.grad_gamma.end(), 0.0f);
    std::fill(b.grad_beta.begin(), b.grad_beta.end(), 0.0f);
  }
  const std::size_t L = convs_.size();
  grad_a_.resize(static_cast<std::size_t>(shapes_[L - 1].size()));
  avgpool_backward(d_logits, shapes_[L - 1], grad_a_.data());
  for (std::size_t i = L; i-- > 0;) {
    if (i < bns_.size()) {  // grad_a_ is dL/d(BN output): through the BatchNorm first
      grad_b_.resize(grad_a_.size());
      bns_[i].backward(shapes_[i], grad_a_.data(), grad_b_.data());
      std::swap(grad_a_, grad_b_);
    }
    if (i + 1 < L || last_relu_) relu_backward(acts_[i].data(), grad_a_.data(), shapes_[i].size());
    const float* in = i == 0 ? input_ : (i - 1 < bns_.size() ? normed_[i - 1].data() : acts_[i - 1].data());
    const Shape4& is = i == 0 ? in_shape_ : shapes_[i - 1];
    float* d_in = nullptr;
    if (i > 0) {
      grad_b_.resize(static_cast<std::size_t>(is.size()));
      d_in = grad_b_.data();
    }
    convs_[i].backward(in, is, grad_a_.data(), d_in, pool);
    if (i > 0) std::swap(grad_a_, grad_b_);
  }
}

}  // namespace mixup::nn
