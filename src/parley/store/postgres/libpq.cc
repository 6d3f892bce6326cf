// libpq through dlopen (libpq.h says why). The table below is the whole of libpq that parley
// uses; a function the store starts to call must be added here, or the link fails.

#include "parley/store/postgres/libpq.h"

#include <dlfcn.h>

#include <string>

#include <libpq-fe.h>

#include "parley/base/check.h"

namespace parley::store {
namespace {

constexpr const char* kLibrary = "libpq.so.5";

struct Api {
  decltype(&::PQcmdStatus) cmd_status = nullptr;
  decltype(&::PQcmdTuples) cmd_tuples = nullptr;
  decltype(&::PQclear) clear = nullptr;
  decltype(&::PQconnectdb) connectdb = nullptr;
  decltype(&::PQconninfoFree) conninfo_free = nullptr;
  decltype(&::PQconninfoParse) conninfo_parse = nullptr;
  decltype(&::PQerrorMessage) error_message = nullptr;
  decltype(&::PQexec) exec = nullptr;
  decltype(&::PQexecPrepared) exec_prepared = nullptr;
  decltype(&::PQfinish) finish = nullptr;
  decltype(&::PQfreemem) freemem = nullptr;
  decltype(&::PQgetisnull) getisnull = nullptr;
  decltype(&::PQgetlength) getlength = nullptr;
  decltype(&::PQgetvalue) getvalue = nullptr;
  decltype(&::PQnfields) nfields = nullptr;
  decltype(&::PQntuples) ntuples = nullptr;
  decltype(&::PQprepare) prepare = nullptr;
  decltype(&::PQresultErrorField) result_error_field = nullptr;
  decltype(&::PQresultErrorMessage) result_error_message = nullptr;
  decltype(&::PQresultStatus) result_status = nullptr;
  decltype(&::PQsetNoticeProcessor) set_notice_processor = nullptr;
  decltype(&::PQstatus) status = nullptr;
  decltype(&::PQtransactionStatus) transaction_status = nullptr;
  decltype(&::PQunescapeBytea) unescape_bytea = nullptr;
};

struct Loaded {
  Api api;
  Status status;
};

// Resolves `name` into `slot`; false (with the reason in `error`) if the library lacks it.
template <typename F>
bool resolve(void* library, const char* name, F& slot, std::string& error) {
  slot = reinterpret_cast<F>(::dlsym(library, name));
  if (slot == nullptr && error.empty()) error = std::string(kLibrary) + " has no " + name;
  return slot != nullptr;
}

Loaded load() {
  Loaded loaded;
  // Never closed: the store's connections and results live until the process ends.
  void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* reason = ::dlerror();
    loaded.status = Status::failed_precondition(
        std::string("the PostgreSQL store needs libpq (install Debian's libpq5): ") +
        (reason != nullptr ? reason : kLibrary));
    return loaded;
  }
  Api& a = loaded.api;
  std::string error;
  resolve(library, "PQcmdStatus", a.cmd_status, error);
  resolve(library, "PQcmdTuples", a.cmd_tuples, error);
  resolve(library, "PQclear", a.clear, error);
  resolve(library, "PQconnectdb", a.connectdb, error);
  resolve(library, "PQconninfoFree", a.conninfo_free, error);
  resolve(library, "PQconninfoParse", a.conninfo_parse, error);
  resolve(library, "PQerrorMessage", a.error_message, error);
  resolve(library, "PQexec", a.exec, error);
  resolve(library, "PQexecPrepared", a.exec_prepared, error);
  resolve(library, "PQfinish", a.finish, error);
  resolve(library, "PQfreemem", a.freemem, error);
  resolve(library, "PQgetisnull", a.getisnull, error);
  resolve(library, "PQgetlength", a.getlength, error);
  resolve(library, "PQgetvalue", a.getvalue, error);
  resolve(library, "PQnfields", a.nfields, error);
  resolve(library, "PQntuples", a.ntuples, error);
  resolve(library, "PQprepare", a.prepare, error);
  resolve(library, "PQresultErrorField", a.result_error_field, error);
  resolve(library, "PQresultErrorMessage", a.result_error_message, error);
  resolve(library, "PQresultStatus", a.result_status, error);
  resolve(library, "PQsetNoticeProcessor", a.set_notice_processor, error);
  resolve(library, "PQstatus", a.status, error);
  resolve(library, "PQtransactionStatus", a.transaction_status, error);
  resolve(library, "PQunescapeBytea", a.unescape_bytea, error);
  if (!error.empty()) loaded.status = Status::failed_precondition(error);
  return loaded;
}

const Loaded& loaded() {
  static const Loaded once = load();  // thread-safe initialization
  return once;
}

// The table, for the forwarding functions below; only after a successful load_libpq().
const Api& api() {
  const Loaded& l = loaded();
  PARLEY_CHECK(l.status.is_ok());
  return l.api;
}

}  // namespace

