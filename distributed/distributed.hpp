#pragma once
/// @file
/// Data-parallel training over MPI: the process group and collectives, DistributedDataParallel.
#include "tapegrad/distributed/comm.hpp"
#include "tapegrad/distributed/ddp.hpp"
#include "tapegrad/distributed/sync_batchnorm.hpp"

/// @namespace tg::distributed
/// Data-parallel training over MPI (torch.distributed): the process group, collectives on
/// tensors, DistributedDataParallel and SyncBatchNorm.
