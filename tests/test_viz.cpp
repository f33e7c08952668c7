// Pictures, checked without golden files: every PNG decodes to its declared size; grid tiles
// equal the library's mixed images after denormalisation, pixel for pixel; histogram counts
// sum to n and match a recount, and are U-shaped at α = 0.4 and humped at α = 4; a curve's
// minimum is drawn at its epoch; bad input fails without leaving a file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "mixup/mixup.h"
#include "viz/plots.hpp"

namespace {

namespace fs = std::filesystem;
using namespace mixup::nn::viz;

fs::path tmp(const std::string& name) {
  return fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
}

std::vector<float> library_lambdas(float alpha, int fold, int n) {
  mixup_config_t c = mixup_config_default();
  c.alpha = alpha;
  c.fold = fold;
  c.max_batch = 1000;
  mixup_handle_t h = nullptr;
  EXPECT_EQ(mixup_create(&c, &h), MIXUP_STATUS_SUCCESS);
  std::vector<float> x(1000, 0.0f), y(1000), lam(1000), all;
  while (static_cast<int>(all.size()) < n) {
    mixup_batch_t in{x.data(), MIXUP_DTYPE_F32, 1000, 1, 1, 1, MIXUP_LAYOUT_NCHW};
    mixup_batch_t out{y.data(), MIXUP_DTYPE_F32, 1000, 1, 1, 1, MIXUP_LAYOUT_NCHW};
    mixup_targets_t t{};
    t.lam = lam.data();
    EXPECT_EQ(mixup_apply(h, &in, &out, &t, nullptr), MIXUP_STATUS_SUCCESS);
    all.insert(all.end(), lam.begin(), lam.end());
  }
  mixup_destroy(h);
  all.resize(n);
  return all;
}

TEST(Viz, PngRoundTripKeepsSizeAndPixels) {
  Canvas c(37, 21, Rgb{10, 20, 30});
  c.set(5, 7, Rgb{200, 100, 50});
  c.text(2, 2, "Ab9", Rgb{0, 0, 0});
  const std::string p = tmp("rt.png").string();
  c.write_png(p);
  const Canvas d = Canvas::read_png(p);
  ASSERT_EQ(d.width(), 37);
  ASSERT_EQ(d.height(), 21);
  for (int y = 0; y < 21; ++y)
    for (int x = 0; x < 37; ++x) ASSERT_TRUE(d.at(x, y) == c.at(x, y)) << x << "," << y;
  EXPECT_FALSE(fs::exists(p + ".tmp." + std::to_string(::getpid())));
  fs::remove(p);
}

// Mixed images from the library (uint8 in, normalised f32 out), drawn as a grid: each tile's
// pixels are exactly round((x·std + mean)·255) of the library's output.
TEST(Viz, GridTilesAreTheLibrarysMixedImages) {
  const int n = 6, h = 28, w = 28;
  std::vector<std::uint8_t> images(n * h * w);
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<std::uint8_t>((i * 37) % 256);
  std::vector<std::int32_t> labels = {0, 1, 2, 3, 4, 5};
  const float mean = 0.2860f, std = 0.3530f;
  mixup_config_t c = mixup_config_default();
  c.num_classes = 10;
  c.max_batch = n;
  mixup_handle_t mh = nullptr;
  ASSERT_EQ(mixup_create(&c, &mh), MIXUP_STATUS_SUCCESS);
  ASSERT_EQ(mixup_set_normalize(mh, &mean, &std, 1), MIXUP_STATUS_SUCCESS);
  std::vector<float> mixed(images.size()), lam(n);
  std::vector<std::int32_t> ya(n), yb(n);
  mixup_batch_t in{images.data(), MIXUP_DTYPE_U8, n, 1, h, w, MIXUP_LAYOUT_NCHW};
  mixup_batch_t out{mixed.data(), MIXUP_DTYPE_F32, n, 1, h, w, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t{
      MIXUP_TARGETS_STACKED, labels.data(), nullptr, ya.data(), yb.data(), lam.data(), nullptr, nullptr};
  ASSERT_EQ(mixup_apply(mh, &in, &out, &t, nullptr), MIXUP_STATUS_SUCCESS);
  mixup_destroy(mh);
  std::vector<GridTile> tiles;
  for (int i = 0; i < n; ++i) tiles.push_back({mixed.data() + i * h * w, "line one", "line two"});
  GridLayout layout;
  const std::string p = tmp("grid.png").string();
  draw_grid(tiles, h, w, mean, std, 4, 3, &layout).write_png(p);
  const Canvas d = Canvas::read_png(p);
  ASSERT_EQ(layout.origins.size(), 6u);
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const double v = std::round((double(mixed[i * h * w + y * w + x]) * std + mean) * 255.0);
        const std::uint8_t want = static_cast<std::uint8_t>(std::min(255.0, std::max(0.0, v)));
        for (int s = 0; s < 9; ++s) {
          const Rgb got = d.at(layout.origins[i].first + x * 3 + s % 3,
                               layout.origins[i].second + y * 3 + s / 3);
          ASSERT_TRUE(got == (Rgb{want, want, want})) << "tile " << i << " pixel " << x << "," << y;
        }
      }
  fs::remove(p);
}

TEST(Viz, HistogramCountsAndShapes) {
  for (const float alpha : {0.4f, 4.0f}) {
    const std::vector<float> lam = library_lambdas(alpha, 0, 50000);
    const Histogram h = histogram(lam, 0.0, 1.0, 20);
    EXPECT_EQ(h.total(), 50000);
    std::vector<std::int64_t> recount(20, 0);
    for (float v : lam) ++recount[std::min(19, static_cast<int>(v * 20))];
    EXPECT_EQ(h.counts, recount);
    const std::int64_t ends = h.counts.front() + h.counts.back(), middle = h.counts[9] + h.counts[10];
    if (alpha < 1) EXPECT_GT(ends, 3 * middle) << "alpha 0.4: U-shaped";
    else EXPECT_GT(middle, 10 * std::max<std::int64_t>(ends, 1)) << "alpha 4: humped";
    const std::string p = tmp("hist.png").string();
    draw_lambda_histogram(h, alpha, false, "t").write_png(p);
    const Canvas d = Canvas::read_png(p);
    EXPECT_EQ(d.width(), 720);
    EXPECT_EQ(d.height(), 460);
    fs::remove(p);
  }
  EXPECT_THROW(histogram({0.5f, 1.5f}, 0.0, 1.0, 10), VizError);
  try {  // the value as given, with the digits that read back as it
    histogram({0.5f, 1.0000001f}, 0.0, 1.0, 10);
    ADD_FAILURE() << "1.0000001 was counted";
  } catch (const VizError& e) {
    EXPECT_NE(std::string(e.what()).find("value 1.0000001 outside [0.00, 1.00]"), std::string::npos)
        << e.what();
  }
}

TEST(Viz, BetaDensityIntegratesToOne) {
  for (const double alpha : {0.4, 1.0, 4.0}) {
    double sum = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) sum += beta_density((i + 0.5) / n, alpha) / n;
    EXPECT_NEAR(sum, 1.0, alpha < 1 ? 2e-2 : 1e-4) << alpha;
  }
}

