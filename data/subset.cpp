#include "tapegrad/data/subset.hpp"

#include <algorithm>
#include <numeric>

#include "tapegrad/autograd/error.hpp"

namespace tg::data {

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<std::size_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  TG_CHECK(base_ != nullptr, "Subset: expected a dataset, got none");
  for (std::size_t i : indices_)
    TG_CHECK(i < base_->size(), "Subset: expected indices below the dataset's size ",
             base_->size(), ", got ", i);
}

Example<> Subset::get(std::size_t index) const {
  TG_CHECK(index < indices_.size(), "Subset: expected an index below ", indices_.size(), ", got ", index);
  return base_->get(indices_[index]);
}

std::shared_ptr<const Dataset> subset(std::shared_ptr<const Dataset> base, std::size_t count) {
  std::vector<std::size_t> indices(std::min(count, base->size()));
  std::iota(indices.begin(), indices.end(), std::size_t{0});
  return std::make_shared<Subset>(std::move(base), std::move(indices));
}

}  // namespace tg::data
