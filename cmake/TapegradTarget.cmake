# Flags shared by every tapegrad target, set per target (no global flags).
add_library(tapegrad_options INTERFACE)
target_compile_features(tapegrad_options INTERFACE cxx_std_20)
target_compile_options(tapegrad_options INTERFACE
  $<BUILD_INTERFACE:-Wall -Wextra>
  $<$<AND:$<CONFIG:Release>,$<NOT:$<BOOL:${TAPEGRAD_SANITIZE}>>,$<NOT:$<BOOL:${TAPEGRAD_TSAN}>>>:-O3>)
if(TAPEGRAD_NATIVE)
  # Exported too: xsimd's allocator alignment (64 bytes with AVX-512, 16 with SSE) is part of
  # tg::Tensor's type, so every program using tapegrad must see the same instruction set.
  target_compile_options(tapegrad_options INTERFACE -march=native)
endif()
# The sanitizer builds keep line tables only (-g1, after the build type's -g): stack traces still
# name file and line, and full debug info of xtensor's templates doubled their compile time.
if(TAPEGRAD_SANITIZE)
  target_compile_options(tapegrad_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1 -g1)
  target_link_options(tapegrad_options INTERFACE -fsanitize=address,undefined)
endif()
if(TAPEGRAD_TSAN)
  target_compile_options(tapegrad_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer -O1 -g1)
  target_link_options(tapegrad_options INTERFACE -fsanitize=thread)
endif()
# XTENSOR_USE_XSIMD comes with xtensor::use_xsimd.

# tapegrad_precompile(<target> [headers...]): every source of the target starts from a
# precompiled xtensor (and the given headers). Parsing xtensor took 2-3 s of each file's build,
# across some 200 files in each of the four CI builds. PRIVATE: users' builds are untouched.
function(tapegrad_precompile target)
  target_precompile_headers(${target} PRIVATE <vector> <string> <memory> <functional>
                            <xtensor/xarray.hpp> ${ARGN})
endfunction()

# tapegrad_add_library(<area> [DEPENDS targets...]): one library per folder, built from every
# .cpp in it, so that adding a file needs no edit here and a wrong-way include fails to link.
# A folder with no sources yet is an interface library with the same name.
function(tapegrad_add_library area)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "DEPENDS")
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  set(target tapegrad_${area})
  if(sources)
    add_library(${target} ${sources})
    tapegrad_precompile(${target})
    set(scope PUBLIC)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(tapegrad::${area} ALIAS ${target})
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:include/tapegrad>)
  target_link_libraries(${target} ${scope} tapegrad_options xtensor xtensor::use_xsimd ${arg_DEPENDS})
endfunction()
