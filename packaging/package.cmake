# The Debian package parley-gateway (`scripts/package`: a release build of `parley`, then `cpack -G DEB`).
#
#   /usr/bin/parley
#   /lib/systemd/system/parley.service       Type=notify, hardened (packaging/parley.service)
#   /etc/parley/parley.toml                  a conffile: a template whose party id must be set
#   /usr/share/man/man1/parley.1.gz, man5/parley.toml.5.gz
#   /usr/share/bash-completion/completions/parley
#   /usr/share/doc/parley/                   README.md, operations.md, protocol.md
# postinst makes the system user `parley` and its home /var/lib/parley (0700) and does not
# init it: the party id, addresses and keys are the operator's to decide (docs/operations.md
# "Debian package"). Dependencies: dpkg-shlibdeps, plus adduser for the postinst.
include(GNUInstallDirs)

# `cpack` installs without building everything first (tests, fuzzers, benchmarks): the
# package needs only the parley binary, which scripts/package builds.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

install(TARGETS parley RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_CURRENT_LIST_DIR}/parley.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/parley.toml DESTINATION /etc/parley)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/parley.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME parley)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/protocol.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Debian compresses man pages (gzip -n: no name or time stamp, so the build is reproducible).
foreach(page parley.1 parley.toml.5)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  set(gz ${PROJECT_BINARY_DIR}/man/${page}.gz)
  add_custom_command(OUTPUT ${gz}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
                     COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/man/${page} > ${gz}
                     DEPENDS ${PROJECT_SOURCE_DIR}/man/${page} VERBATIM)
  list(APPEND man_pages ${gz})
  install(FILES ${gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man_pages ALL DEPENDS ${man_pages})

set(CPACK_GENERATOR DEB)
# Debian already has a package "parley" (KDE's vocabulary trainer, also /usr/bin/parley):
# ours is parley-gateway, and the two cannot be installed together.
set(CPACK_PACKAGE_NAME parley-gateway)
set(CPACK_DEBIAN_PACKAGE_CONFLICTS "parley")
set(CPACK_PACKAGE_VENDOR parley)
set(CPACK_PACKAGE_CONTACT "parley maintainers <dev@parley>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "crisis-communication gateway between commands that do not trust each other")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Two gateways federate over mutual TLS 1.3 and exchange signed, sealed,\nprecedence-ranked messages with receipts, acknowledgments and a Merkle\ntranscript that both sides sign and anyone can verify offline.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libpq and libsystemd are opened with dlopen (only for a PostgreSQL store, only under a service
# manager), so dpkg-shlibdeps cannot see them: named here.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, libpq5 (>= 15), libsystemd0")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/debian/prerm ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES TRUE)
include(CPack)
