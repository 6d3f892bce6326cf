// Status and Result<T>: how every fallible parley function reports failure.
//
// parley code does not throw. A Status is a canonical code (Abseil's) and one
// human-readable line; Result<T> holds a T or a non-OK Status. Both are
// [[nodiscard]]: an ignored error is a compile warning (an error in CI).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "parley/base/check.h"

namespace parley {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // 400: the caller's input is malformed
  kUnauthenticated,     // 401: no or bad credentials
  kPermissionDenied,    // 403: authenticated, not allowed
  kNotFound,            // 404
  kAlreadyExists,       // 409
  kFailedPrecondition,  // 409: the system is not in a state to do this
  kUnavailable,         // 503: try again later
  kResourceExhausted,   // 503: out of disk (or another resource) until someone frees it
  kDataLoss,            // 500: stored data is corrupt
  kInternal,            // 500: our bug
};

std::string_view status_code_name(StatusCode code);
// The HTTP status an API answers with for `code`.
int http_status(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status permission_denied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status already_exists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status failed_precondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status resource_exhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code name>: <message>", or "OK".
  std::string to_string() const;

  // Prefixes the message with `context` ("reading bundle: ..."); keeps the code.
  Status with_context(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    PARLEY_CHECK(!std::get<Status>(v_).is_ok());
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

  T& value() & {
    PARLEY_CHECK(is_ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    PARLEY_CHECK(is_ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    PARLEY_CHECK(is_ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace parley

#define PARLEY_CONCAT_INNER(a, b) a##b
#define PARLEY_CONCAT(a, b) PARLEY_CONCAT_INNER(a, b)

#define PARLEY_RETURN_IF_ERROR(expr)                    \
  do {                                                  \
    ::parley::Status parley_status_ = (expr);           \
    if (!parley_status_.is_ok()) return parley_status_; \
  } while (false)

#define PARLEY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#define PARLEY_ASSIGN_OR_RETURN(lhs, expr) \
  PARLEY_ASSIGN_OR_RETURN_IMPL(PARLEY_CONCAT(parley_result_, __LINE__), lhs, expr)
