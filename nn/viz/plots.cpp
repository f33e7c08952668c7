#include "plots.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace mixup::nn::viz {
namespace {

const Rgb kBlack{0, 0, 0}, kGrid{225, 225, 225}, kAxis{60, 60, 60};

std::string fmt(double v, int decimals) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

// 1-2-5 ticks covering [lo, hi] with about n intervals, none closer than min_step (1 on an
// epoch axis: there is no epoch 0.5).
std::vector<double> nice_ticks(double lo, double hi, int n, int* decimals, double min_step = 0) {
  const double raw = (hi - lo) / std::max(1, n);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = std::max(min_step, raw / mag < 1.5   ? mag
                                         : raw / mag < 3.5 ? 2 * mag
                                         : raw / mag < 7.5 ? 5 * mag
                                                           : 10 * mag);
  *decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  std::vector<double> t;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

void frame(Canvas& c, const Axes& a, const std::string& title, const std::string& xlabel,
           const std::string& ylabel, double x_min_step = 0) {
  int xd = 0, yd = 0;
  for (double t : nice_ticks(a.x0, a.x1, 8, &xd, x_min_step)) {
    const int x = a.px(t);
    c.line(x, a.top, x, a.bottom, kGrid);
    c.line(x, a.bottom, x, a.bottom + 4, kAxis);
    const std::string s = fmt(t, xd);
    c.text(x - Canvas::text_width(s) / 2, a.bottom + 7, s, kAxis);
  }
  for (double t : nice_ticks(a.y0, a.y1, 6, &yd)) {
    const int y = a.py(t);
    c.line(a.left, y, a.right, y, kGrid);
    c.line(a.left - 4, y, a.left, y, kAxis);
    const std::string s = fmt(t, yd);
    c.text(a.left - 7 - Canvas::text_width(s), y - Canvas::text_height() / 2, s, kAxis);
  }
  c.line(a.left, a.top, a.left, a.bottom, kAxis);
  c.line(a.left, a.bottom, a.right, a.bottom, kAxis);
  c.line(a.right, a.top, a.right, a.bottom, kAxis);
  c.line(a.left, a.top, a.right, a.top, kAxis);
  c.text((a.left + a.right - Canvas::text_width(title)) / 2, a.top - 2 * Canvas::text_height() - 6, title,
         kBlack);
  c.text((a.left + a.right - Canvas::text_width(xlabel)) / 2, a.bottom + 9 + Canvas::text_height(), xlabel,
         kBlack);
  // the y label, written vertically one letter a line would be unreadable: put it above the axis
  c.text(a.left - Canvas::text_width(ylabel) / 2, a.top - Canvas::text_height() - 4, ylabel, kBlack);
}

// v with the fewest digits that read back as it: the value as given (1.0000001, not 1.000000).
std::string shown(float v) {
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

std::uint8_t denormalize(float x, float mean, float std) {
  const double v = std::round((static_cast<double>(x) * std + mean) * 255.0);
  return static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
}

Canvas draw_grid(const std::vector<GridTile>& tiles, int h, int w, float mean, float std, int cols, int scale,
                 GridLayout* layout) {
  if (tiles.empty()) throw VizError("grid: no images");
  int text_w = 0;
  for (const GridTile& t : tiles)
    text_w = std::max({text_w, Canvas::text_width(t.line1), Canvas::text_width(t.line2)});
  const int pad = 8;
  const int tile_w = std::max(w * scale, text_w) + pad,
            tile_h = h * scale + 2 * Canvas::text_height() + 6 + pad;
  const int rows = static_cast<int>((tiles.size() + cols - 1) / cols);
  Canvas c(cols * tile_w + pad, rows * tile_h + pad);
  GridLayout g{scale, tile_w, tile_h, cols, {}};
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const int x0 = pad + static_cast<int>(i % cols) * tile_w + (tile_w - pad - w * scale) / 2;
    const int y0 = pad + static_cast<int>(i / cols) * tile_h;
    g.origins.emplace_back(x0, y0);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const std::uint8_t v = denormalize(tiles[i].image[y * w + x], mean, std);
        c.fill_rect(x0 + x * scale, y0 + y * scale, x0 + x * scale + scale - 1, y0 + y * scale + scale - 1,
                    Rgb{v, v, v});
      }
    const GridTile& t = tiles[i];
    if (t.has_box && t.box[2] > t.box[0] && t.box[3] > t.box[1]) {  // a one-pixel outline around the box
      const int bx0 = x0 + t.box[1] * scale, by0 = y0 + t.box[0] * scale;
      const int bx1 = x0 + t.box[3] * scale - 1, by1 = y0 + t.box[2] * scale - 1;
      const Rgb red{220, 40, 40};
      c.fill_rect(bx0, by0, bx1, by0, red);
      c.fill_rect(bx0, by1, bx1, by1, red);
      c.fill_rect(bx0, by0, bx0, by1, red);
      c.fill_rect(bx1, by0, bx1, by1, red);
    }
    const int tx = pad + static_cast<int>(i % cols) * tile_w;
    c.text(tx, y0 + h * scale + 3, tiles[i].line1, kBlack);
    c.text(tx, y0 + h * scale + 3 + Canvas::text_height(), tiles[i].line2, Rgb{90, 90, 90});
  }
  if (layout) *layout = g;
  return c;
}

std::int64_t Histogram::total() const {
  std::int64_t t = 0;
  for (std::int64_t v : counts) t += v;
  return t;
}

Histogram histogram(const std::vector<float>& values, double lo, double hi, int bins) {
  if (!(hi > lo) || bins < 1) throw VizError("histogram: need hi > lo and bins >= 1");
  Histogram h{lo, hi, std::vector<std::int64_t>(static_cast<std::size_t>(bins), 0)};
  for (float v : values) {
    if (!(v >= lo && v <= hi))
      throw VizError("histogram: value " + shown(v) + " outside [" + fmt(lo, 2) + ", " + fmt(hi, 2) + "]");
    const int b = std::min(bins - 1, static_cast<int>((v - lo) / (hi - lo) * bins));
    ++h.counts[static_cast<std::size_t>(b)];
  }
  return h;
}

double beta_density(double x, double alpha) {
  if (!(x > 0.0 && x < 1.0)) return 0.0;
  const double log_b = 2 * std::lgamma(alpha) - std::lgamma(2 * alpha);
  return std::exp((alpha - 1) * (std::log(x) + std::log1p(-x)) - log_b);
}

Canvas draw_lambda_histogram(const Histogram& h, double alpha, bool folded, const std::string& title) {
  Canvas c(720, 460);
  const int bins = static_cast<int>(h.counts.size());
  const double width = (h.hi - h.lo) / bins, n = static_cast<double>(h.total());
  double ymax = 0;
  for (std::int64_t k : h.counts) ymax = std::max(ymax, k / (n * width));
  // the density's own scale, away from the poles it has for α < 1
  for (int i = 1; i < 200; ++i) {
    const double x = h.lo + (h.hi - h.lo) * (0.05 + 0.9 * i / 200.0);
    ymax = std::max(ymax, (folded ? 2 : 1) * beta_density(x, alpha));
  }
  ymax *= 1.1;
  Axes a{80, 70, 690, 375, h.lo, h.hi, 0.0, ymax};
  frame(c, a, title, folded ? "lambda (folded: max(lambda, 1 - lambda))" : "lambda", "density");
  for (int b = 0; b < bins; ++b) {
    const double d = h.counts[b] / (n * width);
    c.fill_rect(a.px(h.lo + b * width) + 1, a.py(d), a.px(h.lo + (b + 1) * width) - 1, a.bottom - 1,
                Rgb{120, 160, 210});
  }
  int prev_x = -1, prev_y = -1;
  for (int i = 0; i <= 600; ++i) {
    const double x = h.lo + (h.hi - h.lo) * i / 600.0;
    const double d = std::min(ymax, (folded ? 2 : 1) * beta_density(x, alpha));
    const int px = a.px(x), py = a.py(d);
    if (prev_x >= 0 && d > 0) c.line(prev_x, prev_y, px, py, Rgb{200, 40, 40}, 2);
    prev_x = px, prev_y = py;
  }
  const std::string l1 = "bars: lambda drawn by libmixup_cuda",
                    l2 = "line: exact Beta(" + fmt(alpha, 2) + ", " + fmt(alpha, 2) + ") density";
  // the legend goes under the axes: over the plot it would cover the tall bars at the ends
  const int ly = a.bottom + 2 * Canvas::text_height() + 18, gap = 30;
  int lx = (a.left + a.right - (Canvas::text_width(l1) + gap + Canvas::text_width(l2) + 2 * 24)) / 2;
  c.fill_rect(lx, ly + 2, lx + 16, ly + Canvas::text_height() - 2, Rgb{120, 160, 210});
  c.text(lx + 24, ly, l1, Rgb{70, 110, 170});
  lx += 24 + Canvas::text_width(l1) + gap;
  c.line(lx, ly + Canvas::text_height() / 2, lx + 16, ly + Canvas::text_height() / 2, Rgb{200, 40, 40}, 2);
  c.text(lx + 24, ly, l2, Rgb{200, 40, 40});
  return c;
}

Axes draw_panel(Canvas& c, int left, int top, int right, int bottom, const std::vector<Series>& series,
                const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const Series& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]), y0 = std::min(y0, s.y[i]),
      y1 = std::max(y1, s.y[i]);
    }
  if (!(x1 >= x0) || !(y1 >= y0)) throw VizError("plot: no finite data");
  if (!std::isfinite(x1 - x0) || !std::isfinite((y1 - y0) * 1.2))
    throw VizError("plot: the values span more than the axes can hold (a diverged run?)");
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  const double pad = (y1 - y0) * 0.08 + 1e-9;
  Axes a{left, top, right, bottom, x0, x1, y0 - pad, y1 + pad};
  frame(c, a, title, xlabel, ylabel, 1.0);  // curves are per epoch: whole-epoch ticks
  const auto drawable = [](const Series& s, std::size_t i) {
    return std::isfinite(s.x[i]) && std::isfinite(s.y[i]);
  };
  for (const Series& s : series) {
    for (std::size_t i = 1; i < s.x.size(); ++i) {
      if (!drawable(s, i - 1) || !drawable(s, i)) continue;  // a non-finite epoch breaks the line
      if (s.dashed) {                                        // draw every other short stretch
        const int steps = 12;
        for (int k = 0; k < steps; k += 2) {
          const double t0 = static_cast<double>(k) / steps, t1 = static_cast<double>(k + 1) / steps;
          c.line(a.px(s.x[i - 1] + (s.x[i] - s.x[i - 1]) * t0), a.py(s.y[i - 1] + (s.y[i] - s.y[i - 1]) * t0),
                 a.px(s.x[i - 1] + (s.x[i] - s.x[i - 1]) * t1), a.py(s.y[i - 1] + (s.y[i] - s.y[i - 1]) * t1),
                 s.color, 2);
        }
      } else {
        c.line(a.px(s.x[i - 1]), a.py(s.y[i - 1]), a.px(s.x[i]), a.py(s.y[i]), s.color, 2);
      }
    }
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (drawable(s, i))
        c.fill_rect(a.px(s.x[i]) - 2, a.py(s.y[i]) - 2, a.px(s.x[i]) + 2, a.py(s.y[i]) + 2, s.color);
  }
  // legend under the panel, outside the plotted area
  int lx = left, ly = bottom + 2 * Canvas::text_height() + 14;
  for (const Series& s : series) {
    const std::string label = s.name + (s.dashed ? " (dashed)" : "");
    if (lx + 24 + Canvas::text_width(label) > right) lx = left, ly += Canvas::text_height() + 4;
    c.line(lx, ly + Canvas::text_height() / 2, lx + 18, ly + Canvas::text_height() / 2, s.color, 3);
    c.text(lx + 22, ly, label, kBlack);
    lx += 34 + Canvas::text_width(label);
  }
  return a;
}

