#pragma once
// The process group: which process this is among how many, and collectives on tensors, in
// place. Built on MPI; a program started without a launcher (mpirun, srun) is a world of one,
// where every call below works and communicates nothing.
//
// A job never hangs silently: before each collective the ranks exchange what they are about to
// do (a sequence number, the collective, its size, root and reduce op), so a rank that calls a
// different collective, passes other sizes or another root, or has left (returned from main,
// called exit() or finalize()) is reported on every rank; and every wait is bounded by the
// timeout of init() (InitOptions::timeout, or the environment variable TAPEGRAD_DIST_TIMEOUT in
// seconds; 300 s by default): a rank that does not arrive, or a transfer that does not
// complete, ends the whole job (MPI_Abort) with a message naming the collective, its sequence
// number and the ranks that did not arrive.
#include <chrono>
#include <memory>

#include "tapegrad/autograd/tensor.hpp"

namespace tg::distributed {

/// Options of init(), like the arguments of PyTorch's init_process_group.
struct InitOptions {
  /// The longest any collective (and finalize()) may wait for the other ranks before the job
  /// is ended with a message (PyTorch's `timeout=`). Zero: the environment variable
  /// TAPEGRAD_DIST_TIMEOUT (seconds, fractions allowed) when set, else 300 s. Every rank
  /// should pass the same value.
  std::chrono::milliseconds timeout{0};
};

/// Joins the world mpirun/srun started (MPI_Init when the environment names more than one
/// process); without a launcher, a world of one. Idempotent (a later call with a non-zero
/// timeout changes the timeout). An exception that escapes main() then ends the whole job
/// (MPI_Abort) with its message instead of leaving the others waiting. After finalize(), a
/// tg::Error under a launcher: MPI cannot be initialised twice in one process.
void init(const InitOptions& options = {});
/// Leaves the world (MPI_Finalize); also done at exit, so a rank that returns from main() or
/// calls exit() while others still wait in a collective is reported to them (and the job
/// ends) instead of hanging. Collective: every rank waits here, within the timeout, for the
/// others to finish their collectives. No collective may follow.
void finalize();
/// Whether init() ran (and finalize() did not).
bool is_initialized();
/// The bound on every wait (see InitOptions::timeout) in force now.
std::chrono::milliseconds timeout();
/// This process's index in [0, world_size()). Without a launcher, 0; under a launcher, before
/// init() or after finalize(), the rank the launcher's environment gives (collectives are then
/// a tg::Error).
int rank();
/// Number of processes. Without a launcher, 1; under a launcher, before init() or after
/// finalize(), the number the launcher started.
int world_size();
/// Waits until every rank reaches it.
void barrier();

/// How all_reduce combines the ranks' tensors.
enum class ReduceOp {
  Sum,  ///< elementwise sum
  Avg,  ///< elementwise mean over ranks
  Max   ///< elementwise maximum
};

/// Every rank's t combined elementwise by op, written into t on every rank. Every rank must
/// pass a tensor of the same number of elements and the same op (checked first: a clear error
/// on every rank).
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
/// Overwrites t on every rank with root's t (same number of elements and the same root on
/// every rank, checked).
void broadcast(Tensor& t, int root = 0);
/// Every rank's t stacked in rank order: shape [world_size(), t.shape()...] (same shape on
/// every rank, checked).
Tensor all_gather(const Tensor& t);

/// Options of the collectives' second form (PyTorch's keyword arguments).
struct CollectiveOptions {
  /// true: return at once with the collective in flight; Work::wait() completes it (PyTorch's
  /// `async_op=True`). false: return once it is complete.
  bool async_op = false;
};

/// A collective started with {.async_op = true} (PyTorch's Work / LibTorch's
/// c10d::Work). Lifetime rule: the tensor passed to the collective must stay alive, and must
/// not be read or written, until wait() returns or is_completed() is true; destroying the
/// last copy of a Work still in flight waits for it. Copies share the one collective.
class Work {
 public:
  /// A completed collective (nothing to wait for).
  Work();
  /// Waits for the collective when this is the last copy and it is still in flight.
  ~Work();
  /// Another handle on the same collective.
  Work(const Work&);
  /// Makes this a handle on other's collective (releasing the one it had, as ~Work does).
  Work& operator=(const Work&);
  /// Whether the collective has completed (lets MPI progress; never blocks). A tg::Error when
  /// the ranks turned out to disagree (different sizes, ops or roots: nothing was sent).
  bool is_completed();
  /// Blocks until the collective is complete (within the timeout of init(), else the job
  /// ends with a message); returns true. The same tg::Error as is_completed() on disagreement.
  bool wait();

  /// The implementation's state (defined by the backend).
  struct State;
  /// Wraps a backend state (used by the collectives).
  explicit Work(std::shared_ptr<State> state);

 private:
  std::shared_ptr<State> state_;
};

/// all_reduce with options: with {.async_op = true} it returns at once (MPI_Iallreduce) and
/// `t` holds the result after the returned Work's wait(). The same checks as all_reduce.
Work all_reduce(Tensor& t, ReduceOp op, const CollectiveOptions& options);
/// broadcast with options: with {.async_op = true} it returns at once (MPI_Ibcast).
Work broadcast(Tensor& t, int root, const CollectiveOptions& options);
/// all_gather into `out`, which must have the shape [world_size(), t.shape()...] (PyTorch's
/// all_gather_into_tensor); with {.async_op = true} it returns at once (MPI_Iallgather) and
/// both `out` and `t` must outlive the wait.
Work all_gather(Tensor& out, const Tensor& t, const CollectiveOptions& options);
/// barrier with options: with {.async_op = true} it returns at once (MPI_Ibarrier).
Work barrier(const CollectiveOptions& options);

}  // namespace tg::distributed
