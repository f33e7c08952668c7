// The trainer's GPU path (cuDNN) against its CPU path: the same network, the same weights, the
// same input give the same logits and gradients within float tolerance; a short GPU training
// run with mixup learns. Skips, saying why, where there is no GPU.
#include <gtest/gtest.h>

#include "data_dir.hpp"

#include <cuda_runtime_api.h>

#include <filesystem>
#include <random>

#include "gpu/gpu_cnn.hpp"
#include "idx.hpp"
#include "learner.hpp"
#include "thread_pool.hpp"

namespace {

using namespace mixup::nn;

std::string no_gpu() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return std::string("no CUDA device: ") + cudaGetErrorString(e);
  return n == 0 ? "no CUDA device" : "";
}

TEST(GpuTrainer, CudnnNetworkMatchesTheCpuPath) {
  if (const std::string why = no_gpu(); !why.empty()) GTEST_SKIP() << "GPU trainer test skipped: " << why;
  mixup::detail::ThreadPool pool(2);
  for (const bool last_relu : {true, false}) {
    SimpleCnn cpu({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, last_relu, 4);
    const Shape4 s{7, 1, 28, 28};
    std::vector<float> x(static_cast<std::size_t>(s.size())), g(70);
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (float& v : x) v = d(rng);
    for (float& v : g) v = d(rng);
    const std::vector<float> want = cpu.forward(x.data(), s, pool);
    cpu.backward(g.data(), pool);

    GpuCnn gpu(cpu, 16, 28, 28, nullptr);
    float *dx = nullptr, *dg = nullptr;
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&dx), x.size() * 4), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&dg), g.size() * 4), cudaSuccess);
    cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dg, g.data(), g.size() * 4, cudaMemcpyHostToDevice);
    std::vector<float> got(want.size());
    cudaMemcpy(got.data(), gpu.forward(dx, 7), got.size() * 4, cudaMemcpyDeviceToHost);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << i;
    // Gradients, seen through the first AdamW step (wd = 0): m̂ = g and v̂ = g², so every weight
    // moves by −lr·g/(|g| + ε) ≈ −lr·sign(g) — against the CPU path's gradient sign.
    gpu.backward(dg);
    SimpleCnn after = cpu;
    gpu.adamw_step(1e-3f, 0.9f, 0.99f, 1e-8f, 0.0f);
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
    cudaFree(dx);
    cudaFree(dg);
  }
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
  Learner learn(model, ImageSet::of(data.train_images, data.train_labels, 6000), ImageSet::of(data.test_images, data.test_labels, 2000),
                cfg);
  MixUpCallback mix(0.4f, 0);
  learn.add_callback(&mix);
  const auto r = learn.fit(2);
  std::printf("GPU short run with mixup: accuracy %.4f\n", r.back().accuracy);
  EXPECT_GT(r.back().accuracy, 0.55);
  EXPECT_EQ(learn.loss_fn->name(), "CrossEntropyLoss");
}

}  // namespace
