#pragma once
// The trainer's --recipe NAME: a named set of command-line options. The recipe's options
// are put before the user's, and the parser keeps the last value of an option given twice, so
// anything given explicitly overrides the recipe (`--recipe long --epochs 10`).
#include <string>
#include <vector>

namespace tg::examples {

/// A named set of options and what it is for.
struct Recipe {
  std::string name;
  std::vector<std::string> arguments;
  std::string purpose;
};

/// "default" (no options: the program's defaults) and "long" (see recipe.cpp for why each).
const std::vector<Recipe>& recipes();

/// The recipe's options as one line ("--epochs 40 --time-budget 52 ..."); empty for an unknown name.
std::string recipe_arguments_text(const std::string& name);

/// Whether the command line itself (not a recipe) has `option`, as "--name value" or "--name=value".
bool option_given(int argc, const char* const* argv, const std::string& option);

/// argv (program name first) with the options of its --recipe NAME (or --recipe=NAME) inserted
/// right after the program name. An unknown name inserts nothing (the option's own check
/// reports it).
std::vector<std::string> expand_recipe(int argc, const char* const* argv);

}  // namespace tg::examples
