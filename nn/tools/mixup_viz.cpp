// mixup-viz: pictures of what mixup does, one subcommand each (grid, lambda, curves; each
// has its own --help). Output paths are checked before any work; see cli.hpp for the exit
// statuses.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "data.hpp"
#include "cli.hpp"
#include "idx.hpp"
#include "labels.hpp"
#include "mixing_flags.hpp"
#include "mixup/mixup.hpp"
#include "viz/plots.hpp"

namespace {

namespace tools = mixup::tools;

using namespace mixup::nn;
using namespace mixup::nn::viz;

struct GridOptions {
  std::string data = "/usr/share/datasets/fashion-mnist", out = "grid.png";
  int n = 16, cols = 4;
  float alpha = 0.4f, cutmix = 0.0f, switch_prob = -1.0f, mix_prob = 1.0f;
  std::uint64_t seed = 0, step = 0;
};
struct LambdaOptions {
  float alpha = 0.4f;
  int n = 100000, bins = 40;
  std::uint64_t seed = 0;
  std::string out = "lambda.png";
};
struct CurvesOptions {
  std::vector<std::string> logs;
  std::string out = "curves.png";
};

mixup_handle_t make_handle(float alpha, std::uint64_t seed, std::int32_t batch, int fold) {
  mixup_config_t c = mixup_config_default();
  c.alpha = alpha;
  c.seed = seed;
  c.fold = fold;
  c.num_classes = 10;
  c.max_batch = batch;
  mixup_handle_t h = nullptr;
  mixup::check(mixup_create(&c, &h));
  return h;
}

int grid(const GridOptions& a) {
  const int n = a.n, cols = a.cols;
  const float alpha = a.alpha;
  const std::uint64_t seed = a.seed, step = a.step;
  tools::check_output_file(a.out, "--out");
  const IdxDataset data = load_idx_dataset(a.data);
  if (data.train_images.count() < n)
    throw tools::Failure("--n " + std::to_string(n) + " is more than the " +
                         std::to_string(data.train_images.count()) + " training images");
  if (label_classes(data.train_labels) > 10)  // the captions name Fashion-MNIST's ten classes
    check_labels(data.train_labels, 10);
  Loader loader(ImageSet::of(data.train_images, data.train_labels), n, true, seed);
  loader.start_epoch(0);
  std::vector<std::uint8_t> images;
  std::vector<std::int32_t> labels;
  loader.next(images, labels);
  const std::int64_t h = data.train_images.dims[1], w = data.train_images.dims[2];
  const float mean = 0.2860f, std = 0.3530f;
  mixup_handle_t mh = make_handle(alpha, seed, n, 1);
  mixup::check(mixup_set_normalize(mh, &mean, &std, 1));
  mixup::check(mixup_set_step(mh, step));
  const mixup_mixing_t mixing = tools::mixing_from_flags(a.cutmix, a.switch_prob,
                                                         a.mix_prob);  // as mixup-train
  mixup::check(mixup_set_mixing(mh, &mixing));
  std::vector<float> mixed(images.size()), lam(n);
  std::vector<std::int32_t> ya(n), yb(n), kind(n), box(4 * static_cast<std::size_t>(n));
  const mixup_batch_t in{images.data(), MIXUP_DTYPE_U8, n, 1, h, w, MIXUP_LAYOUT_NCHW};
  const mixup_batch_t out{mixed.data(), MIXUP_DTYPE_F32, n, 1, h, w, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{
      MIXUP_TARGETS_STACKED, labels.data(), nullptr, ya.data(), yb.data(), lam.data(), nullptr, nullptr};
  const mixup_draws_t draws{kind.data(), box.data()};
  mixup::check(mixup_apply_with_draws(mh, &in, &out, &t, &draws, nullptr));
  mixup_destroy(mh);
  std::vector<GridTile> tiles;
  char l1[64], l2[64];
  for (int i = 0; i < n; ++i) {
    std::snprintf(l1, sizeof l1, "%.2f %s", lam[i], kFashionMnistClasses[ya[i]]);
    std::snprintf(l2, sizeof l2, "%.2f %s", 1.0f - lam[i], kFashionMnistClasses[yb[i]]);
    GridTile tile{mixed.data() + static_cast<std::size_t>(i) * h * w, l1, l2};
    if (kind[i] == MIXUP_KIND_CUTMIX) {  // λ is the kept area; the outlined box is the partner's
      tile.has_box = true;
      for (int k = 0; k < 4; ++k) tile.box[k] = box[4 * static_cast<std::size_t>(i) + k];
      tile.line2 += " (box)";
    } else if (kind[i] == MIXUP_KIND_NONE) {
      tile.line2 = "not mixed";
    }
    tiles.push_back(tile);
  }
  draw_grid(tiles, static_cast<int>(h), static_cast<int>(w), mean, std, cols, 4).write_png(a.out);
  std::printf("picture written to %s\n", a.out.c_str());
  return 0;
}

int lambda(const LambdaOptions& a) {
  const float alpha = a.alpha;
  const int n = a.n, bins = a.bins;
  const std::uint64_t seed = a.seed;
  tools::check_output_file(a.out, "--out");
  Canvas both(1440, 460);
  for (const int fold : {0, 1}) {
    const std::int32_t batch = 4096;
    mixup_handle_t mh = make_handle(alpha, seed, batch, fold);
    std::vector<float> x(batch, 0.0f), y(batch), lam(batch), all;
    while (static_cast<int>(all.size()) < n) {
      const mixup_batch_t in{x.data(), MIXUP_DTYPE_F32, batch, 1, 1, 1, MIXUP_LAYOUT_NCHW};
      const mixup_batch_t out{y.data(), MIXUP_DTYPE_F32, batch, 1, 1, 1, MIXUP_LAYOUT_NCHW};
      mixup_targets_t t{};
      t.lam = lam.data();
      mixup::check(mixup_apply(mh, &in, &out, &t, nullptr));
      all.insert(all.end(), lam.begin(),
                 lam.begin() + std::min<int>(batch, n - static_cast<int>(all.size())));
    }
    mixup_destroy(mh);
    char title[96];
    std::snprintf(title, sizeof title, "lambda ~ Beta(%.2f, %.2f), %s, n = %d", alpha, alpha,
                  fold ? "folded" : "unfolded", n);
    const Histogram hist = histogram(all, fold ? 0.5 : 0.0, 1.0, fold ? bins / 2 : bins);
    both.blit(draw_lambda_histogram(hist, alpha, fold != 0, title), fold * 720, 0);
  }
  both.write_png(a.out);
  std::printf("picture written to %s\n", a.out.c_str());
  return 0;
}

int curves(const CurvesOptions& a) {
  tools::check_output_file(a.out, "--out");
  std::vector<RunCurves> runs;
  for (const std::string& path : a.logs) {
    for (RunCurves r : read_training_csv(path)) {
      if (a.logs.size() > 1) r.run = std::filesystem::path(path).stem().string() + ":" + r.run;
      runs.push_back(r);
    }
  }
  draw_training_curves(runs).write_png(a.out);
  std::printf("picture written to %s\n", a.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Pictures of what mixup does.", "mixup-viz");
  tools::common_setup(app);
  app.require_subcommand(1);
  GridOptions g;
  CLI::App* grid_cmd = app.add_subcommand(
      "grid",
      "mixed training images from the library's own op: the trainer's image order and lambda stream for that "
      "seed and step (partners are drawn among the images shown), captioned with both classes and lambda");
  grid_cmd->add_option("--data", g.data, "MNIST-style IDX directory")->capture_default_str();
  grid_cmd->add_option("--n", g.n, "images")->check(tools::integer_in(1, 256))->capture_default_str();
  grid_cmd->add_option("--cols", g.cols, "columns")->check(tools::integer_in(1, 256))->capture_default_str();
  grid_cmd->add_option("--alpha", g.alpha, "Beta(alpha, alpha)")
      ->check(tools::kPositiveFinite)
      ->capture_default_str();
  CLI::Option* grid_cutmix = grid_cmd
                                 ->add_option("--cutmix", g.cutmix,
                                              "CutMix Beta(alpha, alpha), as mixup-train; 0: off")
                                 ->check(tools::kNonNegativeFinite)
                                 ->capture_default_str();
  grid_cmd
      ->add_option("--switch-prob", g.switch_prob, "with --cutmix: CutMix's share (default 1: CutMix only)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->needs(grid_cutmix);
  grid_cmd->add_option("--mix-prob", g.mix_prob, "chance a sample is mixed at all")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  grid_cmd->add_option("--seed", g.seed)->check(tools::unsigned_integer())->capture_default_str();
  grid_cmd->add_option("--step", g.step, "training step whose lambda and partners are shown")
      ->check(tools::unsigned_integer())
      ->capture_default_str();
  grid_cmd->add_option("-o,--out", g.out, "picture to write")->check(tools::kPngName)->capture_default_str();
  LambdaOptions l;
  CLI::App* lambda_cmd = app.add_subcommand("lambda",
                                            "histogram of lambda drawn by the library, unfolded and folded, "
                                            "with the exact Beta(alpha, alpha) density");
  lambda_cmd->add_option("--alpha", l.alpha, "Beta(alpha, alpha)")
      ->check(tools::kPositiveFinite)
      ->capture_default_str();
  lambda_cmd->add_option("--n", l.n, "draws")->check(tools::integer_in(1, 100000000))->capture_default_str();
  lambda_cmd->add_option("--bins", l.bins)->check(tools::integer_in(2, 400))->capture_default_str();
  lambda_cmd->add_option("--seed", l.seed)->check(tools::unsigned_integer())->capture_default_str();
  lambda_cmd->add_option("-o,--out", l.out, "picture to write")->check(tools::kPngName)->capture_default_str();
  CurvesOptions c;
  CLI::App* curves_cmd =
      app.add_subcommand("curves", "train/valid loss and accuracy per epoch from mixup-train --log files");
  // no CLI::ExistingFile: a missing input file is a runtime failure (exit 1) in every tool
  curves_cmd->add_option("logs", c.logs, "mixup-train --log files")->required();
  curves_cmd->add_option("-o,--out", c.out, "picture to write")->check(tools::kPngName)->capture_default_str();
  // CLI11 would only say "a subcommand is required": name the word that is not one
  const auto is_command = [&](const std::string& w) {
    for (const CLI::App* sub : {grid_cmd, lambda_cmd, curves_cmd})
      if (w == sub->get_name()) return true;
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    std::fprintf(
        stderr,
        "mixup-viz: unknown command '%s' (grid, lambda or curves)\nRun 'mixup-viz --help' for the options.\n",
        argv[1]);
    return tools::kExitUsage;
  }
  const auto checks = [&] {
    if (grid_cmd->parsed()) tools::check_output_form(g.out, "--out");
    if (lambda_cmd->parsed()) tools::check_output_form(l.out, "--out");
    if (curves_cmd->parsed()) {
      tools::check_output_form(c.out, "--out");
      for (const std::string& log : c.logs) tools::check_not_empty(log, "curves");
    }
  };
  if (const int rc = tools::parse(app, argc, argv, checks); rc >= 0) return rc;
  try {
    if (grid_cmd->parsed()) return grid(g);
    if (lambda_cmd->parsed()) return lambda(l);
    return curves(c);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mixup-viz: %s\n", e.what());
    return tools::kExitFailure;
  }
}
