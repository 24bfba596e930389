#pragma once
// The examples' command lines: CLI11 behind a small interface, compiled once (command_line.cpp).
// CLI11 is header-only and its App is defined inline, so each program that included it compiled
// all of it again: 17 s per program at -O3 and 40 s under ASan, for a five-line parse.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace tg::examples {

/// The option just added, to show its default in --help and to check its value.
class CommandOption {
 public:
  explicit CommandOption(CLI::Option* option) : option_(option) {}
  /// Shows the value it had when added as "[value]" in --help.
  CommandOption show_default();
  /// Refuses a value <= 0.
  CommandOption positive();
  /// Refuses a value < 0.
  CommandOption nonnegative();
  /// Refuses a value outside [low, high] (and NaN), naming the range.
  CommandOption in_range(double low, double high);
  /// Refuses a value not in `names`.
  CommandOption one_of(const std::vector<std::string>& names);

 private:
  CLI::Option* option_;
};

/// A program's options, parsed the way CLI11 does (--name value, --name=value, --help).
class CommandLine {
 public:
  explicit CommandLine(const std::string& description);
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  CommandOption option(const std::string& name, int& value, const std::string& help);
  CommandOption option(const std::string& name, double& value, const std::string& help);
  CommandOption option(const std::string& name, std::uint64_t& value, const std::string& help);
  CommandOption option(const std::string& name, std::string& value, const std::string& help);
  /// A switch: "--resume" sets true, "!--no-sync-bn" sets false, "--tta,!--no-tta" either.
  void flag(const std::string& names, bool& value, const std::string& help);
  /// A switch that runs `given` when present.
  void flag(const std::string& name, std::function<void()> given, const std::string& help);
  /// An option given twice keeps its last value, so that options put before the user's (a
  /// recipe's) give way to them. Applies to the options added after the call.
  void last_value_wins();
  /// Parses the arguments. std::nullopt: go on; otherwise --help was printed (0) or the error
  /// (non-zero), and the program should exit with that code.
  std::optional<int> parse(int argc, const char* const* argv);

 private:
  std::unique_ptr<CLI::App> app_;
};

}  // namespace tg::examples
