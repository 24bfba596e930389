// doctest's main for the multi-process suite: every rank joins the world first, runs the same
// test cases in the same order (so collectives match), and exits non-zero if any check failed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <tapegrad/distributed/comm.hpp>

int main(int argc, char** argv) {
  tg::distributed::init();
  doctest::Context context(argc, argv);
  // Only rank 0 prints the summary; failures print on the rank they happen.
  if (tg::distributed::rank() != 0) context.setOption("no-intro", true);
  const int failed = context.run();
  tg::distributed::finalize();
  return failed;
}
