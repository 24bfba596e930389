#include "examples/common/plots.hpp"

#include <plplot/plstream.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <tapegrad/autograd/error.hpp>

namespace tg::examples {

namespace {

// A PLplot stream writing one PNG; PLplot reports errors on stderr, so check the file after.
std::unique_ptr<plstream> open_png(const std::filesystem::path& path, int width, int height) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  auto pls = std::make_unique<plstream>();
  pls->sdev("pngcairo");
  pls->sfnam(path.string().c_str());
  pls->spage(0.0, 0.0, width, height, 0, 0);
  pls->scolbg(255, 255, 255);
  pls->scol0(1, 0, 0, 0);  // axes and text in black on white
  pls->init();
  return pls;
}

// Distinct line colours (colour-blind friendly, Okabe-Ito).
const int palette[][3] = {{0, 114, 178}, {213, 94, 0}, {0, 158, 115}, {204, 121, 167},
                          {230, 159, 0}, {86, 180, 233}, {240, 228, 66}, {0, 0, 0}};

void draw_panel(plstream& pls, const std::vector<Series>& series, const PlotOptions& o) {
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const double y = o.log_y ? std::log10(std::max(s.y[i], 1e-12)) : s.y[i];
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  TG_CHECK(x0 <= x1, "line_plot: expected at least one point, got none (", o.title, ")");
  if (x1 == x0) x1 = x0 + 1;
  if (o.y_max > 0) y1 = std::min(y1, o.log_y ? std::log10(o.y_max) : o.y_max);
  const double pad = (y1 - y0) * 0.05 + 1e-9;
  pls.col0(1);
  pls.env(x0, x1, y0 - pad, y1 + pad, 0, o.log_y ? 20 : 2);
  pls.lab(o.x_label.c_str(), o.y_label.c_str(), o.title.c_str());
  std::vector<PLINT> opt, colors, styles;
  std::vector<PLFLT> widths;
  std::vector<const char*> texts;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& c = palette[k % 8];
    pls.scol0(2 + int(k % 8), c[0], c[1], c[2]);
    pls.col0(2 + int(k % 8));
    pls.width(2.0);
    std::vector<PLFLT> ys(series[k].y);
    if (o.log_y)
      for (auto& y : ys) y = std::log10(std::max(y, 1e-12));
    pls.line(PLINT(ys.size()), series[k].x.data(), ys.data());
    opt.push_back(PL_LEGEND_LINE);
    colors.push_back(2 + PLINT(k % 8));
    styles.push_back(1);
    widths.push_back(2.0);
    texts.push_back(series[k].name.c_str());
  }
  pls.width(1.0);
  pls.col0(1);
  PLFLT legend_w, legend_h;
  const auto n = PLINT(series.size());
  std::vector<PLINT> text_colors(series.size(), 1), zero(series.size(), 0);
  std::vector<PLFLT> zero_f(series.size(), 0.0);
  pls.legend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             (o.legend_at_bottom ? PL_POSITION_BOTTOM : PL_POSITION_TOP) | PL_POSITION_RIGHT | PL_POSITION_INSIDE, 0.02, 0.02, 0.1, 0, 1, 1, 0,
             0, n, opt.data(), 1.0, 0.9, 2.0, 1.0, text_colors.data(), texts.data(), nullptr,
             nullptr, nullptr, nullptr, colors.data(), styles.data(), widths.data(), nullptr,
             nullptr, nullptr, nullptr);
}

}  // namespace

void line_plot(const std::filesystem::path& path, const std::vector<Series>& series,
               const PlotOptions& options) {
  auto pls = open_png(path, options.width, options.height);
  draw_panel(*pls, series, options);
}

void line_plots(const std::filesystem::path& path, const std::vector<std::vector<Series>>& panels,
                const std::vector<PlotOptions>& options, int width, int height) {
  auto pls = open_png(path, width, height);
  pls->ssub(PLINT(panels.size()), 1);
  for (std::size_t i = 0; i < panels.size(); ++i) draw_panel(*pls, panels[i], options[i]);
}

