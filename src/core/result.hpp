#pragma once
// Result<T>: the value of a domain or storage call, or an Error saying what went wrong.
// Domain code returns these instead of throwing; the HTTP layer maps Errc to a status.
//
// Result<T> is std::expected<T, Error> wherever the standard library offers it (g++ 12).
// clang 14 on libstdc++ 12 does not: <expected> there is gated on a concepts level clang 14
// does not report, and the fuzz build needs clang for libFuzzer. For that case this header
// carries a small stand-in with the subset of std::expected's API the code base uses. Code
// names the error side `Failure` (never std::unexpected) so it compiles either way.

#include <version>

#if defined(__cpp_lib_expected)
#include <expected>
#endif
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace parley {

enum class Errc {
  kInvalidArgument,   // 400: the caller sent something malformed or out of bounds
  kUnauthenticated,   // 401
  kPermissionDenied,  // 403
  kNotFound,          // 404
  kConflict,          // 409: a unique name taken, a state that forbids the change
  kPayloadTooLarge,   // 413
  kUnsupportedMedia,  // 415
  kRateLimited,       // 429
  kUnavailable,       // 503: shutting down, overloaded, store unreachable
  kInternal,          // 500
};

struct Error {
  Errc errc = Errc::kInternal;
  std::string code;     // snake_case, shown to the caller
  std::string message;  // one sentence the caller can act on; never secrets or internals
};

// The stand-in is compiled everywhere, so the g++ unit tests check it too
// (tests/unit/result_test.cpp); only the aliases below choose which one Result is.
namespace result_detail {

// The error side of an Expected, like std::unexpected.
template <class E>
class Unexpected {
 public:
  explicit Unexpected(E error) : error_(std::move(error)) {}

  E& error() & { return error_; }
  const E& error() const& { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};

// Thrown by value() on an error, like std::bad_expected_access.
class BadAccess : public std::exception {
 public:
  const char* what() const noexcept override { return "Result::value() called on an error"; }
};

template <class T, class E>
class Expected;

template <class X>
inline constexpr bool kIsExpected = false;
template <class T, class E>
inline constexpr bool kIsExpected<Expected<T, E> > = true;
template <class X>
inline constexpr bool kIsUnexpected = false;
template <class E>
inline constexpr bool kIsUnexpected<Unexpected<E> > = true;

// U builds a T (by move or copy).
template <class U, class T>
concept BuildsInto = std::is_constructible_v<T, U&&>;

// What Expected<T, E> takes as a value, as std::expected's converting constructor does.
template <class U, class T>
concept ValueFor = BuildsInto<U, T> && !kIsExpected<std::remove_cvref_t<U> > &&
                   !kIsUnexpected<std::remove_cvref_t<U> > &&
                   !std::is_same_v<std::remove_cvref_t<U>, std::in_place_t>;

// A value operator== may compare a held value with.
template <class U>
concept PlainValue = !kIsExpected<U> && !kIsUnexpected<U>;

template <class T, class E>
class Expected {
 public:
  using value_type = T;
  using error_type = E;

  Expected() : state_(std::in_place_index<0>) {}

  template <ValueFor<T> U = T>
  explicit(!std::is_convertible_v<U&&, T>) Expected(U&& value)
      : state_(std::in_place_index<0>, std::forward<U>(value)) {}

  Expected(const Unexpected<E>& failure) : state_(std::in_place_index<1>, failure.error()) {}
  Expected(Unexpected<E>&& failure) : state_(std::in_place_index<1>, std::move(failure).error()) {}

  template <class... Args>
  explicit Expected(std::in_place_t, Args&&... args)
      : state_(std::in_place_index<0>, std::forward<Args>(args)...) {}

  // An Expected of another value type that builds ours.
  template <BuildsInto<T> U>
  explicit(!std::is_convertible_v<U&&, T>) Expected(Expected<U, E>&& other)
      : state_(other.has_value() ? State(std::in_place_index<0>, std::move(*other))
                                 : State(std::in_place_index<1>, std::move(other).error())) {}

  template <class... Args>
  T& emplace(Args&&... args) {
    return state_.template emplace<0>(std::forward<Args>(args)...);
  }

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return Checked(*this); }
  const T& value() const& { return Checked(*this); }
  T&& value() && { return std::move(Checked(*this)); }

  // Like std::expected, these do not check: the caller has tested has_value().
  T& operator*() & noexcept { return *std::get_if<0>(&state_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&state_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&state_)); }
  T* operator->() noexcept { return std::get_if<0>(&state_); }
  const T* operator->() const noexcept { return std::get_if<0>(&state_); }

  E& error() & noexcept { return *std::get_if<1>(&state_); }
  const E& error() const& noexcept { return *std::get_if<1>(&state_); }
  E&& error() && noexcept { return std::move(*std::get_if<1>(&state_)); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  T value_or(U&& fallback) && {
    return has_value() ? std::move(**this) : static_cast<T>(std::forward<U>(fallback));
  }

  template <PlainValue U>
  friend bool operator==(const Expected& x, const U& v) {
    return x.has_value() && *x == v;
  }

 private:
  using State = std::variant<T, E>;

  template <class Self>
  static auto& Checked(Self& self) {
    if (!self.has_value()) throw BadAccess();
    return *std::get_if<0>(&self.state_);
  }

  State state_;
};

template <class E>
class Expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  Expected() = default;
  explicit Expected(std::in_place_t) {}
  Expected(const Unexpected<E>& failure) : error_(failure.error()) {}
  Expected(Unexpected<E>&& failure) : error_(std::move(failure).error()) {}

  void emplace() noexcept { error_.reset(); }

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }

  void value() const {
    if (!has_value()) throw BadAccess();
  }
  void operator*() const noexcept {}

  E& error() & noexcept { return *error_; }
  const E& error() const& noexcept { return *error_; }
  E&& error() && noexcept { return std::move(*error_); }

 private:
  std::optional<E> error_;  // empty on success
};

}  // namespace result_detail

#if defined(__cpp_lib_expected)
template <class T>
using Result = std::expected<T, Error>;
using Failure = std::unexpected<Error>;
#else
template <class T>
using Result = result_detail::Expected<T, Error>;
using Failure = result_detail::Unexpected<Error>;
#endif

inline Failure Fail(Errc errc, std::string code, std::string message) {
  return Failure(Error{errc, std::move(code), std::move(message)});
}

inline Failure Fail(Error e) { return Failure(std::move(e)); }

// HTTP status for an error class.
int HttpStatus(Errc errc);

}  // namespace parley
