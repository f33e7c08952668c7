// A small RGB canvas for the project's pictures: lines, rectangles, text in the built-in
// 8×13 font, and PNG in and out through libpng. A PNG is written to a temporary file next to
// the target and renamed into place, so a failure never leaves a partial file.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mixup::nn::viz {

struct Rgb {
  std::uint8_t r, g, b;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

struct VizError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Canvas {
 public:
  Canvas(int width, int height, Rgb background = {255, 255, 255});
  int width() const { return w_; }
  int height() const { return h_; }
  Rgb at(int x, int y) const { return px_[static_cast<std::size_t>(y) * w_ + x]; }
  void set(int x, int y, Rgb c) {
    if (x >= 0 && y >= 0 && x < w_ && y < h_) px_[static_cast<std::size_t>(y) * w_ + x] = c;
  }
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // inclusive corners
  void line(int x0, int y0, int x1, int y1, Rgb c, int thickness = 1);
  // Text with its top-left corner at (x, y), each font pixel drawn as scale×scale.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);
  void blit(const Canvas& src, int x, int y);
  static int text_width(const std::string& s, int scale = 1);
  static int text_height(int scale = 1);
  void write_png(const std::string& path) const;
  static Canvas read_png(const std::string& path);

 private:
  int w_, h_;
  std::vector<Rgb> px_;
};

}  // namespace mixup::nn::viz
