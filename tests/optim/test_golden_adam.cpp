// Adam against PyTorch's numbers (tests/optim/golden/make_golden.py says how they were made).
#include "optim_test_util.hpp"

TEST_CASE("Adam matches PyTorch over 6 steps in every golden configuration") {
  tg::test::check_golden_cases("Adam", 9);
}