Status load_libpq() { return loaded().status; }

}  // namespace parley::store

using parley::store::api;

extern "C" {

char* PQcmdStatus(PGresult* res) { return api().cmd_status(res); }
char* PQcmdTuples(PGresult* res) { return api().cmd_tuples(res); }
void PQclear(PGresult* res) { api().clear(res); }
PGconn* PQconnectdb(const char* conninfo) { return api().connectdb(conninfo); }
void PQconninfoFree(PQconninfoOption* options) { api().conninfo_free(options); }
PQconninfoOption* PQconninfoParse(const char* conninfo, char** errmsg) {
  return api().conninfo_parse(conninfo, errmsg);
}
char* PQerrorMessage(const PGconn* conn) { return api().error_message(conn); }
PGresult* PQexec(PGconn* conn, const char* query) { return api().exec(conn, query); }
PGresult* PQexecPrepared(PGconn* conn, const char* stmt_name, int n_params,
                         const char* const* param_values, const int* param_lengths,
                         const int* param_formats, int result_format) {
  return api().exec_prepared(conn, stmt_name, n_params, param_values, param_lengths, param_formats,
                             result_format);
}
void PQfinish(PGconn* conn) { api().finish(conn); }
void PQfreemem(void* ptr) { api().freemem(ptr); }
int PQgetisnull(const PGresult* res, int tup_num, int field_num) {
  return api().getisnull(res, tup_num, field_num);
}
int PQgetlength(const PGresult* res, int tup_num, int field_num) {
  return api().getlength(res, tup_num, field_num);
}
char* PQgetvalue(const PGresult* res, int tup_num, int field_num) {
  return api().getvalue(res, tup_num, field_num);
}
int PQnfields(const PGresult* res) { return api().nfields(res); }
int PQntuples(const PGresult* res) { return api().ntuples(res); }
PGresult* PQprepare(PGconn* conn, const char* stmt_name, const char* query, int n_params,
                    const Oid* param_types) {
  return api().prepare(conn, stmt_name, query, n_params, param_types);
}
char* PQresultErrorField(const PGresult* res, int fieldcode) {
  return api().result_error_field(res, fieldcode);
}
char* PQresultErrorMessage(const PGresult* res) { return api().result_error_message(res); }
ExecStatusType PQresultStatus(const PGresult* res) { return api().result_status(res); }
PQnoticeProcessor PQsetNoticeProcessor(PGconn* conn, PQnoticeProcessor proc, void* arg) {
  return api().set_notice_processor(conn, proc, arg);
}
ConnStatusType PQstatus(const PGconn* conn) { return api().status(conn); }
PGTransactionStatusType PQtransactionStatus(const PGconn* conn) {
  return api().transaction_status(conn);
}
unsigned char* PQunescapeBytea(const unsigned char* strtext, size_t* retbuflength) {
  return api().unescape_bytea(strtext, retbuflength);
}

}  // extern "C"
