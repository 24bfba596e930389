#include "tapegrad/optim/optimizer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "tapegrad/autograd/error.hpp"

namespace tg::optim {

void Optimizer::step() {
  NoGradGuard no_grad;
  const std::size_t num_buffers = buffer_names().size();
  for (std::size_t g = 0; g < params_.size(); ++g) {
    for (std::size_t i = 0; i < params_[g].size(); ++i) {
      Variable& p = params_[g][i];
      if (!p.has_grad()) continue;
      Tensor& value = p.value();
      const Tensor& grad = p.grad();
      // The update loops run over raw buffers: a gradient of another shape would overrun them.
      TG_CHECK(grad.shape() == value.shape(), name_, ": expected the gradient of parameter ", i,
               " of group ", g, " to have the parameter's shape ", shape_str(value.shape()),
               ", got ", shape_str(grad.shape()));
      ParamState& state = state_[g][i];
      state.buffers.resize(num_buffers);
      ++state.step;
      update(g, value, grad, state);
    }
  }
}

void Optimizer::zero_grad() {
  for (auto& group : params_)
    for (auto& p : group) p.zero_grad();
}

const std::vector<Variable>& Optimizer::params(std::size_t group) const {
  TG_CHECK(group < params_.size(), name_, ": expected a parameter group index below ",
           params_.size(), ", got ", group);
  return params_[group];
}

std::vector<double> Optimizer::lrs() const {
  std::vector<double> out;
  for (std::size_t g = 0; g < num_param_groups(); ++g) out.push_back(lr(g));
  return out;
}

std::optional<double> Optimizer::initial_lr(std::size_t group) const {
  params(group);  // checks the index
  return initial_lr_[group];
}

void Optimizer::set_initial_lr(std::size_t group, double lr) {
  params(group);
  initial_lr_[group] = lr;
}

const ParamState& Optimizer::state(std::size_t group, std::size_t index) const {
  TG_CHECK(index < params(group).size(), name_, ": expected a parameter index below ",
           params_[group].size(), " in group ", group, ", got ", index);
  return state_[group][index];
}

void Optimizer::add_params(std::vector<Variable> params) {
  std::set<const Node*> seen;
  for (const auto& group : params_)
    for (const auto& p : group) seen.insert(p.node().get());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Variable& p = params[i];
    TG_CHECK(p.defined(), name_, ": expected defined parameters, got an undefined Variable at index ", i);
    TG_CHECK(p.is_leaf(), name_, ": expected leaf parameters, got the result of '", p.op_name(),
             "' at index ", i, " (can't optimize a non-leaf Variable)");
    TG_CHECK(seen.insert(p.node().get()).second, name_,
             ": expected each parameter once, got parameter ", i,
             " of a new group a second time (some parameters appear in more than one group)");
  }
  state_.emplace_back(params.size());
  initial_lr_.emplace_back();
  params_.push_back(std::move(params));
}

nn::TensorArchive Optimizer::state_dict() const {
  nn::TensorArchive out;
  auto& meta = out.metadata;
  meta["optimizer"] = name_;
  meta["param_groups"] = std::to_string(params_.size());
  const auto names = buffer_names();
  std::size_t flat = 0;
  for (std::size_t g = 0; g < params_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    meta[prefix + "num_params"] = std::to_string(params_[g].size());
    if (initial_lr_[g]) meta[prefix + "initial_lr"] = detail::format_double(*initial_lr_[g]);
    detail::OptionWriter writer(meta, prefix);
    // The writer only reads the options; visit_options is shared with the reader.
    const_cast<Optimizer*>(this)->visit_options(g, writer);
    for (const ParamState& s : state_[g]) {
      const std::string key = "state." + std::to_string(flat++) + ".";
      if (s.step == 0) continue;
      meta[key + "step"] = std::to_string(s.step);
      for (std::size_t b = 0; b < s.buffers.size() && b < names.size(); ++b)
        if (s.buffers[b]) out.tensors[key + names[b]] = *s.buffers[b];
    }
  }
  return out;
}

