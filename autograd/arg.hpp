#pragma once
// tg::Arg and TG_ARG: an options field that is at once an aggregate member and LibTorch's
// getter/setter pair, so that both ways of writing options compile:
//
//   tg::nn::Conv2d conv{3, 16, 3, {.padding = 1, .bias = false}};           // tapegrad's form
//   tg::nn::Conv2d conv(tg::nn::Conv2dOptions(3, 16, 3).padding(1).bias(false));  // LibTorch's
//   conv->options.stride.h;  conv->options.stride();                        // both read it
//
// Design. An options struct stays an aggregate (designated initialisers, and C++20's
// parenthesised aggregate initialisation gives LibTorch's positional arguments: the required
// ones are its first fields, `Conv2dOptions(1, 64, 4)`). Each field is declared with
// TG_ARG(Parent, name, T) as a member of type tg::Arg<Parent, T, Tag>, which
//  - is implicitly constructible and assignable from whatever converts to T (`{.stride = 2}`,
//    `{.betas = {0.5, 0.5}}`, `o.lr = 0.1`);
//  - is a T: it derives from T when T is a class (`o.stride.h`, `o.momentum.has_value()`,
//    `o.betas.first`), and converts to T& otherwise (`o.lr * g`, `if (o.bias)`); arithmetic
//    fields also have the compound assignments (`o.lr *= 0.1`);
//  - has `operator()()`, LibTorch's getter, returning the value, and `operator()(value)`,
//    LibTorch's setter, returning the enclosing options object so that setters chain. The
//    field finds that object from its own offset in it, which the nested Tag names (offsetof,
//    evaluated in the complete-class context; the struct must be standard-layout, checked).
//
// The setter relies on the field living inside its options object: call it on the field of an
// options object, never on a lone copy of a field (`auto s = o.stride;` copies the field; write
// `auto s = o.stride();` or `Size2 s = o.stride;` for the value). Where a function template
// must deduce T from a field (std::max, std::min), or a C variadic function receives it
// (printf), pass `o.lr()`, the plain value.
#include <cstddef>
#include <initializer_list>
#include <tuple>
#include <type_traits>
#include <utility>

namespace tg {

namespace detail {

/// T's element type when T is built from an initializer list of them (std::vector<double>),
/// else a type nothing converts to.
template <class T, class = void>
struct arg_element {
  struct none {
    none() = delete;
  };
  using type = none;
};
template <class T>
struct arg_element<T, std::void_t<typename T::value_type>> {
  using type = typename T::value_type;
};

template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T>
struct is_tuple2 : std::false_type {};
template <class A, class B>
struct is_tuple2<std::tuple<A, B>> : std::true_type {};

/// What a field of type T accepts from a U: what converts to T, and for a pair (Adam's betas)
/// also LibTorch's std::tuple of two.
template <class T, class U>
inline constexpr bool arg_accepts =
    std::is_convertible_v<U, T> ||
    (is_pair<T>::value && is_tuple2<std::remove_cvref_t<U>>::value);

template <class T, class U>
T arg_make(U&& u) {
  if constexpr (is_pair<T>::value && is_tuple2<std::remove_cvref_t<U>>::value)
    return T(std::get<0>(std::forward<U>(u)), std::get<1>(std::forward<U>(u)));
  else
    return T(std::forward<U>(u));
}

/// The field's storage: a class T is the base (its members and methods reachable as before),
/// a scalar T a member reached through conversions to T&.
template <class T, bool = std::is_class_v<T>>
struct ArgStorage : T {
  ArgStorage() = default;
  template <class... A>
  explicit ArgStorage(std::in_place_t, A&&... a) : T(std::forward<A>(a)...) {}
  T& get() noexcept { return *this; }
  const T& get() const noexcept { return *this; }
};
template <class T>
struct ArgStorage<T, false> {
  ArgStorage() = default;
  template <class... A>
  explicit ArgStorage(std::in_place_t, A&&... a) : value(std::forward<A>(a)...) {}
  T& get() noexcept { return value; }
  const T& get() const noexcept { return value; }
  /// The value, for any expression that takes a T (`o.lr * g`, `if (o.bias)`).
  operator T&() noexcept { return value; }
  operator const T&() const noexcept { return value; }
  T value{};
};

}  // namespace detail

/// One field of an options struct `Parent`, holding a T (see the top of this file). Declare it
/// with TG_ARG, which makes the Tag.
template <class Parent, class T, class Tag>
class Arg : public detail::ArgStorage<T> {
  using Base = detail::ArgStorage<T>;
  using Element = typename detail::arg_element<T>::type;
  template <class U>
  static constexpr bool other = !std::is_same_v<std::remove_cvref_t<U>, Arg>;

