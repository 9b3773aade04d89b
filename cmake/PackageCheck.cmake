# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS): after CPack installed the
# files into its staging folder, before it packs them. A package without its
# man pages (a build folder configured without scdoc) is refused here rather
# than shipped.
file(GLOB_RECURSE staged LIST_DIRECTORIES false RELATIVE "${CPACK_TEMPORARY_DIRECTORY}"
     "${CPACK_TEMPORARY_DIRECTORY}/*")
foreach(required IN LISTS CPACK_LAPORSMS_REQUIRED_FILES)
  set(found FALSE)
  foreach(file IN LISTS staged)
    if(file MATCHES "/${required}$")
      set(found TRUE)
    endif()
  endforeach()
  if(NOT found)
    message(FATAL_ERROR "the package lacks ${required}: install scdoc (scripts/install-deps) "
                        "and configure the build folder again")
  endif()
endforeach()
