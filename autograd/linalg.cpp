// Matrix products through kernels::gemm (row-major; the BLAS chosen for this CPU).
#include "tapegrad/autograd/linalg.hpp"

#include "tapegrad/autograd/autocast.hpp"
#include "tapegrad/autograd/elementwise.hpp"
#include "tapegrad/autograd/error.hpp"
#include "tapegrad/autograd/kernels/gemm.hpp"
#include "tapegrad/autograd/kernels/gemm_bf16.hpp"
#include "tapegrad/autograd/kernels/map.hpp"
#include "tapegrad/autograd/shape_ops.hpp"
#include "tapegrad/autograd/threads.hpp"

namespace tg {

namespace {

// C = op(A) @ op(B) + beta * C in fp32, or with A and B rounded to bf16 under autocast.
void gemm(bool bf16, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a,
          std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (bf16)
    kernels::gemm_bf16(ta, tb, std::int64_t(m), std::int64_t(n), std::int64_t(k), a, std::int64_t(lda), b,
                       std::int64_t(ldb), beta, c, std::int64_t(ldc));
  else
    kernels::gemm(ta, tb, std::int64_t(m), std::int64_t(n), std::int64_t(k), 1.0f, a, std::int64_t(lda), b,
                  std::int64_t(ldb), beta, c, std::int64_t(ldc));
}

struct MatmulPlan {
  Shape batch;                        // broadcast batch shape
  std::size_t n, k, m;
  std::vector<std::size_t> a_index;   // per output batch: which matrix of a, of b
  std::vector<std::size_t> b_index;
};

Shape batch_of(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

std::vector<std::size_t> matrix_index(const Shape& in_batch, const Shape& out_batch) {
  const auto strides = kernels::broadcast_strides(in_batch, out_batch);
  std::vector<std::size_t> index(numel_of(out_batch), 0), counter(out_batch.size(), 0);
  std::size_t offset = 0;
  for (std::size_t t = 0; t < index.size(); ++t) {
    index[t] = offset;
    for (std::size_t d = out_batch.size(); d-- > 0;) {
      offset += std::size_t(strides[d]);
      if (++counter[d] < out_batch[d]) break;
      offset -= std::size_t(strides[d]) * out_batch[d];
      counter[d] = 0;
    }
  }
  return index;
}

MatmulPlan plan_matmul(const Shape& a, const Shape& b) {
  TG_CHECK(a[a.size() - 1] == b[b.size() - 2], "matmul: expected inner dimensions to match, got ",
           shape_str(a), " @ ", shape_str(b));
  MatmulPlan p;
  p.batch = broadcast_shapes(batch_of(a), batch_of(b), "matmul");
  p.n = a[a.size() - 2];
  p.k = a[a.size() - 1];
  p.m = b[b.size() - 1];
  p.a_index = matrix_index(batch_of(a), p.batch);
  p.b_index = matrix_index(batch_of(b), p.batch);
  return p;
}

Shape with_matrix(Shape batch, std::size_t rows, std::size_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

// C_t = op(A_t) @ op(B_t) for every batch t, matrices picked through the plan's indices.
void batched_gemm(bool bf16, std::size_t batches, bool ta, bool tb, std::size_t m, std::size_t n,
                  std::size_t k, const float* a, const std::vector<std::size_t>& ai, const float* b,
                  const std::vector<std::size_t>& bi, float* c) {
  parallel_for(std::int64_t(batches), 1, [&](std::int64_t begin, std::int64_t end) {
    for (auto t = std::size_t(begin); t < std::size_t(end); ++t)
      gemm(bf16, ta, tb, m, n, k, a + ai[t] * m * k, ta ? m : k, b + bi[t] * k * n, tb ? k : n,
           0.0f, c + t * m * n, n);
  });
}

// The product of two tensors of rank >= 2 (the 1-D cases reshape around it).
Variable matmul_nd(const Variable& a, const Variable& b) {
  const MatmulPlan p = plan_matmul(a.shape(), b.shape());
  const std::size_t batches = numel_of(p.batch);
  Tensor out = empty_tensor(with_matrix(p.batch, p.n, p.m));
  const bool bf16 = autocast::bf16_active();  // the backward multiplies as the forward did
  batched_gemm(bf16, batches, false, false, p.n, p.m, p.k, a.value().data(), p.a_index,
               b.value().data(), p.b_index, out.data());
  Variable y = record_op("matmul", std::move(out), {a, b},
                   [p, batches, bf16](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     std::vector<std::size_t> identity(batches);
                     for (std::size_t t = 0; t < batches; ++t) identity[t] = t;
                     TensorList grads(2);
                     if (ctx.needs(0)) {  // dA_t = G_t @ B_t^T
                       Tensor ga = empty_tensor(with_matrix(p.batch, p.n, p.k));
                       batched_gemm(bf16, batches, false, true, p.n, p.k, p.m, g.data(), identity,
                                    ctx.input(1).data(), p.b_index, ga.data());
                       grads[0] = sum_to(std::move(ga), ctx.input(0).shape());
                     }
                     if (ctx.needs(1)) {  // dB_t = A_t^T @ G_t
                       Tensor gb = empty_tensor(with_matrix(p.batch, p.k, p.m));
                       batched_gemm(bf16, batches, true, false, p.k, p.m, p.n, ctx.input(0).data(),
                                    p.a_index, g.data(), identity, gb.data());
                       grads[1] = sum_to(std::move(gb), ctx.input(1).shape());
                     }
                     return grads;
                   });
  return with_double_backward(y, [](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
    const Variable a = ctx.input(0), b = ctx.input(1);
    return {ctx.needs(0) ? sum_to(matmul(g, transpose(b, -2, -1)), a.shape()) : Variable(),
            ctx.needs(1) ? sum_to(matmul(transpose(a, -2, -1), g), b.shape()) : Variable()};
  });
}

std::vector<std::int64_t> dims_of(const Shape& s) { return {s.begin(), s.end()}; }

}  // namespace

Variable matmul(const Variable& a, const Variable& b) {
  TG_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: expected tensors of rank >= 1, got ",
           shape_str(a.shape()), " @ ", shape_str(b.shape()));
  if (a.dim() >= 2 && b.dim() >= 2) {
    // A 2-D right operand folds a's batch into rows: one large GEMM instead of many small ones.
    if (b.dim() == 2 && a.dim() > 2) {
      TG_CHECK(a.shape().back() == b.shape()[0], "matmul: expected inner dimensions to match, got ",
               shape_str(a.shape()), " @ ", shape_str(b.shape()));
      std::vector<std::int64_t> out = dims_of(a.shape());
      out.back() = std::int64_t(b.shape()[1]);
      return reshape(matmul_nd(reshape(a, {-1, std::int64_t(a.shape().back())}), b), out);
    }
    return matmul_nd(a, b);
  }
  if (a.dim() == 1 && b.dim() == 1) {
    TG_CHECK(a.numel() == b.numel(), "matmul: expected vectors of equal length, got ",
             shape_str(a.shape()), " @ ", shape_str(b.shape()));
    return reshape(matmul_nd(reshape(a, {1, -1}), reshape(b, {-1, 1})), {});
  }
  if (a.dim() == 1) {  // [k] @ [..., k, m] -> [..., m]
    std::vector<std::int64_t> out = dims_of(b.shape());
    out.erase(out.end() - 2);
    return reshape(matmul_nd(reshape(a, {1, -1}), b), out);
  }
  std::vector<std::int64_t> out = dims_of(a.shape());  // [..., n, k] @ [k] -> [..., n]
  out.pop_back();
  return reshape(matmul_nd(a, reshape(b, {-1, 1})), out);
}

Variable linear(const Variable& x, const Variable& weight, const Variable& bias) {
  TG_CHECK(weight.dim() == 2, "linear: expected weight [out, in], got ", shape_str(weight.shape()));
  const std::size_t out_f = weight.shape()[0], in_f = weight.shape()[1];
  TG_CHECK(x.dim() >= 1 && x.shape().back() == in_f, "linear: expected input [..., ", in_f,
           "] (weight ", shape_str(weight.shape()), "), got ", shape_str(x.shape()));
  TG_CHECK(!bias.defined() || (bias.dim() == 1 && bias.shape()[0] == out_f),
           "linear: expected bias [", out_f, "], got ", shape_str(bias.shape()));
  const std::size_t rows = x.numel() / std::max<std::size_t>(in_f, 1);
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor out = empty_tensor(out_shape);
  if (bias.defined()) {  // out = bias broadcast, then GEMM accumulates into it
    for (std::size_t r = 0; r < rows; ++r)
      std::copy(bias.value().data(), bias.value().data() + out_f, out.data() + r * out_f);
  }
  const bool bf16 = autocast::bf16_active();  // the backward multiplies as the forward did
  gemm(bf16, false, true, rows, out_f, in_f, x.value().data(), in_f, weight.value().data(), in_f,
       bias.defined() ? 1.0f : 0.0f, out.data(), out_f);
  Variable y = record_op("linear", std::move(out), {x, weight, bias},
                   [rows, in_f, out_f, bf16](Tensor g, const BackwardCtx& ctx) -> TensorList {
                     TensorList grads(3);
                     if (ctx.needs(0)) {  // dx = g @ W
                       grads[0] = empty_tensor(ctx.input(0).shape());
                       gemm(bf16, false, false, rows, in_f, out_f, g.data(), out_f,
                            ctx.input(1).data(), in_f, 0.0f, grads[0].data(), in_f);
                     }
                     if (ctx.needs(1)) {  // dW = g^T @ x
                       grads[1] = empty_tensor(ctx.input(1).shape());
                       gemm(bf16, true, false, out_f, in_f, rows, g.data(), out_f,
                            ctx.input(0).data(), in_f, 0.0f, grads[1].data(), in_f);
                     }
                     if (ctx.needs(2)) {  // db = column sums of g
                       grads[2] = filled(ctx.input(2).shape(), 0.0f);
                       float* gb = grads[2].data();
                       for (std::size_t r = 0; r < rows; ++r)
                         for (std::size_t j = 0; j < out_f; ++j) gb[j] += g.data()[r * out_f + j];
                     }
                     return grads;
                   });
  return with_double_backward(y, [in_f, out_f](const Variable& g, const GraphCtx& ctx) -> std::vector<Variable> {
    std::vector<Variable> grads(3);
    if (ctx.needs(0)) grads[0] = matmul(g, ctx.input(1));  // [..., out] @ [out, in]
    if (ctx.needs(1))
      grads[1] = matmul(transpose(reshape(g, {-1, std::int64_t(out_f)}), 0, 1),
                        reshape(ctx.input(0), {-1, std::int64_t(in_f)}));
    if (ctx.needs(2)) grads[2] = sum_to(g, ctx.input(2).shape());
    return grads;
  });
}

}  // namespace tg
