// The trainer's GPU path (cuDNN) against its CPU path: the same network, the same weights, the
// same input give the same logits, gradients and BatchNorm statistics within float tolerance;
// DeviceTensor round trips; short GPU training runs (with mixup, with BatchNorm) learn. Skips, saying why, where there is no GPU.
#include <gtest/gtest.h>

#include "data_dir.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <random>
#include <stdexcept>

#include "engine.hpp"
#include "gpu/device_tensor.hpp"
#include "gpu/gpu_cnn.hpp"
#include "idx.hpp"
#include "learner.hpp"
#include "mixup_callback.hpp"
#include "thread_pool.hpp"

namespace {

using namespace mixup::nn;

std::string no_gpu() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return std::string("no CUDA device: ") + cudaGetErrorString(e);
  return n == 0 ? "no CUDA device" : "";
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0;
  for (float v : want) scale = std::max(scale, static_cast<double>(std::fabs(v)));
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], rel * (scale + 1e-6)) << what << " [" << i << "]";
}

// Every variant of simple_cnn (last ReLU or not, BatchNorm or not): logits, every parameter's
// gradient, BatchNorm's running statistics and its evaluation-mode logits, GPU against CPU.
TEST(GpuTrainer, CudnnNetworkMatchesTheCpuPath) {
  if (const std::string why = no_gpu(); !why.empty()) GTEST_SKIP() << "GPU trainer test skipped: " << why;
  mixup::detail::ThreadPool pool(2);
  for (const bool bn : {false, true})
    for (const bool last_relu : {true, false}) {
      SCOPED_TRACE(std::string("bn ") + (bn ? "on" : "off") + ", last ReLU " + (last_relu ? "on" : "off"));
      SimpleCnn cpu({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, last_relu, 4, bn);
      const Shape4 s{7, 1, 28, 28};
      std::vector<float> x(static_cast<std::size_t>(s.size())), g(70);
      std::mt19937 rng(1);
      std::normal_distribution<float> d(0.0f, 1.0f);
      for (float& v : x) v = d(rng);
      for (float& v : g) v = d(rng);
      GpuCnn gpu(cpu, 16, 28, 28, nullptr);  // built before the CPU forward moves the running statistics
      const std::vector<float> want = cpu.forward(x.data(), s, pool, true);
      cpu.backward(g.data(), pool);

      DeviceTensor dx({s.size()}, ElemType::f32), dg({70}, ElemType::f32);
      dx.upload(x.data());
      dg.upload(g.data());
      std::vector<float> got(want.size());
      ASSERT_EQ(cudaMemcpy(got.data(), gpu.forward(dx.as<float>(), 7, true), got.size() * 4,
                           cudaMemcpyDeviceToHost),
                cudaSuccess);
      expect_close(got, want, 1e-4, "training logits");
      gpu.backward(dg.as<float>());
      SimpleCnn grads = cpu;
      gpu.download_gradients(grads);
      for (std::size_t l = 0; l < cpu.layers().size(); ++l) {
        expect_close(grads.layers()[l].grad_weight, cpu.layers()[l].grad_weight, 1e-3,
                     "conv " + std::to_string(l) + " weight gradient");
        expect_close(grads.layers()[l].grad_bias, cpu.layers()[l].grad_bias, 1e-3,
                     "conv " + std::to_string(l) + " bias gradient");
      }
      for (std::size_t l = 0; l < cpu.norms().size(); ++l) {
        expect_close(grads.norms()[l].grad_gamma, cpu.norms()[l].grad_gamma, 1e-3,
                     "bn " + std::to_string(l) + " gamma gradient");
        expect_close(grads.norms()[l].grad_beta, cpu.norms()[l].grad_beta, 1e-3,
                     "bn " + std::to_string(l) + " beta gradient");
      }
      SimpleCnn stats = cpu;
      gpu.download(stats);
      for (std::size_t l = 0; l < cpu.norms().size(); ++l) {
        expect_close(stats.norms()[l].running_mean, cpu.norms()[l].running_mean, 1e-5, "running mean");
        expect_close(stats.norms()[l].running_var, cpu.norms()[l].running_var, 1e-5, "running variance");
      }
      const std::vector<float> want_eval = cpu.forward(x.data(), s, pool, false);
      ASSERT_EQ(cudaMemcpy(got.data(), gpu.forward(dx.as<float>(), 7, false), got.size() * 4,
                           cudaMemcpyDeviceToHost),
                cudaSuccess);
      expect_close(got, want_eval, 1e-4, "evaluation logits");
      // One AdamW step (wd = 0) from zero moments moves every weight by about −lr·sign(g).
      gpu.adamw_step(1e-3f, 0.9f, 0.99f, 1e-8f, 0.0f);
      SimpleCnn after = cpu;
      gpu.download(after);
      int checked = 0, agree = 0;
      for (std::size_t l = 0; l < cpu.layers().size(); ++l)
        for (std::size_t k = 0; k < cpu.layers()[l].weight.size(); ++k) {
          const float gk = cpu.layers()[l].grad_weight[k];
          if (std::fabs(gk) < 1e-4f) continue;
          const float moved = after.layers()[l].weight[k] - cpu.layers()[l].weight[k];
          ++checked;
          agree += (moved < 0) == (gk > 0) && std::fabs(std::fabs(moved) - 1e-3f) < 1e-4f;
        }
      EXPECT_GT(checked, 100);
      EXPECT_EQ(agree, checked) << "every weight moved by lr against its CPU gradient's sign";
    }
}

TEST(GpuTrainer, DeviceTensorRoundTripAndTypedAccess) {
  if (const std::string why = no_gpu(); !why.empty()) GTEST_SKIP() << "GPU trainer test skipped: " << why;
  DeviceTensor t({2, 3}, ElemType::i32);
  const std::vector<std::int32_t> in{1, -2, 3, -4, 5, 2147483647};
  std::vector<std::int32_t> out(6, 0);
  t.upload(in.data());
  t.download(out.data());
  EXPECT_EQ(in, out);
  EXPECT_NE(t.as<std::int32_t>(), nullptr);
  EXPECT_THROW(t.as<float>(), std::invalid_argument);
  DeviceTensor moved = std::move(t);
  EXPECT_EQ(t.data(), nullptr);
  moved.download(out.data());
  EXPECT_EQ(in, out);
}

TEST(GpuTrainer, ShortRunWithBatchNormLearns) {
  if (const std::string why = no_gpu(); !why.empty()) GTEST_SKIP() << "GPU trainer test skipped: " << why;
  const std::string dir = fashion_mnist_dir();
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is not installed";
  const IdxDataset data = load_idx_dataset(dir);
  SimpleCnn model({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 0, true);
  LearnerConfig cfg;
  cfg.cuda = true;
  cfg.progress = false;
  Learner learn(model, ImageSet::of(data.train_images, data.train_labels, 6000),
                ImageSet::of(data.test_images, data.test_labels, 2000), cfg);
  const auto r = learn.fit(2);
  std::printf("GPU short run with BatchNorm: accuracy %.4f\n", r.back().accuracy);
  EXPECT_GT(r.back().accuracy, 0.55);
  EXPECT_NE(model.norms()[0].running_var, std::vector<float>(16, 1.0f))
      << "running statistics came back to the host model";
}

TEST(GpuTrainer, ShortRunWithMixupLearns) {
  if (const std::string why = no_gpu(); !why.empty()) GTEST_SKIP() << "GPU trainer test skipped: " << why;
  const std::string dir = fashion_mnist_dir();
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is not installed";
  const IdxDataset data = load_idx_dataset(dir);
  SimpleCnn model({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 0);
  LearnerConfig cfg;
  cfg.cuda = true;
  cfg.progress = false;
  Learner learn(model, ImageSet::of(data.train_images, data.train_labels, 6000),
                ImageSet::of(data.test_images, data.test_labels, 2000), cfg);
  MixUpCallback mix(0.4f, 0);
  learn.add_callback(&mix);
  const auto r = learn.fit(2);
  std::printf("GPU short run with mixup: accuracy %.4f\n", r.back().accuracy);
  EXPECT_GT(r.back().accuracy, 0.55);
  EXPECT_EQ(learn.loss_fn->name(), "CrossEntropyLoss");
}

// The cuDNN engine against the CPU engine, step by step, through the whole Learner: the same
// model, batches, one-cycle schedule (β1 moves), weight decay, mixup and CutMix draws (the
// library's CPU and GPU draws are bit-equal). Each step's loss within 1e-3 relative, and the
// weights, BatchNorm parameters and running statistics after, in relative L2 within 1e-2
// (Adam turns tiny gradient differences near zero into ±lr moves: element-wise is too strict).
// A wrong β2, a missing bias correction or weight decay, a stale loss read-back all show here.
struct LossLog : Callback {
  std::vector<float> losses;
  void on_batch_end(Learner&, BatchState& b) override { losses.push_back(b.loss); }
};

double relative_l2(const std::vector<float>& got, const std::vector<float>& want) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    d += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    n += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(d / (n + 1e-30));
}

TEST(GpuTrainer, CudnnLearnerFollowsTheCpuLearnerStepByStep) {
  if (const std::string why = no_gpu(); !why.empty()) GTEST_SKIP() << "GPU trainer test skipped: " << why;
  const std::string dir = fashion_mnist_dir();
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is not installed";
  const IdxDataset data = load_idx_dataset(dir);
  const SimpleCnn initial({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 3, true);
  SimpleCnn on_cpu = initial, on_gpu = initial;
  LearnerConfig cfg;
  cfg.progress = false;
  cfg.one_cycle = true;
  cfg.weight_decay = 0.1f;
  cfg.batch_size = 64;
  mixup_mixing_t mixing = mixup_mixing_default();
  mixing.prob = 1.0f;
  mixing.switch_prob = 0.5f;  // mixup and CutMix batches
  std::vector<LossLog> logs(2);
  for (const bool cuda : {false, true}) {
    LearnerConfig c = cfg;
    c.cuda = cuda;
    // 600 images: 9 full batches and a partial one (a second conv plan)
    Learner learn(cuda ? on_gpu : on_cpu, ImageSet::of(data.train_images, data.train_labels, 600),
                  ImageSet::of(data.test_images, data.test_labels, 200), c);
    MixUpCallback mix(0.4f, 7, mixing);
    learn.add_callback(&mix);
    learn.add_callback(&logs[cuda]);
    learn.fit(2);
  }
  ASSERT_EQ(logs[1].losses.size(), logs[0].losses.size());
  ASSERT_EQ(logs[0].losses.size(), 20u);
  for (std::size_t i = 0; i < logs[0].losses.size(); ++i)
    EXPECT_NEAR(logs[1].losses[i], logs[0].losses[i], 1e-3 * std::fabs(logs[0].losses[i])) << "step " << i;
  for (std::size_t k = 0; k < on_cpu.layers().size(); ++k) {
    EXPECT_LT(relative_l2(on_gpu.layers()[k].weight, on_cpu.layers()[k].weight), 1e-2) << "conv " << k;
    EXPECT_LT(relative_l2(on_gpu.layers()[k].bias, on_cpu.layers()[k].bias), 1e-2) << "conv " << k;
  }
  for (std::size_t k = 0; k < on_cpu.norms().size(); ++k) {
    EXPECT_LT(relative_l2(on_gpu.norms()[k].gamma, on_cpu.norms()[k].gamma), 1e-2) << "norm " << k;
    EXPECT_LT(relative_l2(on_gpu.norms()[k].beta, on_cpu.norms()[k].beta), 1e-2) << "norm " << k;
    EXPECT_LT(relative_l2(on_gpu.norms()[k].running_mean, on_cpu.norms()[k].running_mean), 1e-2)
        << "norm " << k;
    EXPECT_LT(relative_l2(on_gpu.norms()[k].running_var, on_cpu.norms()[k].running_var), 1e-2)
        << "norm " << k;
  }
}

}  // namespace

namespace {

std::vector<float> in_flat_order(const SimpleCnn& m, Engine::Flat what) {
  std::vector<float> v;
  const auto add = [&](const std::vector<float>& t) { v.insert(v.end(), t.begin(), t.end()); };
  if (what == Engine::Flat::params)
    for (const Conv2d& c : m.layers()) add(c.weight), add(c.bias);
  for (const BatchNorm2d& bn : m.norms()) {
    if (what == Engine::Flat::params) add(bn.gamma), add(bn.beta);
    else add(bn.running_mean), add(bn.running_var);
  }
  return v;
}

// Data-parallel training reads and writes the model as flat host arrays (engine.hpp): the
// cuDNN engine's are the CPU engine's, in the same order (so checksums and checkpoints agree
// across engines), and what is written is what is read back and what reaches the host model.
TEST(GpuTrainer, CudnnEngineFlatPartsAreTheCpuEnginesInTheSameOrder) {
  if (const std::string why = no_gpu(); !why.empty()) GTEST_SKIP() << "GPU trainer test skipped: " << why;
  using Flat = Engine::Flat;
  SimpleCnn model({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 5, true), on_cpu = model, on_gpu = model;
  for (BatchNorm2d& bn : model.norms())  // statistics that differ per position
    for (std::size_t c = 0; c < bn.running_mean.size(); ++c) bn.running_mean[c] = 0.25f * c;
  on_cpu = model, on_gpu = model;
  EngineConfig ec;
  ec.max_batch = 8, ec.pixels = 784, ec.height = 28, ec.width = 28, ec.threads = 1;
  const auto cpu = make_cpu_engine(on_cpu, ec);
  const auto gpu = make_cudnn_engine(on_gpu, ec);
  for (const Flat f : {Flat::params, Flat::buffers}) {
    std::vector<float> got, want;
    gpu->read_flat(f, got);
    cpu->read_flat(f, want);
    EXPECT_EQ(got, want) << "part " << static_cast<int>(f);
    EXPECT_EQ(got, in_flat_order(model, f)) << "part " << static_cast<int>(f);
  }
  for (const Flat f : {Flat::params, Flat::grads, Flat::buffers}) {
    std::vector<float> v, back;
    gpu->read_flat(f, v);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5f * static_cast<float>(i) - 3.0f;
    gpu->write_flat(f, v);
    gpu->read_flat(f, back);
    EXPECT_EQ(back, v) << "part " << static_cast<int>(f);
    v.pop_back();
    EXPECT_THROW(gpu->write_flat(f, v), std::invalid_argument);
  }
  gpu->sync_model();  // the written parameters and statistics reach the host model
  std::vector<float> want(in_flat_order(model, Flat::params).size());
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = 0.5f * static_cast<float>(i) - 3.0f;
  EXPECT_EQ(in_flat_order(on_gpu, Flat::params), want);
}

// --virtual-ranks 2 with --accum 2 on the cuDNN engine (gradients read and written through the
// flat arrays every micro-batch, BatchNorm statistics swapped per virtual rank): twice, the
// same bits (the engine is deterministic run to run: the mpi cases' bit identity rests on it);
// against the CPU engine, the tolerances of the step-by-step test above.
TEST(GpuTrainer, VirtualRanksOnTheGpuRepeatBitForBitAndFollowTheCpu) {
  if (const std::string why = no_gpu(); !why.empty()) GTEST_SKIP() << "GPU trainer test skipped: " << why;
  const std::string dir = fashion_mnist_dir();
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is not installed";
  const IdxDataset data = load_idx_dataset(dir);
  const SimpleCnn initial({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 3, true);
  std::vector<SimpleCnn> models(3, initial);  // CPU, GPU, GPU again
  std::vector<LossLog> logs(3);
  for (int run = 0; run < 3; ++run) {
    LearnerConfig c;
    c.progress = false;
    c.cuda = run > 0;
    c.batch_size = 16;
    c.drop_last = true;
    c.parallel.virtual_ranks = 2;
    c.parallel.accum = 2;
    Learner learn(models[run], ImageSet::of(data.train_images, data.train_labels, 640),
                  ImageSet::of(data.test_images, data.test_labels, 200), c);
    MixUpCallback mix(0.4f, 7);
    learn.add_callback(&mix);
    learn.add_callback(&logs[run]);
    learn.fit(2);
  }
  ASSERT_EQ(logs[0].losses.size(), 80u);  // 10 steps x 2 ranks x 2 micro-batches x 2 epochs
  EXPECT_EQ(logs[1].losses, logs[2].losses) << "the GPU runs differ";
  for (Engine::Flat f : {Engine::Flat::params, Engine::Flat::buffers})
    EXPECT_EQ(in_flat_order(models[1], f), in_flat_order(models[2], f)) << "the GPU runs differ";
  ASSERT_EQ(logs[1].losses.size(), logs[0].losses.size());
  for (std::size_t i = 0; i < logs[0].losses.size(); ++i)
    EXPECT_NEAR(logs[1].losses[i], logs[0].losses[i], 1e-3 * std::fabs(logs[0].losses[i]))
        << "micro-batch " << i;
  for (Engine::Flat f : {Engine::Flat::params, Engine::Flat::buffers})
    EXPECT_LT(relative_l2(in_flat_order(models[1], f), in_flat_order(models[0], f)), 1e-2);
}

}  // namespace
