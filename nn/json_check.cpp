#include "tapegrad/nn/json_check.hpp"

#include <nlohmann/json.hpp>
#include <unordered_set>
#include <vector>

#include "tapegrad/nn/safetensors.hpp"

namespace tg::nn::detail {
namespace {

using json = nlohmann::json;

// Counts depth and remembers each open object's keys (a hash set per object: linear overall;
// nlohmann's callback parser rescans the parent object at the end of every child, quadratic).
class Checker final : public nlohmann::json_sax<json> {
 public:
  explicit Checker(std::size_t max_depth) : max_depth_(max_depth) {}
  std::string error;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open(); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    if (keys_.back().insert(k).second) return true;
    error = "expected unique keys in each JSON object, got '" + clip(k) + "' twice";
    return false;
  }
  bool parse_error(std::size_t position, const std::string&, const json::exception& e) override {
    // e.what() quotes the last token read, which may be megabytes long.
    error = "expected a JSON header, got invalid JSON at byte " + std::to_string(position) +
            " (" + clip(e.what(), 160) + ")";
    return false;
  }

 private:
  bool open() {
    if (keys_.size() >= max_depth_) {
      error = "expected JSON nested at most " + std::to_string(max_depth_) +
              " deep, got deeper nesting";
      return false;
    }
    keys_.emplace_back();  // arrays get an unused set: one stack for the depth too
    return true;
  }
  bool close() {
    keys_.pop_back();
    return true;
  }
  std::size_t max_depth_;
  std::vector<std::unordered_set<std::string>> keys_;
};

}  // namespace

std::string check_json(const std::string& text, std::size_t max_depth) {
  Checker checker(max_depth);
  const bool ok = json::sax_parse(text, &checker, json::input_format_t::json, true);
  if (!ok && checker.error.empty()) checker.error = "expected a JSON header, got invalid JSON";
  return ok ? std::string() : checker.error;
}

}  // namespace tg::nn::detail
