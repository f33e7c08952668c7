// The trainer's CPU layers: forward against naive double loops written from the definition,
// backward against central finite differences of a double reference; AdamW against its
// update rule written out; the one-cycle schedule's end points.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "layers.hpp"
#include "optim.hpp"
#include "thread_pool.hpp"

namespace {

using namespace mixup::nn;

std::vector<float> random_vec(std::size_t n, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// out[n][o][y][x] = b[o] + Σ w[o][i][ky][kx]·in[n][i][y·s − p + ky][x·s − p + kx], zero outside
std::vector<double> conv_reference(const Conv2d& c, const std::vector<float>& in, const Shape4& s) {
  const Shape4 o = c.output_shape(s);
  std::vector<double> out(static_cast<std::size_t>(o.size()));
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t oc = 0; oc < c.out_ch; ++oc)
      for (std::int64_t y = 0; y < o.h; ++y)
        for (std::int64_t x = 0; x < o.w; ++x) {
          double acc = c.bias[oc];
          for (std::int64_t ic = 0; ic < c.in_ch; ++ic)
            for (std::int64_t ky = 0; ky < c.kernel; ++ky)
              for (std::int64_t kx = 0; kx < c.kernel; ++kx) {
                const std::int64_t iy = y * c.stride - c.pad + ky, ix = x * c.stride - c.pad + kx;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                acc += double(c.weight[((oc * c.in_ch + ic) * c.kernel + ky) * c.kernel + kx]) *
                       in[((n * s.c + ic) * s.h + iy) * s.w + ix];
              }
          out[((n * c.out_ch + oc) * o.h + y) * o.w + x] = acc;
        }
  return out;
}

TEST(Conv2d, ForwardMatchesDefinition) {
  mixup::detail::ThreadPool pool(2);
  for (const auto& [in_ch, out_ch, k, s, h, w] :
       std::vector<std::array<std::int64_t, 6>>{{1, 16, 3, 2, 28, 28},
                                                {16, 16, 3, 2, 14, 14},
                                                {3, 5, 3, 1, 7, 9},
                                                {2, 3, 5, 2, 11, 6},
                                                {4, 2, 1, 1, 3, 3}}) {
    Conv2d c(in_ch, out_ch, k, s);
    kaiming_uniform(c, 7);
    const Shape4 sh{3, in_ch, h, w};
    const std::vector<float> in = random_vec(static_cast<std::size_t>(sh.size()), 11);
    std::vector<float> out(static_cast<std::size_t>(c.output_shape(sh).size()), NAN);
    c.forward(in.data(), sh, out.data(), pool);
    const std::vector<double> want = conv_reference(c, in, sh);
    for (std::size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << i;
  }
}

// L = Σ g·conv(in): dL/dw, dL/db, dL/din by central differences of the double reference.
TEST(Conv2d, BackwardMatchesFiniteDifferences) {
  mixup::detail::ThreadPool pool(2);
  Conv2d c(2, 3, 3, 2);
  kaiming_uniform(c, 3);
  const Shape4 sh{2, 2, 5, 6};
  std::vector<float> in = random_vec(static_cast<std::size_t>(sh.size()), 5);
  const Shape4 os = c.output_shape(sh);
  const std::vector<float> g = random_vec(static_cast<std::size_t>(os.size()), 6);
  const auto loss = [&](const Conv2d& cc, const std::vector<float>& x) {
    const std::vector<double> y = conv_reference(cc, x, sh);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += g[i] * y[i];
    return l;
  };
  std::vector<float> d_in(in.size());
  std::fill(c.grad_weight.begin(), c.grad_weight.end(), 0.0f);
  std::fill(c.grad_bias.begin(), c.grad_bias.end(), 0.0f);
  c.backward(in.data(), sh, g.data(), d_in.data(), pool);
  const double h = 1e-2;  // the reference is linear in every parameter: differences are exact up to rounding
  for (std::size_t i = 0; i < c.weight.size(); ++i) {
    Conv2d p = c, m = c;
    p.weight[i] += static_cast<float>(h), m.weight[i] -= static_cast<float>(h);
    ASSERT_NEAR(c.grad_weight[i], (loss(p, in) - loss(m, in)) / (2 * h), 2e-3) << "weight " << i;
  }
  for (std::size_t i = 0; i < c.bias.size(); ++i) {
    Conv2d p = c, m = c;
    p.bias[i] += static_cast<float>(h), m.bias[i] -= static_cast<float>(h);
    ASSERT_NEAR(c.grad_bias[i], (loss(p, in) - loss(m, in)) / (2 * h), 2e-3) << "bias " << i;
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    std::vector<float> p = in, m = in;
    p[i] += static_cast<float>(h), m[i] -= static_cast<float>(h);
    ASSERT_NEAR(d_in[i], (loss(c, p) - loss(c, m)) / (2 * h), 2e-3) << "input " << i;
  }
}

// Gradients of L = Σ g·conv(in) written out in double: dW = Σ g·patch, db = Σ g, dIn = Σ w·g.
struct ConvGrads {
  std::vector<double> w, b, in;
};
ConvGrads conv_grad_reference(const Conv2d& c, const std::vector<float>& in, const Shape4& s,
                              const std::vector<float>& g) {
  const Shape4 o = c.output_shape(s);
  ConvGrads r{std::vector<double>(c.weight.size()), std::vector<double>(c.bias.size()),
              std::vector<double>(in.size())};
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t oc = 0; oc < c.out_ch; ++oc)
      for (std::int64_t y = 0; y < o.h; ++y)
        for (std::int64_t x = 0; x < o.w; ++x) {
          const double gv = g[((n * c.out_ch + oc) * o.h + y) * o.w + x];
          r.b[oc] += gv;
          for (std::int64_t ic = 0; ic < c.in_ch; ++ic)
            for (std::int64_t ky = 0; ky < c.kernel; ++ky)
              for (std::int64_t kx = 0; kx < c.kernel; ++kx) {
                const std::int64_t iy = y * c.stride - c.pad + ky, ix = x * c.stride - c.pad + kx;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                const std::int64_t wi = ((oc * c.in_ch + ic) * c.kernel + ky) * c.kernel + kx,
                                   ii = ((n * s.c + ic) * s.h + iy) * s.w + ix;
                r.w[wi] += gv * in[ii];
                r.in[ii] += gv * c.weight[wi];
              }
        }
  return r;
}

// Batches big enough that images are grouped side by side and the slices are uneven.
TEST(Conv2d, BackwardMatchesReferenceOnLargerBatches) {
  mixup::detail::ThreadPool pool(2);
  for (const auto& [n, in_ch, out_ch, k, st, h, w] :
       std::vector<std::array<std::int64_t, 7>>{{37, 16, 16, 3, 2, 14, 14},
                                                {19, 1, 16, 3, 2, 28, 28},
                                                {13, 16, 10, 3, 2, 7, 7},
                                                {5, 3, 7, 5, 1, 9, 8}}) {
    Conv2d c(in_ch, out_ch, k, st);
    kaiming_uniform(c, 21);
    const Shape4 sh{n, in_ch, h, w};
    const std::vector<float> in = random_vec(static_cast<std::size_t>(sh.size()), 22);
    const std::vector<float> g = random_vec(static_cast<std::size_t>(c.output_shape(sh).size()), 23);
    std::fill(c.grad_weight.begin(), c.grad_weight.end(), 0.0f);
    std::fill(c.grad_bias.begin(), c.grad_bias.end(), 0.0f);
    std::vector<float> d_in(in.size(), NAN);
    c.backward(in.data(), sh, g.data(), d_in.data(), pool);
    const ConvGrads want = conv_grad_reference(c, in, sh, g);
    // float sums of up to n·P products of unit-variance terms: scale the tolerance by their size
    const auto tol = [](double v, double terms) { return 1e-5 * std::sqrt(terms) * (1 + std::fabs(v)); };
    const double P = static_cast<double>(c.output_shape(sh).h * c.output_shape(sh).w);
    for (std::size_t i = 0; i < want.w.size(); ++i)
      ASSERT_NEAR(c.grad_weight[i], want.w[i], tol(want.w[i], n * P)) << "weight " << i;
    for (std::size_t i = 0; i < want.b.size(); ++i)
      ASSERT_NEAR(c.grad_bias[i], want.b[i], tol(want.b[i], n * P)) << "bias " << i;
    for (std::size_t i = 0; i < want.in.size(); ++i)
      ASSERT_NEAR(d_in[i], want.in[i], tol(want.in[i], out_ch * k * k)) << "input " << i;
  }
}

// The trainer is reproducible whatever --threads says: the same bits from 1, 2 and 3 threads.
TEST(Conv2d, ResultsDoNotDependOnThreadCount) {
  Conv2d c(16, 16, 3, 2);
  kaiming_uniform(c, 31);
  const Shape4 sh{29, 16, 14, 14};
  const std::vector<float> in = random_vec(static_cast<std::size_t>(sh.size()), 32);
  const std::vector<float> g = random_vec(static_cast<std::size_t>(c.output_shape(sh).size()), 33);
  std::vector<std::vector<float>> outs, gws, gbs, dins;
  for (const int threads : {1, 2, 3}) {
    mixup::detail::ThreadPool pool(threads);
    std::vector<float> out(static_cast<std::size_t>(c.output_shape(sh).size())), d_in(in.size());
    c.forward(in.data(), sh, out.data(), pool);
    std::fill(c.grad_weight.begin(), c.grad_weight.end(), 0.0f);
    std::fill(c.grad_bias.begin(), c.grad_bias.end(), 0.0f);
    c.backward(in.data(), sh, g.data(), d_in.data(), pool);
    outs.push_back(out), gws.push_back(c.grad_weight), gbs.push_back(c.grad_bias), dins.push_back(d_in);
  }
  for (std::size_t t = 1; t < outs.size(); ++t) {
    EXPECT_EQ(outs[t], outs[0]) << "forward, " << t + 1 << " threads";
    EXPECT_EQ(gws[t], gws[0]) << "weight gradient, " << t + 1 << " threads";
    EXPECT_EQ(gbs[t], gbs[0]) << "bias gradient, " << t + 1 << " threads";
    EXPECT_EQ(dins[t], dins[0]) << "input gradient, " << t + 1 << " threads";
  }
}

// The patches a training forward keeps for backward give the same bits as building them again,
// and are not used for another input.
TEST(Conv2d, KeptPatchesGiveTheSameGradients) {
  mixup::detail::ThreadPool pool(2);
  Conv2d c(16, 16, 3, 2);
  kaiming_uniform(c, 41);
  const Shape4 sh{23, 16, 14, 14};
  const std::vector<float> a = random_vec(static_cast<std::size_t>(sh.size()), 42),
                           b = random_vec(a.size(), 43);
  const std::vector<float> g = random_vec(static_cast<std::size_t>(c.output_shape(sh).size()), 44);
  const auto grads = [&](const std::vector<float>& fwd_in, bool keep, const std::vector<float>& bwd_in) {
    std::vector<float> out(g.size()), d_in(a.size());
    c.forward(fwd_in.data(), sh, out.data(), pool, keep);
    std::fill(c.grad_weight.begin(), c.grad_weight.end(), 0.0f);
    std::fill(c.grad_bias.begin(), c.grad_bias.end(), 0.0f);
    c.backward(bwd_in.data(), sh, g.data(), d_in.data(), pool);
    std::vector<float> all = c.grad_weight;
    all.insert(all.end(), c.grad_bias.begin(), c.grad_bias.end());
    all.insert(all.end(), d_in.begin(), d_in.end());
    all.insert(all.end(), out.begin(), out.end());
    return all;
  };
  const std::vector<float> fresh = grads(a, false, a);
  EXPECT_EQ(grads(a, true, a), fresh) << "kept patches";
  std::vector<float> other = grads(b, false, b), kept_for_a = grads(a, true, b);
  // backward on b after a kept forward on a: b's gradients (the outputs are a's)
  other.resize(other.size() - g.size()), kept_for_a.resize(kept_for_a.size() - g.size());
  EXPECT_EQ(kept_for_a, other) << "patches of another input were used";
}

TEST(Layers, ReluAndAvgPool) {
  std::vector<float> x = {-1.0f, 0.0f, 2.0f, -0.5f};
  relu_forward(x.data(), 4);
  EXPECT_EQ(x, (std::vector<float>{0.0f, 0.0f, 2.0f, 0.0f}));
  std::vector<float> dy = {1, 1, 1, 1};
  relu_backward(x.data(), dy.data(), 4);
  EXPECT_EQ(dy, (std::vector<float>{0, 0, 1, 0}));
  const Shape4 s{1, 2, 2, 2};
  const std::vector<float> in = {1, 2, 3, 4, 10, 20, 30, 40};
  std::vector<float> out(2), din(8);
  avgpool_forward(in.data(), s, out.data());
  EXPECT_FLOAT_EQ(out[0], 2.5f);
  EXPECT_FLOAT_EQ(out[1], 25.0f);
  const std::vector<float> dout = {4.0f, 8.0f};
  avgpool_backward(dout.data(), s, din.data());
  for (int i = 0; i < 4; ++i) {
    EXPECT_FLOAT_EQ(din[i], 1.0f);
    EXPECT_FLOAT_EQ(din[4 + i], 2.0f);
  }
}

// The whole network: dL/dw for L = Σ g·logits against finite differences through forward().
TEST(SimpleCnn, BackwardMatchesFiniteDifferences) {
  mixup::detail::ThreadPool pool(2);
  for (const bool last_relu : {true, false}) {
    SimpleCnn net({1, 4, 3}, {3, 3}, {2, 2}, last_relu, 9);
    const Shape4 s{2, 1, 9, 9};
    const std::vector<float> x = random_vec(static_cast<std::size_t>(s.size()), 1);
    const std::vector<float> g = random_vec(6, 2);
    const auto loss = [&]() {
      const std::vector<float>& z = net.forward(x.data(), s, pool);
      double l = 0;
      for (std::size_t i = 0; i < z.size(); ++i) l += double(g[i]) * z[i];
      return l;
    };
    loss();
    net.backward(g.data(), pool);
    std::vector<float> analytic = net.layers()[0].grad_weight;
    for (std::size_t i = 0; i < analytic.size(); i += 3) {
      const float keep = net.layers()[0].weight[i];
      const float h = 1e-3f;
      net.layers()[0].weight[i] = keep + h;
      const double lp = loss();
      net.layers()[0].weight[i] = keep - h;
      const double lm = loss();
      net.layers()[0].weight[i] = keep;
      ASSERT_NEAR(analytic[i], (lp - lm) / (2 * h), 2e-3) << "weight " << i << " last_relu " << last_relu;
    }
  }
}

// Training-mode BatchNorm from its definition in double: batch mean, biased variance.
std::vector<double> bn_reference(const std::vector<float>& x, const Shape4& s,
                                 const std::vector<float>& gamma, const std::vector<float>& beta,
                                 double eps) {
  std::vector<double> y(x.size());
  const std::int64_t hw = s.h * s.w, m = s.n * hw;
  for (std::int64_t c = 0; c < s.c; ++c) {
    double mean = 0, var = 0;
    for (std::int64_t n = 0; n < s.n; ++n)
      for (std::int64_t p = 0; p < hw; ++p) mean += x[(n * s.c + c) * hw + p];
    mean /= m;
    for (std::int64_t n = 0; n < s.n; ++n)
      for (std::int64_t p = 0; p < hw; ++p) var += std::pow(x[(n * s.c + c) * hw + p] - mean, 2);
    var /= m;
    for (std::int64_t n = 0; n < s.n; ++n)
      for (std::int64_t p = 0; p < hw; ++p) {
        const std::int64_t i = (n * s.c + c) * hw + p;
        y[i] = gamma[c] * (x[i] - mean) / std::sqrt(var + eps) + beta[c];
      }
  }
  return y;
}

TEST(BatchNorm2d, ForwardBackwardAndRunningStatistics) {
  const Shape4 s{4, 3, 3, 5};
  BatchNorm2d bn(3);
  bn.gamma = {1.5f, 0.5f, -1.0f};
  bn.beta = {0.1f, -0.2f, 0.3f};
  const std::vector<float> x = random_vec(static_cast<std::size_t>(s.size()), 21, 2.0f);
  std::vector<float> y(x.size());
  bn.forward(x.data(), s, y.data(), true);
  const std::vector<double> want = bn_reference(x, s, bn.gamma, bn.beta, bn.eps);
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-5) << i;
  // running statistics moved 10% of the way to the batch's (unbiased variance)
  double mean0 = 0;
  for (std::int64_t n = 0; n < s.n; ++n)
    for (std::int64_t p = 0; p < 15; ++p) mean0 += x[(n * 3) * 15 + p];
  EXPECT_NEAR(bn.running_mean[0], 0.1 * mean0 / 60, 1e-6);
  // backward: L = Σ g·y, against finite differences of the reference
  const std::vector<float> g = random_vec(x.size(), 22);
  std::vector<float> dx(x.size());
  bn.backward(s, g.data(), dx.data());
  const auto loss = [&](const std::vector<float>& xx, const std::vector<float>& ga,
                        const std::vector<float>& be) {
    const std::vector<double> yy = bn_reference(xx, s, ga, be, bn.eps);
    double l = 0;
    for (std::size_t i = 0; i < yy.size(); ++i) l += g[i] * yy[i];
    return l;
  };
  const double h = 1e-3;
  for (std::size_t i = 0; i < x.size(); i += 3) {
    std::vector<float> p = x, m = x;
    p[i] += static_cast<float>(h), m[i] -= static_cast<float>(h);
    ASSERT_NEAR(dx[i], (loss(p, bn.gamma, bn.beta) - loss(m, bn.gamma, bn.beta)) / (2 * h), 3e-3)
        << "x " << i;
  }
  for (int c = 0; c < 3; ++c) {
    std::vector<float> gp = bn.gamma, gm = bn.gamma;
    gp[c] += static_cast<float>(h), gm[c] -= static_cast<float>(h);
    ASSERT_NEAR(bn.grad_gamma[c], (loss(x, gp, bn.beta) - loss(x, gm, bn.beta)) / (2 * h), 3e-3)
        << "gamma " << c;
  }
  // evaluation uses the running statistics, not the batch's
  std::vector<float> ye(x.size());
  bn.forward(x.data(), s, ye.data(), false);
  const std::int64_t i = 7;
  const std::int64_t c = (i / 15) % 3;
  EXPECT_NEAR(ye[i],
              bn.gamma[c] * (x[i] - bn.running_mean[c]) / std::sqrt(bn.running_var[c] + bn.eps) + bn.beta[c],
              1e-5);
}

