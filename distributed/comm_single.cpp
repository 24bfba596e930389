// The process group of a build without MPI: always a world of one, where every collective
// leaves its tensor as it is. A launcher asking for more processes gets an error saying how to
// enable MPI, rather than N processes each training alone.
#ifndef TAPEGRAD_WITH_MPI
#include <algorithm>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/distributed/backend.hpp"
#include "tapegrad/distributed/comm.hpp"

namespace tg::distributed {

namespace {
bool initialized = false;
}

void init() {
  const int requested = detail::launched_world_size();
  TG_CHECK(requested <= 1, "init: expected a world of one in a tapegrad built without MPI, got ",
           requested, " processes started by mpirun/srun; install Open MPI (apt-get install "
           "libopenmpi-dev openmpi-bin, or scripts/deps.sh) and configure tapegrad again");
  initialized = true;
}
void finalize() { initialized = false; }
bool is_initialized() { return initialized; }
int rank() { return 0; }
int world_size() { return 1; }
void barrier() {}
void all_reduce(Tensor&, ReduceOp) {}

void broadcast(Tensor&, int root) {
  TG_CHECK(root == 0, "broadcast: expected a root in [0, 1), got ", root);
}

Tensor all_gather(const Tensor& t) {
  Shape shape{1};
  shape.insert(shape.end(), t.shape().begin(), t.shape().end());
  Tensor out = empty_tensor(shape);
  std::copy(t.data(), t.data() + t.size(), out.data());
  return out;
}

namespace detail {
struct AsyncSum::Impl {};
AsyncSum::AsyncSum(float*, std::size_t) {}
AsyncSum::~AsyncSum() = default;
bool AsyncSum::test() { return true; }
void AsyncSum::wait() {}
void sum_in_place(float*, std::size_t) {}
void sum_in_place(double*, std::size_t) {}
void control_min(std::int64_t*, std::size_t) {}
void broadcast_string(std::string&, int) {}
void broadcast_floats(float*, std::size_t, int) {}
}  // namespace detail

}  // namespace tg::distributed
#endif  // TAPEGRAD_WITH_MPI
