#include "examples/common/command_line.hpp"

#include <cstdlib>

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
  // CLI11 2.1 reads "-1" into an unsigned option as 2^64 - 1 (strtoull wraps around): refuse a sign.
  const CLI::Validator no_sign(
      [](std::string& text) {
        return text.find('-') == std::string::npos ? std::string() : "expected a whole number >= 0, got " + text;
      },
      "UINT");
  return CommandOption(app_->add_option(name, value, help)->check(no_sign));
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
