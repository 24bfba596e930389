// CIFAR10: binary records read back (label byte, then R, G, B planes), both folder layouts,
// and broken batches rejected with the file and offset.
#include <doctest/doctest.h>

#include <tapegrad/data/data.hpp>
#include "data_test_util.hpp"

using namespace data_test;
using tg::data::CIFAR10;
using tg::data::Split;

namespace {

// `n` records; record r has label (r + 4) % 10 and pixel p = fixture_pixel(r, p).
Bytes cifar_records(std::size_t n) {
  Bytes out;
  for (std::size_t r = 0; r < n; ++r) {
    out.push_back(static_cast<std::uint8_t>((r + 4) % 10));
    for (std::size_t p = 0; p < CIFAR10::kImageBytes; ++p) out.push_back(fixture_pixel(r, p));
  }
  return out;
}

void write_cifar(const std::filesystem::path& dir, std::size_t per_batch) {
  for (int i = 1; i <= 5; ++i)
    write_bytes(dir / ("data_batch_" + std::to_string(i) + ".bin"), cifar_records(per_batch));
  write_bytes(dir / "test_batch.bin", cifar_records(3));
}

}  // namespace

TEST_CASE("CIFAR10 reads the five training batches in order and the test batch") {
  const auto root = temp_dir("cifar_ok");
  write_cifar(root / "cifar-10-batches-bin", 2);
  const CIFAR10 train(root);  // the parent folder works too
  const CIFAR10 test(root / "cifar-10-batches-bin", Split::Test);
  REQUIRE(train.size() == 10);
  REQUIRE(test.size() == 3);
  const auto ex = train.get(7);  // batch 4, record 1
  REQUIRE(ex.data.shape() == tg::Shape{3, 32, 32});
  CHECK(ex.target == 5);
  CHECK(ex.data(0, 0, 0) == doctest::Approx(fixture_pixel(1, 0) / 255.0f));
  CHECK(ex.data(1, 2, 3) == doctest::Approx(fixture_pixel(1, 1024 + 2 * 32 + 3) / 255.0f));
  CHECK(ex.data(2, 31, 31) == doctest::Approx(fixture_pixel(1, 3071) / 255.0f));
  CHECK(test.get(2).target == 6);
  CHECK(train.classes().at(3) == "cat");
}

TEST_CASE("broken CIFAR10 batches are errors naming the file") {
  const auto root = temp_dir("cifar_bad");
  write_cifar(root, 2);
  const auto batch3 = root / "data_batch_3.bin";
  SUBCASE("missing") {
    std::filesystem::remove(batch3);
    CHECK_THROWS_WITH_AS(
        CIFAR10{root},
        doctest::Contains(("CIFAR10: no data_batch_3.bin in " + root.string()).c_str()), tg::Error);
  }
  SUBCASE("truncated") {
    auto bytes = cifar_records(2);
    bytes.resize(3073 + 100);
    write_bytes(batch3, bytes);
    CHECK_THROWS_WITH_AS(
        CIFAR10{root},
        doctest::Contains(
            (batch3.string() + ": expected a whole number of 3073-byte records").c_str()),
        tg::Error);
    CHECK_THROWS_WITH_AS(CIFAR10{root}, doctest::Contains("truncated at byte offset 3073"),
                         tg::Error);
  }
  SUBCASE("empty") {
    write_bytes(batch3, {});
    CHECK_THROWS_WITH_AS(CIFAR10{root}, doctest::Contains("got a file of 0 bytes"), tg::Error);
  }
  SUBCASE("label out of range") {
    auto bytes = cifar_records(2);
    bytes[3073] = 10;
    write_bytes(batch3, bytes);
    CHECK_THROWS_WITH_AS(
        CIFAR10{root},
        doctest::Contains((batch3.string() +
                           ": expected labels in [0, 10), got 10 at byte offset 3073 (record 1)")
                              .c_str()),
        tg::Error);
  }
  SUBCASE("gzipped") {
    std::filesystem::remove(batch3);
    write_gz(batch3, cifar_records(2));
    CHECK_THROWS_WITH_AS(CIFAR10{root}, doctest::Contains("got a gzip file"), tg::Error);
  }
}
