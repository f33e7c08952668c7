// mixup-train: fastai's mixup experiment — simple_cnn trained without and with mixup on an
// MNIST-style data set (default: Debian's Fashion-MNIST), fastai's epoch table for each run,
// then a side-by-side summary.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "checkpoint.hpp"
#include "idx.hpp"
#include "learner.hpp"
#include "mixup/mixup.hpp"
#include "viz/plots.hpp"

namespace {

struct Options {
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::int64_t epochs = 20, bs = 64, train_limit = -1;
  float lr = 3e-3f, wd = 1e-2f, alpha = 0.4f;
  std::string mixup = "compare", arch = "simple_cnn:1,16,16,10", device = "auto", schedule = "constant";
  bool last_relu = true, bn = false, quiet = false;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string log, save, load, plot;
};

const char* kUsage =
    "usage: mixup-train [options]\n"
    "  --data DIR          MNIST-style IDX directory, gzipped or not (default: Debian's Fashion-MNIST)\n"
    "  --epochs N          epochs per run (20)            --bs N        batch size (64)\n"
    "  --lr X              learning rate (3e-3)            --wd X        decoupled weight decay (1e-2)\n"
    "  --alpha X           mixup Beta(alpha, alpha) (0.4)  --seed N      seed for init, shuffling, mixup (0)\n"
    "  --mixup on|off|compare   one run with or without mixup, or both (default compare)\n"
    "  --arch simple_cnn:C0,C1,...,Ck   channels; 3x3 stride-2 convs (default simple_cnn:1,16,16,10)\n"
    "  --last-relu on|off  ReLU after the last conv, as fastai v1 (on)\n"
    "  --bn on|off         BatchNorm after each conv's ReLU but the last, as simple_cnn(bn=True) (off)\n"
    "  --schedule constant|onecycle   constant lr (fastai v1 fit) or fit_one_cycle (constant)\n"
    "  --train-limit N     use only the first N training images (N >= 1)\n"
    "  --device auto|cpu|cuda   (auto)                     --threads N   CPU threads (0 = all)\n"
    "  --log FILE          CSV: run,epoch,train_loss,valid_loss,accuracy,time\n"
    "  --save FILE         checkpoint after training (compare: FILE.nomixup and FILE.mixup)\n"
    "  --plot FILE.png     loss and accuracy per epoch, every run on the same axes\n"
    "  --load FILE         start from a checkpoint (its architecture); --epochs 0 only evaluates\n"
    "  --quiet             no progress bar                 --help\n";

[[noreturn]] void bad(const std::string& why) {
  std::fprintf(stderr, "mixup-train: %s\n%s", why.c_str(), kUsage);
  std::exit(2);
}

template <class T>
T number(const std::string& flag, const std::string& v) {
  std::istringstream s(v);
  T x{};
  if (!(s >> x) || !s.eof()) bad("bad value '" + v + "' for " + flag);
  return x;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (a == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) bad("unexpected argument '" + a + "'");
    if (i + 1 >= argc) bad(a + " needs a value (or is unknown)");
    const std::string v = argv[++i];
    if (a == "--data") o.data = v;
    else if (a == "--epochs") o.epochs = number<std::int64_t>(a, v);
    else if (a == "--bs") o.bs = number<std::int64_t>(a, v);
    else if (a == "--lr") o.lr = number<float>(a, v);
    else if (a == "--wd") o.wd = number<float>(a, v);
    else if (a == "--alpha") o.alpha = number<float>(a, v);
    else if (a == "--seed") o.seed = number<std::uint64_t>(a, v);
    else if (a == "--threads") o.threads = number<int>(a, v);
    else if (a == "--train-limit") o.train_limit = number<std::int64_t>(a, v);
    else if (a == "--mixup") o.mixup = v;
    else if (a == "--arch") o.arch = v;
    else if (a == "--device") o.device = v;
    else if (a == "--schedule") o.schedule = v;
    else if (a == "--last-relu") {
      if (v != "on" && v != "off") bad("--last-relu takes on or off");
      o.last_relu = v == "on";
    } else if (a == "--bn") {
      if (v != "on" && v != "off") bad("--bn takes on or off");
      o.bn = v == "on";
    } else if (a == "--log") o.log = v;
    else if (a == "--save") o.save = v;
    else if (a == "--load") o.load = v;
    else if (a == "--plot") o.plot = v;
    else bad("unknown option " + a);
  }
  if (o.mixup != "on" && o.mixup != "off" && o.mixup != "compare") bad("--mixup takes on, off or compare");
  if (o.device != "auto" && o.device != "cpu" && o.device != "cuda") bad("--device takes auto, cpu or cuda");
  if (o.schedule != "constant" && o.schedule != "onecycle") bad("--schedule takes constant or onecycle");
  if (o.epochs < 0 || o.bs < 1 || o.threads < 0) bad("--epochs must be >= 0, --bs >= 1, --threads >= 0");
  if (o.train_limit == 0 || o.train_limit < -1) bad("--train-limit must be >= 1");
  if (!(o.lr > 0) || !(o.wd >= 0) || !(o.alpha > 0)) bad("--lr and --alpha must be > 0, --wd >= 0");
  return o;
}

