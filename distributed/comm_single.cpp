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
std::chrono::milliseconds bound{std::chrono::minutes(5)};
}

void init(const InitOptions& options) {
  const int requested = detail::launched_world_size();
  TG_CHECK(requested <= 1, "init: expected a world of one in a tapegrad built without MPI, got ",
           requested, " processes started by mpirun/srun; install Open MPI (apt-get install "
           "libopenmpi-dev openmpi-bin, or scripts/deps.sh) and configure tapegrad again");
  TG_CHECK(options.timeout.count() >= 0, "init: expected a timeout >= 0 (0: the default), got ",
           options.timeout.count(), " ms");
  if (options.timeout.count() > 0) bound = options.timeout;
  initialized = true;
}
void finalize() { initialized = false; }
bool is_initialized() { return initialized; }
std::chrono::milliseconds timeout() { return bound; }
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

// A world of one completes every collective at once: there is no state to hold.
struct Work::State {};
Work::Work() = default;
Work::~Work() = default;
Work::Work(const Work&) = default;
Work& Work::operator=(const Work&) = default;
Work::Work(std::shared_ptr<State> state) : state_(std::move(state)) {}
bool Work::is_completed() { return true; }
bool Work::wait() { return true; }

Work all_reduce(Tensor&, ReduceOp, const CollectiveOptions&) { return Work(); }
Work broadcast(Tensor& t, int root, const CollectiveOptions&) {
  broadcast(t, root);
  return Work();
}
Work barrier(const CollectiveOptions&) { return Work(); }
Work all_gather(Tensor& out, const Tensor& t, const CollectiveOptions&) {
  Shape shape{1};
  shape.insert(shape.end(), t.shape().begin(), t.shape().end());
  TG_CHECK(out.shape() == shape, "all_gather: expected an output of shape ", shape_str(shape),
           " (the world size, then the input's shape), got ", shape_str(out.shape()));
  std::copy(t.data(), t.data() + t.size(), out.data());
  return Work();
}

namespace detail {
struct AsyncSum::Impl {};
AsyncSum::AsyncSum(float*, std::size_t, std::int64_t) {}
AsyncSum::~AsyncSum() = default;
bool AsyncSum::test() { return true; }
void AsyncSum::wait() {}
void sum_in_place(float*, std::size_t) {}
void sum_in_place(double*, std::size_t) {}
void control_min(std::int64_t*, std::size_t, std::int64_t) {}
void broadcast_string(std::string&, int) {}
void broadcast_floats(float*, std::size_t, int) {}
}  // namespace detail

}  // namespace tg::distributed
#endif  // TAPEGRAD_WITH_MPI
