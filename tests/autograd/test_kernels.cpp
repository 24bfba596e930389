// The raw kernels of autograd/kernels/ (conv2d, pooling, batch norm, softmax, cross entropy)
// against naive references written here as plain nested loops, on random shapes covering
// stride, padding, dilation, groups, non-square inputs and kernels, ceil mode and padding modes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <tapegrad/autograd/kernels/batch_norm.hpp>
#include <tapegrad/autograd/kernels/conv2d.hpp>
#include <tapegrad/autograd/kernels/conv2d_winograd.hpp>
#include <tapegrad/autograd/kernels/gemm.hpp>
#include <tapegrad/autograd/kernels/copy_rows.hpp>
#include <tapegrad/autograd/kernels/small_gemm.hpp>
#include <tapegrad/autograd/kernels/pool2d.hpp>
#include <tapegrad/autograd/kernels/softmax.hpp>
#include "test_util.hpp"

using namespace tg;
using tg::kernels::ConvGeometry;
using tg::kernels::PoolGeometry;

namespace {

std::vector<float> random_values(std::size_t n, std::uint64_t seed, float lo = -1, float hi = 1) {
  Generator gen(seed);
  std::vector<float> v(n);
  for (float& x : v) x = gen.uniform(lo, hi);
  return v;
}

void check_all_close(const std::vector<float>& actual, const std::vector<double>& expected,
                     double tol, const std::string& what) {
  REQUIRE(actual.size() == expected.size());
  std::size_t bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double err = std::fabs(actual[i] - expected[i]) / (1.0 + std::fabs(expected[i]));
    if (err > tol) ++bad;
    worst = std::max(worst, err);
  }
  CHECK_MESSAGE(bad == 0, what, ": ", bad, " of ", actual.size(), " elements off, worst ", worst);
}

// ---------------------------------------------------------------------------------- conv2d

struct ConvCase {
  std::int64_t n, cin, h, w, cout, kh, kw, groups, sh, sw, ph, pw, dh, dw;
};

