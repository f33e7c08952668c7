#include "canvas.hpp"

#include <cairo.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <unistd.h>

namespace mixup::nn::viz {
namespace {

constexpr double kFontSize = 12.0;  // pixels; close to the 8x13 bitmap font it replaced
const char* const kFont = "DejaVu Sans";

std::uint32_t pack(Rgb c) { return (std::uint32_t(c.r) << 16) | (std::uint32_t(c.g) << 8) | c.b; }

struct Context {
  cairo_t* cr;
  explicit Context(cairo_surface_t* s) : cr(cairo_create(s)) {
    cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, kFontSize);
  }
  ~Context() { cairo_destroy(cr); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  void color(Rgb c) { cairo_set_source_rgb(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0); }
};

// Text metrics need a cairo context; one on a 1x1 surface serves every measurement.
Context& measure() {
  static cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  static Context ctx(s);
  return ctx;
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// fontconfig (under cairo's font selection) keeps its configuration until FcFini, which cairo
// never calls; LeakSanitizer would report that at every exit of a program that drew text.
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }
#endif

void Canvas::Destroy::operator()(_cairo_surface* s) const { cairo_surface_destroy(s); }

Canvas::Canvas(int width, int height, Rgb background) : w_(width), h_(height) {
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
    throw VizError("canvas size out of range");
  surface_.reset(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  if (cairo_surface_status(surface_.get()) != CAIRO_STATUS_SUCCESS) throw VizError("canvas: cannot allocate");
  fill_rect(0, 0, width - 1, height - 1, background);
}

std::uint32_t* Canvas::row(int y) const {
  return reinterpret_cast<std::uint32_t*>(cairo_image_surface_get_data(surface_.get()) +
                                          static_cast<std::size_t>(y) *
                                              cairo_image_surface_get_stride(surface_.get()));
}

Rgb Canvas::at(int x, int y) const {
  cairo_surface_flush(surface_.get());
  const std::uint32_t p = row(y)[x];
  return Rgb{static_cast<std::uint8_t>(p >> 16), static_cast<std::uint8_t>(p >> 8),
             static_cast<std::uint8_t>(p)};
}

void Canvas::set(int x, int y, Rgb c) { fill_rect(x, y, x, y, c); }

void Canvas::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  const int xa = std::max(0, std::min(x0, x1)), xb = std::min(w_ - 1, std::max(x0, x1));
  const int ya = std::max(0, std::min(y0, y1)), yb = std::min(h_ - 1, std::max(y0, y1));
  if (xa > xb || ya > yb) return;
  cairo_surface_flush(surface_.get());
  const std::uint32_t v = pack(c);
  for (int y = ya; y <= yb; ++y) std::fill(row(y) + xa, row(y) + xb + 1, v);
  cairo_surface_mark_dirty_rectangle(surface_.get(), xa, ya, xb - xa + 1, yb - ya + 1);
}

void Canvas::line(int x0, int y0, int x1, int y1, Rgb c, int thickness) {
  Context ctx(surface_.get());
  ctx.color(c);
  cairo_set_line_width(ctx.cr, thickness);
  cairo_set_line_cap(ctx.cr, CAIRO_LINE_CAP_ROUND);
  // an odd width centred on a pixel centre covers whole pixels on straight lines: crisp axes
  const double o = thickness % 2 ? 0.5 : 0.0;
  cairo_move_to(ctx.cr, x0 + o, y0 + o);
  cairo_line_to(ctx.cr, x1 + o, y1 + o);
  cairo_stroke(ctx.cr);
}

void Canvas::text(int x, int y, const std::string& s, Rgb c, int scale) {
  Context ctx(surface_.get());
  cairo_set_font_size(ctx.cr, kFontSize * scale);
  cairo_font_extents_t fe;
  cairo_font_extents(ctx.cr, &fe);
  ctx.color(c);
  cairo_move_to(ctx.cr, x, y + fe.ascent);
  cairo_show_text(ctx.cr, s.c_str());
}

void Canvas::blit(const Canvas& src, int x, int y) {
  const int xa = std::max(0, x), xb = std::min(w_, x + src.w_), ya = std::max(0, y),
            yb = std::min(h_, y + src.h_);
  if (xa >= xb || ya >= yb) return;
  cairo_surface_flush(src.surface_.get());
  cairo_surface_flush(surface_.get());
  for (int r = ya; r < yb; ++r)
    std::memcpy(row(r) + xa, src.row(r - y) + (xa - x), sizeof(std::uint32_t) * (xb - xa));
  cairo_surface_mark_dirty_rectangle(surface_.get(), xa, ya, xb - xa, yb - ya);
}

int Canvas::text_width(const std::string& s, int scale) {
  Context& ctx = measure();
  cairo_set_font_size(ctx.cr, kFontSize * scale);
  cairo_text_extents_t te;
  cairo_text_extents(ctx.cr, s.c_str(), &te);
  return static_cast<int>(te.x_advance + 0.999);
}

int Canvas::text_height(int scale) {
  Context& ctx = measure();
  cairo_set_font_size(ctx.cr, kFontSize * scale);
  cairo_font_extents_t fe;
  cairo_font_extents(ctx.cr, &fe);
  return static_cast<int>(fe.ascent + fe.descent + 0.999);
}

void Canvas::write_png(const std::string& path) const {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  cairo_surface_flush(surface_.get());
  errno = 0;  // cairo writes with stdio: what errno holds after a failure is the reason
  const cairo_status_t st = cairo_surface_write_to_png(surface_.get(), tmp.c_str());
  if (st != CAIRO_STATUS_SUCCESS) {
    const int why = errno;
    std::remove(tmp.c_str());
    throw VizError(path + ": cannot write the PNG (" + cairo_status_to_string(st) +
                   (why ? std::string(": ") + std::strerror(why) : std::string()) + ")");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int why = errno;
    std::remove(tmp.c_str());
    throw VizError(path + ": cannot rename the temporary file into place (" + std::strerror(why) + ")");
  }
}

Canvas Canvas::read_png(const std::string& path) {
  cairo_surface_t* png = cairo_image_surface_create_from_png(path.c_str());
  const cairo_status_t st = cairo_surface_status(png);
  if (st != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(png);
    throw VizError(path + ": cannot read the PNG (" + cairo_status_to_string(st) + ")");
  }
  Canvas c(cairo_image_surface_get_width(png), cairo_image_surface_get_height(png));
  {
    Context ctx(c.surface_.get());
    cairo_set_source_surface(ctx.cr, png, 0, 0);
    cairo_paint(ctx.cr);
  }
  cairo_surface_destroy(png);
  return c;
}

}  // namespace mixup::nn::viz
