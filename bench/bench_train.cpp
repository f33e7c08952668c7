// bench_train: training throughput (images/s) of the trainer, simple_cnn(1,16,16,10) on
// Fashion-MNIST batches, without and with mixup, in the same run. The difference is what
// mixup costs a training step (mixup op + dual-target loss instead of normalise + plain loss).
// The interleaved cases run on the CPU path and, where there is a GPU, on the cuDNN path.
//   build/ci/bench/bench_train --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <filesystem>

#include "idx.hpp"
#include "learner.hpp"
#include "mixup_callback.hpp"
#include "mixup/mixup.hpp"
#if MIXUP_NN_HAS_CUDNN
#include <cuda_runtime_api.h>
#endif

namespace {

using namespace mixup::nn;

const IdxDataset* dataset() {
  static const IdxDataset* d = [] {
    const char* env = std::getenv("MIXUP_DATA_DIR");  // the GPU check carries its own copy
    const std::string dir = env && *env ? env : "/usr/share/datasets/fashion-mnist";
    return std::filesystem::exists(dir) ? new IdxDataset(load_idx_dataset(dir)) : nullptr;
  }();
  return d;
}

void BM_cpu_train_step(benchmark::State& st, bool with_mixup) {
  const IdxDataset* d = dataset();
  if (d == nullptr) return st.SkipWithError("Fashion-MNIST is not installed (scripts/setup)");
  const std::int64_t bs = st.range(0);
  SimpleCnn model({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 0);
  LearnerConfig cfg;
  cfg.batch_size = bs;
  cfg.threads = 2;
  cfg.progress = false;
  const ImageSet train = ImageSet::of(d->train_images, d->train_labels);
  Learner learn(model, train, train, cfg);
  MixUpCallback mix(0.4f, 0);
  if (with_mixup) {
    learn.add_callback(&mix);
    mix.on_train_begin(learn);  // swaps in the mixup loss, as fit() would
  }
  Loader loader(train, bs, true, 0);
  std::int64_t epoch = 0;
  loader.start_epoch(epoch);
  BatchState b;
  b.h = train.h, b.w = train.w;
  for (auto _ : st) {
    st.PauseTiming();  // loading is not what is compared
    if ((b.n = loader.next(b.images, b.labels)) < bs) {
      loader.start_epoch(++epoch);
      b.n = loader.next(b.images, b.labels);
    }
    st.ResumeTiming();
    learn.train_step(b);
  }
  if (with_mixup) mix.on_train_end(learn);
  st.SetItemsProcessed(st.iterations() * bs);
}

void wait(Learner& l) {
#if MIXUP_NN_HAS_CUDNN
  if (l.on_gpu() && cudaStreamSynchronize(static_cast<cudaStream_t>(l.gpu_stream())) != cudaSuccess)
    throw std::runtime_error("cudaStreamSynchronize failed");
#else
  (void)l;
#endif
}

// The two variants interleaved step by step in one loop, so the machine's drift (this is a
// shared 2-core machine) falls on both alike; counters give each one's mean step time and
// mixup's overhead in percent.
// On the GPU each step is waited for (the backward pass and AdamW are queued asynchronously).
void BM_train_step_interleaved(benchmark::State& st, bool cuda) {
  const IdxDataset* d = dataset();
  if (d == nullptr) return st.SkipWithError("Fashion-MNIST is not installed (scripts/setup)");
#if MIXUP_NN_HAS_CUDNN
  if (cuda && mixup::cuda_device_count() < 1) return st.SkipWithError("no CUDA device");
#else
  if (cuda) return st.SkipWithError("this build has no cuDNN");
#endif
  const std::int64_t bs = st.range(0);
  const ImageSet train = ImageSet::of(d->train_images, d->train_labels);
  LearnerConfig cfg;
  cfg.batch_size = bs;
  cfg.threads = 2;
  cfg.progress = false;
  cfg.cuda = cuda;
  SimpleCnn m0({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 0),
      m1({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 0);
  Learner plain(m0, train, train, cfg), mixed(m1, train, train, cfg);
  MixUpCallback mix(0.4f, 0);
  mixed.add_callback(&mix);
  mix.on_train_begin(mixed);
  Loader loader(train, bs, true, 0);
  std::int64_t epoch = 0;
  loader.start_epoch(epoch);
  BatchState b0, b1;
  b0.h = b1.h = train.h, b0.w = b1.w = train.w;
  double t_plain = 0, t_mixed = 0;
  for (auto _ : st) {
    st.PauseTiming();
    if ((b0.n = loader.next(b0.images, b0.labels)) < bs) {
      loader.start_epoch(++epoch);
      b0.n = loader.next(b0.images, b0.labels);
    }
    b1.n = b0.n, b1.images = b0.images, b1.labels = b0.labels;
    st.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    plain.train_step(b0);
    wait(plain);
    const auto t1 = std::chrono::steady_clock::now();
    mixed.train_step(b1);
    wait(mixed);
    const auto t2 = std::chrono::steady_clock::now();
    t_plain += std::chrono::duration<double, std::milli>(t1 - t0).count();
    t_mixed += std::chrono::duration<double, std::milli>(t2 - t1).count();
  }
  mix.on_train_end(mixed);
  const double n = static_cast<double>(st.iterations());
  st.counters["no_mixup_ms"] = t_plain / n;
  st.counters["mixup_ms"] = t_mixed / n;
  st.counters["overhead_pct"] = 100.0 * (t_mixed - t_plain) / t_plain;
}

BENCHMARK_CAPTURE(BM_cpu_train_step, no_mixup, false)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_cpu_train_step, mixup, true)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_train_step_interleaved, cpu, false)
    ->Name("BM_cpu_train_step_interleaved")
    ->Arg(64)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_train_step_interleaved, cuda, true)
    ->Name("BM_cuda_train_step_interleaved")
    ->Arg(64)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