TEST(Viz, CurveMinimumIsDrawnAtItsEpoch) {
  const std::string csv = tmp("log.csv").string();
  std::ofstream(csv)
      << "run,epoch,train_loss,valid_loss,accuracy,time\n"
      << "a,0,1.0,0.9,0.5,1\na,1,0.8,0.7,0.6,1\na,2,0.7,0.6,0.7,1\na,3,0.6,0.35,0.8,1\na,4,0.5,0.5,0.7,1\n";
  const auto runs = read_training_csv(csv);
  ASSERT_EQ(runs.size(), 1u);
  Axes la;
  const std::string p = tmp("curves.png").string();
  draw_training_curves(runs, &la).write_png(p);
  const Canvas d = Canvas::read_png(p);
  const Rgb valid{31, 119, 180};  // the first run's solid colour
  int best_y = -1, best_x = -1;
  for (int y = la.top + 1; y < la.bottom; ++y)
    for (int x = la.left + 1; x < la.right; ++x)
      if (d.at(x, y) == valid && y > best_y) best_y = y, best_x = x;
  EXPECT_NEAR(best_x, la.px(3.0), 3) << "the lowest valid-loss pixel sits at epoch 3";
  EXPECT_NEAR(best_y, la.py(0.35), 3);
  fs::remove(csv);
  fs::remove(p);
}

