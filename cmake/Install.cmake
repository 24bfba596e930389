# Install the libraries, headers and a CMake package so that another project can
# find_package(tapegrad) and link tapegrad::tapegrad.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(tapegrad_optional_targets)
set(tapegrad_header_areas autograd nn optim data distributed vision)
if(TARGET tapegrad_deploy)  # only where libonnx-dev is installed
  list(APPEND tapegrad_optional_targets tapegrad_deploy)
  list(APPEND tapegrad_header_areas deploy)
endif()
install(TARGETS tapegrad tapegrad_autograd tapegrad_nn tapegrad_optim tapegrad_data
                tapegrad_distributed tapegrad_vision tapegrad_options tapegrad_openblas ${tapegrad_optional_targets}
        EXPORT tapegradTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
# Only the public headers: kernels and the helpers behind readers, writers, DDP and export are
# internal (no public header includes them; the consumer test compiles <tapegrad/tapegrad.hpp>
# against the installed tree, so a public header that needed one would fail there).
set(tapegrad_internal_headers
  data/byte_reader.hpp data/image_decode.hpp
  deploy/graph.hpp deploy/lower.hpp deploy/recorder.hpp
  distributed/backend.hpp distributed/reducer.hpp
  nn/atomic_file.hpp nn/format.hpp nn/json_check.hpp
  optim/update_loop.hpp vision/init_weights.hpp)
foreach(area ${tapegrad_header_areas})
  file(GLOB headers RELATIVE ${PROJECT_SOURCE_DIR} CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${area}/*.hpp)
  list(REMOVE_ITEM headers ${tapegrad_internal_headers})
  install(FILES ${headers} DESTINATION include/tapegrad/${area})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/tapegrad.hpp DESTINATION include/tapegrad)
install(EXPORT tapegradTargets NAMESPACE tapegrad:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tapegradConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tapegradConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tapegradConfig.cmake ${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake
        ${PROJECT_SOURCE_DIR}/cmake/Dependencies.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)
