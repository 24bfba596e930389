#include "tapegrad/nn/sequential.hpp"

namespace tg::nn {

void SequentialImpl::append(const std::string& name, std::shared_ptr<Module> module, Call call) {
  register_module(name, module);
  steps_.push_back({std::move(module), std::move(call)});
}

Module& SequentialImpl::operator[](std::size_t i) const {
  TG_CHECK(i < steps_.size(), "Sequential: expected an index below ", steps_.size(), ", got ", i);
  return *steps_[i].module;
}

std::shared_ptr<Module> SequentialImpl::ptr(std::size_t i) const {
  TG_CHECK(i < steps_.size(), "Sequential: expected an index below ", steps_.size(), ", got ", i);
  return steps_[i].module;
}

Variable SequentialImpl::forward(const Variable& x) {
  // Each output is handed over to the next step, so that a ReLU after a batch norm works in
  // place and fuses (Layer::forward_owned); the caller's x is never changed.
  Variable y = x;
  for (auto& step : steps_) y = step.call(std::move(y));
  return y;
}

}  // namespace tg::nn
