// mixup-demo: the fused mixup op on a real Fashion-MNIST batch — what it drew (λ, partners,
// targets), λ statistics over many steps, and how long a call takes. The project's main job
// until the trainer (issue 4) lands.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "cli.hpp"
#include "idx.hpp"
#include "labels.hpp"
#include "mixup/mixup.hpp"

namespace {

namespace tools = mixup::tools;

struct Options {
  std::string data = "/usr/share/datasets/fashion-mnist";
  int bs = 64;
  float alpha = 0.4f;
  unsigned long long seed = 0;
  std::string device = "auto";
  int steps = 500;
};

// Returns -1 to go on, else the exit status (cli.hpp).
int parse(Options& o, int argc, char** argv) {
  CLI::App app(
      "Mixes real batches of an MNIST-style IDX data set (default: Debian's Fashion-MNIST) with "
      "libmixup_cuda\n"
      "and reports the draws, lambda statistics and the time per call.",
      "mixup-demo");
  tools::common_setup(app);
  app.add_option("--data", o.data, "MNIST-style IDX directory")->capture_default_str();
  app.add_option("--bs", o.bs, "batch size (at most the training set)")
      ->check(tools::integer_in(1, 1 << 30))
      ->capture_default_str();
  app.add_option("--alpha", o.alpha, "Beta(alpha, alpha)")
      ->check(tools::kPositiveFinite)
      ->capture_default_str();
  app.add_option("--seed", o.seed)->check(tools::unsigned_integer())->capture_default_str();
  app.add_option("--device", o.device)->check(CLI::IsMember({"auto", "cpu", "cuda"}))->capture_default_str();
  app.add_option("--steps", o.steps, "steps for the lambda statistics")
      ->check(tools::integer_in(1, 1000000))
      ->capture_default_str();
  return tools::parse(app, argc, argv);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int rc = parse(o, argc, argv); rc >= 0) return rc;
  mixup::nn::IdxDataset data;
  try {
    data = mixup::nn::load_idx_dataset(o.data);
    if (o.bs > data.train_images.count())
      throw mixup::tools::Failure("--bs " + std::to_string(o.bs) + " is more than the " +
                                  std::to_string(data.train_images.count()) + " training images");
    if (mixup::nn::label_classes(data.train_labels) > 10) mixup::nn::check_labels(data.train_labels, 10);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mixup-demo: %s\n", e.what());
    return 1;
  }
  const int H = static_cast<int>(data.train_images.dims[1]), W = static_cast<int>(data.train_images.dims[2]);
  const int n_train = static_cast<int>(data.train_images.count());
  const int bs = o.bs;
  const bool cuda = o.device == "cuda" || (o.device == "auto" && mixup::cuda_device_count() > 0);
  std::printf("data: %s — %d training images %dx%d; backend: %s\n", o.data.c_str(), n_train, H, W,
              cuda ? "CUDA" : "CPU (no CUDA device)");