std::vector<RunCurves> read_training_csv(const std::string& path) {
  errno = 0;
  std::ifstream f(path);
  if (!f)
    throw VizError(path + ": cannot open" + (errno ? std::string(" (") + std::strerror(errno) + ")" : ""));
  std::string line;
  if (!std::getline(f, line) || line.rfind("run,epoch,train_loss,valid_loss,accuracy", 0) != 0)
    throw VizError(
        path + ": not a mixup-train log (expected the header run,epoch,train_loss,valid_loss,accuracy,time)");
  std::map<std::string, RunCurves> runs;
  std::vector<std::string> order;
  int lineno = 1;
  while (std::getline(f, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::stringstream s(line);
    std::string run, cell;
    std::vector<double> v;
    std::getline(s, run, ',');
    while (std::getline(s, cell, ',')) {
      try {
        v.push_back(std::stod(cell));
      } catch (...) {
        throw VizError(path + ":" + std::to_string(lineno) + ": '" + cell + "' is not a number");
      }
    }
    if (v.size() < 4) throw VizError(path + ":" + std::to_string(lineno) + ": too few columns");
    if (!runs.count(run)) order.push_back(run), runs[run].run = run;
    RunCurves& r = runs[run];
    r.epoch.push_back(v[0]), r.train_loss.push_back(v[1]), r.valid_loss.push_back(v[2]),
        r.accuracy.push_back(v[3]);
  }
  if (order.empty()) throw VizError(path + ": no epochs in the log");
  std::vector<RunCurves> out;
  for (const std::string& r : order) out.push_back(runs[r]);
  return out;
}

Canvas draw_training_curves(const std::vector<RunCurves>& runs, Axes* loss_axes, Axes* acc_axes) {
  if (runs.empty()) throw VizError("curves: no runs");
  const Rgb colors[] = {{31, 119, 180}, {230, 120, 20}, {44, 160, 44}, {150, 60, 170}};
  std::vector<Series> loss, acc;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Rgb col = colors[i % 4];
    const Rgb light{static_cast<std::uint8_t>((col.r + 255) / 2),
                    static_cast<std::uint8_t>((col.g + 255) / 2),
                    static_cast<std::uint8_t>((col.b + 255) / 2)};
    loss.push_back({runs[i].run + " train", runs[i].epoch, runs[i].train_loss, light, true});
    loss.push_back({runs[i].run + " valid", runs[i].epoch, runs[i].valid_loss, col, false});
    acc.push_back({runs[i].run + " valid", runs[i].epoch, runs[i].accuracy, col, false});
  }
  Canvas c(1100, 500);
  const Axes la = draw_panel(c, 80, 60, 520, 380, loss, "loss per epoch", "epoch", "loss");
  const Axes aa = draw_panel(c, 630, 60, 1070, 380, acc, "validation accuracy per epoch", "epoch",
                             "accuracy");
  if (loss_axes) *loss_axes = la;
  if (acc_axes) *acc_axes = aa;
  return c;
}

}  // namespace mixup::nn::viz
