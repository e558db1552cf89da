# The embeddable octet: liboctet.so (SONAME liboctet.so.MAJOR, only the C API exported) and liboctet.a (the whole
# engine in one archive), installed with the public headers, a CMake package (octet::octet) and octet.pc.
# Included from the top-level CMakeLists.txt after octet_core is defined. See docs/embedding.md.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The header's version macros must say what the project says (octet_version() returns the latter).
file(STRINGS ${PROJECT_SOURCE_DIR}/include/octet/octet.h _octet_h_version REGEX "#define OCTET_VERSION_(MAJOR|MINOR|PATCH) ")
string(REGEX REPLACE "[^0-9;]*([0-9]+)" "\\1." _octet_h_version "${_octet_h_version}")
string(REPLACE ";" "" _octet_h_version "${_octet_h_version}")
if(NOT "${_octet_h_version}" STREQUAL "${PROJECT_VERSION}.")
  message(FATAL_ERROR "include/octet/octet.h says version ${_octet_h_version}, the project ${PROJECT_VERSION}")
endif()

# Shared: c_api.cpp compiled with hidden visibility (OCTET_API marks the exports); the engine comes from the
# static archives, and the version script keeps every symbol but octet_* local.
set(OCTET_SYMBOL_MAP ${PROJECT_SOURCE_DIR}/cmake/octet.map)
add_library(octet_shared SHARED ${PROJECT_SOURCE_DIR}/engine/c_api.cpp)
set_target_properties(octet_shared PROPERTIES
  OUTPUT_NAME octet EXPORT_NAME octet
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
  LINK_DEPENDS ${OCTET_SYMBOL_MAP})
target_compile_options(octet_shared PRIVATE ${OCTET_WARNINGS})
target_link_libraries(octet_shared PRIVATE octet_core)
target_link_options(octet_shared PRIVATE -Wl,--version-script=${OCTET_SYMBOL_MAP} -Wl,--no-undefined)
target_include_directories(octet_shared INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

# Static: one archive holding octet_core, the kernels and the ONNX schema (ar's MRI script merges the archives),
# so a user links liboctet.a plus the system libraries octet.pc's Libs.private lists.
set(OCTET_STATIC_ARCHIVE ${CMAKE_ARCHIVE_OUTPUT_DIRECTORY}/liboctet.a)
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/octet_static.mri CONTENT
"create ${OCTET_STATIC_ARCHIVE}
addlib $<TARGET_FILE:octet_core>
addlib $<TARGET_FILE:octet_kernels>
addlib $<TARGET_FILE:octet_proto>
save
end
")
add_custom_command(OUTPUT ${OCTET_STATIC_ARCHIVE}
  COMMAND ${CMAKE_COMMAND} -E rm -f ${OCTET_STATIC_ARCHIVE}
  COMMAND ${CMAKE_COMMAND} -DAR=${CMAKE_AR} -DMRI=${CMAKE_BINARY_DIR}/octet_static.mri
          -P ${PROJECT_SOURCE_DIR}/cmake/merge_archives.cmake
  DEPENDS octet_core octet_kernels octet_proto ${CMAKE_BINARY_DIR}/octet_static.mri
  COMMENT "liboctet.a")
add_custom_target(octet_static ALL DEPENDS ${OCTET_STATIC_ARCHIVE})

install(TARGETS octet_shared EXPORT octetTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${OCTET_STATIC_ARCHIVE} DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/octet/octet.h ${PROJECT_SOURCE_DIR}/include/octet/octet.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/octet)
install(TARGETS octet RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT octetTargets NAMESPACE octet:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/octet)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/octetConfig.cmake.in
  ${CMAKE_BINARY_DIR}/octetConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/octet
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
# Same major version = same SONAME = compatible.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/octetConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/octetConfig.cmake ${CMAKE_BINARY_DIR}/octetConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/octet)
file(RELATIVE_PATH OCTET_PC_PREFIX_FROM_PCDIR ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(${PROJECT_SOURCE_DIR}/cmake/octet.pc.in ${CMAKE_BINARY_DIR}/octet.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/octet.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
