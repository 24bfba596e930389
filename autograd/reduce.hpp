#pragma once
/// @file
/// Reductions over the whole tensor or along one dimension.
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// Sum of all elements (0-d result).
Variable sum(const Variable& x);
/// Sum along `dim` (negative counts from the end); keepdim keeps it as size 1.
Variable sum(const Variable& x, std::int64_t dim, bool keepdim = false);
/// Mean of all elements (records its own op, "mean").
Variable mean(const Variable& x);
/// Mean along `dim` (negative counts from the end); keepdim keeps it as size 1 ("mean_dim").
Variable mean(const Variable& x, std::int64_t dim, bool keepdim = false);
/// Largest element; the gradient goes to the first maximum.
Variable max(const Variable& x);
/// Largest element along `dim` (values only; argmax gives the indices).
Variable max(const Variable& x, std::int64_t dim, bool keepdim = false);
/// Index of the first largest element along `dim`.
Labels argmax(const Tensor& x, std::int64_t dim);
/// Smallest element; the gradient goes to the first minimum (NaN counts as smallest).
Variable min(const Variable& x);
/// Smallest element along `dim` (values only; argmin gives the indices).
Variable min(const Variable& x, std::int64_t dim, bool keepdim = false);
/// Index of the first smallest element along `dim`.
Labels argmin(const Tensor& x, std::int64_t dim);
/// The p-norm of all elements, (sum |x|^p)^(1/p), p > 0 finite (LibTorch's x.norm(p)); the
/// gradient is 0 where the norm is 0 (PyTorch's subgradient).
Variable norm(const Variable& x, float p = 2.0f);
/// The p-norm along `dim`.
Variable norm(const Variable& x, float p, std::int64_t dim, bool keepdim = false);
/// 1 if every element is non-zero (NaN counts as non-zero), else 0; 0-d, not differentiable.
Variable all(const Variable& x);
/// all along `dim`.
Variable all(const Variable& x, std::int64_t dim, bool keepdim = false);
/// 1 if any element is non-zero, else 0; 0-d, not differentiable.
Variable any(const Variable& x);
/// any along `dim`.
Variable any(const Variable& x, std::int64_t dim, bool keepdim = false);

/// `dim` made non-negative, checked against `rank`, the message naming `op`.
std::size_t normalize_dim(std::int64_t dim, std::size_t rank, const char* op);

}  // namespace tg
