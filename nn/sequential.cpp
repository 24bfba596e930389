#include "nn/sequential.hpp"

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
  Variable y = x;
  for (auto& step : steps_) y = step.call(y);
  return y;
}

}  // namespace tg::nn
