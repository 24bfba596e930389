#include "examples/common/distributed_evaluation.hpp"

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/distributed/distributed.hpp>

namespace tg::examples {

// Each rank evaluated its own test images: sum the counts so that every image counts once.
void reduce_over_ranks(Evaluation& e) {
  const std::size_t k = e.confusion.size();
  Tensor sums = zeros({k * k + 1}).value();
  for (std::size_t t = 0; t < k; ++t)
    for (std::size_t p = 0; p < k; ++p) sums(t * k + p) = float(e.confusion[t][p]);
  sums(k * k) = float(e.loss * double(e.truth.size()));
  distributed::all_reduce(sums);
  double total = 0, correct = 0;
  for (std::size_t t = 0; t < k; ++t)
    for (std::size_t p = 0; p < k; ++p) {
      e.confusion[t][p] = long(sums(t * k + p));
      total += sums(t * k + p);
      correct += t == p ? sums(t * k + p) : 0;
    }
  e.loss = total ? sums(k * k) / total : 0;
  e.accuracy = total ? correct / total : 0;
}

}  // namespace tg::examples
