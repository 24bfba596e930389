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
# The first target with a given header list (and PIC setting) builds the header; the later ones
# reuse its file, as their flags are the same (all from tapegrad_options): each build of it took
# 10-15 s, and a build tree made 16 of them. Reuse makes the target depend on the first one, so
# a target built alone (scripts/tsan.sh's test_threads) says OWN and builds its own.
function(tapegrad_precompile target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "OWN" "" "")
  set(headers ${arg_UNPARSED_ARGUMENTS})
  get_target_property(pic ${target} POSITION_INDEPENDENT_CODE)
  string(MD5 key "${pic};${headers}")
  get_property(donor GLOBAL PROPERTY tapegrad_pch_${key})
  if(donor AND NOT arg_OWN)
    target_precompile_headers(${target} REUSE_FROM ${donor})
  else()
    target_precompile_headers(${target} PRIVATE <vector> <string> <memory> <functional>
                              <xtensor/xarray.hpp> ${headers})
    if(NOT arg_OWN)  # here, no donor yet
      set_property(GLOBAL PROPERTY tapegrad_pch_${key} ${target})
    endif()
  endif()
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
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    tapegrad_precompile(${target})
    set(scope PUBLIC)
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(tapegrad::${area} ALIAS ${target})
  # Headers are included as <tapegrad/AREA/file.hpp> from the build tree (the link made by the
  # top-level CMakeLists) and from an install (include/tapegrad/AREA), never as <AREA/...>:
  # a user's own nn/ or data/ folder must not collide with ours.
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${TAPEGRAD_INCLUDE_ROOT}> $<INSTALL_INTERFACE:include>)
  target_link_libraries(${target} ${scope} tapegrad_options xtensor xtensor::use_xsimd ${arg_DEPENDS})
endfunction()
