// MPI behind the process group (comm_single.cpp stands in when MPI was not found). Only this
// file includes mpi.h. Two duplicates of
// MPI_COMM_WORLD keep traffic apart: one for tensors and gradients, one for DDP's small
// control messages, which may run while gradient allreduces are still in flight.
#ifdef TAPEGRAD_WITH_MPI
#include "tapegrad/distributed/comm.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>

#include "tapegrad/autograd/error.hpp"
#include "tapegrad/distributed/backend.hpp"

namespace tg::distributed {

namespace {

struct World {
  bool initialized = false;
  bool mpi = false;  // MPI_Init ran (a launcher started us)
  int rank = 0, size = 1;
  MPI_Comm data = MPI_COMM_NULL, control = MPI_COMM_NULL;
};
World& world() {
  static World w;
  return w;
}

// An exception escaping main() on one rank would leave the others blocked in a collective:
// print it and take the job down.
void abort_job() {
  const char* what = "unknown exception";
  std::string message;
  if (auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      message = ex.what();
      what = message.c_str();
    } catch (...) {
    }
  }
  std::fprintf(stderr, "tapegrad: rank %d of %d failed: %s\n", world().rank, world().size, what);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

int checked_count(const char* op, std::size_t n) {
  TG_CHECK(n <= std::size_t(INT_MAX), op, ": expected at most ", INT_MAX,
           " elements per call, got ", n);
  return int(n);
}

// Throws on every rank when v differs across ranks (one small allreduce).
void check_same(const char* op, const char* what, std::int64_t v, const std::string& shown) {
  std::int64_t both[2] = {v, -v};
  MPI_Allreduce(MPI_IN_PLACE, both, 2, MPI_INT64_T, MPI_MAX, world().data);
  TG_CHECK(both[0] == -both[1], op, ": expected the same ", what, " on every rank, got ",
           shown, " on rank ", world().rank, " and others differing (largest ", both[0],
           ", smallest ", -both[1], "); every rank must pass matching tensors");
}

bool multi() { return world().mpi && world().size > 1; }

}  // namespace

void init() {
  World& w = world();
  if (w.initialized) return;
  w.initialized = true;
  // A plain run does not call MPI_Init (Open MPI would start a daemon for a world of one).
  if (detail::launched_world_size() == 0) return;
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  w.mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  MPI_Comm_dup(MPI_COMM_WORLD, &w.data);
  MPI_Comm_dup(MPI_COMM_WORLD, &w.control);
  if (w.size > 1) std::set_terminate(abort_job);
  std::atexit(finalize);
}

void finalize() {
  World& w = world();
  if (!w.initialized) return;
  if (w.mpi) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      MPI_Comm_free(&w.data);
      MPI_Comm_free(&w.control);
      MPI_Finalize();
    }
  }
  w = World{};
}

bool is_initialized() { return world().initialized; }
int rank() { return world().rank; }
int world_size() { return world().size; }

void barrier() {
  if (multi()) MPI_Barrier(world().data);
}

void all_reduce(Tensor& t, ReduceOp op) {
  if (!multi()) return;  // one rank: the sum, mean and max of one tensor are itself
  const int n = checked_count("all_reduce", t.size());
  check_same("all_reduce", "number of elements", n, shape_str(t.shape()));
  MPI_Allreduce(MPI_IN_PLACE, t.data(), n, MPI_FLOAT, op == ReduceOp::Max ? MPI_MAX : MPI_SUM,
                world().data);
  if (op == ReduceOp::Avg) {
    const float scale = 1.0f / float(world().size);
    std::for_each(t.data(), t.data() + t.size(), [scale](float& v) { v *= scale; });
  }
}

void broadcast(Tensor& t, int root) {
  TG_CHECK(root >= 0 && root < world_size(), "broadcast: expected a root in [0, ",
           world_size(), "), got ", root);
  if (!multi()) return;
  const int n = checked_count("broadcast", t.size());
  check_same("broadcast", "number of elements", n, shape_str(t.shape()));
  MPI_Bcast(t.data(), n, MPI_FLOAT, root, world().data);
}

Tensor all_gather(const Tensor& t) {
  Shape shape{std::size_t(world_size())};
  shape.insert(shape.end(), t.shape().begin(), t.shape().end());
  Tensor out = empty_tensor(shape);
  if (!multi()) {
    std::copy(t.data(), t.data() + t.size(), out.data());
    return out;
  }
  const int n = checked_count("all_gather", t.size());
  const std::string s = shape_str(t.shape());
  check_same("all_gather", "shape", std::int64_t(std::hash<std::string>{}(s) >> 1), s);
  MPI_Allgather(t.data(), n, MPI_FLOAT, out.data(), n, MPI_FLOAT, world().data);
  return out;
}

namespace detail {

struct AsyncSum::Impl {
  MPI_Request request = MPI_REQUEST_NULL;
};

AsyncSum::AsyncSum(float* data, std::size_t n) : impl_(std::make_unique<Impl>()) {
  if (!multi()) return;  // one rank: already the sum
  MPI_Iallreduce(MPI_IN_PLACE, data, checked_count("all_reduce", n), MPI_FLOAT, MPI_SUM,
                 world().data, &impl_->request);
}

AsyncSum::~AsyncSum() {
  // A request still in flight must complete before its buffer goes (MPI_Cancel does not
  // apply to collectives).
  if (impl_->request != MPI_REQUEST_NULL) wait();
}

bool AsyncSum::test() {
  if (impl_->request == MPI_REQUEST_NULL) return true;
  int done = 0;
  MPI_Test(&impl_->request, &done, MPI_STATUS_IGNORE);
  return done != 0;
}

void AsyncSum::wait() {
  if (impl_->request != MPI_REQUEST_NULL) MPI_Wait(&impl_->request, MPI_STATUS_IGNORE);
}

void sum_in_place(float* data, std::size_t n) {
  if (!multi()) return;
  MPI_Allreduce(MPI_IN_PLACE, data, checked_count("all_reduce", n), MPI_FLOAT, MPI_SUM,
                world().data);
}

void sum_in_place(double* data, std::size_t n) {
  if (!multi()) return;
  MPI_Allreduce(MPI_IN_PLACE, data, checked_count("all_reduce", n), MPI_DOUBLE, MPI_SUM,
                world().data);
}

void control_min(std::int64_t* v, std::size_t n) {
  if (!multi()) return;
  MPI_Allreduce(MPI_IN_PLACE, v, checked_count("all_reduce", n), MPI_INT64_T, MPI_MIN,
                world().control);
}

void broadcast_string(std::string& s, int root) {
  if (!multi()) return;
  std::int64_t size = std::int64_t(s.size());
  MPI_Bcast(&size, 1, MPI_INT64_T, root, world().control);
  s.resize(std::size_t(size));
  MPI_Bcast(s.data(), checked_count("broadcast", s.size()), MPI_CHAR, root, world().control);
}

void broadcast_floats(float* data, std::size_t n, int root) {
  if (!multi()) return;
  MPI_Bcast(data, checked_count("broadcast", n), MPI_FLOAT, root, world().data);
}

}  // namespace detail

}  // namespace tg::distributed
#endif  // TAPEGRAD_WITH_MPI
