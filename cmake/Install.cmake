# Install the libraries, headers and a CMake package so that another project can
# find_package(tapegrad) and link tapegrad::tapegrad.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS tapegrad tapegrad_autograd tapegrad_nn tapegrad_optim tapegrad_data
                tapegrad_distributed tapegrad_vision tapegrad_options tapegrad_openblas
        EXPORT tapegradTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(area autograd nn optim data distributed vision)
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
