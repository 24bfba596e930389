#include "examples/common/command_line.hpp"

#include <charconv>
#include <cstdlib>
#include <system_error>

#include <CLI/CLI.hpp>

namespace tg::examples {

namespace {

// CLI11 2.1's PositiveNumber and NonNegativeNumber are ranges up to DBL_MAX, and a value out of
// them was refused with all 309 digits of it: this says the bound in a line instead. Text that
// is no number passes here, for the conversion to refuse with its own message.
CLI::Validator at_least_zero(bool zero_allowed) {
  const std::string bound = zero_allowed ? ">= 0" : "> 0";
  return CLI::Validator(
      [zero_allowed, bound](std::string& text) {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') return std::string();
        const bool inside = zero_allowed ? value >= 0 : value > 0;  // NaN is outside both
        return inside ? std::string() : "expected a number " + bound + ", got " + text;
      },
      zero_allowed ? "NONNEGATIVE" : "POSITIVE");
}

// A number as the user wrote it: %g would print 1e+30 for 1e30, or round 10000.5.
CLI::Validator between(double low, double high) {
  const auto text_of = [](double v) {
    std::string t = std::to_string(v);
    t.erase(t.find_last_not_of('0') + 1);
    if (!t.empty() && t.back() == '.') t.pop_back();
    return t;
  };
  const std::string range = "[" + text_of(low) + ", " + text_of(high) + "]";
  return CLI::Validator(
      [low, high, range](std::string& text) {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') return std::string();
        const bool inside = value >= low && value <= high;  // NaN is outside
        return inside ? std::string() : "expected a number in " + range + ", got " + text;
      },
      "RANGE");
}

}  // namespace

CommandOption CommandOption::show_default() {
  option_->capture_default_str();
  return *this;
}

CommandOption CommandOption::positive() {
  option_->check(at_least_zero(false));
  return *this;
}

CommandOption CommandOption::nonnegative() {
  option_->check(at_least_zero(true));
  return *this;
}

CommandOption CommandOption::in_range(double low, double high) {
  option_->check(between(low, high));
  return *this;
}

CommandOption CommandOption::one_of(const std::vector<std::string>& names) {
  option_->check(CLI::IsMember(names));
  return *this;
}

CommandLine::CommandLine(const std::string& description) : app_(std::make_unique<CLI::App>(description)) {}

CommandLine::~CommandLine() = default;

CommandOption CommandLine::option(const std::string& name, int& value, const std::string& help) {
  return CommandOption(app_->add_option(name, value, help));
}

CommandOption CommandLine::option(const std::string& name, double& value, const std::string& help) {
  return CommandOption(app_->add_option(name, value, help));
}

CommandOption CommandLine::option(const std::string& name, std::uint64_t& value, const std::string& help) {
  // CLI11 2.1 reads an unsigned option with strtoull in base 0: "-1" wraps around to 2^64 - 1,
  // a value past 2^64 - 1 saturates to it (ERANGE unchecked), "010" is octal 8 and "0x10" 16.
  // Only decimal digits within range pass, handed on without leading zeros.
  const CLI::Validator whole_number(
      [](std::string& text) {
        std::uint64_t parsed = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, parsed);
        const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || error != std::errc() || stop != end)
          return "expected a whole number in [0, 18446744073709551615], got " + text.substr(0, 40);
        text = std::to_string(parsed);  // without leading zeros, so that CLI11 reads it as decimal
        return std::string();
      },
      "UINT");
  return CommandOption(app_->add_option(name, value, help)->transform(whole_number));  // transform: may rewrite
}

CommandOption CommandLine::option(const std::string& name, std::string& value, const std::string& help) {
  return CommandOption(app_->add_option(name, value, help));
}

void CommandLine::flag(const std::string& names, bool& value, const std::string& help) {
  app_->add_flag(names, value, help);
}

void CommandLine::flag(const std::string& name, std::function<void()> given, const std::string& help) {
  app_->add_flag_callback(name, std::move(given), help);
}

void CommandLine::last_value_wins() { app_->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast); }

std::optional<int> CommandLine::parse(int argc, const char* const* argv) {
  try {
    app_->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app_->exit(e);
  }
  return std::nullopt;
}

}  // namespace tg::examples
