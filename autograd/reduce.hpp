#pragma once
/// @file
/// Reductions over the whole tensor or along one dimension.
#include "tapegrad/autograd/variable.hpp"

namespace tg {

/// Sum of all elements (0-d result).
Variable sum(const Variable& x);
/// Sum along `dim` (negative counts from the end); keepdim keeps it as size 1.
Variable sum(const Variable& x, std::int64_t dim, bool keepdim = false);
/// Mean of all elements.
Variable mean(const Variable& x);
/// Mean along `dim` (negative counts from the end); keepdim keeps it as size 1.
Variable mean(const Variable& x, std::int64_t dim, bool keepdim = false);
/// Largest element; the gradient goes to the first maximum.
Variable max(const Variable& x);
/// Largest element along `dim` (values only; argmax gives the indices).
Variable max(const Variable& x, std::int64_t dim, bool keepdim = false);
/// Index of the first largest element along `dim`.
Labels argmax(const Tensor& x, std::int64_t dim);

/// `dim` made non-negative, checked against `rank`, the message naming `op`.
std::size_t normalize_dim(std::int64_t dim, std::size_t rank, const char* op);

}  // namespace tg
