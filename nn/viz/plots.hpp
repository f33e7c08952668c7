// The project's pictures: a grid of mixed images with their captions, a histogram of λ with
// the exact Beta(α, α) density over it, and training curves without / with mixup. Each
// returns what it drew (tile origins, bin counts, axis mappings), so tests can check the
// picture against independent computations without golden files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "canvas.hpp"

namespace mixup::nn::viz {

// ---- grid of mixed images ----
struct GridTile {
  const float* image;  // normalised f32 [h, w] as the mixup op wrote it
  std::string line1, line2;
  bool has_box = false;       // CutMix: the partner's pasted box, outlined
  int box[4] = {0, 0, 0, 0};  // y0, x0, y1, x1 (rows [y0, y1), columns [x0, x1))
};
struct GridLayout {
  int scale, tile_w, tile_h, cols;
  std::vector<std::pair<int, int>> origins;  // top-left pixel of each tile's image
};
// Back to bytes: round((x·std + mean)·255), clamped to [0, 255].
std::uint8_t denormalize(float x, float mean, float std);
Canvas draw_grid(const std::vector<GridTile>& tiles, int h, int w, float mean, float std, int cols, int scale,
                 GridLayout* layout = nullptr);

// ---- λ histogram ----
struct Histogram {
  double lo, hi;
  std::vector<std::int64_t> counts;
  std::int64_t total() const;
};
Histogram histogram(const std::vector<float>& values, double lo, double hi, int bins);
double beta_density(double x, double alpha);  // Beta(α, α) at x ∈ (0, 1)
Canvas draw_lambda_histogram(const Histogram& h, double alpha, bool folded, const std::string& title);

// ---- curves ----
struct Series {
  std::string name;
  std::vector<double> x, y;
  Rgb color;
  bool dashed;
};
// A pixel coordinate from a double, clamped far outside any canvas first: a value the plot
// cannot show (±∞, NaN, a point a diverged run logged at 1e308) never reaches an int overflow.
inline int to_pixel(double v) { return v > -1e6 ? (v < 1e6 ? static_cast<int>(v) : 1000000) : -1000000; }
struct Axes {  // data → pixel mapping of one panel
  int left, top, right, bottom;
  double x0, x1, y0, y1;
  int px(double x) const { return left + to_pixel((x - x0) / (x1 - x0) * (right - left) + 0.5); }
  int py(double y) const { return bottom - to_pixel((y - y0) / (y1 - y0) * (bottom - top) + 0.5); }
};
Axes draw_panel(Canvas& c, int left, int top, int right, int bottom, const std::vector<Series>& series,
                const std::string& title, const std::string& xlabel, const std::string& ylabel);

// One training log (mixup-train's CSV): run, epoch, train_loss, valid_loss, accuracy, time.
struct RunCurves {
  std::string run;
  std::vector<double> epoch, train_loss, valid_loss, accuracy;
};
std::vector<RunCurves> read_training_csv(const std::string& path);
// Loss panel (train dashed, valid solid) and accuracy panel; both runs on the same axes, ticks
// on whole epochs.
Canvas draw_training_curves(const std::vector<RunCurves>& runs, Axes* loss_axes = nullptr,
                            Axes* acc_axes = nullptr);

}  // namespace mixup::nn::viz
