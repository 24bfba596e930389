#pragma once
// Runs an exported ONNX file with OpenCV's DNN module (a runtime that is not tapegrad) and
// compares its output with tapegrad's.
#include <opencv2/dnn.hpp>

#include <filesystem>
#include <vector>

#include "test_util.hpp"

namespace tg::test {

/// OpenCV's output for `input` through the ONNX file at `path`, as a tensor of its shape.
inline Tensor run_opencv(const std::filesystem::path& path, const Tensor& input) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path.string());
  std::vector<int> dims(input.shape().begin(), input.shape().end());
  cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F,
               const_cast<float*>(input.data()));
  net.setInput(blob);
  cv::Mat out = net.forward();
  Shape shape;
  for (int d = 0; d < out.dims; ++d) shape.push_back(static_cast<std::size_t>(out.size[d]));
  Tensor result = empty_tensor(shape);
  REQUIRE(out.isContinuous());
  std::copy(out.ptr<float>(), out.ptr<float>() + result.size(), result.data());
  return result;
}

/// tapegrad's eval-mode output of `forward` for `input`, without gradients.
template <class Forward>
Tensor run_tapegrad(nn::Module& model, Forward forward, const Tensor& input) {
  const bool training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Tensor out = forward(Variable(input)).value();
  model.train(training);
  return out;
}

/// The tolerance of every comparison here: |opencv - tapegrad| <= 1e-4 + 1e-4 * |tapegrad|.
/// One check per tensor, reporting the worst element (a wrong op gets one message, not 1000).
inline void check_runtime_close(const Tensor& opencv, const Tensor& tapegrad) {
  REQUIRE_MESSAGE(opencv.shape() == tapegrad.shape(), "OpenCV's shape ", shape_str(opencv.shape()),
                  " != tapegrad's ", shape_str(tapegrad.shape()));
  double worst = 0.0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < opencv.size(); ++i) {
    const double e = tapegrad.data()[i];
    const double excess = std::fabs(opencv.data()[i] - e) / (1e-4 + 1e-4 * std::fabs(e));
    if (!(excess <= worst)) worst = excess, at = i;  // NaN counts as the worst
  }
  CHECK_MESSAGE(worst <= 1.0, "element ", at, ": OpenCV ", opencv.data()[at], " != tapegrad ",
                tapegrad.data()[at], " (", worst, " times the tolerance)");
}

}  // namespace tg::test
