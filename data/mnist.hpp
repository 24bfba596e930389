#pragma once
/// @file
/// MNIST and Fashion-MNIST from their IDX files (plain or gzipped), held in memory as bytes.
#include <filesystem>

#include "tapegrad/data/dataset.hpp"

namespace tg::data {

/// Where Debian's dataset-fashion-mnist package installs the (gzipped) IDX files.
inline constexpr const char* kFashionMnistDefaultRoot = "/usr/share/datasets/fashion-mnist";

/// Images and labels of one split of an IDX dataset (28x28 grey digits or clothes).
/// Looks for train-images-idx3-ubyte[.gz] etc. in root, root/raw and `root/<Name>/raw` (the
/// torchvision layout). get(i): image [1, H, W] with values byte / 255, label in [0, 10).
class IdxDataset : public Dataset {
 public:
  std::size_t size() const override { return count_; }
  Example get(std::size_t index) const override;
  /// Image height in pixels (28).
  std::size_t height() const { return height_; }
  /// Image width in pixels (28).
  std::size_t width() const { return width_; }
  /// The raw pixels, [N, H, W] bytes.
  const std::vector<std::uint8_t>& pixels() const { return pixels_; }
  /// The labels, one byte each.
  const std::vector<std::uint8_t>& targets() const { return labels_; }

 protected:
  /// `name` is used in messages and in the `root/<name>/raw` layout; `install_hint` ends the
  /// message when the files are missing.
  IdxDataset(const char* name, const std::filesystem::path& root, Split split,
             const char* install_hint);

 private:
  const char* name_;
  std::vector<std::uint8_t> pixels_;
  std::vector<std::uint8_t> labels_;
  std::size_t count_ = 0, height_ = 0, width_ = 0;
};

/// LeCun's handwritten digits: MNIST("data/mnist", Split::Train).
class MNIST : public IdxDataset {
 public:
  /// Reads the split's files under `root`; missing or malformed files throw tg::Error.
  explicit MNIST(const std::filesystem::path& root, Split split = Split::Train);
  std::vector<std::string> classes() const override;
};

/// Zalando's Fashion-MNIST; FashionMNIST() reads Debian's copy in kFashionMnistDefaultRoot.
class FashionMNIST : public IdxDataset {
 public:
  /// Reads the split from kFashionMnistDefaultRoot (`bash scripts/deps.sh` installs it).
  explicit FashionMNIST(Split split = Split::Train);
  /// Reads the split's files under `root`; missing or malformed files throw tg::Error.
  explicit FashionMNIST(const std::filesystem::path& root, Split split = Split::Train);
  std::vector<std::string> classes() const override;
};

}  // namespace tg::data
