// A small RGB canvas for the project's pictures, drawn with cairo: antialiased lines, text in
// a real font (DejaVu Sans through fontconfig), exact pixel rectangles for images, and PNG in
// and out. A PNG is written to a temporary file next to the target and renamed into place, so
// a failure never leaves a partial file.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

struct _cairo_surface;

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
  Rgb at(int x, int y) const;
  void set(int x, int y, Rgb c);
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // inclusive corners, exact pixels
  // Antialiased, centred on the pixel centres of its end points.
  void line(int x0, int y0, int x1, int y1, Rgb c, int thickness = 1);
  // Text with the top-left corner of its line box at (x, y); scale multiplies the font size.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1);
  void blit(const Canvas& src, int x, int y);
  static int text_width(const std::string& s, int scale = 1);
  static int text_height(int scale = 1);
  void write_png(const std::string& path) const;
  static Canvas read_png(const std::string& path);

 private:
  struct Destroy {
    void operator()(_cairo_surface* s) const;
  };
  std::uint32_t* row(int y) const;
  int w_, h_;
  std::unique_ptr<_cairo_surface, Destroy> surface_;
};

}  // namespace mixup::nn::viz
