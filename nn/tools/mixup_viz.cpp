// mixup-viz: pictures of what mixup does.
//   mixup-viz grid   [--data DIR] [--n 16] [--cols 4] [--alpha A] [--seed S] [--step T] [--out FILE.png]
//   mixup-viz lambda [--alpha A] [--n N] [--bins B] [--seed S] [--out FILE.png]
//   mixup-viz curves LOG.csv [LOG.csv ...] [--out FILE.png]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "data.hpp"
#include "idx.hpp"
#include "mixup/mixup.hpp"
#include "viz/plots.hpp"

namespace {

using namespace mixup::nn;
using namespace mixup::nn::viz;

const char* kUsage =
    "usage: mixup-viz grid   [--data DIR] [--n 16] [--cols 4] [--alpha 0.4] [--seed 0] [--step 0] [--out grid.png]\n"
    "       mixup-viz lambda [--alpha 0.4] [--n 100000] [--bins 40] [--seed 0] [--out lambda.png]\n"
    "       mixup-viz curves LOG.csv [LOG.csv ...] [--out curves.png]\n"
    "  grid:   mixed training images from the library's own op: the trainer's image order and\n"
    "          lambda stream for that seed and step (partners are drawn among the images shown),\n"
    "          captioned with both classes and lambda\n"
    "  lambda: histogram of lambda drawn by the library, unfolded and folded, with the exact\n"
    "          Beta(alpha, alpha) density over it\n"
    "  curves: train/valid loss and accuracy per epoch from mixup-train --log files\n";

[[noreturn]] void bad(const std::string& why) {
  std::fprintf(stderr, "mixup-viz: %s\n%s", why.c_str(), kUsage);
  std::exit(2);
}

struct Args {
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;
  std::string get(const std::string& k, const std::string& d) const {
    auto it = flags.find(k);
    return it == flags.end() ? d : it->second;
  }
  template <class T>
  T num(const std::string& k, T d) const {
    auto it = flags.find(k);
    if (it == flags.end()) return d;
    std::istringstream s(it->second);
    T v{};
    if (!(s >> v) || !s.eof()) bad("bad value '" + it->second + "' for --" + k);
    return v;
  }
};

Args parse(int argc, char** argv, const std::vector<std::string>& allowed) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    const std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      const std::string k = s.substr(2);
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) bad("unknown option " + s);
      if (i + 1 >= argc) bad(s + " needs a value");
      a.flags[k] = argv[++i];
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

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

int grid(const Args& a) {
  const std::string dir = a.get("data", "/usr/share/datasets/fashion-mnist");
  const int n = a.num<int>("n", 16), cols = a.num<int>("cols", 4);
  const float alpha = a.num<float>("alpha", 0.4f);
  const std::uint64_t seed = a.num<std::uint64_t>("seed", 0), step = a.num<std::uint64_t>("step", 0);
  if (n < 1 || n > 256 || cols < 1) bad("--n must be in [1, 256] and --cols >= 1");
  const IdxDataset data = load_idx_dataset(dir);
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
  std::vector<float> mixed(images.size()), lam(n);
  std::vector<std::int32_t> ya(n), yb(n);
  const mixup_batch_t in{images.data(), MIXUP_DTYPE_U8, n, 1, h, w, MIXUP_LAYOUT_NCHW};
  const mixup_batch_t out{mixed.data(), MIXUP_DTYPE_F32, n, 1, h, w, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{MIXUP_TARGETS_STACKED, labels.data(), nullptr, ya.data(), yb.data(), lam.data(), nullptr, nullptr};
  mixup::check(mixup_apply(mh, &in, &out, &t, nullptr));
  mixup_destroy(mh);
  std::vector<GridTile> tiles;
  char l1[64], l2[64];
  for (int i = 0; i < n; ++i) {
    std::snprintf(l1, sizeof l1, "%.2f %s", lam[i], kFashionMnistClasses[ya[i]]);
    std::snprintf(l2, sizeof l2, "%.2f %s", 1.0f - lam[i], kFashionMnistClasses[yb[i]]);
    tiles.push_back({mixed.data() + static_cast<std::size_t>(i) * h * w, l1, l2});
  }
  draw_grid(tiles, static_cast<int>(h), static_cast<int>(w), mean, std, cols, 4).write_png(a.get("out", "grid.png"));
  return 0;
}

int lambda(const Args& a) {
  const float alpha = a.num<float>("alpha", 0.4f);
  const int n = a.num<int>("n", 100000), bins = a.num<int>("bins", 40);
  const std::uint64_t seed = a.num<std::uint64_t>("seed", 0);
  if (!(alpha > 0) || n < 1 || bins < 2 || bins > 400) bad("--alpha must be > 0, --n >= 1, --bins in [2, 400]");
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
      all.insert(all.end(), lam.begin(), lam.begin() + std::min<int>(batch, n - static_cast<int>(all.size())));
    }
    mixup_destroy(mh);
    char title[96];
    std::snprintf(title, sizeof title, "lambda ~ Beta(%.2f, %.2f), %s, n = %d", alpha, alpha, fold ? "folded" : "unfolded", n);
    const Histogram hist = histogram(all, fold ? 0.5 : 0.0, 1.0, fold ? bins / 2 : bins);
    both.blit(draw_lambda_histogram(hist, alpha, fold != 0, title), fold * 720, 0);
  }
  both.write_png(a.get("out", "lambda.png"));
  return 0;
}

int curves(const Args& a) {
  if (a.positional.empty()) bad("curves needs at least one LOG.csv");
  std::vector<RunCurves> runs;
  for (const std::string& path : a.positional) {
    for (RunCurves r : read_training_csv(path)) {
      if (a.positional.size() > 1) r.run = std::filesystem::path(path).stem().string() + ":" + r.run;
      runs.push_back(r);
    }
  }
  draw_training_curves(runs).write_png(a.get("out", "curves.png"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) bad("a command is needed");
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  try {
    if (cmd == "grid") return grid(parse(argc, argv, {"data", "n", "cols", "alpha", "seed", "step", "out"}));
    if (cmd == "lambda") return lambda(parse(argc, argv, {"alpha", "n", "bins", "seed", "out"}));
    if (cmd == "curves") return curves(parse(argc, argv, {"out"}));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mixup-viz: %s\n", e.what());
    return 1;
  }
  bad("unknown command '" + cmd + "'");
}
