#pragma once
// Elementwise loops over contiguous tensors: the compiler vectorises them, and large tensors
// are split over the threads. Internal to tapegrad (templates, so in a header).
#include <algorithm>
#include <array>
#include <cstddef>

#include "tapegrad/autograd/tensor.hpp"
#include "tapegrad/autograd/threads.hpp"

namespace tg::kernels {

/// Below this many elements a loop runs on one thread (the fork costs more than it saves).
inline constexpr std::int64_t parallel_grain = 1 << 15;

/// Calls body(begin, end) over [0, n), in parallel when n is large.
template <class Body>
void for_range(std::size_t n, Body&& body) {
  if (static_cast<std::int64_t>(n) < 2 * parallel_grain) {
    body(std::size_t{0}, n);
    return;
  }
  parallel_for(static_cast<std::int64_t>(n), parallel_grain,
               [&](std::int64_t b, std::int64_t e) { body(std::size_t(b), std::size_t(e)); });
}

/// out[i] = f(x[i])
template <class F>
Tensor map(const Tensor& x, F f) {
  Tensor out = empty_tensor(x.shape());
  const float* xs = x.data();
  float* os = out.data();
  for_range(x.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) os[i] = f(xs[i]);
  });
  return out;
}

/// out[i] = f(x[i], y[i]) for tensors with the same number of elements (shape of x).
template <class F>
Tensor zip(const Tensor& x, const Tensor& y, F f) {
  Tensor out = empty_tensor(x.shape());
  const float* xs = x.data();
  const float* ys = y.data();
  float* os = out.data();
  for_range(x.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) os[i] = f(xs[i], ys[i]);
  });
  return out;
}

/// out[i] = f(x[i], y[i], z[i]) for tensors with the same number of elements.
template <class F>
Tensor zip3(const Tensor& x, const Tensor& y, const Tensor& z, F f) {
  Tensor out = empty_tensor(x.shape());
  const float* xs = x.data();
  const float* ys = y.data();
  const float* zs = z.data();
  float* os = out.data();
  for_range(x.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) os[i] = f(xs[i], ys[i], zs[i]);
  });
  return out;
}

/// x[i] = f(x[i]) in place (for gradients the caller owns).
template <class F>
void apply(Tensor& x, F f) {
  float* xs = x.data();
  for_range(x.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) xs[i] = f(xs[i]);
  });
}

/// g[i] = f(g[i], x[i]) in place: a backward rule reusing the gradient it owns.
template <class F>
void update(Tensor& g, const Tensor& x, F f) {
  float* gs = g.data();
  const float* xs = x.data();
  for_range(g.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) gs[i] = f(gs[i], xs[i]);
  });
}

/// g[i] = f(g[i], x[i], y[i]) in place: a backward rule reusing the gradient it owns.
template <class F>
void update(Tensor& g, const Tensor& x, const Tensor& y, F f) {
  float* gs = g.data();
  const float* xs = x.data();
  const float* ys = y.data();
  for_range(g.size(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) gs[i] = f(gs[i], xs[i], ys[i]);
  });
}

/// Element strides of `in` seen inside the broadcast shape `out` (0 along broadcast dims),
/// one per dimension of out.
std::vector<std::ptrdiff_t> broadcast_strides(const Shape& in, const Shape& out);

/// out = f(a, b) with NumPy broadcasting into `out_shape`.
template <class F>
Tensor broadcast_zip(const Tensor& a, const Tensor& b, const Shape& out_shape, F f) {
  if (a.shape() == b.shape()) return zip(a, b, f);
  Tensor out = empty_tensor(out_shape);
  float* os = out.data();
  const float* as = a.data();
  const float* bs = b.data();
  if (b.size() == 1 && a.shape() == out_shape) {
    const float s = bs[0];
    for (std::size_t i = 0; i < out.size(); ++i) os[i] = f(as[i], s);
    return out;
  }
  if (a.size() == 1 && b.shape() == out_shape) {
    const float s = as[0];
    for (std::size_t i = 0; i < out.size(); ++i) os[i] = f(s, bs[i]);
    return out;
  }
  const auto sa = broadcast_strides(a.shape(), out_shape);
  const auto sb = broadcast_strides(b.shape(), out_shape);
  const std::size_t rank = out_shape.size();
  const std::size_t inner = rank ? out_shape[rank - 1] : 1;
  const std::ptrdiff_t ia = rank ? sa[rank - 1] : 0, ib = rank ? sb[rank - 1] : 0;
  std::vector<std::size_t> index(rank, 0);
  std::ptrdiff_t oa = 0, ob = 0;
  for (std::size_t o = 0; o < out.size(); o += inner) {
    for (std::size_t j = 0; j < inner; ++j) os[o + j] = f(as[oa + ia * j], bs[ob + ib * j]);
    // Advance the index over all but the last dimension, carrying like an odometer.
    for (std::size_t d = rank - 1; d-- > 0;) {
      oa += sa[d];
      ob += sb[d];
      if (++index[d] < out_shape[d]) break;
      oa -= sa[d] * std::ptrdiff_t(out_shape[d]);
      ob -= sb[d] * std::ptrdiff_t(out_shape[d]);
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace tg::kernels
