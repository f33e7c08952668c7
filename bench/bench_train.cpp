// bench_train: training throughput (images/s) of the trainer, simple_cnn(1,16,16,10) on
// Fashion-MNIST batches, without and with mixup, in the same run. The difference is what
// mixup costs a training step (mixup op + dual-target loss instead of normalise + plain loss).
// The interleaved cases run on the CPU path and, where there is a GPU, on the cuDNN path.
//   build/ci/bench/bench_train --benchmark_min_time=2
// BM_cpu_ranks (issue 22): data-parallel training steps over MPI when started by mpiexec
// (bench/bench_ranks.sh runs np 1, np 2 and one process with 2 threads back to back).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <filesystem>

#include "idx.hpp"
#include "learner.hpp"
#include "mixup_callback.hpp"
#include "mixup/mixup.hpp"
#include "parallel/comm.hpp"
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

// The communicator of this process (MPI under mpiexec, where the build has it), timing the
// step's reduction: its share of a step is what data parallelism costs here (it includes
// waiting for the slower rank).
class TimedCommunicator final : public Communicator {
 public:
  explicit TimedCommunicator(Communicator& c) : c_(c) {}
  int rank() const override { return c_.rank(); }
  int size() const override { return c_.size(); }
  const char* name() const override { return c_.name(); }
  void sum(float* data, std::size_t count, bool ordered) override {
    const auto t0 = std::chrono::steady_clock::now();
    c_.sum(data, count, ordered);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  void allgather(const void* in, void* out, std::size_t bytes) override { c_.allgather(in, out, bytes); }
  void broadcast(void* data, std::size_t bytes, int root) override { c_.broadcast(data, bytes, root); }
  [[noreturn]] void abort(int status) override {
    c_.abort(status);
    std::_Exit(status);  // not reached
  }
  double seconds = 0;

 private:
  Communicator& c_;
};

Communicator& process_communicator() {
  static const std::unique_ptr<Communicator> c = launcher_world_size() > 0 && built_with_mpi()
                                                     ? make_mpi_communicator(nullptr, nullptr)
                                                     : make_single_communicator();
  return *c;
}

// Data-parallel steps: each rank bs images, `threads` threads; 8 global batches per fit (the
// epoch's end: statistics, checksum, a validation of one image per rank). Fixed iterations:
// every rank must run the same number of steps.
void BM_cpu_ranks(benchmark::State& st) {
  const IdxDataset* d = dataset();
  if (d == nullptr) return st.SkipWithError("Fashion-MNIST is not installed (scripts/setup)");
  TimedCommunicator comm(process_communicator());
  const std::int64_t bs = st.range(0), steps = 8;
  const int threads = static_cast<int>(st.range(1)), world = comm.size();
  if (world > 1 && threads > 1) return st.SkipWithError("one thread per rank (two cores here)");
  SimpleCnn model({1, 16, 16, 10}, {3, 3, 3}, {2, 2, 2}, true, 0);
  LearnerConfig cfg;
  cfg.batch_size = bs;
  cfg.threads = threads;
  cfg.progress = false;
  cfg.drop_last = true;
  cfg.parallel.comm = &comm;
  Learner learn(model, ImageSet::of(d->train_images, d->train_labels, world * bs * steps),
                ImageSet::of(d->test_images, d->test_labels, world), cfg);
  double total = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    learn.fit(1);
    total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double images = static_cast<double>(st.iterations() * steps * world * bs);
  st.counters["ranks"] = world;
  st.counters["global_batch"] = static_cast<double>(world * bs);
  st.counters["images_per_s"] = images / total;
  st.counters["reduce_pct"] = 100.0 * comm.seconds / total;
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

BENCHMARK(BM_cpu_ranks)
    ->Args({64, 1})
    ->Args({128, 2})
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // under mpiexec rank 0 reports; the others run the same steps silently
  if (const char* r = std::getenv("OMPI_COMM_WORLD_RANK"); r && std::atoi(r) != 0)
    if (!std::freopen("/dev/null", "w", stdout)) return 1;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
