// Status and Result<T>: how fallible calls report failure on the data plane.
// OK costs nothing; errors carry a code and a human message. Nothing on the request path throws:
// exceptions are for start-up only (config, schema), where they end the process with a message.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace rinha {

// [[nodiscard]]: a dropped Status is a dropped error; discard on purpose with (void).
class [[nodiscard]] Status {
 public:
  // kMalformed: the input is not in the expected syntax at all (e.g. not JSON);
  // kInvalidArgument: well-formed, but a value breaks a rule.
  enum class Code {
    kOk,
    kInvalidArgument,
    kMalformed,
    kNotFound,
    kIoError,
    kTimeout,
    kUnavailable,
    kInternal
  };

  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status malformed(std::string msg) { return {Code::kMalformed, std::move(msg)}; }
  static Status not_found(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status io_error(std::string msg) { return {Code::kIoError, std::move(msg)}; }
  static Status timeout(std::string msg) { return {Code::kTimeout, std::move(msg)}; }
  static Status unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }
  static Status internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool is_ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::optional
  Result(Status status) : v_(std::move(status)) {}  // NOLINT

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }
  // The error; Status::ok() when a value is held.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rinha
