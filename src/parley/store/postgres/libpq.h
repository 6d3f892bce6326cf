// libpq, loaded when a PostgreSQL store is first opened rather than linked into every parley
// process: a gateway on SQLite (the default) never maps libpq and the ~20 libraries it pulls in
// (Kerberos, LDAP, GnuTLS, SASL): linked, they raised every process's resident memory by
// 3.5 MiB (`parley --help` peaked at 12.3 MiB instead of 8.8).
//
// The PQ* functions the PostgreSQL store calls are defined in libpq.cc with libpq-fe.h's own
// declarations (so the compiler checks every signature) and forward to the library opened by
// load_libpq(). Every entry point into code that calls them runs load_libpq() first and
// returns its error; a PQ* call without it is parley's bug (it aborts, naming the function).
#pragma once

#include "parley/base/status.h"

namespace parley::store {

// Opens Debian's libpq5 (libpq.so.5) once per process and resolves the functions parley uses.
// Thread-safe; later calls return the first call's result.
// Errors: kFailedPrecondition naming the library and what to install if it cannot be opened,
// or the missing function if it is too old.
Status load_libpq();

}  // namespace parley::store
