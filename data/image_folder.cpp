#include "tapegrad/data/image_folder.hpp"

#include <algorithm>
#include <set>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/byte_reader.hpp"
#include "tapegrad/data/image_io.hpp"

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

// Sorted entries of one folder (directory_iterator has no order).
std::vector<std::filesystem::directory_entry> sorted_entries(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  TG_CHECK(!ec, "ImageFolder: cannot list ", dir.string(), " (", ec.message(), ")");
  std::vector<std::filesystem::directory_entry> out;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    TG_CHECK(!ec, "ImageFolder: cannot list ", dir.string(), " (", ec.message(), ")");
    out.push_back(*it);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Sorted image files anywhere below dir (torchvision walks a class folder recursively and
// follows directory symlinks). Each real folder is entered once, however many links lead to it,
// so a link to a parent (`ln -s . again`) neither repeats images nor loops forever.
std::vector<std::filesystem::path> sorted_images(const std::filesystem::path& dir,
                                                 const std::vector<std::string>& extensions) {
  std::vector<std::filesystem::path> out;
  std::set<std::filesystem::path> visited;  // canonical folders already walked
  std::vector<std::filesystem::path> pending{dir};
  while (!pending.empty()) {
    const auto folder = std::move(pending.back());
    pending.pop_back();
    std::error_code ec;
    const auto real = std::filesystem::canonical(folder, ec);
    if (ec || !visited.insert(real).second) continue;  // dangling link, or walked already
    const auto entries = sorted_entries(folder);
    // Pushed in reverse so that sub-folders are walked in sorted order (the first link wins).
    for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
      if (e->is_directory(ec)) pending.push_back(e->path());
      else if (e->is_regular_file(ec) && has_extension(e->path(), extensions))
        out.push_back(e->path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

ImageFolder::ImageFolder(const std::filesystem::path& root, ImageFolderOptions options)
    : channels_(options.channels), max_pixels_(options.max_pixels) {
  TG_CHECK(channels_ == 1 || channels_ == 3 || channels_ == 4,
           "ImageFolder: expected channels 1, 3 or 4, got ", channels_);
  TG_CHECK(max_pixels_ >= 1, "ImageFolder: expected max_pixels >= 1, got ", max_pixels_);
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

Example<> ImageFolder::get(std::size_t index) const {
  detail::check_index("ImageFolder", index, samples_.size());
  return {read_image(samples_[index].path, channels_, max_pixels_), samples_[index].label};
}

const std::filesystem::path& ImageFolder::path(std::size_t index) const {
  detail::check_index("ImageFolder", index, samples_.size());
  return samples_[index].path;
}

}  // namespace tg::data
