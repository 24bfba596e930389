#pragma once
// The process group: which process this is among how many, and collectives on tensors, in
// place. Built on MPI; a program started without a launcher (mpirun, srun) is a world of one,
// where every call below works and communicates nothing.
#include "tapegrad/autograd/tensor.hpp"

namespace tg::distributed {

/// Joins the world mpirun/srun started (MPI_Init when the environment names more than one
/// process); without a launcher, a world of one. Idempotent. An exception that escapes main()
/// then ends the whole job (MPI_Abort) with its message instead of leaving the others waiting.
void init();
/// Leaves the world (MPI_Finalize); also done at exit. No collective may follow.
void finalize();
/// Whether init() ran (and finalize() did not).
bool is_initialized();
/// This process's index in [0, world_size()); 0 before init().
int rank();
/// Number of processes; 1 before init() or without a launcher.
int world_size();
/// Waits until every rank reaches it.
void barrier();

enum class ReduceOp { Sum, Avg, Max };

/// Every rank's t combined elementwise by op, written into t on every rank. Every rank must
/// pass a tensor of the same number of elements (checked first: a clear error on every rank).
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
/// Overwrites t on every rank with root's t (same number of elements on every rank, checked).
void broadcast(Tensor& t, int root = 0);
/// Every rank's t stacked in rank order: shape [world_size(), t.shape()...] (same shape on
/// every rank, checked).
Tensor all_gather(const Tensor& t);

}  // namespace tg::distributed
