#include "tapegrad/data/mnist.hpp"

#include <algorithm>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/byte_reader.hpp"

namespace tg::data {

namespace {

constexpr std::uint32_t kLabelMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr std::uint32_t kImageMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kMaxSide = 4096;
constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 32;
constexpr std::size_t kNumClasses = 10;

std::vector<std::filesystem::path> search_dirs(const std::filesystem::path& root,
                                               const char* name) {
  return {root, root / "raw", root / name / "raw"};
}

std::filesystem::path locate(const char* who, const std::filesystem::path& root,
                             const std::string& base, const char* install_hint) {
  const auto dirs = search_dirs(root, who);
  auto path = detail::find_first(dirs, {base, base + ".gz"});
  TG_CHECK(!path.empty(), who, ": no ", base, "(.gz) in ", detail::join_paths(dirs), "; ",
           install_hint);
  return path;
}

// Reads the magic number (checked first: a wrong file is named as such), then one big-endian
// count per dimension.
std::vector<std::uint32_t> read_header(detail::ByteReader& in, std::uint32_t magic, int dims) {
  std::uint8_t bytes[12];
  in.read_exact(bytes, 4, "IDX magic number");
  const std::uint32_t got = detail::read_be32(bytes);
  TG_CHECK(got == magic, in.where(), ": expected IDX magic number 0x0000080", dims == 1 ? 1 : 3,
           " at byte offset 0, got 0x", std::hex, got, " (not an IDX ",
           dims == 1 ? "label" : "image", " file)");
  in.read_exact(bytes, 4 * static_cast<std::size_t>(dims), "IDX header");
  std::vector<std::uint32_t> sizes(static_cast<std::size_t>(dims));
  for (int d = 0; d < dims; ++d) sizes[d] = detail::read_be32(bytes + 4 * d);
  return sizes;
}

// On disk, a plain file must have exactly the size its header announces.
void check_plain_size(const detail::ByteReader& in, std::uint64_t header, std::uint64_t data) {
  if (in.compressed()) return;
  TG_CHECK(in.file_size() == header + data, in.where(), ": expected ", header + data, " bytes (",
           header, " of header + ", data, " of data), got a file of ", in.file_size(),
           " bytes (truncated at byte offset ", std::min(in.file_size(), header + data), ")");
}

}  // namespace

IdxDataset::IdxDataset(const char* name, const std::filesystem::path& root, Split split,
                       const char* install_hint)
    : name_(name) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  detail::ByteReader images(locate(name, root, prefix + "-images-idx3-ubyte", install_hint), name);
  const auto dims = read_header(images, kImageMagic, 3);
  count_ = dims[0], height_ = dims[1], width_ = dims[2];
  TG_CHECK(height_ >= 1 && height_ <= kMaxSide && width_ >= 1 && width_ <= kMaxSide, images.where(),
           ": expected image sides in [1, ", kMaxSide, "], got ", height_, "x", width_,
           " in the header");
  const std::uint64_t bytes = std::uint64_t{count_} * height_ * width_;
  TG_CHECK(bytes <= kMaxBytes, images.where(), ": expected at most ", kMaxBytes,
           " bytes of images, got a header claiming ", count_, " images of ", height_, "x", width_);
  check_plain_size(images, 16, bytes);
  pixels_ = images.read_vector(bytes, "image data");
  images.expect_end();

  detail::ByteReader labels(locate(name, root, prefix + "-labels-idx1-ubyte", install_hint), name);
  const auto label_count = read_header(labels, kLabelMagic, 1)[0];
  TG_CHECK(label_count == count_, labels.where(), ": expected ", count_,
           " labels (one per image), got ", label_count, " in the header");
  check_plain_size(labels, 8, count_);
  labels_ = labels.read_vector(count_, "labels");
  labels.expect_end();
  const auto bad =
      std::find_if(labels_.begin(), labels_.end(), [](std::uint8_t l) { return l >= kNumClasses; });
  TG_CHECK(bad == labels_.end(), labels.where(), ": expected labels in [0, ", kNumClasses,
           "), got ", int{*bad}, " at byte offset ", 8 + (bad - labels_.begin()));
}

Example<> IdxDataset::get(std::size_t index) const {
  detail::check_index(name_, index, count_);
  Example example{empty_tensor({1, height_, width_}), labels_[index]};
  const std::size_t n = height_ * width_;
  const std::uint8_t* src = pixels_.data() + index * n;
  float* dst = example.data.data();
  for (std::size_t k = 0; k < n; ++k) dst[k] = static_cast<float>(src[k]) * (1.0f / 255.0f);
  return example;
}

MNIST::MNIST(const std::filesystem::path& root, Split split)
    : IdxDataset("MNIST", root, split,
                 "put the four IDX files of http://yann.lecun.com/exdb/mnist/ there, or pass the "
                 "folder that holds them") {}

std::vector<std::string> MNIST::classes() const {
  return {"0 - zero", "1 - one", "2 - two",   "3 - three", "4 - four",
          "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"};
}

FashionMNIST::FashionMNIST(Split split) : FashionMNIST(kFashionMnistDefaultRoot, split) {}

FashionMNIST::FashionMNIST(const std::filesystem::path& root, Split split)
    : IdxDataset("FashionMNIST", root, split,
                 "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) "
                 "or pass the folder that holds the IDX files") {}

std::vector<std::string> FashionMNIST::classes() const {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
}

}  // namespace tg::data