 public:
  /// The field's type.
  using value_type = T;

  /// T's default value (a TG_ARG field normally has a default member initialiser instead).
  Arg() = default;
  /// From anything that converts to T: `{.stride = 2}`, `{.momentum = std::nullopt}`.
  template <class U>
    requires(other<U> && detail::arg_accepts<T, U>)
  Arg(U&& value) : Base(std::in_place, detail::arg_make<T>(std::forward<U>(value))) {}
  /// From a braced list of elements when T is a container: `{.min_lrs = {0.1, 0.01}}`.
  Arg(std::initializer_list<Element> list)
    requires std::is_constructible_v<T, std::initializer_list<Element>>
      : Base(std::in_place, list) {}
  /// From T's constructor arguments, for a braced pair: `{.stride = {2, 1}}`,
  /// `{.betas = {0.5, 0.999}}`.
  template <class A, class B, class... C>
    requires std::is_constructible_v<T, A, B, C...>
  Arg(A&& a, B&& b, C&&... c)
      : Base(std::in_place, std::forward<A>(a), std::forward<B>(b), std::forward<C>(c)...) {}

  /// Assigns a new value: `o.lr = 0.1` (a braced value, `o.betas = {0.5, 0.999}`, goes through
  /// the constructors above and the move assignment).
  template <class U>
    requires(other<U> && detail::arg_accepts<T, U>)
  Arg& operator=(U&& value) {
    this->get() = detail::arg_make<T>(std::forward<U>(value));
    return *this;
  }

  ///@{
  /// LibTorch's getter: `options.stride()` is the value.
  T& operator()() noexcept { return this->get(); }
  const T& operator()() const noexcept { return this->get(); }
  ///@}
  ///@{
  /// LibTorch's setter: sets the value and returns the options object it belongs to, so that
  /// setters chain: `Conv2dOptions(1, 64, 4).stride(2).bias(false)`.
  Parent& operator()(const T& value) {
    this->get() = value;
    return parent();
  }
  Parent& operator()(T&& value) {
    this->get() = std::move(value);
    return parent();
  }
  template <class U>
    requires(!std::is_same_v<std::remove_cvref_t<U>, T> && detail::arg_accepts<T, U>)
  Parent& operator()(U&& value) {
    this->get() = detail::arg_make<T>(std::forward<U>(value));
    return parent();
  }
  ///@}

  ///@{
  /// Compound assignment of an arithmetic field: `o.lr *= 0.1`.
  template <class U>
  Arg& operator+=(const U& v)
    requires std::is_arithmetic_v<T>
  {
    this->get() += v;
    return *this;
  }
  template <class U>
  Arg& operator-=(const U& v)
    requires std::is_arithmetic_v<T>
  {
    this->get() -= v;
    return *this;
  }
  template <class U>
  Arg& operator*=(const U& v)
    requires std::is_arithmetic_v<T>
  {
    this->get() *= v;
    return *this;
  }
  template <class U>
  Arg& operator/=(const U& v)
    requires std::is_arithmetic_v<T>
  {
    this->get() /= v;
    return *this;
  }
  ///@}

  ///@{
  /// Copies the value (the options struct's own copy and assignment use these).
  Arg(const Arg&) = default;
  Arg(Arg&&) = default;
  Arg& operator=(const Arg&) = default;
  Arg& operator=(Arg&&) = default;
  ///@}

 private:
  Parent& parent() noexcept {
    return *reinterpret_cast<Parent*>(reinterpret_cast<char*>(this) - Tag::offset());
  }
};

}  // namespace tg

/// Declares field `name` of type T (the trailing argument, which may contain commas) in the
/// options struct `Parent`: `TG_ARG(Conv2dOptions, stride, Size2) = 1;`. The field takes a
/// default member initialiser as a plain member would.
#define TG_ARG(Parent, name, ...)                                                     \
  struct name##_arg_tag {                                                             \
    static std::size_t offset() noexcept {                                            \
      static_assert(std::is_standard_layout_v<Parent>,                                \
                    "TG_ARG: an options struct must be standard-layout");             \
      return offsetof(Parent, name);                                                  \
    }                                                                                 \
  };                                                                                  \
  ::tg::Arg<Parent, __VA_ARGS__, name##_arg_tag> name
