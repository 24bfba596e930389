// CIFAR10 on an arbitrary test_batch.bin: a dataset whose every sample reads, or a tg::Error.
#include <cstddef>
#include <cstdint>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/data/cifar.hpp>
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tg_fuzz::write_input("test_batch.bin", data, size);
  try {
    const tg::data::CIFAR10 cifar(tg_fuzz::work_dir(), tg::data::Split::Test);
    for (std::size_t i = 0; i < cifar.size(); ++i)
      if (cifar.get(i).target < 0 || cifar.get(i).target > 9) __builtin_trap();
  } catch (const tg::Error&) {
  }
  return 0;
}
