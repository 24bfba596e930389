#include "data/image_folder.hpp"

#include <algorithm>

#include "autograd/error.hpp"
#include "data/byte_reader.hpp"
#include "data/image_io.hpp"

namespace tg::data {

namespace {

bool has_extension(const std::filesystem::path& file, const std::vector<std::string>& extensions) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

// Sorted sub-folders of root (directory_iterator has no order).
std::vector<std::filesystem::path> sorted_folders(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    std::error_code ec;
    if (entry.is_directory(ec)) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Sorted image files anywhere below dir (torchvision walks a class folder recursively).
std::vector<std::filesystem::path> sorted_images(const std::filesystem::path& dir,
                                                 const std::vector<std::string>& extensions) {
  std::vector<std::filesystem::path> out;
  const auto walk = std::filesystem::directory_options::follow_directory_symlink;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, walk)) {
    std::error_code ec;
    if (entry.is_regular_file(ec) && has_extension(entry.path(), extensions))
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

ImageFolder::ImageFolder(const std::filesystem::path& root, ImageFolderOptions options)
    : channels_(options.channels) {
  TG_CHECK(channels_ == 1 || channels_ == 3 || channels_ == 4,
           "ImageFolder: expected channels 1, 3 or 4, got ", channels_);
  for (auto& ext : options.extensions)
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
  std::error_code ec;
  TG_CHECK(std::filesystem::is_directory(root, ec),
           "ImageFolder: expected a folder with one "
           "sub-folder of images per class, got no folder ",
           root.string());
  for (const auto& dir : sorted_folders(root)) {
    const auto label = static_cast<std::int64_t>(classes_.size());
    const auto files = sorted_images(dir, options.extensions);
    for (const auto& file : files) samples_.push_back({file, label});
    // torchvision refuses an empty class: its label would never occur, a sign of a wrong root.
    TG_CHECK(!files.empty(),
             "ImageFolder: expected image files in every class folder, got none in ", dir.string());
    classes_.push_back(dir.filename().string());
  }
  TG_CHECK(!classes_.empty(), "ImageFolder: expected one sub-folder of images per class in ",
           root.string(), ", got none");
}

Example ImageFolder::get(std::size_t index) const {
  detail::check_index("ImageFolder", index, samples_.size());
  return {read_image(samples_[index].path, channels_), samples_[index].label};
}

const std::filesystem::path& ImageFolder::path(std::size_t index) const {
  detail::check_index("ImageFolder", index, samples_.size());
  return samples_[index].path;
}

}  // namespace tg::data
