// MNIST / FashionMNIST: IDX files plain and gzipped in the layouts searched, pixel and label
// values read back, and every kind of broken file rejected with a message naming it.
#include <doctest/doctest.h>

#include <filesystem>

#include <tapegrad/data/data.hpp>
#include "data_test_util.hpp"

using namespace data_test;
using tg::data::Split;

namespace {

void write_split(const std::filesystem::path& dir, const std::string& prefix, std::uint32_t n,
                 std::uint32_t h, std::uint32_t w, bool gz) {
  const auto put = gz ? write_gz : write_bytes;
  const std::string ext = gz ? ".gz" : "";
  put(dir / (prefix + "-images-idx3-ubyte" + ext), idx_images(n, h, w));
  put(dir / (prefix + "-labels-idx1-ubyte" + ext), idx_labels(n));
}

void check_fixture(const tg::data::IdxDataset& ds, std::size_t n, std::size_t h, std::size_t w) {
  REQUIRE(ds.size() == n);
  for (std::size_t i : {std::size_t{0}, n / 2, n - 1}) {
    const auto ex = ds.get(i);
    REQUIRE(ex.data.shape() == tg::Shape{1, h, w});
    CHECK(ex.target == std::int64_t((3 * i) % 10));
    for (std::size_t p : {std::size_t{0}, w + 1, h * w - 1})
      CHECK(ex.data.data()[p] == doctest::Approx(fixture_pixel(i, p) / 255.0f));
  }
}

}  // namespace

TEST_CASE("MNIST reads plain IDX files, FashionMNIST gzipped ones, train and test") {
  const auto dir = temp_dir("mnist_ok");
  write_split(dir / "plain", "train", 7, 3, 5, false);
  write_split(dir / "plain", "t10k", 4, 3, 5, false);
  write_split(dir / "gz" / "raw", "train", 6, 4, 2, true);                  // root/raw
  write_split(dir / "tv" / "FashionMNIST" / "raw", "t10k", 3, 2, 2, true);  // torchvision layout

  check_fixture(tg::data::MNIST(dir / "plain"), 7, 3, 5);
  check_fixture(tg::data::MNIST(dir / "plain", Split::Test), 4, 3, 5);
  check_fixture(tg::data::FashionMNIST(dir / "gz", Split::Train), 6, 4, 2);
  check_fixture(tg::data::FashionMNIST(dir / "tv", Split::Test), 3, 2, 2);
  CHECK(tg::data::FashionMNIST(dir / "gz").classes().at(9) == "Ankle boot");
  CHECK_THROWS_WITH_AS(tg::data::MNIST(dir / "plain").get(7),
                       doctest::Contains("MNIST.get: expected an index below 7, got 7"), tg::Error);
}

TEST_CASE("a missing dataset says where it looked and how to get it") {
  const auto dir = temp_dir("mnist_missing");
  CHECK_THROWS_WITH_AS(
      tg::data::FashionMNIST{dir},
      doctest::Contains(
          ("FashionMNIST: no train-images-idx3-ubyte(.gz) in " + dir.string()).c_str()),
      tg::Error);
  CHECK_THROWS_WITH_AS(tg::data::FashionMNIST{dir},
                       doctest::Contains("apt-get install dataset-fashion-mnist"), tg::Error);
  CHECK_THROWS_WITH_AS(tg::data::MNIST(dir, Split::Test),
                       doctest::Contains("MNIST: no t10k-images-idx3-ubyte(.gz)"), tg::Error);
  // Images present, labels absent.
  write_bytes(dir / "train-images-idx3-ubyte", idx_images(2, 2, 2));
  CHECK_THROWS_WITH_AS(tg::data::MNIST{dir}, doctest::Contains("no train-labels-idx1-ubyte(.gz)"),
                       tg::Error);
}

