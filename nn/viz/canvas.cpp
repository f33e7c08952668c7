#include "canvas.hpp"

#include <png.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <unistd.h>

#include "font8x13.hpp"

namespace mixup::nn::viz {

Canvas::Canvas(int width, int height, Rgb background) : w_(width), h_(height) {
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) throw VizError("canvas size out of range");
  px_.assign(static_cast<std::size_t>(width) * height, background);
}

void Canvas::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y)
    for (int x = std::min(x0, x1); x <= std::max(x0, x1); ++x) set(x, y, c);
}

void Canvas::line(int x0, int y0, int x1, int y1, Rgb c, int thickness) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  const int r0 = -(thickness - 1) / 2, r1 = thickness / 2;
  for (;;) {
    for (int oy = r0; oy <= r1; ++oy)
      for (int ox = r0; ox <= r1; ++ox) set(x0 + ox, y0 + oy, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

void Canvas::text(int x, int y, const std::string& s, Rgb c, int scale) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(s[i]);
    const int g = (ch >= 32 && ch <= 126) ? ch - 32 : '?' - 32;
    for (int row = 0; row < kGlyphHeight; ++row)
      for (int col = 0; col < kGlyphWidth; ++col)
        if (kFont8x13[g][row] & (0x80 >> col))
          fill_rect(x + (static_cast<int>(i) * kGlyphWidth + col) * scale, y + row * scale,
                    x + (static_cast<int>(i) * kGlyphWidth + col) * scale + scale - 1, y + row * scale + scale - 1, c);
  }
}

void Canvas::blit(const Canvas& src, int x, int y) {
  for (int yy = 0; yy < src.h_; ++yy)
    for (int xx = 0; xx < src.w_; ++xx) set(x + xx, y + yy, src.at(xx, yy));
}

int Canvas::text_width(const std::string& s, int scale) { return static_cast<int>(s.size()) * kGlyphWidth * scale; }
int Canvas::text_height(int scale) { return kGlyphHeight * scale; }

namespace {
struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};
}  // namespace

void Canvas::write_png(const std::string& path) const {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* raw = std::fopen(tmp.c_str(), "wb");
  if (raw == nullptr) throw VizError(path + ": cannot write (directory missing or not writable)");
  std::unique_ptr<FILE, FileCloser> f(raw);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  bool ok = png != nullptr && info != nullptr;
  if (ok && setjmp(png_jmpbuf(png)) == 0) {
    png_init_io(png, f.get());
    png_set_IHDR(png, info, static_cast<png_uint_32>(w_), static_cast<png_uint_32>(h_), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h_; ++y)
      png_write_row(png, reinterpret_cast<png_const_bytep>(px_.data() + static_cast<std::size_t>(y) * w_));
    png_write_end(png, nullptr);
  } else {
    ok = false;
  }
  png_destroy_write_struct(png ? &png : nullptr, info ? &info : nullptr);
  ok = ok && std::fflush(f.get()) == 0 && !std::ferror(f.get());
  f.reset();
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw VizError(path + ": writing the PNG failed");
  }
}

Canvas Canvas::read_png(const std::string& path) {
  FILE* raw = std::fopen(path.c_str(), "rb");
  if (raw == nullptr) throw VizError(path + ": cannot open");
  std::unique_ptr<FILE, FileCloser> f(raw);
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (png == nullptr || info == nullptr) throw VizError("libpng: out of memory");
  std::vector<std::uint8_t> pixels;
  int w = 0, h = 0;
  if (setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw VizError(path + ": not a readable PNG");
  }
  png_init_io(png, f.get());
  png_read_info(png, info);
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_read_update_info(png, info);
  w = static_cast<int>(png_get_image_width(png, info));
  h = static_cast<int>(png_get_image_height(png, info));
  if (png_get_rowbytes(png, info) != static_cast<std::size_t>(w) * 3) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw VizError(path + ": unexpected PNG layout");
  }
  pixels.resize(static_cast<std::size_t>(w) * h * 3);
  std::vector<png_bytep> rows(static_cast<std::size_t>(h));
  for (int y = 0; y < h; ++y) rows[y] = pixels.data() + static_cast<std::size_t>(y) * w * 3;
  png_read_image(png, rows.data());
  png_destroy_read_struct(&png, &info, nullptr);
  Canvas c(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::uint8_t* p = pixels.data() + (static_cast<std::size_t>(y) * w + x) * 3;
      c.set(x, y, Rgb{p[0], p[1], p[2]});
    }
  return c;
}

}  // namespace mixup::nn::viz
