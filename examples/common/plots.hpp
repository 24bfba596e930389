#pragma once
// Pictures for the examples, drawn with PLplot (a plotting library made for this, from Debian's
// libplplot-dev, writing PNG through its cairo driver).
#include <filesystem>
#include <string>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tg::examples {

/// One curve of a line plot.
struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_y = false;
  bool legend_at_bottom = false;  ///< for curves that rise (accuracy): keep the legend off them
  double y_max = 0;               ///< when > 0, the y axis stops here (curves are clipped)
  int width = 800, height = 500;
};

/// Curves on shared axes with a legend, as a PNG.
void line_plot(const std::filesystem::path& path, const std::vector<Series>& series,
               const PlotOptions& options);

/// Several line plots side by side in one PNG (e.g. loss | accuracy).
void line_plots(const std::filesystem::path& path, const std::vector<std::vector<Series>>& panels,
                const std::vector<PlotOptions>& options, int width = 1200, int height = 450);

/// A confusion matrix (rows: true class, columns: predicted) as a heat map with counts.
void confusion_matrix_plot(const std::filesystem::path& path,
                           const std::vector<std::vector<long>>& counts,
                           const std::vector<std::string>& class_names, const std::string& title);

/// Grayscale or RGB images [N, C, H, W] in a grid, each with a caption above it; values are
/// min-max normalised per image when `normalize`, else clamped to [0, 1].
void captioned_grid(const std::filesystem::path& path, const Tensor& images,
                    const std::vector<std::string>& captions, int columns, bool normalize);

}  // namespace tg::examples
