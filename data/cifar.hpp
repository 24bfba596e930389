#pragma once
/// @file
/// CIFAR-10 from its binary batches (data_batch_1.bin .. data_batch_5.bin, test_batch.bin).
#include <filesystem>

#include "tapegrad/data/dataset.hpp"

namespace tg::data {

/// CIFAR-10: 32x32 colour images of 10 classes. `root` is the cifar-10-batches-bin folder or
/// the folder that holds it. get(i): image [3, 32, 32] with values byte / 255, label in [0, 10).
class CIFAR10 : public Dataset {
 public:
  /// Reads the split's batches (five for Train, one for Test); missing or truncated files
  /// throw tg::Error.
  explicit CIFAR10(const std::filesystem::path& root, Split split = Split::Train);
  std::size_t size() const override { return labels_.size(); }
  Example get(std::size_t index) const override;
  std::vector<std::string> classes() const override;
  /// The raw pixels, [N, 3, 32, 32] bytes.
  const std::vector<std::uint8_t>& pixels() const { return pixels_; }

  static constexpr std::size_t kSide = 32;                        ///< image height and width
  static constexpr std::size_t kImageBytes = 3 * kSide * kSide;  ///< bytes of one image
  /// One record on disk: a label byte, then the red, green and blue planes.
  static constexpr std::size_t kRecordBytes = 1 + kImageBytes;

 private:
  void read_batch(const std::filesystem::path& file);

  std::vector<std::uint8_t> pixels_;
  std::vector<std::uint8_t> labels_;
};

}  // namespace tg::data
