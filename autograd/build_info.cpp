#include "tapegrad/autograd/build_info.hpp"

#include <sstream>
#include <string_view>

#include "tapegrad/autograd/autocast.hpp"
#include "tapegrad/autograd/kernels/gemm.hpp"
#include "tapegrad/autograd/kernels/small_gemm.hpp"
#include "tapegrad/autograd/threads.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace tg {

namespace {

std::string compiler() {
#if defined(__clang__)
  return "Clang " __clang_version__;
#elif defined(__GNUC__)
  return "GCC " __VERSION__;
#else
  return "unknown compiler";
#endif
}

// The vector extensions the compiler was allowed to use (-march), by its predefined macros.
std::string build_flags() {
  std::string flags;
  auto add = [&flags](const char* name) {
    if (!flags.empty()) flags.push_back(' ');
    flags.append(name);
  };
#if defined(__x86_64__)
#if defined(__SSE4_2__)
  add("sse4.2");
#endif
#if defined(__AVX__)
  add("avx");
#endif
#if defined(__AVX2__)
  add("avx2");
#endif
#if defined(__FMA__)
  add("fma");
#endif
#if defined(__AVX512F__)
  add("avx512f");
#endif
#if defined(__AVX512BW__)
  add("avx512bw");
#endif
#if defined(__AVX512VL__)
  add("avx512vl");
#endif
#if defined(__AVX512BF16__)
  add("avx512bf16");
#endif
#if defined(__AVX512FP16__)
  add("avx512fp16");
#endif
#endif
  if (flags.empty()) add("baseline");
#if defined(TAPEGRAD_MARCH_NATIVE)
  return flags + " (-march=native, TAPEGRAD_NATIVE=ON)";
#else
  return flags + " (TAPEGRAD_NATIVE=OFF)";
#endif
}

std::string cpu() {
#if defined(__x86_64__) && defined(__GNUC__)
  unsigned regs[12] = {};  // the brand string: 48 characters from three extended leaves
  for (unsigned leaf = 0; leaf < 3; ++leaf)
    __get_cpuid(0x80000002u + leaf, &regs[4 * leaf], &regs[4 * leaf + 1], &regs[4 * leaf + 2], &regs[4 * leaf + 3]);
  std::string brand(reinterpret_cast<const char*>(regs), sizeof(regs));
  brand = brand.substr(0, brand.find('\0'));
  brand.erase(0, brand.find_first_not_of(' '));
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __get_cpuid(1, &eax, &ebx, &ecx, &edx);
  unsigned family = (eax >> 8) & 0xf, model = (eax >> 4) & 0xf;
  if (family == 0xf) family += (eax >> 20) & 0xff;
  if (family == 6 || family >= 0xf) model |= ((eax >> 16) & 0xf) << 4;
  std::ostringstream out;
  out << brand << " (family " << family << " model " << model << "):";
  __builtin_cpu_init();
#define TG_FEATURE(name) \
  if (__builtin_cpu_supports(name)) out << " " name;
  TG_FEATURE("sse4.2") TG_FEATURE("avx") TG_FEATURE("avx2") TG_FEATURE("fma")
  TG_FEATURE("avx512f") TG_FEATURE("avx512bw") TG_FEATURE("avx512vl") TG_FEATURE("avx512vnni")
  TG_FEATURE("avx512bf16")
#undef TG_FEATURE
  return out.str();
#else
  return "not x86-64";
#endif
}

}  // namespace

std::string build_info() {
  using namespace kernels;
  const GemmBackend& gemm = gemm_backend();
  std::ostringstream out;
  out << "tapegrad build info\n"
      << "  compiler:   " << compiler() << ", C++" << __cplusplus / 100 % 100
#if defined(NDEBUG)
      << ", NDEBUG"
#endif
      << "\n  build ISA:  " << isa_name(build_isa()) << ": " << build_flags()
      << "\n  CPU:        " << cpu() << " -> " << isa_name(cpu_isa())
      << "\n  GEMM:       " << gemm.library << ", kernels " << gemm.kernels << " ("
      << isa_name(gemm.isa) << ")"
      << "\n  BLAS found: " << gemm_backends()
      << "\n  conv GEMM:  small_gemm on xsimd " << small_gemm_arch() << " ("
      << isa_name(small_gemm_isa()) << "), for >= 16 output channels per group"
      << "\n  autocast:   " << autocast::kernel_choice()
      << "\n  threads:    " << get_num_threads() << " (OpenMP)\n";
  return out.str();
}

}  // namespace tg
