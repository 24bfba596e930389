// Rank 1 throws out of main while rank 0 waits in a collective: the job must end at once with a
// non-zero exit and rank 1's message (tests/distributed/CMakeLists.txt checks both).
#include <stdexcept>

#include <tapegrad/distributed/comm.hpp>

int main() {
  tg::distributed::init();
  if (tg::distributed::rank() == 1) throw std::runtime_error("boom from the data loader");
  tg::distributed::barrier();  // rank 0 would wait here forever without MPI_Abort
  return 0;
}