  mixup_config_t cfg = mixup_config_default();
  cfg.backend = cuda ? MIXUP_BACKEND_CUDA : MIXUP_BACKEND_CPU;
  cfg.alpha = o.alpha;
  cfg.seed = o.seed;
  cfg.num_classes = 10;
  cfg.max_batch = bs;
  try {
    mixup::Mixup mix(cfg);
    const float mean = 0.2860f, stdev = 0.3530f;  // Fashion-MNIST pixel statistics
    mix.set_normalize(&mean, &stdev, 1);

    const std::size_t pixels = static_cast<std::size_t>(bs) * H * W;
    std::vector<std::int32_t> labels(bs), y_a(bs), y_b(bs), perm(bs);
    std::vector<float> lam(bs), out(pixels);
    for (int i = 0; i < bs; ++i) labels[i] = data.train_labels.data[i];
    const std::uint8_t* images = data.train_images.data.data();

    // Buffers where the backend wants them.
    void *d_x = (void*)images, *d_out = out.data(), *d_labels = labels.data(), *d_ya = y_a.data(),
         *d_yb = y_b.data(), *d_lam = lam.data(), *d_perm = perm.data();
    if (cuda) {
      cudaMalloc(&d_x, pixels);
      cudaMalloc(&d_out, pixels * 4);
      cudaMalloc(&d_labels, bs * 4);
      cudaMalloc(&d_ya, bs * 4);
      cudaMalloc(&d_yb, bs * 4);
      cudaMalloc(&d_lam, bs * 4);
      cudaMalloc(&d_perm, bs * 4);
      cudaMemcpy(d_x, images, pixels, cudaMemcpyHostToDevice);
      cudaMemcpy(d_labels, labels.data(), bs * 4, cudaMemcpyHostToDevice);
    }
    const auto x = mixup::TensorView::images(d_x, mixup::DType::u8, bs, 1, H, W);
    const auto y = mixup::TensorView::images(d_out, mixup::DType::f32, bs, 1, H, W);
    mixup::StackedTargets t{static_cast<std::int32_t*>(d_labels), static_cast<std::int32_t*>(d_ya),
                            static_cast<std::int32_t*>(d_yb), static_cast<float*>(d_lam),
                            static_cast<std::int32_t*>(d_perm)};
    const auto fetch = [&] {
      if (!cuda) return;
      cudaMemcpy(lam.data(), d_lam, bs * 4, cudaMemcpyDeviceToHost);
      cudaMemcpy(perm.data(), d_perm, bs * 4, cudaMemcpyDeviceToHost);
      cudaMemcpy(y_a.data(), d_ya, bs * 4, cudaMemcpyDeviceToHost);
      cudaMemcpy(y_b.data(), d_yb, bs * 4, cudaMemcpyDeviceToHost);
      cudaMemcpy(out.data(), d_out, pixels * 4, cudaMemcpyDeviceToHost);
    };

    mix.apply(x, y, t);
    fetch();
    std::printf("\nstep 0, alpha %.2f, first samples (each image is mostly itself: lambda >= 0.5):\n",
                o.alpha);
    for (int i = 0; i < std::min(bs, 8); ++i)
      std::printf("  %2d: %.2f %-11s + %.2f %-11s (partner %2d)  targets (y_a=%d, y_b=%d, lam=%.3f)\n", i,
                  lam[i], mixup::nn::kFashionMnistClasses[y_a[i]], 1.0f - lam[i],
                  mixup::nn::kFashionMnistClasses[y_b[i]], perm[i], y_a[i], y_b[i], lam[i]);

    // λ statistics over many steps, and the permutation checked every step.
    std::vector<double> all;
    int bad_perm = 0, fixed = 0;
    for (int s = 0; s < o.steps; ++s) {
      if (s > 0) {
        mix.apply(x, y, t);
        fetch();
      }
      std::vector<int> seen(bs, 0);
      for (int i = 0; i < bs; ++i) {
        bad_perm += perm[i] < 0 || perm[i] >= bs || seen[perm[i]]++;
        fixed += perm[i] == i;
        all.push_back(lam[i]);
      }
    }
    double mean_l = 0, sq = 0;
    for (double l : all) mean_l += l;
    mean_l /= all.size();
    for (double l : all) sq += (l - mean_l) * (l - mean_l);
    const auto [mn, mx] = std::minmax_element(all.begin(), all.end());
    std::printf("\nlambda over %zu draws (%d steps x %d): mean %.4f, sd %.4f, min %.4f, max %.4f\n",
                all.size(), o.steps, bs, mean_l, std::sqrt(sq / (all.size() - 1)), *mn, *mx);
    int hist[10] = {};
    for (double l : all) ++hist[std::min(9, static_cast<int>((l - 0.5) * 20.0))];
    for (int b = 0; b < 10; ++b) {
      std::printf("  [%.2f, %.2f%c %6.2f%% ", 0.5 + b * 0.05, 0.55 + b * 0.05, b == 9 ? ']' : ')',
                  100.0 * hist[b] / all.size());
      for (int k = 0; k < 60 * hist[b] / static_cast<int>(all.size()); ++k) std::printf("#");
      std::printf("\n");
    }
    std::printf(
        "partners: %d steps, every one a permutation: %s; samples paired with themselves: %.2f%% (1/bs = "
        "%.2f%%)\n",
        o.steps, bad_perm == 0 ? "yes" : "NO", 100.0 * fixed / all.size(), 100.0 / bs);

    // Time per call (the op alone, data already where the backend wants it).
    std::vector<double> ms;
    for (int r = 0; r < 50; ++r) {
      if (cuda) cudaDeviceSynchronize();
      const auto t0 = std::chrono::steady_clock::now();
      mix.apply(x, y, t);
      if (cuda) cudaDeviceSynchronize();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double bytes = 2.0 * pixels + 4.0 * pixels;
    std::printf("time per call (median of 50): %.3f ms for %d images (%.2f GB/s of uint8 in + f32 out)\n",
                ms[25], bs, bytes / (ms[25] * 1e6));
    if (bad_perm != 0) return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mixup-demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