void confusion_matrix_plot(const std::filesystem::path& path,
                           const std::vector<std::vector<long>>& counts,
                           const std::vector<std::string>& class_names, const std::string& title) {
  const auto n = PLINT(counts.size());
  auto pls = open_png(path, 820, 780);
  pls->adv(0);
  pls->vpor(0.18, 0.95, 0.2, 0.92);
  pls->wind(0, n, 0, n);
  PLFLT pos[2] = {0, 1}, r[2] = {1, 0.03}, g[2] = {1, 0.25}, b[2] = {1, 0.55};
  pls->scmap1l(true, 2, pos, r, g, b, nullptr);
  pls->schr(0, 0.75);
  for (PLINT t = 0; t < n; ++t) {
    long row = 0;
    for (long c : counts[t]) row += c;
    for (PLINT p = 0; p < n; ++p) {
      // Coloured by the row's fraction, so that classes of any size read the same way.
      const double fraction = row ? double(counts[t][p]) / double(row) : 0.0;
      const PLFLT y0 = n - 1 - t, xs[4] = {PLFLT(p), PLFLT(p + 1), PLFLT(p + 1), PLFLT(p)};
      const PLFLT ys[4] = {y0, y0, y0 + 1, y0 + 1};
      pls->col1(fraction);
      pls->fill(4, xs, ys);
      const int ink = fraction > 0.5 ? 255 : 0;
      pls->scol0(15, ink, ink, ink);
      pls->col0(15);
      pls->ptex(p + 0.5, y0 + 0.4, 1, 0, 0.5, std::to_string(counts[t][p]).c_str());
    }
  }
  pls->col0(1);
  pls->box("bc", 1, 0, "bc", 1, 0);
  for (PLINT i = 0; i < n; ++i) {
    const double at = (i + 0.5) / n;
    pls->mtex("lv", 0.8, 1.0 - at, 1.0, class_names[i].c_str());
    pls->mtex("bv", 0.8, at, 1.0, class_names[i].c_str());
  }
  pls->schr(0, 1.0);
  pls->mtex("t", 2.0, 0.5, 0.5, title.c_str());
  pls->mtex("l", 8.0, 0.5, 0.5, "true class");
  pls->mtex("b", 7.0, 0.5, 0.5, "predicted class");
}

void captioned_grid(const std::filesystem::path& path, const Tensor& images,
                    const std::vector<std::string>& captions, int columns, bool normalize) {
  TG_CHECK(images.dimension() == 4, "captioned_grid: expected images [N, C, H, W], got ",
           shape_str(images.shape()));
  const auto count = int(images.shape()[0]);
  const int rows = std::max(1, (count + columns - 1) / columns);
  const auto c = images.shape()[1], h = images.shape()[2], w = images.shape()[3];
  auto pls = open_png(path, 150 * columns, 160 * rows + 40);
  PLFLT pos[2] = {0, 1}, ramp[2] = {0, 1};
  pls->scmap1l(true, 2, pos, ramp, ramp, ramp, nullptr);
  pls->ssub(columns, rows);
  pls->schr(0, 1.1);
  PLFLT** z;
  plAlloc2dGrid(&z, PLINT(w), PLINT(h));
  for (int k = 0; k < count; ++k) {
    const float* img = images.data() + std::size_t(k) * c * h * w;
    float lo = 0, hi = 1;
    if (normalize) {
      lo = *std::min_element(img, img + c * h * w);
      hi = std::max(*std::max_element(img, img + c * h * w), lo + 1e-6f);
    }
    // Colour images are shown as their luminance: PLplot's image is one channel.
    for (std::size_t y = 0; y < h; ++y)
      for (std::size_t x = 0; x < w; ++x) {
        float v = 0;
        for (std::size_t ch = 0; ch < c; ++ch) v += img[(ch * h + y) * w + x];
        z[x][h - 1 - y] = std::clamp((v / float(c) - lo) / (hi - lo), 0.0f, 1.0f);
      }
    pls->adv(0);
    pls->vpas(0.05, 0.95, 0.05, 0.8, double(h) / double(w));
    pls->wind(0, double(w), 0, double(h));
    pls->image(z, PLINT(w), PLINT(h), 0, double(w), 0, double(h), 0, 1, 0, double(w), 0, double(h));
    pls->col0(1);
    pls->mtex("t", 0.6, 0.5, 0.5, k < int(captions.size()) ? captions[k].c_str() : "");
  }
  plFree2dGrid(z, PLINT(w), PLINT(h));
}

}  // namespace tg::examples