namespace {

// Splits "state.<i>.<rest>" into i and rest; false for other keys.
bool split_state_key(const std::string& key, std::size_t& index, std::string& rest) {
  if (key.rfind("state.", 0) != 0) return false;
  const auto dot = key.find('.', 6);
  if (dot == std::string::npos) return false;
  index = static_cast<std::size_t>(detail::parse_int(key.substr(6, dot - 6), key));
  rest = key.substr(dot + 1);
  return true;
}

}  // namespace

void Optimizer::load_state_dict(const nn::TensorArchive& archive) {
  const auto& meta = archive.metadata;
  const std::string owner = name_ + ".load_state_dict";
  const std::string& type = detail::require(meta, "optimizer", owner);
  TG_CHECK(type == name_, owner, ": expected the state of a ", name_, ", got that of a ",
           nn::detail::clip(type));
  const auto groups = detail::parse_int(detail::require(meta, "param_groups", owner), "param_groups");
  TG_CHECK(groups == static_cast<std::int64_t>(params_.size()), owner, ": expected ",
           params_.size(), " parameter groups, got ", groups);
  auto fresh = parse_state(archive, owner);
  restore_options(meta);  // last of the checks: rolls itself back when it throws
  state_ = std::move(fresh);
}

std::vector<std::vector<ParamState>> Optimizer::parse_state(const nn::TensorArchive& archive,
                                                            const std::string& owner) const {
  const auto& meta = archive.metadata;
  const auto names = buffer_names();
  // Where each flat index lives, and the fresh state filled in below.
  std::vector<std::pair<std::size_t, std::size_t>> where;
  std::vector<std::vector<ParamState>> fresh(params_.size());
  for (std::size_t g = 0; g < params_.size(); ++g) {
    const std::string key = "param_groups." + std::to_string(g) + ".num_params";
    const auto n = detail::parse_int(detail::require(meta, key, owner), key);
    TG_CHECK(n == static_cast<std::int64_t>(params_[g].size()), owner, ": expected ",
             params_[g].size(), " parameters in group ", g, ", got ", n);
    fresh[g].resize(params_[g].size());
    for (std::size_t i = 0; i < params_[g].size(); ++i) {
      where.emplace_back(g, i);
      fresh[g][i].buffers.resize(names.size());
    }
  }
  std::size_t index = 0;
  std::string rest;
  for (const auto& [key, text] : meta) {
    if (!split_state_key(key, index, rest)) continue;
    TG_CHECK(index < where.size() && rest == "step", owner, ": expected state entries of ",
             where.size(), " parameters, got '", nn::detail::clip(key), "'");
    auto& s = fresh[where[index].first][where[index].second];
    // Positive, and small enough that the next step() neither overflows nor loses exactness.
    s.step = detail::parse_count(text, key, 1);
  }
  for (const auto& [key, tensor] : archive.tensors) {
    TG_CHECK(split_state_key(key, index, rest) && index < where.size(), owner,
             ": expected tensors 'state.<i>.<buffer>' for ", where.size(), " parameters, got '",
             nn::detail::clip(key), "'");
    const auto [g, i] = where[index];
    const auto b = static_cast<std::size_t>(std::find(names.begin(), names.end(), rest) - names.begin());
    TG_CHECK(b < names.size(), owner, ": expected a ", name_, " buffer name, got '",
             nn::detail::clip(key), "'");
    TG_CHECK(fresh[g][i].step > 0, owner, ": expected '", key, "' to come with a step count");
    const Shape& shape = params_[g][i].shape();
    TG_CHECK(tensor.shape() == shape, owner, ": expected '", key, "' of shape ", shape_str(shape),
             ", got ", shape_str(tensor.shape()));
    fresh[g][i].buffers[b] = tensor;
  }
  return fresh;
}

