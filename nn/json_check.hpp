#pragma once
// The checks nlohmann's parser does not make, run before it on untrusted JSON text.
#include <cstddef>
#include <string>

namespace tg::nn::detail {

/// Empty when `text` is valid JSON nested at most `max_depth` deep whose objects have unique
/// keys; otherwise what is wrong, quoting at most a short prefix of any value. One linear pass
/// (nlohmann's SAX parser, which is iterative: no recursion however deep the input).
std::string check_json(const std::string& text, std::size_t max_depth);

}  // namespace tg::nn::detail
