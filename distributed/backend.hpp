#pragma once
// Internal: the few MPI operations DistributedDataParallel and SyncBatchNorm need beyond the
// public collectives, so that only comm.cpp includes mpi.h.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tg::distributed::detail {

/// How many processes a launcher (mpirun, srun) started, from the environment it sets: 0 when
/// none did (a plain run), 1 when one did without saying how many.
int launched_world_size();
/// This process's rank as the launcher's environment gives it (0 when none does).
int launched_rank();

/// A sum-allreduce in flight on the gradient communicator.
class AsyncSum {
 public:
  /// Starts summing data[0, n) across ranks in place (MPI_Iallreduce), once the ranks agree
  /// on the size and on `pass` (DDP's backward pass number: ranks at different passes are an
  /// error naming both).
  AsyncSum(float* data, std::size_t n, std::int64_t pass = 0);
  ~AsyncSum();
  AsyncSum(const AsyncSum&) = delete;
  AsyncSum& operator=(const AsyncSum&) = delete;
  /// Lets MPI progress; whether the sum is complete (MPI_Test). A tg::Error when the ranks
  /// disagree.
  bool test();
  /// Blocks until complete, within the timeout (else the job ends with a message).
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Blocking sum of data[0, n) across ranks, in place, on the gradient communicator (SyncBatchNorm's
/// statistics: a rank that calls something else at that point is reported as such).
void sum_in_place(float* data, std::size_t n);
void sum_in_place(double* data, std::size_t n);
/// Elementwise minimum of v[0, n) over ranks, in place, on a communicator of its own, so that
/// it may run while gradient allreduces are still in flight (DDP's agreement on unused
/// parameters).
void control_min(std::int64_t* v, std::size_t n, std::int64_t pass = 0);
/// Root's string on every rank (on the control communicator).
void broadcast_string(std::string& s, int root);
/// Root's bytes data[0, n) on every rank (sizes agreed beforehand).
void broadcast_floats(float* data, std::size_t n, int root);

}  // namespace tg::distributed::detail
