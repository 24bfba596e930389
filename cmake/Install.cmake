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
foreach(area ${tapegrad_header_areas})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${area} DESTINATION include/tapegrad
          FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(EXPORT tapegradTargets NAMESPACE tapegrad:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tapegradConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tapegradConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tapegradConfig.cmake ${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake
        ${PROJECT_SOURCE_DIR}/cmake/Dependencies.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)