// Every case is a distinct combination; the batch of 5 splits unevenly over the threads.
const std::vector<ConvCase> conv_cases = {
    {2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // plain 3x3, padding 1
    {2, 2, 9, 6, 3, 3, 2, 1, 2, 1, 1, 0, 1, 1},    // non-square input, kernel and stride
    {1, 2, 10, 8, 2, 3, 3, 1, 1, 1, 2, 2, 2, 2},   // dilation 2
    {2, 4, 6, 6, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1},    // 2 groups
    {2, 3, 5, 5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1},    // depthwise
    {3, 4, 5, 5, 6, 1, 1, 1, 1, 1, 0, 0, 1, 1},    // pointwise (no im2col)
    {2, 4, 6, 6, 4, 1, 1, 2, 1, 1, 0, 0, 1, 1},    // pointwise, grouped
    {2, 4, 6, 7, 3, 1, 1, 1, 2, 2, 0, 0, 1, 1},    // 1x1 stride 2
    {2, 2, 11, 9, 4, 2, 3, 2, 3, 2, 2, 1, 2, 3},   // everything at once
    {1, 1, 3, 3, 1, 5, 5, 1, 1, 1, 1, 1, 1, 1},    // kernel exactly the padded input
    {5, 2, 6, 5, 3, 3, 3, 1, 2, 2, 1, 1, 1, 1},    // odd batch, stride 2
    {2, 3, 4, 4, 2, 5, 5, 1, 1, 1, 2, 2, 1, 1},    // kernel larger than the input
    {2, 2, 8, 8, 2, 3, 3, 1, 3, 3, 0, 0, 1, 1},    // stride 3 skipping pixels
    // >= 8 input channels per group and stride 1: the input gradient runs as a convolution
    {2, 8, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // "same" padding
    {2, 16, 5, 5, 4, 3, 3, 2, 1, 1, 0, 2, 2, 1},   // grouped, dilated, uneven padding
    {1, 8, 7, 6, 3, 3, 2, 1, 1, 1, 2, 1, 2, 1},    // non-square kernel, padding = dilation*(k-1)
    {3, 9, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 1, 1},    // valid convolution of 9 channels
    {1, 8, 4, 4, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1},    // padding beyond the kernel: col2im again
    // > 16 output channels (plain GEMM) and > 128 output positions (several transposed tiles)
    {2, 3, 5, 5, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {1, 18, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // 18 channels: the input gradient's GEMM too
    {1, 2, 12, 13, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {2, 15, 9, 10, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // K = 135 >= 128: sliced weight gradient
    // >= 16 output channels per group: small_gemm, including its partial tiles
    {2, 16, 6, 7, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // 16 -> 16: the one-vector weight gradient
    {1, 4, 20, 20, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // 400 positions: several panels and an edge
    {2, 32, 5, 5, 32, 3, 3, 1, 2, 2, 1, 1, 1, 1},    // stride 2: the input gradient by col2im
    {1, 16, 9, 9, 40, 1, 1, 1, 2, 2, 0, 0, 1, 1},    // a 1x1 stride-2 projection, 40 channels
    {2, 24, 6, 6, 32, 1, 1, 2, 1, 1, 0, 0, 1, 1},    // pointwise, 2 groups of 16
    // stride 1 with >= 16 output channels: the implicit route (shifted rows, no column matrix)
    {2, 32, 5, 6, 32, 3, 3, 2, 1, 1, 1, 1, 1, 1},    // 2 groups, both directions implicit
    {1, 16, 7, 5, 16, 3, 2, 1, 1, 1, 2, 0, 1, 1},    // non-square kernel, uneven padding
    {3, 16, 8, 8, 24, 3, 3, 1, 1, 1, 0, 0, 1, 1},    // no padding: a grid as wide as the input
    // 3x3, stride 1, padding 1, >= 32 channels: Winograd F(2x2, 3x3) both ways
    {3, 32, 6, 10, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // 15 tiles: a partial vector of tiles
    {20, 33, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // 3 chunks, the last partial; 33: a scalar tail
    {1, 32, 16, 16, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // 64 tiles: several vectors per image
    {2, 32, 7, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // odd height: a last row of half tiles
    {3, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // Fashion-MNIST's last stage: 16 tiles per image
    {2, 32, 4, 9, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // odd width only
    {1, 32, 3, 3, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // 2x2 tiles for 3x3 outputs
    // stride 2 with output sides half the input's: im2col / col2im through the phase planes
    {2, 16, 8, 6, 32, 3, 3, 1, 2, 2, 1, 1, 1, 1},    // the ResNets' downsampling 3x3
    {2, 3, 6, 8, 4, 3, 3, 1, 2, 2, 1, 1, 1, 1},      // few channels (the BLAS GEMM)
    {1, 2, 8, 4, 3, 2, 2, 1, 2, 2, 0, 0, 1, 1},      // 2x2 without padding: no shift
    {2, 3, 8, 8, 5, 4, 4, 1, 2, 2, 1, 1, 1, 1},      // 4x4 with padding 1: shifts -1, 0 and 1
    {2, 4, 6, 6, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1},      // grouped
};

ConvGeometry geometry_of(const ConvCase& c) {
  ConvGeometry g{c.n, c.cin, c.h, c.w, c.cout, c.kh, c.kw, c.groups, c.sh, c.sw, c.ph, c.pw, c.dh, c.dw};
  g.compute_output_size();
  return g;
}

// Calls fn(y_index, x_index, w_index) for every product of the convolution sum.
template <class Fn>
void naive_conv_taps(const ConvGeometry& g, Fn fn) {
  const std::int64_t cin_g = g.in_channels / g.groups, cout_g = g.out_channels / g.groups;
  for (std::int64_t b = 0; b < g.batch; ++b)
    for (std::int64_t o = 0; o < g.out_channels; ++o)
      for (std::int64_t oh = 0; oh < g.out_h; ++oh)
        for (std::int64_t ow = 0; ow < g.out_w; ++ow)
          for (std::int64_t ci = 0; ci < cin_g; ++ci)
            for (std::int64_t ki = 0; ki < g.kernel_h; ++ki)
              for (std::int64_t kj = 0; kj < g.kernel_w; ++kj) {
                const std::int64_t ih = oh * g.stride_h - g.pad_h + ki * g.dilation_h;
                const std::int64_t iw = ow * g.stride_w - g.pad_w + kj * g.dilation_w;
                if (ih < 0 || ih >= g.height || iw < 0 || iw >= g.width) continue;
                const std::int64_t c = (o / cout_g) * cin_g + ci;
                fn(((b * g.out_channels + o) * g.out_h + oh) * g.out_w + ow,
                   ((b * g.in_channels + c) * g.height + ih) * g.width + iw,
                   ((o * cin_g + ci) * g.kernel_h + ki) * g.kernel_w + kj);
              }
}

TEST_CASE("kernels::conv2d forward and backward match naive loops") {
  for (std::size_t k = 0; k < conv_cases.size(); ++k) {
    CAPTURE(k);
    const ConvGeometry g = geometry_of(conv_cases[k]);
    const std::size_t nx = g.batch * g.in_channels * g.height * g.width;
    const std::size_t nw = g.out_channels * g.col_rows(), ny = g.batch * g.out_channels * g.out_plane();
    const auto x = random_values(nx, 10 + k), w = random_values(nw, 20 + k),
               bias = random_values(g.out_channels, 30 + k), gy = random_values(ny, 40 + k);
    std::vector<double> ry(ny), rgx(nx, 0.0), rgw(nw, 0.0), rgb(g.out_channels, 0.0);
    for (std::size_t i = 0; i < ny; ++i) ry[i] = bias[i / g.out_plane() % g.out_channels];
    naive_conv_taps(g, [&](auto yi, auto xi, auto wi) {
      ry[yi] += double(x[xi]) * w[wi];
      rgx[xi] += double(gy[yi]) * w[wi];
      rgw[wi] += double(gy[yi]) * x[xi];
    });
    for (std::size_t i = 0; i < ny; ++i) rgb[i / g.out_plane() % g.out_channels] += gy[i];

    std::vector<float> y(ny), gx(nx, 7.0f), gw(nw, 7.0f), gb(g.out_channels, 7.0f);
    kernels::conv2d_forward(x.data(), w.data(), bias.data(), y.data(), g);
    check_all_close(y, ry, 1e-5, "forward");
    kernels::conv2d_backward(gy.data(), x.data(), w.data(), gx.data(), gw.data(), gb.data(), g);
    check_all_close(gx, rgx, 1e-5, "input grad");
    // Winograd's weight gradient sums products of transformed tiles, up to 16x the size of the
    // direct sum's terms, and transforms the sums back: ~1e-5 relative, not a few ulp.
    const double weight_tol = kernels::winograd_applies(g) ? 3e-5 : 1e-5;
    check_all_close(gw, rgw, weight_tol, "weight grad");
    check_all_close(gb, rgb, 1e-5, "bias grad");

    // Only the input gradient, and only the weight gradient: the others are left untouched.
    std::vector<float> gx2(nx), gw2(nw, -3.0f);
    kernels::conv2d_backward(gy.data(), x.data(), w.data(), gx2.data(), nullptr, nullptr, g);
    check_all_close(gx2, rgx, 1e-5, "input grad alone");
    kernels::conv2d_backward(gy.data(), x.data(), w.data(), nullptr, gw2.data(), nullptr, g);
    check_all_close(gw2, rgw, weight_tol, "weight grad alone");
  }
}

TEST_CASE("kernels::conv2d on an empty batch gives zero weight and bias gradients") {
  // 32 -> 32 3x3 "same": the Winograd route, whose weight gradient sums over no tiles at all.
  ConvGeometry g{0, 32, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  g.compute_output_size();
  const auto w = random_values(static_cast<std::size_t>(32 * g.col_rows()), 5);
  std::vector<float> gw(w.size(), 7.0f), gb(32, 7.0f);
  kernels::conv2d_backward(nullptr, nullptr, w.data(), nullptr, gw.data(), gb.data(), g);
  CHECK(std::all_of(gw.begin(), gw.end(), [](float v) { return v == 0.0f; }));
  CHECK(std::all_of(gb.begin(), gb.end(), [](float v) { return v == 0.0f; }));
}

TEST_CASE("kernels::small_gemm matches a naive product, for every tile shape and edge") {
  struct Case {
    std::int64_t m, n, k;
  };
  const std::vector<Case> cases = {{1, 1, 1},  {8, 32, 5},   {9, 33, 7},  {16, 16, 100},
                                   {20, 5, 3}, {3, 70, 17},  {17, 15, 2}, {64, 64, 0},
                                   {40, 96, 33}, {16, 80, 9},  {24, 64, 5}, {8, 49, 3},
                                   {9, 48, 4},   {8, 112, 6},  {8, 40, 2},
                                   // AVX2's 4 x 3 tiles (16 or 32 rows): whole panels only, and
                                   // a remainder of one vector joined to the last panel
                                   {32, 48, 7},  {28, 72, 3},  {16, 104, 32}};
  for (const Case& c : cases) {
    CAPTURE(c.m);
    CAPTURE(c.n);
    CAPTURE(c.k);
    // A is read through strides, as conv2d does for a transposed weight; B's rows are padded.
    const std::int64_t ldb = c.n + 3;
    const auto a = random_values(static_cast<std::size_t>(c.m * c.k), 1);
    const auto b = random_values(static_cast<std::size_t>(std::max<std::int64_t>(1, c.k * ldb)), 2);
    const auto c0 = random_values(static_cast<std::size_t>(c.m * c.n), 3);
    for (const bool transposed_a : {false, true})
      for (const bool accumulate : {false, true}) {
        CAPTURE(transposed_a);
        CAPTURE(accumulate);
        // a(r, i) = a[r * k + i] or, transposed, a[i * m + r].
        const kernels::LeftOperand left = transposed_a ? kernels::LeftOperand{a.data(), 1, c.m}
                                                       : kernels::LeftOperand{a.data(), c.k, 1};
        std::vector<double> expected(c0.size());
        for (std::int64_t r = 0; r < c.m; ++r)
          for (std::int64_t j = 0; j < c.n; ++j) {
            double sum = accumulate ? c0[r * c.n + j] : 0.0;
            for (std::int64_t i = 0; i < c.k; ++i)
              sum += double(left.data[r * left.row_stride + i * left.k_stride]) * b[i * ldb + j];
            expected[r * c.n + j] = sum;
          }
        std::vector<float> out = c0;
        kernels::small_gemm(c.m, c.n, c.k, left, {b.data(), ldb}, out.data(), c.n, accumulate);
        check_all_close(out, expected, 1e-5, "small_gemm");
      }
  }
}

TEST_CASE("kernels::gemm matches a naive product, for every transpose, stride, alpha and beta") {
  struct Case {
    std::int64_t m, n, k;
  };
  // The thin shapes of a 5-channel conv and of an MLP's last layer, and one past every tile.
  const std::vector<Case> cases = {{5, 784, 75}, {75, 5, 64}, {64, 10, 256}, {37, 41, 43}, {3, 2, 0}};
  for (const auto library : {kernels::GemmLibrary::openblas, kernels::GemmLibrary::onednn,
                             kernels::GemmLibrary::automatic}) {
    try {
      kernels::set_gemm_library(library);
    } catch (const Error&) {
      MESSAGE("oneDNN is not in this build: gemm checked on OpenBLAS only");
      continue;
    }
    const std::string name = kernels::gemm_backend().library;
    CAPTURE(name);
  for (const Case& c : cases)
    for (const bool ta : {false, true})
      for (const bool tb : {false, true}) {
        CAPTURE(c.m);
        CAPTURE(c.n);
        CAPTURE(c.k);
        CAPTURE(ta);
        CAPTURE(tb);
        // Leading dimensions past the logical widths, as for a padded column matrix.
        const std::int64_t lda = (ta ? c.m : c.k) + 2, ldb = (tb ? c.k : c.n) + 3, ldc = c.n + 1;
        const auto a = random_values(static_cast<std::size_t>((ta ? c.k : c.m) * lda), 4);
        const auto b = random_values(static_cast<std::size_t>((tb ? c.n : c.k) * ldb), 5);
        const auto c0 = random_values(static_cast<std::size_t>(c.m * ldc), 6);
        const float alpha = 0.5f, beta = -2.0f;
        std::vector<double> expected(c0.begin(), c0.end());
        for (std::int64_t r = 0; r < c.m; ++r)
          for (std::int64_t j = 0; j < c.n; ++j) {
            double sum = 0;
            for (std::int64_t i = 0; i < c.k; ++i)
              sum += double(ta ? a[i * lda + r] : a[r * lda + i]) * (tb ? b[j * ldb + i] : b[i * ldb + j]);
            expected[r * ldc + j] = alpha * sum + beta * c0[r * ldc + j];
          }
        std::vector<float> out = c0;
        kernels::gemm(ta, tb, c.m, c.n, c.k, alpha, a.data(), lda, b.data(), ldb, beta, out.data(), ldc);
        check_all_close(out, expected, 1e-5, "gemm");  // the padding columns too: left as they were
      }
  }
}

TEST_CASE("kernels::conv2d gives the same result on 1 and 2 threads") {
  const ConvGeometry g = geometry_of({7, 3, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1});
  const std::size_t nx = g.batch * g.in_channels * g.in_plane(), nw = g.out_channels * g.col_rows();
  const std::size_t ny = g.batch * g.out_channels * g.out_plane();
  const auto x = random_values(nx, 1), w = random_values(nw, 2), gy = random_values(ny, 3);
  const int threads = get_num_threads();
  std::vector<float> gw1(nw), gw2(nw);
  set_num_threads(1);
  kernels::conv2d_backward(gy.data(), x.data(), w.data(), nullptr, gw1.data(), nullptr, g);
  set_num_threads(2);
  kernels::conv2d_backward(gy.data(), x.data(), w.data(), nullptr, gw2.data(), nullptr, g);
  set_num_threads(threads);
  for (std::size_t i = 0; i < nw; ++i) CHECK(gw1[i] == doctest::Approx(gw2[i]).epsilon(1e-5));
}

TEST_CASE("kernels::copy_rows copies every row's floats and nothing between the rows") {
  // Widths around every vector size (the tails overlap the vector before them on AVX2).
  for (std::int64_t width = 1; width <= 35; ++width) {
    CAPTURE(width);
    const std::int64_t rows = 3, src_stride = width + 5, dst_stride = width + 3;
    const auto src = random_values(static_cast<std::size_t>(rows * src_stride), 7);
    std::vector<float> dst(static_cast<std::size_t>(rows * dst_stride + 2), -99.0f);
    kernels::copy_rows(src.data(), src_stride, dst.data() + 1, dst_stride, rows, width);
    CHECK(dst.front() == -99.0f);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < dst_stride; ++j)
        CHECK(dst[1 + r * dst_stride + j] == (j < width ? src[r * src_stride + j] : -99.0f));
  }
}

TEST_CASE("kernels::im2col and col2im are adjoint") {
  // <im2col(x), c> == <x, col2im(c)> for random x and c: col2im is im2col's transpose. The
  // second geometry runs through the phase planes (stride 2, output sides half the input's).
  for (const ConvCase& cc : {ConvCase{1, 2, 7, 6, 1, 3, 2, 1, 2, 1, 1, 2, 2, 1},
                             ConvCase{1, 2, 8, 6, 1, 3, 3, 1, 2, 2, 1, 1, 1, 1}}) {
    const ConvGeometry g = geometry_of(cc);
    const std::int64_t rows = g.col_rows(), p = g.out_plane();
    const auto x = random_values(2 * g.in_plane(), 5), c = random_values(rows * p, 6);
    std::vector<float> cols(rows * p), back(x.size(), 0.0f);
    kernels::im2col(x.data(), 2, g, cols.data(), p);
    kernels::col2im(c.data(), 2, g, p, back.data());
    double lhs = 0, rhs = 0;
    for (std::size_t i = 0; i < cols.size(); ++i) lhs += double(cols[i]) * c[i];
    for (std::size_t i = 0; i < x.size(); ++i) rhs += double(x[i]) * back[i];
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-5));
  }
}

// --------------------------------------------------------------------------------- pooling

struct PoolCase {
  std::int64_t planes, h, w, kh, kw, sh, sw, ph, pw;
  bool ceil_mode;
};

const std::vector<PoolCase> pool_cases = {
    {3, 4, 4, 2, 2, 2, 2, 0, 0, false},  {2, 5, 5, 2, 2, 2, 2, 0, 0, true},
    {2, 7, 6, 3, 3, 2, 2, 1, 1, false},  {2, 7, 6, 3, 3, 2, 2, 1, 1, true},
    {2, 6, 9, 3, 2, 1, 2, 1, 0, false},  {3, 5, 8, 2, 4, 3, 3, 1, 2, true},
    {1, 3, 3, 3, 3, 1, 1, 1, 1, false},  {2, 10, 7, 4, 3, 3, 2, 2, 1, true},
};

PoolGeometry pool_geometry_of(const PoolCase& c) {
  PoolGeometry g{c.planes, c.h, c.w, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw};
  g.out_h = kernels::pool_output_size(c.h, c.kh, c.sh, c.ph, c.ceil_mode);
  g.out_w = kernels::pool_output_size(c.w, c.kw, c.sw, c.pw, c.ceil_mode);
  return g;
}

// PyTorch's output size written out as real arithmetic.
std::int64_t torch_pool_size(std::int64_t n, std::int64_t k, std::int64_t s, std::int64_t p, bool ceil_mode) {
  const double q = double(n + 2 * p - k) / double(s);
  std::int64_t out = static_cast<std::int64_t>(ceil_mode ? std::ceil(q) : std::floor(q)) + 1;
  if (ceil_mode && (out - 1) * s >= n + p) --out;
  return out;
}

TEST_CASE("kernels::pool_output_size follows PyTorch's rule") {
  CHECK(kernels::pool_output_size(4, 2, 2, 0, false) == 2);
  CHECK(kernels::pool_output_size(5, 2, 2, 0, false) == 2);
  CHECK(kernels::pool_output_size(5, 2, 2, 0, true) == 3);
  // ceil mode may not start a window in the right padding: 6 + 1 padding, kernel 2, stride 2
  // gives ceil(5/2)+1 = 4 windows by the formula, but the 4th would start at 6 >= 6 + 1 - 1.
  CHECK(kernels::pool_output_size(6, 2, 2, 1, true) == 4);
  CHECK(kernels::pool_output_size(5, 3, 2, 1, true) == 3);
  CHECK(kernels::pool_output_size(2, 3, 2, 1, true) == 2);  // the 2nd window starts at 1
  CHECK(kernels::pool_output_size(1, 2, 2, 0, false) == 0);  // does not fit: caller rejects
  for (std::int64_t n = 1; n <= 9; ++n)
    for (std::int64_t k = 1; k <= 4; ++k)
      for (std::int64_t s = 1; s <= 3; ++s)
        for (std::int64_t p = 0; p <= k / 2; ++p)
          for (bool ceil_mode : {false, true})
            if (n + 2 * p >= k)
              CHECK(kernels::pool_output_size(n, k, s, p, ceil_mode) == torch_pool_size(n, k, s, p, ceil_mode));
}

// Calls fn(ih, iw) for the in-input taps of window (oh, ow), row-major.
template <class Fn>
void naive_window(const PoolGeometry& g, std::int64_t oh, std::int64_t ow, Fn fn) {
  for (std::int64_t i = 0; i < g.kernel_h; ++i)
    for (std::int64_t j = 0; j < g.kernel_w; ++j) {
      const std::int64_t ih = oh * g.stride_h - g.pad_h + i, iw = ow * g.stride_w - g.pad_w + j;
      if (ih >= 0 && ih < g.height && iw >= 0 && iw < g.width) fn(ih, iw);
    }
}

// Padded-window size clipped at height+pad / width+pad: PyTorch's count_include_pad divisor.
std::int64_t naive_padded_count(const PoolGeometry& g, std::int64_t oh, std::int64_t ow) {
  std::int64_t count = 0;
  for (std::int64_t i = 0; i < g.kernel_h; ++i)
    for (std::int64_t j = 0; j < g.kernel_w; ++j) {
      const std::int64_t ih = oh * g.stride_h - g.pad_h + i, iw = ow * g.stride_w - g.pad_w + j;
      if (ih < g.height + g.pad_h && iw < g.width + g.pad_w) ++count;
    }
  return count;
}

TEST_CASE("kernels max/min/avg pooling match naive loops") {
  for (std::size_t k = 0; k < pool_cases.size(); ++k) {
    CAPTURE(k);
    const PoolGeometry g = pool_geometry_of(pool_cases[k]);
    REQUIRE(g.out_h >= 1);
    const std::size_t nx = g.planes * g.in_plane(), ny = g.planes * g.out_plane();
    const auto x = random_values(nx, 50 + k), gy = random_values(ny, 60 + k);
    for (bool minimum : {false, true}) {
      std::vector<double> ry(ny), rgx(nx, 0.0);
      for (std::int64_t p = 0; p < g.planes; ++p)
        for (std::int64_t oh = 0; oh < g.out_h; ++oh)
          for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
            const std::size_t o = (p * g.out_h + oh) * g.out_w + ow;
            float best = minimum ? INFINITY : -INFINITY;
            std::size_t at = 0;
            naive_window(g, oh, ow, [&](auto ih, auto iw) {
              const std::size_t i = (p * g.height + ih) * g.width + iw;
              if (minimum ? x[i] < best : x[i] > best) best = x[i], at = i;
            });
            ry[o] = best;
            rgx[at] += gy[o];
          }
      std::vector<float> y(ny), gx(nx, 5.0f);
      std::vector<std::int32_t> index(ny);
      kernels::extremum_pool2d_forward(x.data(), y.data(), index.data(), g, minimum);
      kernels::extremum_pool2d_backward(gy.data(), index.data(), gx.data(), g);
      check_all_close(y, ry, 0, minimum ? "min forward" : "max forward");
      check_all_close(gx, rgx, 1e-6, minimum ? "min backward" : "max backward");
    }
    for (bool include_pad : {false, true}) {
      std::vector<double> ry(ny), rgx(nx, 0.0);
      for (std::int64_t p = 0; p < g.planes; ++p)
        for (std::int64_t oh = 0; oh < g.out_h; ++oh)
          for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
            const std::size_t o = (p * g.out_h + oh) * g.out_w + ow;
            double sum = 0;
            std::int64_t inside = 0;
            naive_window(g, oh, ow, [&](auto ih, auto iw) { sum += x[(p * g.height + ih) * g.width + iw]; ++inside; });
            const double div = include_pad ? naive_padded_count(g, oh, ow) : inside;
            ry[o] = sum / div;
            naive_window(g, oh, ow, [&](auto ih, auto iw) { rgx[(p * g.height + ih) * g.width + iw] += gy[o] / div; });
          }
      std::vector<float> y(ny), gx(nx, 5.0f);
      kernels::avg_pool2d_forward(x.data(), y.data(), g, include_pad);
      kernels::avg_pool2d_backward(gy.data(), gx.data(), g, include_pad);
      check_all_close(y, ry, 1e-6, include_pad ? "avg forward (with pad)" : "avg forward");
      check_all_close(gx, rgx, 1e-6, include_pad ? "avg backward (with pad)" : "avg backward");
    }
  }
}

TEST_CASE("kernels max pooling, 2x2 at stride 2 and the generic sweep: ties, NaN and -inf as PyTorch") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // Four 2x2 windows of a 4x4 plane: a tie (the first 3 wins), NaN after a larger value (NaN
  // wins), two NaNs (the later one's position, as PyTorch's "> or isnan" keeps taking), all -inf
  // (the first cell).
  const std::vector<float> x = {1, 3,    7,   nan,   //
                                3, 2,    9,   0,     //
                                nan, 0,  -inf, -inf, //
                                nan, 1,  -inf, -inf};
  const std::vector<float> expected_y = {3, nan, nan, -inf};
  const std::vector<std::int32_t> expected_index = {1, 3, 12, 10};
  // The same windows as 2x2 at stride 2 (the register path) and, with ceil_mode's extra row and
  // column of windows on a 5x5 plane holding the 4x4 one, through the generic sweep.
  for (const bool generic : {false, true}) {
    CAPTURE(generic);
    const std::int64_t side = generic ? 5 : 4;
    std::vector<float> plane(static_cast<std::size_t>(side * side), -5.0f);
    for (std::int64_t i = 0; i < 4; ++i)
      for (std::int64_t j = 0; j < 4; ++j) plane[i * side + j] = x[i * 4 + j];
    PoolGeometry g{1, side, side, 2, 2, 2, 2, 0, 0};
    g.out_h = g.out_w = kernels::pool_output_size(side, 2, 2, 0, generic);
    std::vector<float> y(static_cast<std::size_t>(g.out_plane()));
    std::vector<std::int32_t> index(y.size());
    kernels::extremum_pool2d_forward(plane.data(), y.data(), index.data(), g, false);
    for (std::int64_t w = 0; w < 4; ++w) {
      CAPTURE(w);
      const std::int64_t o = (w / 2) * g.out_w + w % 2;
      const std::int64_t want = expected_index[w] / 4 * side + expected_index[w] % 4;
      if (std::isnan(expected_y[w])) CHECK(std::isnan(y[o]));
      else CHECK(y[o] == expected_y[w]);
      CHECK(index[o] == want);
    }
  }
}

TEST_CASE("kernels adaptive_avg_pool2d matches naive loops, also upsampling") {
  for (auto [h, w, oh_n, ow_n] : std::vector<std::array<std::int64_t, 4>>{
           {7, 5, 3, 2}, {6, 6, 6, 6}, {5, 7, 1, 1}, {3, 2, 5, 4}, {10, 9, 4, 3}}) {
    CAPTURE(h);
    CAPTURE(w);
    PoolGeometry g;
    g.planes = 3, g.height = h, g.width = w, g.out_h = oh_n, g.out_w = ow_n;
    const std::size_t nx = 3 * h * w, ny = 3 * oh_n * ow_n;
    const auto x = random_values(nx, 70), gy = random_values(ny, 71);
    std::vector<double> ry(ny), rgx(nx, 0.0);
    for (std::int64_t p = 0; p < 3; ++p)
      for (std::int64_t i = 0; i < oh_n; ++i)
        for (std::int64_t j = 0; j < ow_n; ++j) {
          const auto h0 = std::int64_t(std::floor(double(i * h) / oh_n)), h1 = std::int64_t(std::ceil(double((i + 1) * h) / oh_n));
          const auto w0 = std::int64_t(std::floor(double(j * w) / ow_n)), w1 = std::int64_t(std::ceil(double((j + 1) * w) / ow_n));
          const double count = double((h1 - h0) * (w1 - w0));
          const std::size_t o = (p * oh_n + i) * ow_n + j;
          double sum = 0;
          for (auto a = h0; a < h1; ++a)
            for (auto b = w0; b < w1; ++b) sum += x[(p * h + a) * w + b], rgx[(p * h + a) * w + b] += gy[o] / count;
          ry[o] = sum / count;
        }
    std::vector<float> y(ny), gx(nx, 5.0f);
    kernels::adaptive_avg_pool2d_forward(x.data(), y.data(), g);
    kernels::adaptive_avg_pool2d_backward(gy.data(), gx.data(), g);
    check_all_close(y, ry, 1e-6, "adaptive forward");
    check_all_close(gx, rgx, 1e-6, "adaptive backward");
  }
}

// ------------------------------------------------------------------------------ batch norm

TEST_CASE("kernels batch norm statistics of data with a large mean keep their digits") {
  // Values in [1000, 1000.05): E[x^2] - E[x]^2 in float would lose all of the variance (~2e-4).
  // The statistics are sums shifted by the first row's mean: also with that row far from the
  // rest (all zeros, as a channel the ReLU silenced in one image; with 40 rows, far enough to
  // need the second pass).
  for (auto [n, c, s] : std::vector<std::array<std::int64_t, 3>>{{8, 2, 64}, {5, 3, 1}, {40, 2, 3}})
  for (const bool silent_first_row : {false, true}) {
    CAPTURE(s);
    CAPTURE(silent_first_row);
    const kernels::BatchNormShape sh{n, c, s};
    auto x = random_values(static_cast<std::size_t>(n * c * s), 84, 1000.0f, 1000.05f);
    if (silent_first_row)
      for (std::int64_t ch = 0; ch < c; ++ch) std::fill_n(x.begin() + ch * s, s, 0.0f);
    std::vector<float> mean(c), var(c), invstd(c), y(x.size());
    kernels::batch_norm_train_forward(x.data(), sh, 1e-5f, nullptr, nullptr, false, mean.data(),
                                      var.data(), invstd.data(), y.data());
    for (std::int64_t ch = 0; ch < c; ++ch) {
      double m = 0, v = 0;
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < s; ++j) m += x[(i * c + ch) * s + j] / double(n * s);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < s; ++j) v += std::pow(x[(i * c + ch) * s + j] - m, 2) / double(n * s);
      CHECK(mean[ch] == doctest::Approx(m).epsilon(1e-7));
      CHECK(var[ch] == doctest::Approx(v).epsilon(1e-4));
    }
  }
}

TEST_CASE("kernels batch norm matches the textbook formulas") {
  for (auto [n, c, s] : std::vector<std::array<std::int64_t, 3>>{{4, 3, 5}, {7, 2, 1}, {2, 5, 9}}) {
    CAPTURE(n);
    const kernels::BatchNormShape sh{n, c, s};
    const std::size_t nx = n * c * s;
    const auto x = random_values(nx, 80, 2, 5), gy = random_values(nx, 81);
    const auto w = random_values(c, 82, 0.5f, 2), b = random_values(c, 83);
    // The training forward: statistics and output in one sweep per channel.
    std::vector<float> mean(c), var(c), invstd(c), kernel_invstd(c), y_sweep(nx);
    kernels::batch_norm_train_forward(x.data(), sh, 1e-5f, w.data(), b.data(), false, mean.data(),
                                      var.data(), kernel_invstd.data(), y_sweep.data());
    std::vector<double> rmean(c, 0), rvar(c, 0);
    auto at = [&](auto i, auto ch, auto j) { return (i * c + ch) * s + j; };
    for (std::int64_t ch = 0; ch < c; ++ch) {
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < s; ++j) rmean[ch] += x[at(i, ch, j)] / double(n * s);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < s; ++j) rvar[ch] += std::pow(x[at(i, ch, j)] - rmean[ch], 2) / double(n * s);
      invstd[ch] = float(1 / std::sqrt(rvar[ch] + 1e-5));
    }
    check_all_close(mean, rmean, 1e-6, "mean");
    check_all_close(var, rvar, 1e-6, "var");
    check_all_close(kernel_invstd, std::vector<double>(invstd.begin(), invstd.end()), 1e-6, "invstd");
    std::vector<float> y(nx), gx(nx), gw(c), gb(c);
    kernels::batch_norm_apply(x.data(), sh, mean.data(), invstd.data(), w.data(), b.data(), false,
                              y.data());
    kernels::batch_norm_backward(gy.data(), x.data(), sh, mean.data(), invstd.data(), w.data(), true,
                                 nullptr, gx.data(), gw.data(), gb.data());
    // Reference backward: dx = w*invstd/M * (M*gy - sum(gy) - xhat*sum(gy*xhat)).
    std::vector<double> ry(nx), rgx(nx), rgw(c, 0), rgb(c, 0);
    const double m = double(n * s);
    for (std::int64_t ch = 0; ch < c; ++ch) {
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < s; ++j) {
          const double xhat = (x[at(i, ch, j)] - rmean[ch]) * invstd[ch];
          ry[at(i, ch, j)] = xhat * w[ch] + b[ch];
          rgb[ch] += gy[at(i, ch, j)];
          rgw[ch] += gy[at(i, ch, j)] * xhat;
        }
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < s; ++j) {
          const double xhat = (x[at(i, ch, j)] - rmean[ch]) * invstd[ch];
          rgx[at(i, ch, j)] = w[ch] * invstd[ch] / m * (m * gy[at(i, ch, j)] - rgb[ch] - xhat * rgw[ch]);
        }
    }
    check_all_close(y, ry, 1e-5, "apply");
    check_all_close(y_sweep, ry, 1e-5, "one-sweep output");
    check_all_close(gx, rgx, 1e-5, "input grad");
    check_all_close(gw, rgw, 1e-5, "weight grad");
    check_all_close(gb, rgb, 1e-5, "bias grad");
    // Eval: the statistics are constants, dx = w * invstd * gy.
    kernels::batch_norm_backward(gy.data(), x.data(), sh, mean.data(), invstd.data(), w.data(), false,
                                 nullptr, gx.data(), nullptr, nullptr);
    for (std::size_t i = 0; i < nx; ++i) rgx[i] = w[i / s % c] * invstd[i / s % c] * gy[i];
    check_all_close(gx, rgx, 1e-6, "eval input grad");
  }
}

// ------------------------------------------------------------------- softmax, cross entropy

TEST_CASE("kernels softmax and log_softmax along any axis match naive loops") {
  for (auto [outer, dim, inner] : std::vector<std::array<std::int64_t, 3>>{{3, 5, 1}, {2, 4, 3}, {1, 6, 7}, {4, 1, 2}}) {
    CAPTURE(outer);
    CAPTURE(inner);
    const kernels::SoftmaxShape sh{outer, dim, inner};
    const std::size_t n = outer * dim * inner;
    auto x = random_values(n, 90, -3, 3);
    x[0] += 1000.0f;  // stability: the max is subtracted first
    const auto gy = random_values(n, 91);
    for (bool log : {false, true}) {
      std::vector<double> ry(n), rgx(n);
      for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t j = 0; j < inner; ++j) {
          auto idx = [&](std::int64_t d) { return (o * dim + d) * inner + j; };
          double peak = -INFINITY, total = 0, dot = 0, gsum = 0;
          for (std::int64_t d = 0; d < dim; ++d) peak = std::max(peak, double(x[idx(d)]));
          for (std::int64_t d = 0; d < dim; ++d) total += std::exp(x[idx(d)] - peak);
          for (std::int64_t d = 0; d < dim; ++d) {
            const double p = std::exp(x[idx(d)] - peak) / total;
            ry[idx(d)] = log ? x[idx(d)] - peak - std::log(total) : p;
            dot += gy[idx(d)] * p;
            gsum += gy[idx(d)];
          }
          for (std::int64_t d = 0; d < dim; ++d) {
            const double p = std::exp(x[idx(d)] - peak) / total;
            rgx[idx(d)] = log ? gy[idx(d)] - p * gsum : p * (gy[idx(d)] - dot);
          }
        }
      std::vector<float> y(n), gx(n);
      kernels::softmax_forward(x.data(), y.data(), sh, log);
      kernels::softmax_backward(gy.data(), y.data(), gx.data(), sh, log);
      check_all_close(y, ry, 1e-5, log ? "log_softmax" : "softmax");
      check_all_close(gx, rgx, 1e-5, log ? "log_softmax backward" : "softmax backward");
    }
  }
}

TEST_CASE("kernels cross entropy with label smoothing matches its definition") {
  const std::int64_t n = 5, c = 4;
  const auto x = random_values(n * c, 95, -4, 4);
  const std::vector<std::int64_t> labels{0, 3, 1, 1, 2};
  const auto scale = random_values(n, 96);
  for (float ls : {0.0f, 0.1f, 1.0f}) {
    std::vector<float> loss(n), lse(n), gx(n * c);
    kernels::cross_entropy_forward(x.data(), labels.data(), n, c, ls, loss.data(), lse.data());
    kernels::cross_entropy_backward(x.data(), labels.data(), lse.data(), n, c, ls, scale.data(), false,
                                    gx.data());
    std::vector<double> rloss(n), rgx(n * c);
    for (std::int64_t i = 0; i < n; ++i) {
      double total = 0;
      for (std::int64_t j = 0; j < c; ++j) total += std::exp(double(x[i * c + j]));
      for (std::int64_t j = 0; j < c; ++j) {
        const double logp = x[i * c + j] - std::log(total);
        const double target = (1 - ls) * (j == labels[i]) + ls / c;
        rloss[i] -= target * logp;
        rgx[i * c + j] = scale[i] * (std::exp(logp) - target);
      }
    }
    check_all_close(loss, rloss, 1e-5, "loss");
    check_all_close(gx, rgx, 1e-5, "grad");
  }
}

}  // namespace
