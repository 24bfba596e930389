#pragma once
/// @file
/// torch.utils.data.Subset: a view of some samples of another dataset.
#include <memory>
#include <vector>

#include "tapegrad/data/dataset.hpp"

namespace tg::data {

/// The samples of `base` at `indices`, in that order (each index < base.size()).
class Subset : public Dataset {
 public:
  /// A null base or an index >= base->size() throws tg::Error.
  Subset(std::shared_ptr<const Dataset> base, std::vector<std::size_t> indices);
  std::size_t size() const override { return indices_.size(); }
  Example get(std::size_t index) const override;
  std::vector<std::string> classes() const override { return base_->classes(); }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<std::size_t> indices_;
};

/// The first min(count, size) samples of `base`.
std::shared_ptr<const Dataset> subset(std::shared_ptr<const Dataset> base, std::size_t count);

}  // namespace tg::data
