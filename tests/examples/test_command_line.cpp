// The examples' command lines (CLI11 behind examples/common/command_line.hpp): each value type,
// both forms of an option, switches and their negations, the value checks, a repeated option,
// and the exit codes of --help and of a bad command line.
#include <optional>

#include "examples/common/command_line.hpp"
#include "examples/example_util.hpp"

namespace E = tg::examples;

namespace {

std::optional<int> parse(E::CommandLine& line, std::vector<const char*> args) {
  args.insert(args.begin(), "program");
  return line.parse(int(args.size()), args.data());
}

struct Values {
  int epochs = 3;
  double lr = 0.1;
  std::uint64_t seed = 0;
  std::string mode = "stop";
  bool resume = false, nesterov = true, tta = false, plain = false;
};

// A command line over `v` as the trainer declares its options.
void declare(E::CommandLine& line, Values& v) {
  line.option("--epochs", v.epochs, "epochs").show_default().positive();
  line.option("--lr", v.lr, "learning rate").show_default().nonnegative();
  line.option("--seed", v.seed, "seed");
  line.option("--mode", v.mode, "stop or skip").one_of({"stop", "skip"});
  line.flag("--resume", v.resume, "resume");
  line.flag("!--no-nesterov", v.nesterov, "plain momentum");
  line.flag("--tta,!--no-tta", v.tta, "flip TTA");
  line.flag("--plain", [&v] { v.plain = true; }, "called when given");
}

}  // namespace

TEST_CASE("CommandLine reads each type in both forms, switches, negations and callbacks") {
  Values v;
  E::CommandLine line("test");
  declare(line, v);
  CHECK_FALSE(parse(line, {"--epochs", "7", "--lr=0.25", "--seed", "18446744073709551615", "--mode", "skip",
                           "--resume", "--no-nesterov", "--tta", "--plain"}));
  CHECK(v.epochs == 7);
  CHECK(v.lr == 0.25);
  CHECK(v.seed == 18446744073709551615ull);
  CHECK(v.mode == "skip");
  CHECK(v.resume);
  CHECK_FALSE(v.nesterov);
  CHECK(v.tta);
  CHECK(v.plain);

  Values defaults;
  E::CommandLine untouched("test");
  declare(untouched, defaults);
  CHECK_FALSE(parse(untouched, {"--tta", "--no-tta"}));
  CHECK(defaults.epochs == 3);
  CHECK(defaults.nesterov);
  CHECK_FALSE(defaults.tta);
  CHECK_FALSE(defaults.plain);
}

TEST_CASE("CommandLine refuses bad values and unknown options with a non-zero code; --help gives 0") {
  const std::vector<std::vector<const char*>> refused{
      {"--epochs", "0"}, {"--epochs", "two"}, {"--lr", "-0.1"}, {"--mode", "maybe"}, {"--seed", "ten"},
      {"--seed", "-1"},  {"--unknown"},     {"--epochs"}};
  for (const auto& args : refused) {
    Values v;
    E::CommandLine line("test");
    declare(line, v);
    const auto code = parse(line, args);
    const std::string shown = std::string(args[0]) + (args.size() > 1 ? std::string(" ") + args[1] : "");
    INFO(shown);
    REQUIRE(code.has_value());
    CHECK(*code != 0);
  }
  Values v;
  E::CommandLine line("test");
  declare(line, v);
  CHECK(parse(line, {"--help"}) == std::optional<int>(0));
}

TEST_CASE("CommandLine: a repeated option is refused, or keeps its last value after last_value_wins") {
  Values v;
  E::CommandLine strict("test");
  declare(strict, v);
  const auto code = parse(strict, {"--epochs", "5", "--epochs", "6"});
  REQUIRE(code.has_value());
  CHECK(*code != 0);

  Values last;
  E::CommandLine recipe("test");
  recipe.last_value_wins();
  declare(recipe, last);
  CHECK_FALSE(parse(recipe, {"--epochs", "5", "--mode", "skip", "--epochs", "6", "--mode", "stop"}));
  CHECK(last.epochs == 6);
  CHECK(last.mode == "stop");
}

TEST_CASE("CommandLine reads a whole number in decimal only and within 64 bits; in_range refuses NaN and both sides") {
  std::uint64_t seed = 0;
  E::CommandLine decimal("test");
  decimal.option("--seed", seed, "seed");
  CHECK_FALSE(parse(decimal, {"--seed", "010"}));  // CLI11 alone read octal 8
  CHECK(seed == 10);
  for (const char* bad : {"18446744073709551616", "99999999999999999999999", "0x10", "1e3", "+5", ""}) {
    E::CommandLine line("test");
    line.option("--seed", seed, "seed");
    INFO(bad);
    const auto code = parse(line, {"--seed", bad});
    REQUIRE(code.has_value());
    CHECK(*code != 0);
  }
  for (const char* bad : {"nan", "-1", "10000", "1024.5"}) {
    int threads = 0;
    E::CommandLine line("test");
    line.option("--threads", threads, "threads").in_range(0, 1024);
    INFO(bad);
    const auto code = parse(line, {"--threads", bad});
    REQUIRE(code.has_value());
    CHECK(*code != 0);
  }
  int threads = 0;
  E::CommandLine line("test");
  line.option("--threads", threads, "threads").in_range(0, 1024);
  CHECK_FALSE(parse(line, {"--threads", "1024"}));
  CHECK(threads == 1024);
}
