#pragma once
/// @file
/// Activation layers (torch.nn.ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax) and Dropout.
#include "tapegrad/autograd/arg.hpp"
#include "tapegrad/nn/module.hpp"

namespace tg::nn {

/// LeakyReLU's options (torch::nn::LeakyReLUOptions):
/// `LeakyReLU(LeakyReLUOptions().negative_slope(0.2))`. (LibTorch's inplace is not supported.)
struct LeakyReLUOptions {
  /// Slope for x < 0.
  TG_ARG(LeakyReLUOptions, negative_slope, double) = 0.01;
};

/// Softmax's options (torch::nn::SoftmaxOptions): `Softmax(SoftmaxOptions(1))`.
struct SoftmaxOptions {
  /// The dimension normalised (LibTorch's positional argument; negative counts from the end).
  TG_ARG(SoftmaxOptions, dim, std::int64_t) = 0;
};

/// LogSoftmax's options (torch::nn::LogSoftmaxOptions): `LogSoftmax(LogSoftmaxOptions(1))`.
struct LogSoftmaxOptions {
  /// The dimension normalised (LibTorch's positional argument; negative counts from the end).
  TG_ARG(LogSoftmaxOptions, dim, std::int64_t) = 0;
};

/// Dropout's options (torch::nn::DropoutOptions): `Dropout(DropoutOptions(0.2))` or
/// `Dropout(DropoutOptions().p(0.2))`. (LibTorch's inplace is not supported.)
struct DropoutOptions {
  /// Probability of zeroing an element, in [0, 1] (LibTorch's positional argument).
  TG_ARG(DropoutOptions, p, double) = 0.5;
};

/// max(x, 0).
class ReLUImpl : public Layer {
 public:
  Variable forward(const Variable& x) override;
  /// In place when x is a temporary nobody else holds (fused into the op that made it).
  Variable forward_owned(Variable x) override;
  std::string name() const override { return "ReLU"; }
};

/// x where x > 0, negative_slope * x elsewhere.
class LeakyReLUImpl : public Layer {
 public:
  /// PyTorch's default slope 0.01.
  explicit LeakyReLUImpl(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  /// From LeakyReLUOptions (LibTorch's form).
  explicit LeakyReLUImpl(const LeakyReLUOptions& options)
      : negative_slope(options.negative_slope) {}
  Variable forward(const Variable& x) override;
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;
  double negative_slope;  ///< the slope for x < 0
};

/// 1 / (1 + e^-x).
class SigmoidImpl : public Layer {
 public:
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Sigmoid"; }
};

/// Hyperbolic tangent.
class TanhImpl : public Layer {
 public:
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Tanh"; }
};

/// softmax along `dim` (required, as PyTorch recommends).
class SoftmaxImpl : public Layer {
 public:
  /// Softmax over dimension `dim` (negative counts from the end).
  explicit SoftmaxImpl(std::int64_t dim) : dim(dim) {}
  /// From SoftmaxOptions (LibTorch's form).
  explicit SoftmaxImpl(const SoftmaxOptions& options) : dim(options.dim) {}
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Softmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  std::int64_t dim;  ///< the dimension normalised over
};

/// log_softmax along `dim`.
class LogSoftmaxImpl : public Layer {
 public:
  /// Log softmax over dimension `dim` (negative counts from the end).
  explicit LogSoftmaxImpl(std::int64_t dim) : dim(dim) {}
  /// From LogSoftmaxOptions (LibTorch's form).
  explicit LogSoftmaxImpl(const LogSoftmaxOptions& options) : dim(options.dim) {}
  Variable forward(const Variable& x) override;
  std::string name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  std::int64_t dim;  ///< the dimension normalised over
};

/// Training: zeroes each element with probability p and scales the others by 1/(1-p);
/// eval: identity. Draws from tg::default_generator().
class DropoutImpl : public Layer {
 public:
  /// p in [0, 1], else tg::Error.
  explicit DropoutImpl(double p = 0.5);
  /// From DropoutOptions (LibTorch's form).
  explicit DropoutImpl(const DropoutOptions& options) : DropoutImpl(double(options.p)) {}
  Variable forward(const Variable& x) override;
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  double p;  ///< probability of zeroing an element
};

/// Holder of a ReLUImpl: `tg::nn::ReLU relu; y = relu(x)`.
class ReLU : public ModuleHolder<ReLUImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new ReLU.
  ReLU() : ModuleHolder(std::make_shared<ReLUImpl>()) {}
};

/// Holder of a LeakyReLUImpl.
class LeakyReLU : public ModuleHolder<LeakyReLUImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new LeakyReLU with this slope for x < 0.
  LeakyReLU(double negative_slope = 0.01)
      : ModuleHolder(std::make_shared<LeakyReLUImpl>(negative_slope)) {}
  /// LibTorch's form: `LeakyReLU(LeakyReLUOptions().negative_slope(0.2))`.
  explicit LeakyReLU(const LeakyReLUOptions& options)
      : ModuleHolder(std::make_shared<LeakyReLUImpl>(options)) {}
};

/// Holder of a SigmoidImpl.
class Sigmoid : public ModuleHolder<SigmoidImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new Sigmoid.
  Sigmoid() : ModuleHolder(std::make_shared<SigmoidImpl>()) {}
};

/// Holder of a TanhImpl.
class Tanh : public ModuleHolder<TanhImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new Tanh.
  Tanh() : ModuleHolder(std::make_shared<TanhImpl>()) {}
};

/// Holder of a SoftmaxImpl: `tg::nn::Softmax softmax(1)`.
class Softmax : public ModuleHolder<SoftmaxImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new Softmax over dimension `dim`.
  Softmax(std::int64_t dim) : ModuleHolder(std::make_shared<SoftmaxImpl>(dim)) {}
  /// LibTorch's form: `Softmax(SoftmaxOptions(1))`.
  explicit Softmax(const SoftmaxOptions& options)
      : ModuleHolder(std::make_shared<SoftmaxImpl>(options)) {}
};

/// Holder of a LogSoftmaxImpl.
class LogSoftmax : public ModuleHolder<LogSoftmaxImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new LogSoftmax over dimension `dim`.
  LogSoftmax(std::int64_t dim) : ModuleHolder(std::make_shared<LogSoftmaxImpl>(dim)) {}
  /// LibTorch's form: `LogSoftmax(LogSoftmaxOptions(1))`.
  explicit LogSoftmax(const LogSoftmaxOptions& options)
      : ModuleHolder(std::make_shared<LogSoftmaxImpl>(options)) {}
};

/// Holder of a DropoutImpl: `tg::nn::Dropout drop(0.2)`.
class Dropout : public ModuleHolder<DropoutImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  /// A new Dropout zeroing with probability p.
  Dropout(double p = 0.5) : ModuleHolder(std::make_shared<DropoutImpl>(p)) {}
  /// LibTorch's form: `Dropout(DropoutOptions(0.2))`.
  explicit Dropout(const DropoutOptions& options)
      : ModuleHolder(std::make_shared<DropoutImpl>(options)) {}
};

}  // namespace tg::nn
