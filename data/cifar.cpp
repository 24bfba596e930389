#include "tapegrad/data/cifar.hpp"

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/data/byte_reader.hpp"

namespace tg::data {

namespace {

constexpr std::size_t kNumClasses = 10;
constexpr std::size_t kMaxRecordsPerFile = 1 << 20;

std::vector<std::string> batch_names(Split split) {
  if (split == Split::Test) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
  return names;
}

}  // namespace

CIFAR10::CIFAR10(const std::filesystem::path& root, Split split) {
  const std::vector<std::filesystem::path> dirs{root, root / "cifar-10-batches-bin"};
  for (const auto& name : batch_names(split)) {
    const auto file = detail::find_first(dirs, {name});
    TG_CHECK(!file.empty(), "CIFAR10: no ", name, " in ", detail::join_paths(dirs),
             "; download the binary version (cifar-10-binary.tar.gz) from "
             "https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and pass the "
             "cifar-10-batches-bin folder");
    read_batch(file);
  }
}

void CIFAR10::read_batch(const std::filesystem::path& file) {
  detail::ByteReader in(file, "CIFAR10");
  const std::uint64_t bytes = in.file_size();
  TG_CHECK(!in.compressed(), in.where(), ": expected the unpacked binary batch, got a gzip file");
  TG_CHECK(bytes % kRecordBytes == 0 && bytes > 0 && bytes / kRecordBytes <= kMaxRecordsPerFile,
           in.where(), ": expected a whole number of ", kRecordBytes,
           "-byte records (1 label byte + 3072 pixel bytes), got a file of ", bytes,
           " bytes (truncated at byte offset ", bytes - bytes % kRecordBytes, ")");
  const std::size_t records = bytes / kRecordBytes;
  const std::size_t first = labels_.size();
  labels_.resize(first + records);
  pixels_.resize((first + records) * kImageBytes);
  for (std::size_t r = 0; r < records; ++r) {
    std::uint8_t label = 0;
    in.read_exact(&label, 1, "label");
    TG_CHECK(label < kNumClasses, in.where(), ": expected labels in [0, ", kNumClasses, "), got ",
             int{label}, " at byte offset ", r * kRecordBytes, " (record ", r, ")");
    labels_[first + r] = label;
    in.read_exact(pixels_.data() + (first + r) * kImageBytes, kImageBytes, "pixels");
  }
}

Example<> CIFAR10::get(std::size_t index) const {
  detail::check_index("CIFAR10", index, labels_.size());
  Example example{empty_tensor({3, kSide, kSide}), labels_[index]};
  const std::uint8_t* src = pixels_.data() + index * kImageBytes;
  float* dst = example.data.data();
  for (std::size_t k = 0; k < kImageBytes; ++k)
    dst[k] = static_cast<float>(src[k]) * (1.0f / 255.0f);
  return example;
}

std::vector<std::string> CIFAR10::classes() const {
  return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

}  // namespace tg::data
