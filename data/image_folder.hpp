#pragma once
/// @file
/// ImageFolder: one sub-folder per class (root/cat/001.png, root/dog/xyz.jpg), like torchvision.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tapegrad/data/dataset.hpp"
#include "tapegrad/data/image_io.hpp"

namespace tg::data {

/// Options of ImageFolder.
struct ImageFolderOptions {
  int channels = 3;  ///< 3: RGB (alpha dropped, grey replicated), 1: grey, 4: RGBA
  /// File extensions taken (compared case-insensitively); other files are ignored.
  std::vector<std::string> extensions = {".png", ".jpg", ".jpeg", ".bmp"};
  /// Largest width * height a file may claim; larger ones throw before decoding (see read_image).
  std::int64_t max_pixels = kDefaultMaxImagePixels;
};

/// Images decoded on each get() (read_image): classes are the sub-folder names sorted, label =
/// position in classes(); files within a class sorted by path. get(i): image [C, H, W] in [0, 1].
/// A class folder is walked recursively and directory symlinks are followed, as torchvision
/// does, but each real folder is walked once per class (a set of canonical paths): a link back
/// to a parent neither repeats images nor loops; of several links to one folder, the first in
/// sorted order names its files. A corrupt, truncated or too large file throws in get().
class ImageFolder : public Dataset {
 public:
  /// Lists the files under `root` (nothing decoded yet); a missing root or one without class
  /// folders or images throws tg::Error.
  explicit ImageFolder(const std::filesystem::path& root, ImageFolderOptions options = {});
  std::size_t size() const override { return samples_.size(); }
  Example get(std::size_t index) const override;
  std::vector<std::string> classes() const override { return classes_; }
  /// The file of sample i.
  const std::filesystem::path& path(std::size_t index) const;

 private:
  struct Sample {
    std::filesystem::path path;
    std::int64_t label;
  };
  std::vector<Sample> samples_;
  std::vector<std::string> classes_;
  int channels_;
  std::int64_t max_pixels_;
};

}  // namespace tg::data