void Optimizer::restore_options(const std::map<std::string, std::string>& meta) {
  // Restored in place, rolled back from a copy if any group's fail.
  std::map<std::string, std::string> backup;
  for (std::size_t g = 0; g < params_.size(); ++g) {
    detail::OptionWriter writer(backup, std::to_string(g) + ".");
    visit_options(g, writer);
  }
  std::vector<std::optional<double>> initial(params_.size());
  try {
    for (std::size_t g = 0; g < params_.size(); ++g) {
      const std::string prefix = "param_groups." + std::to_string(g) + ".";
      detail::OptionReader reader(meta, prefix);
      visit_options(g, reader);
      check_group(g);
      if (auto it = meta.find(prefix + "initial_lr"); it != meta.end()) {
        initial[g] = detail::parse_double(it->second, it->first);
        detail::check_nonnegative(name_.c_str(), "initial_lr", *initial[g]);
      }
    }
  } catch (...) {
    for (std::size_t g = 0; g < params_.size(); ++g) {
      detail::OptionReader reader(backup, std::to_string(g) + ".");
      visit_options(g, reader);
    }
    throw;
  }
  initial_lr_ = std::move(initial);
}

namespace detail {

void OptionWriter::operator()(const char* name, double& value) {
  out[prefix + name] = format_double(value);
}

void OptionWriter::operator()(const char* name, bool& value) {
  out[prefix + name] = value ? "true" : "false";
}

void OptionReader::operator()(const char* name, double& value) {
  const std::string key = prefix + name;
  value = parse_double(require(in, key, "load_state_dict"), key);
}

void OptionReader::operator()(const char* name, bool& value) {
  const std::string key = prefix + name;
  const std::string& text = require(in, key, "load_state_dict");
  TG_CHECK(text == "true" || text == "false", "load_state_dict: expected true or false in '",
           key, "', got '", nn::detail::clip(text), "'");
  value = text == "true";
}

std::string format_double(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

double parse_double(const std::string& text, const std::string& what) {
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  TG_CHECK(result.ec == std::errc() && result.ptr == text.data() + text.size(),
           "load_state_dict: expected a number in '", nn::detail::clip(what), "', got '",
           nn::detail::clip(text), "'");
  return value;
}

std::int64_t parse_int(const std::string& text, const std::string& what) {
  std::int64_t value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  TG_CHECK(!text.empty() && result.ec == std::errc() && result.ptr == text.data() + text.size(),
           "load_state_dict: expected an integer in '", nn::detail::clip(what), "', got '",
           nn::detail::clip(text), "'");
  return value;
}

std::int64_t parse_count(const std::string& text, const std::string& what, std::int64_t min) {
  const std::int64_t value = parse_int(text, what);
  TG_CHECK(value >= min && value <= kMaxCount, "load_state_dict: expected '", nn::detail::clip(what),
           "' in [", min, ", 2^53], got ", value);
  return value;
}

void check_range(const char* owner, const char* name, double value, double lo, double hi,
                 bool hi_open) {
  const bool ok = std::isfinite(value) && value >= lo && (hi_open ? value < hi : value <= hi);
  TG_CHECK(ok, owner, ": expected ", name, " in [", lo, ", ", hi, hi_open ? ")" : "]", ", got ",
           value);
}

void check_nonnegative(const char* owner, const char* name, double value) {
  TG_CHECK(value >= 0, owner, ": expected ", name, " >= 0, got ", value);
  TG_CHECK(std::isfinite(value), owner, ": expected a finite ", name, ", got ", value);
}

const std::string& require(const std::map<std::string, std::string>& metadata,
                           const std::string& key, const std::string& owner) {
  const auto it = metadata.find(key);
  TG_CHECK(it != metadata.end(), owner, ": expected metadata entry '", nn::detail::clip(key),
           "', got none");
  return it->second;
}

}  // namespace detail
}  // namespace tg::optim
