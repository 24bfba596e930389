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
