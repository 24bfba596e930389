#pragma once
// Data-parallel training over MPI: the process group and collectives, DistributedDataParallel.
#include "distributed/comm.hpp"
#include "distributed/ddp.hpp"
#include "distributed/sync_batchnorm.hpp"
