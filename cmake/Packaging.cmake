# What `cmake --install` places and how CPack makes the Debian package of it
# (`cpack -G DEB` in the build folder). Included from CMakeLists.txt after the
# two programs are defined.
#
# The binaries, the man pages, the docs and the sysusers/tmpfiles files go
# under CMAKE_INSTALL_PREFIX (CPack's DEB generator installs with /usr). Two
# destinations are absolute whatever the prefix, because that is where the
# daemon and systemd look: the configuration (/etc/laporsms) and the unit
# (/lib/systemd/system, where Debian 12 keeps units).
include(GNUInstallDirs)

set(LAPORSMS_CONFIG_DIR "/etc/laporsms" CACHE PATH
    "Where the configuration is installed (absolute; the daemon's default path is in it)")
set(LAPORSMS_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH
    "Where the systemd units are installed (absolute)")

# Full RELRO for the two installed programs (Debian's hardening flags; only
# a relink).
target_link_options(laporsmsd PRIVATE LINKER:-z,relro LINKER:-z,now)
target_link_options(laporctl PRIVATE LINKER:-z,relro LINKER:-z,now)
install(TARGETS laporsmsd DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS laporctl DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES conf/laporsmsd.toml DESTINATION ${LAPORSMS_CONFIG_DIR})
# Every unit in systemd/ (the daemon's, and timers and their services).
file(GLOB LAPORSMS_UNITS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/systemd/*.service
     ${PROJECT_SOURCE_DIR}/systemd/*.timer)
install(FILES ${LAPORSMS_UNITS} DESTINATION ${LAPORSMS_SYSTEMD_UNIT_DIR})
install(FILES systemd/laporsms.sysusers DESTINATION lib/sysusers.d RENAME laporsms.conf)
install(FILES systemd/laporsms.tmpfiles DESTINATION lib/tmpfiles.d RENAME laporsms.conf)
# copyright: Debian's machine-readable form, pointing to the Apache-2.0 text
# in /usr/share/common-licenses; LICENSE is that text for installs that are
# not the package (lintian notes it as "extra-license-file", an info tag).
install(FILES README.md LICENSE packaging/deb/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The Prometheus alert rules and the Grafana dashboard (README "Metrics and
# alerts"): examples an operator copies into their own monitoring.
install(FILES contrib/prometheus/alerts.yml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/prometheus)
install(FILES contrib/grafana/laporsms.json DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/grafana)

# The man pages: scdoc(5) sources in man/, rendered and gzip'd at build time
# (milliseconds; part of ALL when scdoc is there). Without scdoc the build and
# the demo go on without them, and `cpack` refuses to make a package that
# lacks them (PackageCheck.cmake).
set(LAPORSMS_MAN_PAGES laporsmsd.8 laporctl.8 laporsmsd.toml.5)
find_program(SCDOC_PROGRAM scdoc)
set(rendered_docs "")
if(SCDOC_PROGRAM)
  foreach(page IN LISTS LAPORSMS_MAN_PAGES)
    set(source ${PROJECT_SOURCE_DIR}/man/${page}.scd)
    set(output ${PROJECT_BINARY_DIR}/man/${page}.gz)
    add_custom_command(
      OUTPUT ${output}
      COMMAND ${CMAKE_COMMAND} -DSCDOC=${SCDOC_PROGRAM} -DSOURCE=${source} -DOUTPUT=${output}
              -DVERSION=${PROJECT_VERSION} -P ${PROJECT_SOURCE_DIR}/cmake/RenderDoc.cmake
      DEPENDS ${source} ${PROJECT_SOURCE_DIR}/cmake/RenderDoc.cmake
      COMMENT "Rendering man page ${page}" VERBATIM)
    list(APPEND rendered_docs ${output})
    string(REGEX MATCH "[0-9]$" section ${page})
    install(FILES ${output} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endforeach()
else()
  message(STATUS "scdoc not found: no man pages (scripts/install-deps installs it)")
endif()
# The package's changelog (Debian format), under the name a native package's has.
set(changelog ${PROJECT_BINARY_DIR}/packaging/changelog.gz)
add_custom_command(
  OUTPUT ${changelog}
  COMMAND ${CMAKE_COMMAND} -DSOURCE=${PROJECT_SOURCE_DIR}/packaging/deb/changelog
          -DOUTPUT=${changelog} -DVERSION=${PROJECT_VERSION}
          -P ${PROJECT_SOURCE_DIR}/cmake/RenderDoc.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/deb/changelog ${PROJECT_SOURCE_DIR}/cmake/RenderDoc.cmake
  COMMENT "Compressing the package changelog" VERBATIM)
list(APPEND rendered_docs ${changelog})
install(FILES ${changelog} DESTINATION ${CMAKE_INSTALL_DOCDIR})
add_custom_target(package_docs ALL DEPENDS ${rendered_docs})

# ---------------------------------------------------------------------------
# CPack: one Debian package, laporsms_<version>_<arch>.deb.
set(CPACK_PACKAGE_NAME laporsms)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "laporsms maintainers")
set(CPACK_PACKAGE_CONTACT "laporsms maintainers <maintainers@users.noreply.r-seed-1b20fa8e.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SMS gateway daemon for SP4N-LAPOR! (short code 1708)")
# The long description, in lines Debian's tools show as they are (at most 80).
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
  "laporsmsd takes citizens' SMS to the short code 1708 from the carriers'"
  "SMSCs over SMPP 3.4, stores each one durably in SQLite before it"
  "acknowledges it, forwards the reports to the LAPOR! API and keeps the"
  "citizen informed by SMS until the report is closed. laporctl shows"
  "operators the links, the queues and the reports, and requeues work."
  "The package ships a sandboxed systemd unit: the service is enabled at"
  "installation and started once its configuration has been edited and"
  "passes laporsmsd --check-config.")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION comm)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The maintainer scripts run systemd-sysusers and systemd-tmpfiles; shlibdeps
# adds the libraries' packages to this.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd-sysusers | systemd, systemd-tmpfiles | systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/PackageCheck.cmake)
set(LAPORSMS_PACKAGE_REQUIRED_FILES "")
foreach(page IN LISTS LAPORSMS_MAN_PAGES)
  string(REGEX MATCH "[0-9]$" section ${page})
  list(APPEND LAPORSMS_PACKAGE_REQUIRED_FILES ${CMAKE_INSTALL_MANDIR}/man${section}/${page}.gz)
endforeach()
set(CPACK_LAPORSMS_REQUIRED_FILES ${LAPORSMS_PACKAGE_REQUIRED_FILES})
include(CPack)