TEST(SimpleCnn, WithBatchNormBackwardMatchesFiniteDifferences) {
  mixup::detail::ThreadPool pool(2);
  SimpleCnn net({1, 4, 3}, {3, 3}, {2, 2}, true, 9, true);
  ASSERT_EQ(net.norms().size(), 1u) << "BatchNorm after every conv but the last";
  const Shape4 s{3, 1, 9, 9};
  const std::vector<float> x = random_vec(static_cast<std::size_t>(s.size()), 1);
  const std::vector<float> g = random_vec(9, 2);
  const auto loss = [&]() {
    BatchNorm2d keep = net.norms()[0];  // keep the running statistics out of the differences
    const std::vector<float>& z = net.forward(x.data(), s, pool, true);
    double l = 0;
    for (std::size_t i = 0; i < z.size(); ++i) l += double(g[i]) * z[i];
    net.norms()[0] = keep;
    return l;
  };
  loss();
  net.forward(x.data(), s, pool, true);
  net.backward(g.data(), pool);
  const std::vector<float> analytic = net.layers()[0].grad_weight;
  for (std::size_t i = 0; i < analytic.size(); i += 2) {
    const float keep = net.layers()[0].weight[i], h = 1e-3f;
    net.layers()[0].weight[i] = keep + h;
    const double lp = loss();
    net.layers()[0].weight[i] = keep - h;
    const double lm = loss();
    net.layers()[0].weight[i] = keep;
    ASSERT_NEAR(analytic[i], (lp - lm) / (2 * h), 3e-3) << "weight " << i;
  }
}