// A diverged run logs nan / inf: the curves skip those epochs (no undefined int conversion —
// the ASan + UBSan pass runs this); values too far apart to plot are refused with a message.
TEST(Viz, NonFiniteEpochsAreSkippedAndHugeRangesRefused) {
  RunCurves r{"a", {0, 1, 2, 3}, {1.0, NAN, INFINITY, 0.7}, {0.9, -INFINITY, 0.7, 0.6}, {0.5, 0.6, NAN, 0.7}};
  Axes la;
  const Canvas c = draw_training_curves({r}, &la);
  EXPECT_GT(c.width(), 0);
  EXPECT_GT(la.y1, la.y0);
  RunCurves huge{"b", {0, 1}, {1e308, -1e308}, {0.5, 0.4}, {0.5, 0.6}};
  try {
    draw_training_curves({huge});
    ADD_FAILURE() << "a 2e308-wide loss range was drawn";
  } catch (const VizError& e) {
    EXPECT_NE(std::string(e.what()).find("span more than"), std::string::npos) << e.what();
  }
}

// Epochs are whole: the curves' x ticks (and their grid lines) sit on whole epochs only.
TEST(Viz, CurveTicksAreWholeEpochs) {
  RunCurves r{"a", {0, 1, 2}, {1.0, 0.8, 0.7}, {0.9, 0.7, 0.6}, {0.5, 0.6, 0.7}};
  Axes la;
  const Canvas c = draw_training_curves({r}, &la);
  const Rgb grid{225, 225, 225}, white{255, 255, 255};
  const int y = la.top + 3;  // above every curve (the y range is padded)
  for (const double e : {1.0}) EXPECT_TRUE(c.at(la.px(e), y) == grid) << "a grid line at epoch " << e;
  for (const double e : {0.2, 0.4, 0.5, 1.5})
    EXPECT_TRUE(c.at(la.px(e), y) == white) << "no grid line at epoch " << e;
}

// The histogram's legend sits below the x axis, so it never covers the tall bars at the ends.
TEST(Viz, LambdaLegendDoesNotCoverTheBars) {
  const Histogram h = histogram(library_lambdas(0.4f, 0, 20000), 0.0, 1.0, 20);
  const Canvas c = draw_lambda_histogram(h, 0.4, false, "t");
  const Rgb axis{60, 60, 60}, legend{70, 110, 170};
  int axis_row = -1, most = 0, legend_top = c.height();
  for (int y = 0; y < c.height(); ++y) {
    int n = 0;
    for (int x = 0; x < c.width(); ++x) {
      n += c.at(x, y) == axis;
      if (c.at(x, y) == legend) legend_top = std::min(legend_top, y);
    }
    if (n > most) most = n, axis_row = y;  // the x axis: the longest run of axis colour
  }
  ASSERT_LT(legend_top, c.height()) << "the legend is drawn";
  EXPECT_GT(legend_top, axis_row) << "the legend starts below the x axis";
}

TEST(Viz, BadInputFailsWithoutAFile) {
  const std::string empty = tmp("empty.csv").string();
  std::ofstream(empty).close();
  EXPECT_THROW(read_training_csv(empty), VizError);
  std::ofstream(empty) << "run,epoch,train_loss,valid_loss,accuracy,time\n";
  EXPECT_THROW(read_training_csv(empty), VizError);
  fs::remove(empty);
  Canvas c(4, 4);
  EXPECT_THROW(c.write_png("/nonexistent-dir/x.png"), VizError);
  EXPECT_FALSE(fs::exists("/nonexistent-dir/x.png"));
}

}  // namespace
