#include "tapegrad/nn/summary.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <sstream>

#include "tapegrad/nn/format.hpp"

namespace tg::nn {

namespace detail {

namespace {

// Installs a call log for the current thread and removes it again, also when forward throws.
class LogScope {
 public:
  explicit LogScope(std::vector<CallRecord>& log) : previous_(call_log()) { call_log() = &log; }
  ~LogScope() { call_log() = previous_; }
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;

 private:
  std::vector<CallRecord>* previous_;
};

// Puts every module back in the mode it had. Restoring in pre-order (parents before children)
// undoes the recursion of each parent's train() by the children's own calls.
class ModeScope {
 public:
  explicit ModeScope(Module& model) {
    for (Module* m : model.modules()) modes_.emplace_back(m, m->is_training());
    model.train(false);
  }
  ~ModeScope() {
    for (auto& [m, mode] : modes_) m->train(mode);
  }
  ModeScope(const ModeScope&) = delete;
  ModeScope& operator=(const ModeScope&) = delete;

 private:
  std::vector<std::pair<Module*, bool>> modes_;
};

}  // namespace

Summary summarize(Module& model, const std::function<void()>& run) {
  std::map<const Module*, std::string> names;
  for (auto& [name, m] : model.named_modules()) names.emplace(m, name);
  std::vector<CallRecord> log;
  {
    ModeScope modes(model);
    NoGradGuard no_grad;
    LogScope scope(log);
    run();
  }
  Summary s;
  std::set<const Module*> seen;
  for (const auto& call : log) {
    auto it = names.find(call.module);
    if (it == names.end() || !call.module->children().empty()) continue;  // leaves of this model
    SummaryRow row{
        it->second,        call.module->name(), call.output, 0, !seen.insert(call.module).second,
        call.multiply_adds};
    if (!row.repeated) row.parameters = call.module->num_parameters();
    s.total_multiply_adds += call.multiply_adds;
    s.rows.push_back(std::move(row));
  }
  s.total_parameters = model.num_parameters();
  s.trainable_parameters = model.num_parameters(true);
  return s;
}

}  // namespace detail

std::string Summary::str() const {
  std::vector<std::array<std::string, 4>> cells;
  cells.push_back({"Layer (type)", "Output Shape", "Param #", "Mult-Adds"});
  for (const auto& r : rows)
    cells.push_back({(r.name.empty() ? "(model)" : r.name) + " (" + r.type + ")",
                     shape_str(r.output_shape), r.repeated ? "--" : detail::thousands(r.parameters),
                     detail::thousands(r.multiply_adds)});
  std::array<std::size_t, 4> width{};
  for (const auto& c : cells)
    for (std::size_t i = 0; i < 4; ++i) width[i] = std::max(width[i], c[i].size());
  std::ostringstream out;
  const std::size_t total_width = width[0] + width[1] + width[2] + width[3] + 6;
  const std::string rule(total_width, '=');
  auto line = [&](const std::array<std::string, 4>& c) {
    out << c[0] << std::string(width[0] - c[0].size() + 2, ' ') << c[1]
        << std::string(width[1] - c[1].size() + 2, ' ') << std::string(width[2] - c[2].size(), ' ')
        << c[2] << "  " << std::string(width[3] - c[3].size(), ' ') << c[3] << "\n";
  };
  line(cells[0]);
  out << rule << "\n";
  for (std::size_t i = 1; i < cells.size(); ++i) line(cells[i]);
  out << rule << "\n"
      << "Total params: " << detail::thousands(total_parameters) << "\n"
      << "Trainable params: " << detail::thousands(trainable_parameters) << "\n"
      << "Non-trainable params: " << detail::thousands(total_parameters - trainable_parameters)
      << "\n"
      << "Total mult-adds: " << detail::thousands(total_multiply_adds) << "\n";
  return out.str();
}

}  // namespace tg::nn
