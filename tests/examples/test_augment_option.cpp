// The examples' --augment choice (issue 16: the default run trains without crops): each name
// builds the transform it says, and a wrong name is refused with the names that exist.
#include <set>

#include "examples/common/data_choice.hpp"
#include "examples/example_util.hpp"

#include <xtensor/xview.hpp>

namespace E = tg::examples;
using tg::test::run;
using tg::test::tiny_fashion_mnist;

namespace {

// One 8x8 grey image whose pixels all differ, so a mirror or a shift always shows.
tg::Tensor distinct_image() {
  tg::Tensor image = tg::Tensor::from_shape({1, 8, 8});
  for (std::size_t i = 0; i < image.size(); ++i) image.flat(i) = float(i) / 64.0f;
  return image;
}

tg::Tensor mirrored(const tg::Tensor& image) {
  return xt::eval(xt::view(image, xt::all(), xt::all(), xt::range(xt::placeholders::_, xt::placeholders::_, -1)));
}

// With mean 0 and deviation 1, normalising changes nothing: the output is the augmented image.
E::DataChoice unit_data() {
  E::DataChoice d;
  d.image_size = 8;
  d.mean = {0.0f};
  d.stddev = {1.0f};
  return d;
}

enum class Seen { image, mirror, other };

// What each of 100 seeds made of the image.
std::set<Seen> outcomes(E::Augment augment) {
  const tg::Tensor image = distinct_image(), mirror = mirrored(image);
  const auto transform = E::train_transform(unit_data(), augment);
  std::set<Seen> seen;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    tg::Generator gen(seed);
    const tg::Tensor out = transform(image, gen);
    REQUIRE(out.shape() == image.shape());
    seen.insert(out == image ? Seen::image : out == mirror ? Seen::mirror : Seen::other);
  }
  return seen;
}

}  // namespace

TEST_CASE("--augment names parse to the augmentation they name, in order") {
  CHECK(E::augment_names() == std::vector<std::string>{"none", "flip", "crop-flip"});
  CHECK(E::parse_augment("none") == E::Augment::none);
  CHECK(E::parse_augment("flip") == E::Augment::flip);
  CHECK(E::parse_augment("crop-flip") == E::Augment::crop_flip);
  CHECK_THROWS_WITH_AS(E::parse_augment("crop"),
                       doctest::Contains("--augment: expected one of none, flip, crop-flip, got \"crop\""),
                       tg::Error);
}

TEST_CASE("none keeps the image, flip mirrors about half of them, crop-flip also shifts") {
  CHECK(outcomes(E::Augment::none) == std::set<Seen>{Seen::image});
  CHECK(outcomes(E::Augment::flip) == std::set<Seen>{Seen::image, Seen::mirror});
  CHECK(outcomes(E::Augment::crop_flip).count(Seen::other) == 1);
}

TEST_CASE("trainer refuses an unknown --augment and lists the choices") {
  const auto bad = run("trainer", "--augment crop --data fashion-mnist:" + tiny_fashion_mnist().string());
  INFO(bad.output);
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("--augment") != std::string::npos);
  CHECK(bad.output.find("none") != std::string::npos);
  CHECK(bad.output.find("crop-flip") != std::string::npos);
}
