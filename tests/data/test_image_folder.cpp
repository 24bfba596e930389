// ImageFolder: classes from sorted sub-folders, PNG/BMP/JPEG decoded, pixels and labels read back.
#include <doctest/doctest.h>

#include <tapegrad/data/data.hpp>
#include "data_test_util.hpp"

using namespace data_test;

namespace {

tg::Tensor constant_image(std::size_t c, std::size_t h, std::size_t w, float value) {
  tg::Tensor t = tg::empty_tensor({c, h, w});
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
  CHECK(ant.target == 0);
  REQUIRE(ant.data.shape() == tg::Shape{3, 8, 8});
  CHECK(ant.data(1, 4, 4) == doctest::Approx(128 / 255.0f).epsilon(0.02));  // JPEG: near
  const auto grey = folder.get(1);  // a grey PNG read as RGB
  CHECK(grey.target == 1);
  REQUIRE(grey.data.shape() == tg::Shape{3, 4, 6});
  CHECK(grey.data(2, 3, 5) == doctest::Approx(200 / 255.0f));
  CHECK(folder.get(2).data(0, 0, 0) == doctest::Approx(40 / 255.0f));
  CHECK(folder.get(3).data(1, 2, 2) == 1.0f);

  const td::ImageFolder grey_folder(root, {.channels = 1});
  CHECK(grey_folder.get(2).data.shape() == tg::Shape{1, 4, 6});
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

TEST_CASE("issue 12.5: directory symlinks are followed once, a cycle neither repeats nor hangs") {
  const auto root = temp_dir("folder_links");
  namespace fs = std::filesystem;
  fs::create_directories(root / "cat" / "sub");
  fs::create_directories(root / "shared");
  tg::data::write_image(root / "cat" / "a.png", constant_image(1, 2, 2, 0.5f));
  tg::data::write_image(root / "cat" / "sub" / "b.png", constant_image(1, 2, 2, 0.5f));
  tg::data::write_image(root / "shared" / "c.png", constant_image(1, 2, 2, 0.5f));
  fs::create_directory_symlink(".", root / "cat" / "again");          // a cycle
  fs::create_directory_symlink("..", root / "cat" / "sub" / "up");    // a second one
  fs::create_directory_symlink("../shared", root / "cat" / "link1");  // two links to one folder
  fs::create_directory_symlink("../shared", root / "cat" / "link2");
  fs::create_directory_symlink("missing", root / "cat" / "dangling");

  const tg::data::ImageFolder folder(root);
  REQUIRE(folder.classes() == std::vector<std::string>{"cat", "shared"});
  REQUIRE(folder.size() == 4);  // cat: a, sub/b, link1/c (once); shared: c
  CHECK(folder.path(0) == root / "cat" / "a.png");
  CHECK(folder.path(1) == root / "cat" / "link1" / "c.png");
  CHECK(folder.path(2) == root / "cat" / "sub" / "b.png");
  CHECK(folder.path(3) == root / "shared" / "c.png");
  CHECK(folder.get(2).target == 0);
}

TEST_CASE("ImageFolderOptions::max_pixels reaches the decoder") {
  const auto root = temp_dir("folder_budget");
  std::filesystem::create_directories(root / "big");
  tg::data::write_image(root / "big" / "x.png", constant_image(3, 4, 5, 0.5f));
  const tg::data::ImageFolder folder(root, {.max_pixels = 19});
  CHECK_THROWS_WITH_AS(folder.get(0),
                       doctest::Contains("claims 5x4 = 20 pixels, more than max_pixels = 19"),
                       tg::Error);
  CHECK(tg::data::ImageFolder(root, {.max_pixels = 20}).get(0).data.shape() ==
        tg::Shape{3, 4, 5});
  CHECK_THROWS_WITH_AS(tg::data::ImageFolder(root, {.max_pixels = 0}),
                       doctest::Contains("expected max_pixels >= 1, got 0"), tg::Error);
}
