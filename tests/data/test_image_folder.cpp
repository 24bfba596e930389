// ImageFolder: classes from sorted sub-folders, PNG/BMP/JPEG decoded, pixels and labels read back.
#include <doctest/doctest.h>

#include "data/data.hpp"
#include "data_test_util.hpp"

using namespace data_test;

namespace {

tg::Tensor constant_image(std::size_t c, std::size_t h, std::size_t w, float value) {
  tg::Tensor t = tg::empty({c, h, w});
  std::fill(t.data(), t.data() + t.size(), value);
  return t;
}

}  // namespace

TEST_CASE("ImageFolder reads one class per sorted sub-folder") {
  const auto root = temp_dir("folder");
  namespace td = tg::data;
  // Created out of order: classes and files must come back sorted.
  std::filesystem::create_directories(root / "zebra" / "nested");
  std::filesystem::create_directories(root / "ant");
  td::write_image(root / "zebra" / "b.bmp", constant_image(3, 4, 6, 40 / 255.0f));
  td::write_image(root / "zebra" / "a.PNG", constant_image(1, 4, 6, 200 / 255.0f));
  td::write_image(root / "zebra" / "nested" / "c.png", constant_image(3, 4, 6, 1.0f));
  td::write_image(root / "ant" / "x.jpg", constant_image(3, 8, 8, 128 / 255.0f));
  write_bytes(root / "ant" / "readme.txt", Bytes{'h', 'i'});  // not an image: ignored
  write_bytes(root / "stray.png", Bytes{1, 2, 3});            // not in a class folder: ignored

  const td::ImageFolder folder(root);
  REQUIRE(folder.classes() == std::vector<std::string>{"ant", "zebra"});
  REQUIRE(folder.size() == 4);
  CHECK(folder.path(1).filename() == "a.PNG");
  CHECK(folder.path(3).filename() == "c.png");

  const auto ant = folder.get(0);
  CHECK(ant.label == 0);
  REQUIRE(ant.image.shape() == tg::Shape{3, 8, 8});
  CHECK(ant.image(1, 4, 4) == doctest::Approx(128 / 255.0f).epsilon(0.02));  // JPEG: near
  const auto grey = folder.get(1);  // a grey PNG read as RGB
  CHECK(grey.label == 1);
  REQUIRE(grey.image.shape() == tg::Shape{3, 4, 6});
  CHECK(grey.image(2, 3, 5) == doctest::Approx(200 / 255.0f));
  CHECK(folder.get(2).image(0, 0, 0) == doctest::Approx(40 / 255.0f));
  CHECK(folder.get(3).image(1, 2, 2) == 1.0f);

  const td::ImageFolder grey_folder(root, {.channels = 1});
  CHECK(grey_folder.get(2).image.shape() == tg::Shape{1, 4, 6});
}

TEST_CASE("ImageFolder errors: missing root, empty class, corrupt file") {
  const auto root = temp_dir("folder_bad");
  CHECK_THROWS_WITH_AS(tg::data::ImageFolder{root / "absent"}, doctest::Contains("got no folder"),
                       tg::Error);
  CHECK_THROWS_WITH_AS(tg::data::ImageFolder{root},
                       doctest::Contains("expected one sub-folder of images per class"), tg::Error);
  std::filesystem::create_directories(root / "empty");
  CHECK_THROWS_WITH_AS(tg::data::ImageFolder{root},
                       doctest::Contains(("got none in " + (root / "empty").string()).c_str()),
                       tg::Error);
  write_bytes(root / "empty" / "broken.png", Bytes{0x89, 'P', 'N', 'G', 1, 2, 3});
  const tg::data::ImageFolder folder(root);
  CHECK_THROWS_WITH_AS(folder.get(0), doctest::Contains("broken.png"), tg::Error);
  CHECK_THROWS_WITH_AS(tg::data::ImageFolder(root, {.channels = 2}),
                       doctest::Contains("expected channels 1, 3 or 4, got 2"), tg::Error);
}
