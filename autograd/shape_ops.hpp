#pragma once
/// @file
/// Ops that move elements without computing: reshape, transpose, permute, cat, narrow, slice.
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// Same elements, new shape; one dimension may be -1.
Variable reshape(const Variable& x, const std::vector<std::int64_t>& shape);
/// Merges dimensions start_dim..end_dim into one: [N, C, H, W] -> [N, C*H*W] by default.
Variable flatten(const Variable& x, std::int64_t start_dim = 1, std::int64_t end_dim = -1);
/// Swaps two dimensions (the result is contiguous, not a view).
Variable transpose(const Variable& x, std::int64_t dim0, std::int64_t dim1);
/// Reorders the dimensions: result dimension i is x's dimension dims[i].
Variable permute(const Variable& x, const std::vector<std::int64_t>& dims);
/// A dimension of size 1 inserted at `dim` (in [-rank-1, rank]), as torch.unsqueeze (a view).
Variable unsqueeze(const Variable& x, std::int64_t dim);
/// Every dimension of size 1 removed (a view).
Variable squeeze(const Variable& x);
/// Dimension `dim` removed if its size is 1; otherwise x's shape unchanged (as torch.squeeze).
Variable squeeze(const Variable& x, std::int64_t dim);
/// The transpose of a matrix; 0-d and 1-D tensors unchanged; tg::Error above 2 dimensions.
Variable t(const Variable& x);
/// Joins tensors along `dim`; all other dimensions must match.
Variable cat(const std::vector<Variable>& xs, std::int64_t dim = 0);
/// Elements start..start+length-1 along `dim`.
Variable narrow(const Variable& x, std::int64_t dim, std::int64_t start, std::int64_t length);
/// Python's x[..., start:end:step, ...] along `dim` (negative start/end count from the end).
Variable slice(const Variable& x, std::int64_t dim, std::int64_t start, std::int64_t end,
               std::int64_t step = 1);

/// The permutation applied to a plain tensor (contiguous result).
Tensor permute_tensor(const Tensor& x, const std::vector<std::size_t>& dims);

}  // namespace tg