TEST(SimpleCnn, ShapesFollowFastaiV1) {
  mixup::detail::ThreadPool pool(1);
  SimpleCnn net({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 0);
  const Shape4 s{5, 1, 28, 28};
  std::vector<float> x(static_cast<std::size_t>(s.size()), 0.5f);
  EXPECT_EQ(net.forward(x.data(), s, pool).size(), 50u);  // 28 → 14 → 7 → 4, pooled to [5, 10]
  for (float v : net.forward(x.data(), s, pool)) EXPECT_GE(v, 0.0f) << "ReLU after the last conv, pooled";
  EXPECT_THROW(SimpleCnn({1}, {}, {}, true, 0), std::invalid_argument);
}

TEST(AdamW, MatchesTheUpdateRule) {
  std::vector<float> p = {1.0f, -2.0f, 0.5f}, g = {0.1f, -0.3f, 0.0f};
  AdamW opt(0.9f, 0.99f, 1e-8f, 0.01f);
  std::vector<double> pd(p.begin(), p.end()), m(3, 0), v(3, 0);
  for (int t = 1; t <= 5; ++t) {
    opt.step({&p}, {&g}, 3e-3f);
    for (int i = 0; i < 3; ++i) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
      const double mh = m[i] / (1 - std::pow(0.9, t)), vh = v[i] / (1 - std::pow(0.99, t));
      pd[i] = pd[i] - 3e-3 * 0.01 * pd[i] - 3e-3 * mh / (std::sqrt(vh) + 1e-8);
    }
  }
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[i], pd[i], 1e-6) << i;
}