TEST_CASE("corrupt IDX files are errors naming the file and the offset") {
  const auto dir = temp_dir("mnist_bad");
  const auto images = dir / "train-images-idx3-ubyte";
  const auto labels = dir / "train-labels-idx1-ubyte";
  auto expect_error = [&](const std::string& what) {
    CHECK_THROWS_WITH_AS(tg::data::MNIST{dir}, doctest::Contains(what.c_str()), tg::Error);
  };

  SUBCASE("bad magic") {
    auto bytes = idx_images(2, 2, 2);
    bytes[3] = 0x01;
    write_bytes(images, bytes);
    write_bytes(labels, idx_labels(2));
    expect_error(images.string() +
                 ": expected IDX magic number 0x00000803 at byte offset 0, got 0x801");
  }
  SUBCASE("labels file given as images") {
    write_bytes(images, idx_labels(2));
    write_bytes(labels, idx_labels(2));
    expect_error("expected IDX magic number");
  }
  SUBCASE("truncated plain data") {
    auto bytes = idx_images(3, 4, 4);
    bytes.resize(bytes.size() - 5);
    write_bytes(images, bytes);
    write_bytes(labels, idx_labels(3));
    expect_error(images.string() +
                 ": expected 64 bytes (16 of header + 48 of data), got a file of 59 bytes");
    expect_error("truncated at byte offset 59");
  }
  SUBCASE("truncated header") {
    write_bytes(images, Bytes{0, 0, 8, 3, 0, 0});
    write_bytes(labels, idx_labels(3));
    expect_error(
        images.string() +
        " is truncated at byte offset 6: expected 12 bytes of IDX header from offset 4, got 2");
  }
  SUBCASE("truncated gzipped data, and a hostile count that must not be allocated") {
    auto bytes = idx_images(3, 4, 4);
    bytes[5] = 0x40;  // claims 2^22 + 3 images: 64 MiB, read in steps, never allocated at once
    write_gz(dir / "train-images-idx3-ubyte.gz", bytes);
    write_bytes(labels, idx_labels(3));
    expect_error("train-images-idx3-ubyte.gz is truncated at byte offset 64 (decompressed)");
    bytes[4] = 0x7f;  // claims 0x7f400003 images: over the budget
    write_gz(dir / "train-images-idx3-ubyte.gz", bytes);
    expect_error(
        "expected at most 4294967296 bytes of images, got a header claiming 2134900739 "
        "images of 4x4");
  }
  SUBCASE("a gzip stream cut short") {
    const auto gz = dir / "train-images-idx3-ubyte.gz";
    write_gz(gz, idx_images(50, 10, 10));
    auto bytes = read_bytes(gz);
    bytes.resize(bytes.size() / 2);
    write_bytes(gz, bytes);
    write_bytes(labels, idx_labels(50));
    expect_error(gz.string());
  }
  SUBCASE("trailing data after the images") {
    auto bytes = idx_images(2, 2, 2);
    bytes.push_back(7);
    write_gz(dir / "train-images-idx3-ubyte.gz", bytes);
    write_bytes(labels, idx_labels(2));
    expect_error("has unexpected data after byte offset 24 (decompressed)");
  }
  SUBCASE("huge dimensions") {
    Bytes bytes;
    put_be32(bytes, 0x803), put_be32(bytes, 1), put_be32(bytes, 100000), put_be32(bytes, 100000);
    write_bytes(images, bytes);
    write_bytes(labels, idx_labels(1));
    expect_error("expected image sides in [1, 4096], got 100000x100000");
  }
  SUBCASE("label out of range") {
    write_bytes(images, idx_images(3, 2, 2));
    auto bytes = idx_labels(3);
    bytes[8 + 2] = 12;
    write_bytes(labels, bytes);
    expect_error(labels.string() + ": expected labels in [0, 10), got 12 at byte offset 10");
  }
  SUBCASE("label count differs from image count") {
    write_bytes(images, idx_images(3, 2, 2));
    write_bytes(labels, idx_labels(4));
    expect_error(labels.string() + ": expected 3 labels (one per image), got 4");
  }
}

TEST_CASE("the real Fashion-MNIST from Debian's dataset-fashion-mnist") {
  if (!std::filesystem::exists(tg::data::kFashionMnistDefaultRoot)) {
    MESSAGE("skipped: no ", tg::data::kFashionMnistDefaultRoot,
            " (apt-get install dataset-fashion-mnist)");
    return;
  }
  const tg::data::FashionMNIST train;
  const tg::data::FashionMNIST test(Split::Test);
  REQUIRE(train.size() == 60000);
  REQUIRE(test.size() == 10000);
  // Expected values read from the .gz files with Python's gzip module: the first labels, the
  // sum of the first image's bytes and its centre pixel; 6000 (1000) samples per class.
  const auto first = train.get(0);
  CHECK(first.data.shape() == tg::Shape{1, 28, 28});
  CHECK(first.target == 9);
  CHECK(train.get(3).target == 3);
  CHECK(test.get(2).target == 1);
  double sum = 0;
  for (float v : first.data) sum += v;
  CHECK(sum * 255 == doctest::Approx(76247).epsilon(1e-5));
  CHECK(first.data(0, 14, 14) == doctest::Approx(217 / 255.0f));
  CHECK(test.get(0).data(0, 14, 14) == doctest::Approx(110 / 255.0f));
  std::vector<int> counts(10);
  for (auto label : train.targets()) counts.at(label)++;
  CHECK(counts == std::vector<int>(10, 6000));
}
