// operator<< for Variable and Tensor in LibTorch's format (the rules of its C++ printer,
// at::print): values converted to double; one number format chosen per 1-D tensor or matrix
// (integers, fixed with 4 decimals, fixed with a common power-of-ten scale, or scientific,
// from the magnitudes of the finite values); matrices wrapped at 80 columns; tensors above 2-D
// printed as their trailing matrices "(i,j,.,.) = " with the first index running fastest, as
// LibTorch does; then "[ CPUFloatType{sizes} ]". The stream's own format is restored after.
#include <cmath>
#include <iomanip>
#include <ostream>
#include <vector>

#include "tapegrad/autograd/variable.hpp"

namespace tg {

namespace {

// Keeps the caller's flags, precision and fill across the printing.
class StreamStateGuard {
 public:
  explicit StreamStateGuard(std::ostream& out) : out_(out), saved_(nullptr) { saved_.copyfmt(out); }
  ~StreamStateGuard() { out_.copyfmt(saved_); }
  StreamStateGuard(const StreamStateGuard&) = delete;
  StreamStateGuard& operator=(const StreamStateGuard&) = delete;

 private:
  std::ostream& out_;
  std::ios saved_;
};

struct NumberFormat {
  double scale = 1.0;
  int width = 0;
};

void default_float(std::ostream& out) { out.unsetf(std::ios_base::floatfield); }

// Chooses the format of `n` values and sets it on the stream (the stream keeps it for the
// next block, as LibTorch's printer does: an integer block after a fixed one keeps precision 4).
NumberFormat choose_format(std::ostream& out, const double* v, std::size_t n) {
  if (n == 0) return {1.0, 0};
  bool integers = true;
  for (std::size_t i = 0; i < n && integers; ++i)
    if (std::isfinite(v[i]) && v[i] != std::ceil(v[i])) integers = false;
  std::size_t first = 0;
  while (first < n && !std::isfinite(v[first])) ++first;
  double digits_lo = 1, digits_hi = 1;  // number of digits before the point, smallest/largest
  if (first < n) {
    double lo = std::fabs(v[first]), hi = lo;
    for (std::size_t i = first; i < n; ++i) {
      const double z = std::fabs(v[i]);
      if (!std::isfinite(z)) continue;
      if (z < lo) lo = z;
      if (v[i] > hi) hi = z;  // LibTorch compares the signed value here: kept for equal output
    }
    digits_lo = lo != 0 ? std::floor(std::log10(lo)) + 1 : 1;
    digits_hi = hi != 0 ? std::floor(std::log10(hi)) + 1 : 1;
  }
  NumberFormat f;
  if (integers) {
    if (digits_hi > 9) {
      f.width = 11;
      out << std::scientific << std::setprecision(4);
    } else {
      f.width = static_cast<int>(digits_hi) + 1;
      default_float(out);
    }
  } else if (digits_hi - digits_lo > 4) {
    f.width = std::fabs(digits_hi) > 99 || std::fabs(digits_lo) > 99 ? 12 : 11;
    out << std::scientific << std::setprecision(4);
  } else {
    if (digits_hi > 5 || digits_hi < 0) {
      f.width = 7;
      f.scale = std::pow(10.0, digits_hi - 1);
    } else {
      f.width = digits_hi == 0 ? 7 : static_cast<int>(digits_hi) + 6;
    }
    out << std::fixed << std::setprecision(4);
  }
  return f;
}

void spaces(std::ostream& out, int n) {
  for (int i = 0; i < n; ++i) out << ' ';
}

void print_scale(std::ostream& out, double scale) {
  StreamStateGuard guard(out);
  default_float(out);
  out << scale << " *\n";
}

// A rows x cols matrix, columns wrapped to `line_width` in blocks headed "Columns a to b".
void print_matrix(std::ostream& out, const double* v, std::size_t rows, std::size_t cols, int indent) {
  constexpr int line_width = 80;
  const NumberFormat f = choose_format(out, v, rows * cols);
  spaces(out, indent);
  const std::size_t per_line = static_cast<std::size_t>((line_width - indent) / (f.width + 1));
  std::size_t first = 0;
  while (first < cols) {
    const std::size_t last = first + per_line <= cols ? first + per_line - 1 : cols - 1;
    if (per_line < cols) {
      if (first != 0) out << '\n';
      out << "Columns " << first + 1 << " to " << last + 1;
      spaces(out, indent);
    }
    if (f.scale != 1.0) {
      print_scale(out, f.scale);
      spaces(out, indent);
    }
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = first; c <= last; ++c) {
        out << std::setw(f.width) << v[r * cols + c] / f.scale;
        if (c != last) {
          out << ' ';
          continue;
        }
        out << '\n';
        if (r + 1 != rows) spaces(out, indent + (f.scale != 1.0 ? 1 : 0));
      }
    first = last + 1;
  }
}

void print_values(std::ostream& out, const std::vector<double>& v, const Shape& shape) {
  if (shape.empty()) {
    default_float(out);
    out << v[0] << '\n';
    return;
  }
  if (v.empty()) return;
  if (shape.size() == 1) {
    const NumberFormat f = choose_format(out, v.data(), v.size());
    if (f.scale != 1.0) print_scale(out, f.scale);
    for (double x : v) out << std::setw(f.width) << x / f.scale << '\n';
    return;
  }
  const std::size_t rows = shape[shape.size() - 2], cols = shape.back();
  if (shape.size() == 2) return print_matrix(out, v.data(), rows, cols, 0);
  // Above 2-D: every trailing matrix, the first leading index running fastest.
  const std::size_t lead = shape.size() - 2;
  std::vector<std::size_t> index(lead, 0);
  const std::size_t count = v.size() / (rows * cols);
  for (std::size_t m = 0; m < count; ++m) {
    if (m != 0) {
      for (std::size_t d = 0; d < lead; ++d) {
        if (++index[d] < shape[d]) break;
        index[d] = 0;
      }
      out << '\n';
    }
    std::size_t offset = 0;  // row-major position of the matrix
    out << '(';
    for (std::size_t d = 0; d < lead; ++d) {
      offset = offset * shape[d] + index[d];
      out << index[d] + 1 << ',';
    }
    out << ".,.) = \n";
    print_matrix(out, v.data() + offset * rows * cols, rows, cols, 1);
  }
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Variable& x) {
  if (!x.defined()) return out << "[ Tensor (undefined) ]";
  return out << x.value();
}

}  // namespace tg

namespace xt {

std::ostream& operator<<(std::ostream& out, const tg::Tensor& tensor) {
  tg::StreamStateGuard guard(out);
  const std::vector<double> values(tensor.data(), tensor.data() + tensor.size());
  tg::print_values(out, values, tensor.shape());
  out << "[ CPUFloatType{";
  for (std::size_t d = 0; d < tensor.dimension(); ++d) out << (d ? "," : "") << tensor.shape()[d];
  return out << "} ]";
}

}  // namespace xt
