// tg::build_info() and the kernels it reports: the GEMM selected at run time must use the full
// width of the CPU, never less than the build targets (no silent SSE3 on an AVX-512 machine,
// which Debian's OpenBLAS 0.3.21 does on CPUs newer than itself).
#include <string>

#include <tapegrad/autograd/kernels/gemm.hpp>
#include <tapegrad/autograd/kernels/small_gemm.hpp>
#include "test_util.hpp"

using namespace tg;
using namespace tg::kernels;

TEST_CASE("the GEMM selected at run time is as wide as the CPU, and not narrower than the build") {
  const GemmBackend& gemm = gemm_backend();
  CAPTURE(gemm.library);
  CAPTURE(gemm.kernels);
  const std::string gemm_isa = isa_name(gemm.isa), cpu = isa_name(cpu_isa()), build = isa_name(build_isa());
  CAPTURE(gemm_isa);
  CAPTURE(cpu);
  CAPTURE(build);
  // The program runs, so the CPU has what the build targets.
  CHECK(cpu_isa() >= build_isa());
  CHECK(gemm.isa >= build_isa());
  if (cpu_isa() == Isa::scalar) {
    MESSAGE("not an x86-64 CPU: no x86 vector width to compare the GEMM kernels with");
    return;
  }
  CHECK_MESSAGE(gemm.isa == cpu_isa(), "GEMM runs ", gemm.kernels, " (", isa_name(gemm.isa),
                ") kernels on a CPU with ", isa_name(cpu_isa()), ": ", gemm_backends());
}

TEST_CASE("small_gemm is compiled for the widest vectors the build targets") {
  const std::string arch = small_gemm_arch();
  CAPTURE(arch);
  if (build_isa() == Isa::scalar) {
    MESSAGE("the build targets no x86 vector extension: nothing to compare small_gemm with");
    return;
  }
  CHECK(small_gemm_isa() == build_isa());
#if defined(__AVX512F__)
  CHECK(arch.find("avx512") != std::string::npos);
#endif
}

TEST_CASE("build_info names the compiler, the CPU's and the build's ISA, the GEMM kernels, the threads") {
  const std::string info = build_info();
  const GemmBackend& gemm = gemm_backend();
  CHECK(info.find("compiler:") != std::string::npos);
  CHECK(info.find(std::string("build ISA:  ") + isa_name(build_isa())) != std::string::npos);
  CHECK(info.find(std::string("-> ") + isa_name(cpu_isa())) != std::string::npos);
  CHECK(info.find("GEMM:       " + gemm.library + ", kernels " + gemm.kernels) != std::string::npos);
  CHECK(info.find("OpenBLAS") != std::string::npos);
  CHECK(info.find("threads:    " + std::to_string(get_num_threads())) != std::string::npos);
}
