// mixup-train: fastai's mixup experiment — simple_cnn trained without and with mixup on an
// MNIST-style data set (default: Debian's Fashion-MNIST), fastai's epoch table for each run,
// then a side-by-side summary. Everything that can be checked (flags, paths, data, labels,
// memory) is checked before the first batch; see cli.hpp for the exit statuses.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#if MIXUP_NN_HAS_CUDNN
#include <cuda_runtime_api.h>
#endif

#include "checkpoint.hpp"
#include "cli.hpp"
#include "csv_log.hpp"
#include "idx.hpp"
#include "interrupt.hpp"
#include "learner.hpp"
#include "mixing_flags.hpp"
#include "fault_injection.hpp"
#include "mixup_callback.hpp"
#include "mixup/mixup.hpp"
#include "parallel_flags.hpp"
#include "terminate_on_nan.hpp"
#include "train_checks.hpp"
#include "viz/plots.hpp"

namespace {

using namespace mixup;
using tools::Failure;


struct Options {
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::int64_t epochs = 20, bs = 64, train_limit = -1;
  float lr = 3e-3f, wd = 1e-2f, alpha = 0.4f;
  float cutmix = 0.0f, mix_prob = 1.0f, switch_prob = -1.0f;  // switch_prob < 0: not given
  std::string mixup = "compare", arch = "simple_cnn:1,16,16,10", device = "auto", schedule = "constant";
  std::string init = "kaiming_normal";
  bool last_relu = true, bn = false, quiet = false, drop_last = true;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string log, save, load, plot;
  tools::ParallelOptions par;
};

mixup_mixing_t mixing_of(const Options& o) {
  return tools::mixing_from_flags(o.cutmix, o.switch_prob, o.mix_prob);
}

// The mixing run's name in the log and the pictures: what it mixed with.
std::string mixed_run_name(const Options& o) {
  if (o.cutmix <= 0.0f) return "mixup";
  return mixing_of(o).switch_prob >= 1.0f ? "cutmix" : "mixup_cutmix";
}

// The same, for people: the console heading and the summary.
std::string mixing_words(const Options& o) {
  const std::string run = mixed_run_name(o);
  return run == "cutmix" ? "CutMix" : run == "mixup_cutmix" ? "mixup + CutMix" : "mixup";
}

// The Beta parameters the mixing run draws from, for its heading.
std::string alphas(const Options& o) {
  char s[64];
  const std::string run = mixed_run_name(o);
  if (run == "cutmix") std::snprintf(s, sizeof s, "alpha %.2f", o.cutmix);
  else if (run == "mixup_cutmix")
    std::snprintf(s, sizeof s, "alpha %.2f, CutMix alpha %.2f", o.alpha, o.cutmix);
  else std::snprintf(s, sizeof s, "alpha %.2f", o.alpha);
  return s;
}

// "simple_cnn:1,16,16,10" → {1, 16, 16, 10}; an empty result with `why` set when malformed.
std::vector<std::int64_t> parse_arch(const std::string& arch, std::string* why) {
  const std::string prefix = "simple_cnn:";
  std::vector<std::int64_t> actns;
  if (arch.rfind(prefix, 0) != 0)
    return *why = "'" + arch + "' does not look like simple_cnn:1,16,16,10", actns;
  std::stringstream s(arch.substr(prefix.size()));
  std::string part;
  while (std::getline(s, part, ',')) {
    std::istringstream p(part);
    std::int64_t c = 0;
    if (!(p >> c) || !p.eof() || c < 1 || c > 65536)
      return *why = "channel count '" + part + "' is not in [1, 65536]", actns = {};
    actns.push_back(c);
  }
  if (actns.size() < 2) return *why = "needs at least an input and an output channel count", actns = {};
  return actns;
}

int parse(Options& o, int argc, char** argv) {
  CLI::App app(
      "fastai's mixup experiment: simple_cnn trained without and with mixup, epoch tables and a summary.",
      "mixup-train");
  tools::common_setup(
      app,
      "Stopping: Ctrl-C (SIGINT) or SIGTERM stops at the next batch, keeps the --log lines of the\n"
      "finished epochs, writes no checkpoint, and exits 130 or 143. Under mpiexec every rank does so\n"
      "(Open MPI's mpiexec then exits 1; scripts/mpirun-train exits 130), and a rank stalled past\n"
      "--rank-timeout ends the job with exit status 3.");
  app.add_option("--data", o.data, "MNIST-style IDX directory, gzipped or not")->capture_default_str();
  app.add_option("--epochs", o.epochs, "epochs per run (0: only evaluate)")
      ->check(tools::integer_in(0, 100000))
      ->capture_default_str();
  app.add_option("--bs", o.bs, "batch size (per rank and micro-batch when data-parallel)")
      ->check(tools::integer_in(1, 1 << 30))
      ->capture_default_str();
  app.add_option("--lr", o.lr, "learning rate")->check(tools::kPositiveFinite)->capture_default_str();
  app.add_option("--wd", o.wd, "decoupled weight decay")
      ->check(tools::kNonNegativeFinite)
      ->capture_default_str();
  app.add_option("--alpha", o.alpha, "mixup Beta(alpha, alpha)")
      ->check(tools::kPositiveFinite)
      ->capture_default_str();
  CLI::Option* cutmix_opt = app.add_option("--cutmix", o.cutmix,
                                           "CutMix Beta(alpha, alpha): the mixing run uses CutMix (all of "
                                           "it, or --switch-prob of it); 0: off")
                                ->check(tools::kNonNegativeFinite)
                                ->capture_default_str();
  app.add_option("--mix-prob", o.mix_prob, "chance a sample is mixed at all (timm's prob)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  app.add_option("--switch-prob", o.switch_prob,
                 "with --cutmix: chance a mixed sample takes CutMix rather than mixup "
                 "(default 1: CutMix only)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->needs(cutmix_opt);
  app.add_option("--seed", o.seed, "seed for init, shuffling, mixup")
      ->check(tools::unsigned_integer())
      ->capture_default_str();
  app.add_option("--mixup", o.mixup, "one run with or without mixup, or both")
      ->check(CLI::IsMember({"on", "off", "compare"}))
      ->capture_default_str();
  CLI::Option* arch = app.add_option("--arch", o.arch, "simple_cnn:C0,C1,...,Ck channels; 3x3 stride-2 convs")
                          ->check(CLI::Validator(
                              [](std::string& s) {
                                std::string why;
                                parse_arch(s, &why);
                                return why;
                              },
                              "simple_cnn:C0,...,Ck"))
                          ->capture_default_str();
  CLI::Option* last_relu = app.add_option("--last-relu", o.last_relu,
                                          "ReLU after the last conv, as fastai v1 (default on)")
                               ->transform(tools::on_off());
  CLI::Option* bn = app.add_option("--bn", o.bn,
                                   "BatchNorm after each conv's ReLU but the last (default off)")
                        ->transform(tools::on_off());
  CLI::Option* init =
      app.add_option("--init", o.init,
                     "conv init: kaiming_normal (fastai: zero bias) or kaiming_uniform (PyTorch's default, "
                     "the trainer's before)")
          ->check(CLI::IsMember({"kaiming_normal", "kaiming_uniform"}))
          ->capture_default_str();
  app.add_option("--drop-last", o.drop_last,
                 "drop each epoch's last partial training batch, as fastai v1 (default on)")
      ->transform(tools::on_off());
  app.add_option("--schedule", o.schedule, "constant lr (fastai v1 fit) or fit_one_cycle")
      ->check(CLI::IsMember({"constant", "onecycle"}))
      ->capture_default_str();
  app.add_option("--train-limit", o.train_limit, "use only the first N training images")
      ->check(tools::integer_in(1, 1ll << 40));
  app.add_option("--device", o.device)->check(CLI::IsMember({"auto", "cpu", "cuda"}))->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (0: all)")
      ->check(tools::integer_in(0, 4096))
      ->capture_default_str();
  CLI::Option* log = app.add_option(
      "--log", o.log,
      "CSV: run,epoch,train_loss,valid_loss,accuracy,time (flushed every epoch; one file for both runs)");
  CLI::Option* save =
      app.add_option("--save", o.save,
                     "checkpoint written after training; with --mixup compare (the default) two: "
                     "FILE.nomixup and FILE.mixup, and FILE itself is not written");
  CLI::Option* plot = app.add_option("--plot", o.plot,
                                     "loss and accuracy per epoch, every run on the same axes")
                          ->check(tools::kPngName);
  CLI::Option* load =
      app.add_option(
             "--load", o.load,
             "start from a checkpoint: the model is the checkpoint's (so --arch, --bn, --last-relu and "
             "--init are refused with it); --epochs 0 only evaluates")
          ->excludes(arch)
          ->excludes(last_relu)
          ->excludes(bn)
          ->excludes(init);
  app.add_flag("--quiet", o.quiet, "no progress bar");
  tools::add_parallel_flags(app, o.par);
  return tools::parse(app, argc, argv, [&] {
    tools::check_parallel_flags(o.par, o.drop_last);
    if (plot->count() > 0 && o.epochs == 0)
      throw CLI::ValidationError("--plot", "nothing to plot with --epochs 0");
    if (load->count() > 0) tools::check_not_empty(o.load, "--load");
    if (log->count() > 0) tools::check_output_form(o.log, "--log");
    if (plot->count() > 0) tools::check_output_form(o.plot, "--plot");
    if (save->count() > 0) {
      tools::check_output_form(o.save, "--save");  // compare mode too: not DIR.nomixup beside DIR
      if (o.mixup == "compare")
        for (const char* suffix : {".nomixup", ".mixup"}) tools::check_output_form(o.save + suffix, "--save");
    }
  });
}

nn::SimpleCnn build_model(const Options& o) {
  if (!o.load.empty()) return nn::load_checkpoint(o.load);
  std::string why;
  const std::vector<std::int64_t> actns = parse_arch(o.arch, &why);
  nn::SimpleCnn m(actns, std::vector<std::int64_t>(actns.size() - 1, 3),
                  std::vector<std::int64_t>(actns.size() - 1, 2), o.last_relu, o.seed, o.bn);
  if (o.init == "kaiming_normal")  // the same per-layer seeds as the uniform init
    for (std::size_t i = 0; i < m.layers().size(); ++i)
      nn::kaiming_normal(m.layers()[i], o.seed * 1000003u + i);
  return m;
}

std::string describe(const nn::SimpleCnn& m) {
  std::string s = "simple_cnn:";
  for (std::int64_t c : m.spec()) s += std::to_string(c) + ",";
  s.pop_back();
  if (m.batch_norm()) s += " (bn)";
  if (!m.last_relu()) s += " (no last ReLU)";
  return s;
}

struct RunSummary {
  std::string name;
  double best_acc = 0, final_valid = 0;
  std::int64_t epochs_done = 0;
  nn::viz::RunCurves curves;
};

// Where a stopped run stood, for the message: which run, which epoch, how much was kept.
struct Progress {
  std::string run;
  std::int64_t epoch = 0, batch = 0, logged = 0;
};

RunSummary run(const Options& o, bool cuda, bool with_mixup, const nn::SimpleCnn& initial,
               const nn::IdxDataset& data, tools::CsvLog* log, const std::string& save_to, Progress& where) {
  using namespace mixup::nn;
  SimpleCnn model = initial;
  LearnerConfig cfg;
  cfg.batch_size = o.bs;
  cfg.lr = o.lr;
  cfg.weight_decay = o.wd;
  cfg.one_cycle = o.schedule == "onecycle";
  cfg.drop_last = o.drop_last;
  cfg.seed = o.seed;
  cfg.threads = o.threads;
  cfg.progress = !o.quiet && isatty(2);
  cfg.cuda = cuda;
  cfg.device = o.par.communicator->device();
  cfg.parallel = o.par.config();
  Learner learn(model, ImageSet::of(data.train_images, data.train_labels, o.train_limit),
                ImageSet::of(data.test_images, data.test_labels), cfg);
  MixUpCallback mix(o.alpha, o.seed, mixing_of(o));
  mix.set_off_epoch(o.par.mixup_off_epoch);
  if (with_mixup) learn.add_callback(&mix);
  tools::FaultInjection faults;
  if (faults.armed()) learn.add_callback(&faults);
  TerminateOnNaN nan_stop;
  tools::StopOnSignal signals;
  learn.add_callback(&nan_stop);
  learn.add_callback(&signals);
  RunSummary sum;
  sum.name = (with_mixup ? "with " : "without ") + mixing_words(o);
  sum.curves.run = with_mixup ? mixed_run_name(o) : "no mixup";
  where.run = sum.name;
  if (with_mixup) std::printf("\n== %s (%s)\n", sum.name.c_str(), alphas(o).c_str());
  else std::printf("\n== %s\n", sum.name.c_str());
  if (with_mixup && (o.cutmix > 0.0f || o.mix_prob < 1.0f)) {
    const mixup_mixing_t m = mixing_of(o);
    std::printf("   mixing: prob %.2f, CutMix share %.2f (CutMix alpha %.2f)\n", m.prob, m.switch_prob,
                m.cutmix_alpha);
  }
  std::printf("epoch  train_loss  valid_loss  accuracy  time\n");
  if (o.epochs == 0) {
    const auto [vl, acc] = learn.validate(ImageSet::of(data.test_images, data.test_labels));
    std::printf("    -           -  %10.6f  %8.6f     -\n", vl, acc);
    sum.best_acc = acc, sum.final_valid = vl;
  }
  try {
    learn.fit(o.epochs, [&](const EpochResult& r) {
      std::printf("%5lld  %10.6f  %10.6f  %8.6f  %02d:%02d\n", static_cast<long long>(r.epoch), r.train_loss,
                  r.valid_loss, r.accuracy, static_cast<int>(r.seconds) / 60,
                  static_cast<int>(r.seconds) % 60);
      std::fflush(stdout);
      if (log) {
        // flushed every epoch: a run stopped later keeps every finished epoch
        std::ostringstream line;
        line << (with_mixup ? mixed_run_name(o) : "no_mixup") << ',' << r.epoch << ',' << r.train_loss << ','
             << r.valid_loss << ',' << r.accuracy << ',' << r.seconds << '\n';
        log->write(line.str());
        ++where.logged;
      }
      sum.best_acc = std::max(sum.best_acc, r.accuracy);
      sum.final_valid = r.valid_loss;
      ++sum.epochs_done;
      sum.curves.epoch.push_back(static_cast<double>(r.epoch));
      sum.curves.train_loss.push_back(r.train_loss);
      sum.curves.valid_loss.push_back(r.valid_loss);
      sum.curves.accuracy.push_back(r.accuracy);
    });
  } catch (const tools::Interrupted&) {
    where.epoch = signals.epoch, where.batch = signals.batch;
    throw;
  }
  if (!save_to.empty()) {
    save_checkpoint(model, save_to);
    std::printf("checkpoint written to %s\n", save_to.c_str());
  }
  return sum;
}

void print_summary(const Options& o, const std::vector<RunSummary>& runs) {
  std::printf("\n%-18s", "");
  for (const RunSummary& r : runs) std::printf("%16s", r.name.c_str());
  std::printf("\n%-18s", "best accuracy");
  for (const RunSummary& r : runs) std::printf("%16.4f", r.best_acc);
  std::printf("\n%-18s", "best error rate");
  for (const RunSummary& r : runs) std::printf("%15.2f%%", 100 * (1 - r.best_acc));
  std::printf("\n%-18s", "final valid loss");
  for (const RunSummary& r : runs) std::printf("%16.4f", r.final_valid);
  std::printf("\n");
  if (runs.size() != 2) return;
  if (o.epochs == 0) {
    std::printf("no comparison: --epochs 0 trains neither model\n");
    return;
  }
  const double e0 = 1 - runs[0].best_acc, e1 = 1 - runs[1].best_acc;
  std::printf("%s %s the best error rate by %.1f%% (relative) and %s the final valid loss (%+.4f)\n",
              mixing_words(o).c_str(), e1 <= e0 ? "reduced" : "increased",
              100 * std::fabs(e0 - e1) / std::max(e0, 1e-9),
              runs[1].final_valid >= runs[0].final_valid ? "raised" : "lowered",
              runs[1].final_valid - runs[0].final_valid);
}

// The mixing run's library handle and policy, made as its callback will make them, so that a
// value the library refuses stops the tool before the first run, not after it.
void check_mixing(const Options& o, std::int64_t classes) {
  mixup_config_t c = mixup_config_default();
  c.alpha = o.alpha;
  c.seed = o.seed;
  c.num_classes = static_cast<std::int32_t>(classes);
  c.max_batch = static_cast<std::int32_t>(o.bs);
  try {
    mixup::Mixup m(c);
    m.set_mixing(mixing_of(o));
  } catch (const mixup::Error& e) {
    throw Failure(std::string("the mixing (--alpha, --cutmix, --switch-prob, --mix-prob, --bs): ") +
                  e.what());
  }
}

// Everything checked before the first batch; returns the model every run starts from.
// The cuDNN engine's batch against the GPU's free memory, with the host check's lower bound
// (activations and their gradients), so a batch too large is refused with the same message
// rather than met as a CUDA out-of-memory mid-setup.
void check_device_memory(const nn::SimpleCnn& model, std::int64_t bs, std::int64_t h, std::int64_t w) {
#if MIXUP_NN_HAS_CUDNN
  std::size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return;  // the engine reports it
  const double need = tools::training_bytes(model, bs, h, w), have = static_cast<double>(free_bytes);
  if (need <= have) return;
  char msg[256];
  std::snprintf(
      msg, sizeof msg,
      "--bs %lld needs at least %.1f GiB for this model, %.1f GiB of memory is available on the GPU",
      static_cast<long long>(bs), need / (1u << 30), have / (1u << 30));
  throw Failure(msg);
#else
  (void)model, (void)bs, (void)h, (void)w;
#endif
}

nn::SimpleCnn check_before_training(const Options& o, const nn::IdxDataset& data, bool cuda) {
  namespace fs = std::filesystem;
  if (!o.load.empty() && !fs::is_regular_file(o.load))
    throw Failure("--load " + o.load +
                  (fs::is_directory(o.load) ? ": is a directory, not a checkpoint" : ": no such file"));
  const bool compare = o.mixup == "compare";
  if (!o.save.empty()) {
    for (const char* suffix : {".nomixup", ".mixup"})
      tools::check_output_file(o.save + (compare ? suffix : ""), "--save");
  }
  if (!o.plot.empty()) tools::check_output_file(o.plot, "--plot");
  if (!o.log.empty()) tools::check_output_file(o.log, "--log");
  nn::SimpleCnn model = build_model(o);
  if (model.spec().front() != 1)
    throw Failure("the model's input channels must be 1 for these grayscale images");
  const std::int64_t train_count = data.train_images.count();
  if (o.train_limit > train_count)
    throw Failure("--train-limit " + std::to_string(o.train_limit) + " is more than the " +
                  std::to_string(train_count) + " training images");
  const std::int64_t used = o.train_limit > 0 ? o.train_limit : train_count;
  if (o.bs > used)
    throw Failure("--bs " + std::to_string(o.bs) + " is more than the " + std::to_string(used) +
                  " training images");
  const std::int64_t data_classes = tools::check_data_labels(data, model.classes());
  if (data_classes < model.classes())
    std::fprintf(stderr,
                 "mixup-train: note: the model has %lld outputs, the data's labels use %lld classes\n",
                 static_cast<long long>(model.classes()), static_cast<long long>(data_classes));
  if (!cuda) tools::check_memory(model, o.bs, data.train_images.dims[1], data.train_images.dims[2]);
  else check_device_memory(model, o.bs, data.train_images.dims[1], data.train_images.dims[2]);
  if (o.mixup != "off") check_mixing(o, model.classes());
  return model;
}

int train(const Options& o) {
#if MIXUP_NN_HAS_CUDNN
  const bool have_gpu = mixup::cuda_device_count() > 0;
#else
  const bool have_gpu = false;
#endif
  const bool cuda = o.device == "cuda" || (o.device == "auto" && have_gpu);
  if (cuda && !have_gpu) {
    int n = 0;
    const mixup_status_t st = mixup_cuda_device_count(&n);
    throw Failure(std::string("--device cuda: ") +
                  (st != MIXUP_STATUS_SUCCESS ? mixup_last_error()
                   : n == 0 ? "this machine has no CUDA device (--device cpu or auto train on the CPU)"
                            : "this build of mixup-train has no cuDNN, so it trains on the CPU only"));
  }
  nn::IdxDataset data;
  std::optional<nn::SimpleCnn> checked;
  nn::all_or_none(*o.par.communicator, [&] {  // a bad file on one rank stops every rank here
    data = nn::load_idx_dataset(o.data);
    checked.emplace(check_before_training(o, data, cuda));
  });
  const nn::SimpleCnn& initial = *checked;
  const std::int64_t used = o.train_limit > 0 ? o.train_limit : data.train_images.count();
  std::printf(
      "data: %s (%lld train%s, %lld valid), model %s%s, init %s, bs %lld%s, lr %g, wd %g, %s, seed %llu, "
      "device %s%s\n",
      o.data.c_str(), static_cast<long long>(used), o.train_limit > 0 ? " (limited)" : "",
      static_cast<long long>(data.test_images.count()), describe(initial).c_str(),
      o.load.empty() ? "" : (" from checkpoint " + o.load).c_str(),
      o.load.empty() ? o.init.c_str() : "checkpoint", static_cast<long long>(o.bs),
      o.drop_last ? " (drop last)" : "", o.lr, o.wd, o.schedule.c_str(),
      static_cast<unsigned long long>(o.seed), cuda ? "cuda" : "cpu",
      cuda ? "" : (" (" + tools::cpu_description() + ")").c_str());  // where the log can be reproduced
  if (const std::string dp = tools::describe_parallel(o.par, o.bs); !dp.empty())
    std::printf("%s\n", dp.c_str());
  std::unique_ptr<tools::CsvLog> log;
  if (!o.log.empty())
    log = std::make_unique<tools::CsvLog>(o.log, "--log", "run,epoch,train_loss,valid_loss,accuracy,time\n");
  tools::install_stop_handlers();
  Progress where;
  std::vector<RunSummary> runs;
  const bool compare = o.mixup == "compare";
  try {
    tools::CsvLog* l = log.get();
    if (o.mixup != "on")
      runs.push_back(run(o, cuda, false, initial, data, l,
                         o.save.empty() ? "" : o.save + (compare ? ".nomixup" : ""), where));
    if (o.mixup != "off")
      runs.push_back(run(o, cuda, true, initial, data, l,
                         o.save.empty() ? "" : o.save + (compare ? ".mixup" : ""), where));
  } catch (const tools::Interrupted& e) {
    std::fflush(stdout);
    std::fprintf(
        stderr,
        "\nmixup-train: %s in run '%s', epoch %lld of %lld, after %lld training batches of that epoch; "
        "%s; %zu run(s) finished before it%s\n",
        e.what(), where.run.c_str(), static_cast<long long>(where.epoch), static_cast<long long>(o.epochs),
        static_cast<long long>(where.batch),
        o.log.empty() ? "no log was asked for (--log), so the finished epochs are only on the screen"
                      : (std::to_string(where.logged) + " finished epochs are in " + o.log).c_str(),
        runs.size(), o.save.empty() ? "" : "; no checkpoint of the stopped run was written");
    return 128 + e.sig;
  }
  print_summary(o, runs);
  if (!o.plot.empty()) {
    std::vector<nn::viz::RunCurves> curves;
    for (const RunSummary& r : runs) curves.push_back(r.curves);
    nn::viz::draw_training_curves(curves).write_png(o.plot);
    std::printf("curves written to %s\n", o.plot.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int rc = parse(o, argc, argv); rc >= 0) return rc;
  try {
    tools::start_communicator(o.par, &argc, &argv);
    if (o.par.communicator->rank() != 0) {  // one voice: rank 0's
      o.log.clear(), o.save.clear(), o.plot.clear(), o.quiet = true;
      if (!std::freopen("/dev/null", "w", stdout)) return tools::kExitFailure;
    }
    return train(o);
  } catch (const nn::RankFailure& e) {  // every rank knows; only the failing one speaks
    std::fflush(stdout);
    if (e.speak) std::fprintf(stderr, "mixup-train: rank %d: %s\n", e.rank, e.what());
    return e.status;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "mixup-train: %s\n", e.what());
    // seen by this rank alone: the others would wait for it, so end the job
    if (o.par.communicator && o.par.communicator->size() > 1) o.par.communicator->abort(tools::kExitFailure);
    return tools::kExitFailure;
  }
}
