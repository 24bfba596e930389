#include <cstdlib>
#include <algorithm>

#include "tapegrad/distributed/backend.hpp"

namespace tg::distributed::detail {

int launched_world_size() {
  // Open MPI's mpirun, MPICH's Hydra (and Slurm's PMI), srun.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (const char* v = std::getenv(var)) return std::max(1, std::atoi(v));
  for (const char* var : {"PMI_RANK", "PMIX_RANK"})
    if (std::getenv(var) != nullptr) return 1;
  return 0;
}

int launched_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(var)) return std::max(0, std::atoi(v));
  return 0;
}

}  // namespace tg::distributed::detail
