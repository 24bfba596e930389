#pragma once
// Data-parallel training over MPI: the process group and collectives, DistributedDataParallel.
#include "tapegrad/distributed/comm.hpp"
#include "tapegrad/distributed/ddp.hpp"
#include "tapegrad/distributed/sync_batchnorm.hpp"
