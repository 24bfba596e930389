# Every dependency comes from a Debian package (scripts/deps.sh installs what is missing).
find_package(xtl REQUIRED)
find_package(xsimd REQUIRED)
find_package(xtensor REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(PNG REQUIRED)    # image decoding (libpng-dev)
find_package(JPEG REQUIRED)   # image decoding (libjpeg62-turbo-dev)
find_package(nlohmann_json 3 REQUIRED)

# OpenBLAS's OpenMP build: inside our own parallel regions it sees omp_in_parallel() and runs
# single-threaded, so OpenMP is the one owner of the threads (the pthread build would fight it).
find_path(TAPEGRAD_CBLAS_INCLUDE cblas.h
  PATHS /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/aarch64-linux-gnu/openblas-openmp
  NO_DEFAULT_PATH)
find_library(TAPEGRAD_OPENBLAS openblas
  PATHS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/aarch64-linux-gnu/openblas-openmp
  NO_DEFAULT_PATH)
if(NOT TAPEGRAD_CBLAS_INCLUDE OR NOT TAPEGRAD_OPENBLAS)
  message(FATAL_ERROR "OpenBLAS (OpenMP build) not found: run scripts/deps.sh, or "
                      "apt-get install libopenblas-openmp-dev")
endif()
add_library(tapegrad_openblas INTERFACE)
target_include_directories(tapegrad_openblas SYSTEM INTERFACE ${TAPEGRAD_CBLAS_INCLUDE})
target_link_libraries(tapegrad_openblas INTERFACE ${TAPEGRAD_OPENBLAS} OpenMP::OpenMP_CXX)

# oneDNN (its OpenMP build, the same threads): dnnl_sgemm picks its kernels from the CPU's
# feature bits, where OpenBLAS picks them by CPU model and falls back to SSE3 on a CPU newer
# than itself. GEMM uses it only then (autograd/kernels/gemm.cpp); without it, OpenBLAS alone.
find_path(TAPEGRAD_DNNL_INCLUDE oneapi/dnnl/dnnl.h)
find_library(TAPEGRAD_DNNL dnnl)
if(TAPEGRAD_DNNL_INCLUDE AND TAPEGRAD_DNNL)
  target_include_directories(tapegrad_openblas SYSTEM INTERFACE ${TAPEGRAD_DNNL_INCLUDE})
  target_link_libraries(tapegrad_openblas INTERFACE ${TAPEGRAD_DNNL})
else()
  message(WARNING "oneDNN not found (apt-get install libdnnl-dev, or run scripts/deps.sh): GEMM "
                  "runs on OpenBLAS alone, at SSE3 speed on a CPU newer than that OpenBLAS")
endif()