std::vector<std::int64_t> parse_arch(const std::string& arch) {
  const std::string prefix = "simple_cnn:";
  if (arch.rfind(prefix, 0) != 0) bad("--arch must look like simple_cnn:1,16,16,10");
  std::vector<std::int64_t> actns;
  std::stringstream s(arch.substr(prefix.size()));
  std::string part;
  while (std::getline(s, part, ',')) {
    const std::int64_t c = number<std::int64_t>("--arch", part);
    if (c < 1) bad("--arch channel counts must be >= 1");
    actns.push_back(c);
  }
  if (actns.size() < 2) bad("--arch needs at least an input and an output channel count");
  return actns;
}

struct RunSummary {
  std::string name;
  double best_acc = 0, final_valid = 0;
  mixup::nn::viz::RunCurves curves;
};

// Fails early (before any training) if `path` cannot be written; leaves nothing behind.
void check_writable(const std::string& path, const char* flag) {
  if (path.empty()) return;
  const std::string probe = path + ".probe." + std::to_string(::getpid());
  std::ofstream f(probe);
  if (!f) {
    std::fprintf(stderr, "mixup-train: %s %s: cannot write there\n", flag, path.c_str());
    std::exit(1);
  }
  f.close();
  std::remove(probe.c_str());
}

RunSummary run(const Options& o, bool cuda, bool with_mixup, const mixup::nn::IdxDataset& data, std::ofstream* log,
              const std::string& save_to) {
  using namespace mixup::nn;
  const std::vector<std::int64_t> actns = parse_arch(o.arch);
  SimpleCnn model = o.load.empty()
                        ? SimpleCnn(actns, std::vector<std::int64_t>(actns.size() - 1, 3),
                                    std::vector<std::int64_t>(actns.size() - 1, 2), o.last_relu, o.seed, o.bn)
                        : load_checkpoint(o.load);
  if (model.spec().front() != 1) bad("the model's input channels must be 1 for these grayscale images");
  if (model.classes() != 10) std::fprintf(stderr, "mixup-train: note: the model has %lld outputs, the data 10 classes\n",
                                          static_cast<long long>(model.classes()));
  LearnerConfig cfg;
  cfg.batch_size = o.bs;
  cfg.lr = o.lr;
  cfg.weight_decay = o.wd;
  cfg.one_cycle = o.schedule == "onecycle";
  cfg.seed = o.seed;
  cfg.threads = o.threads;
  cfg.progress = !o.quiet && isatty(2);
  cfg.cuda = cuda;
  Learner learn(model, ImageSet::of(data.train_images, data.train_labels, o.train_limit),
                ImageSet::of(data.test_images, data.test_labels), cfg);
  MixUpCallback mix(o.alpha, o.seed);
  if (with_mixup) learn.add_callback(&mix);
  RunSummary sum{with_mixup ? "with mixup" : "without mixup"};
  sum.curves.run = with_mixup ? "mixup" : "no mixup";
  std::printf("\n%s (alpha %.2f)\n", with_mixup ? "== with mixup" : "== without mixup", o.alpha);
  std::printf("epoch  train_loss  valid_loss  accuracy  time\n");
  if (o.epochs == 0) {
    const auto [vl, acc] = learn.validate(ImageSet::of(data.test_images, data.test_labels));
    std::printf("    -           -  %10.6f  %8.6f     -\n", vl, acc);
    sum.best_acc = acc, sum.final_valid = vl;
  }
  learn.fit(o.epochs, [&](const EpochResult& r) {
    std::printf("%5lld  %10.6f  %10.6f  %8.6f  %02d:%02d\n", static_cast<long long>(r.epoch), r.train_loss, r.valid_loss,
                r.accuracy, static_cast<int>(r.seconds) / 60, static_cast<int>(r.seconds) % 60);
    std::fflush(stdout);
    if (log) *log << (with_mixup ? "mixup" : "no_mixup") << ',' << r.epoch << ',' << r.train_loss << ',' << r.valid_loss << ','
                  << r.accuracy << ',' << r.seconds << '\n';
    sum.best_acc = std::max(sum.best_acc, r.accuracy);
    sum.final_valid = r.valid_loss;
    sum.curves.epoch.push_back(static_cast<double>(r.epoch));
    sum.curves.train_loss.push_back(r.train_loss);
    sum.curves.valid_loss.push_back(r.valid_loss);
    sum.curves.accuracy.push_back(r.accuracy);
  });
  if (!save_to.empty()) save_checkpoint(model, save_to);
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
#if MIXUP_NN_HAS_CUDNN
  const bool have_gpu = mixup::cuda_device_count() > 0;
#else
  const bool have_gpu = false;
#endif
  const bool cuda = o.device == "cuda" || (o.device == "auto" && have_gpu);
  if (cuda && !have_gpu) {
    int n = 0;
    const mixup_status_t st = mixup_cuda_device_count(&n);
    std::fprintf(stderr, "mixup-train: --device cuda: %s\n",
                 st != MIXUP_STATUS_SUCCESS ? mixup_last_error() : "no GPU, or this build has no cuDNN");
    return 1;
  }
  mixup::nn::IdxDataset data;
  try {
    data = mixup::nn::load_idx_dataset(o.data);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mixup-train: %s\n", e.what());
    return 1;
  }
  std::printf("data: %s (%lld train%s, %lld valid), model %s%s, bs %lld, lr %g, wd %g, %s, seed %llu, device %s\n",
              o.data.c_str(), static_cast<long long>(o.train_limit > 0 ? std::min<std::int64_t>(o.train_limit, data.train_images.count())
                                                                      : data.train_images.count()),
              o.train_limit > 0 ? " (limited)" : "", static_cast<long long>(data.test_images.count()), o.arch.c_str(),
              o.last_relu ? (o.bn ? " (bn)" : "") : (o.bn ? " (bn, no last ReLU)" : " (no last ReLU)"), static_cast<long long>(o.bs), o.lr, o.wd, o.schedule.c_str(),
              static_cast<unsigned long long>(o.seed), cuda ? "cuda" : "cpu");
  check_writable(o.plot, "--plot");
  check_writable(o.save, "--save");
  std::ofstream log;
  if (!o.log.empty()) {
    log.open(o.log);
    if (!log) {
      std::fprintf(stderr, "mixup-train: cannot write %s\n", o.log.c_str());
      return 1;
    }
    log << "run,epoch,train_loss,valid_loss,accuracy,time\n";
  }
  try {
    std::vector<RunSummary> runs;
    const bool compare = o.mixup == "compare";
    if (o.mixup != "on") runs.push_back(run(o, cuda, false, data, log.is_open() ? &log : nullptr, o.save.empty() ? "" : o.save + (compare ? ".nomixup" : "")));
    if (o.mixup != "off") runs.push_back(run(o, cuda, true, data, log.is_open() ? &log : nullptr, o.save.empty() ? "" : o.save + (compare ? ".mixup" : "")));
    std::printf("\n%-18s", "");
    for (const RunSummary& r : runs) std::printf("%16s", r.name.c_str());
    std::printf("\n%-18s", "best accuracy");
    for (const RunSummary& r : runs) std::printf("%16.4f", r.best_acc);
    std::printf("\n%-18s", "best error rate");
    for (const RunSummary& r : runs) std::printf("%15.2f%%", 100 * (1 - r.best_acc));
    std::printf("\n%-18s", "final valid loss");
    for (const RunSummary& r : runs) std::printf("%16.4f", r.final_valid);
    std::printf("\n");
    if (!o.plot.empty() && o.epochs > 0) {
      std::vector<mixup::nn::viz::RunCurves> curves;
      for (const RunSummary& r : runs) curves.push_back(r.curves);
      mixup::nn::viz::draw_training_curves(curves).write_png(o.plot);
      std::printf("curves written to %s\n", o.plot.c_str());
    }
    if (runs.size() == 2) {
      const double e0 = 1 - runs[0].best_acc, e1 = 1 - runs[1].best_acc;
      std::printf("mixup %s the best error rate by %.1f%% (relative) and %s the final valid loss (%+.4f)\n",
                  e1 <= e0 ? "reduced" : "increased", 100 * std::fabs(e0 - e1) / std::max(e0, 1e-9),
                  runs[1].final_valid >= runs[0].final_valid ? "raised" : "lowered", runs[1].final_valid - runs[0].final_valid);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mixup-train: %s\n", e.what());
    return 1;
  }
  return 0;
}