TEST(OneCycle, EndPoints) {
  const OneCycle oc{1e-2f, 1000};
  EXPECT_NEAR(oc.lr(0), 1e-2 / 25, 1e-9);
  EXPECT_NEAR(oc.lr(300), 1e-2, 1e-7);
  EXPECT_LT(oc.lr(999), 1e-5);
  EXPECT_NEAR(oc.momentum(0), 0.95, 1e-6);
  EXPECT_NEAR(oc.momentum(300), 0.85, 1e-6);
}

}  // namespace

// fastai v1's conv init (--init kaiming_normal): zero bias, weights N(0, 2 / fan_in); the
// uniform init (PyTorch's default) has neither property, so this test tells them apart.
TEST(Conv2d, KaimingNormalIsFastaisInit) {
  Conv2d c(16, 32, 3, 2);
  kaiming_normal(c, 5);
  for (float b : c.bias) EXPECT_EQ(b, 0.0f);
  double sum = 0, sq = 0;
  for (float w : c.weight) sum += w, sq += static_cast<double>(w) * w;
  const double n = static_cast<double>(c.weight.size()), mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  const double want = std::sqrt(2.0 / (16 * 3 * 3));  // 0.118; uniform's sd would be 1/sqrt(3*144) = 0.048
  EXPECT_NEAR(sd, want, 0.05 * want);
  EXPECT_NEAR(mean, 0.0, 4 * want / std::sqrt(n));
}
