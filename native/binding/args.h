// Argument checking for the Node-API glue: small helpers whose messages name the function and
// the parameter, so that every binding in addon.cc reads as "check each argument, call the
// kernel". TypeError for a wrong count or type, RangeError for a size, length, label or overlap.
//
// The fast path (valid arguments) makes one Node-API call per argument and allocates nothing;
// messages are only built on the way to a throw.
#pragma once

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#ifndef NAPI_CPP_EXCEPTIONS
#define NAPI_CPP_EXCEPTIONS
#endif
// A C++ exception that reaches Node-API (std::bad_alloc from a kernel's pack buffers, say)
// becomes a JS Error instead of std::terminate.
#ifndef NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#define NODE_ADDON_API_CPP_EXCEPTIONS_ALL
#endif
// A worker terminated while it loads the addon or calls it: Node-API calls then fail with
// napi_pending_exception and no exception pending. Without this, node-addon-api turns that into
// a C++ throw from inside its own catch (std::terminate, the whole process aborts); with it,
// the error is dropped, which is all there is to do for an environment that is going away.
#ifndef NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#define NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#endif
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace nb {

// The largest integer a JS number holds exactly (Number.MAX_SAFE_INTEGER).
constexpr double kMaxSafe = 9007199254740991.0;

// Formats a double exactly as JS's String(d) does ("1.5", "NaN", "-Infinity", "12", "1e+300"),
// so that messages match the TS backend's: the shortest digits that read back as d, laid out by
// the rules of Number.prototype.toString.
inline std::string FormatNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  // buf is "[-]d[.ddd]e(+|-)xx": split it into sign, digits and exponent.
  std::string s(buf), sign, digits;
  size_t i = 0;
  if (s[0] == '-') sign = "-", i = 1;
  size_t e = s.find('e');
  for (; i < e; ++i) {
    if (s[i] != '.') digits += s[i];
  }
  const int k = static_cast<int>(digits.size());
  const int n = std::atoi(s.c_str() + e + 1) + 1;  // the decimal point sits after n digits
  if (k <= n && n <= 21) return sign + digits + std::string(n - k, '0');
  if (0 < n && n <= 21) return sign + digits.substr(0, n) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return sign + "0." + std::string(-n, '0') + digits;
  std::string exp = (n - 1 >= 0 ? "+" : "-") + std::to_string(n - 1 >= 0 ? n - 1 : 1 - n);
  return sign + digits.substr(0, 1) + (k > 1 ? "." + digits.substr(1) : "") + "e" + exp;
}

// What a value is, for "expected X, got Y" messages.
inline std::string Describe(napi_env env, napi_value v) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    if (napi_get_typedarray_info(env, v, &t, nullptr, nullptr, nullptr, nullptr) == napi_ok) {
      switch (t) {
        case napi_int8_array:
          return "Int8Array";
        case napi_uint8_array:
          return "Uint8Array";
        case napi_uint8_clamped_array:
          return "Uint8ClampedArray";
        case napi_int16_array:
          return "Int16Array";
        case napi_uint16_array:
          return "Uint16Array";
        case napi_int32_array:
          return "Int32Array";
        case napi_uint32_array:
          return "Uint32Array";
        case napi_float32_array:
          return "Float32Array";
        case napi_float64_array:
          return "Float64Array";
        case napi_bigint64_array:
          return "BigInt64Array";
        case napi_biguint64_array:
          return "BigUint64Array";
        default:
          return "a typed array";
      }
    }
  }
  if (napi_is_array(env, v, &is) == napi_ok && is) return "Array";
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) return "ArrayBuffer";
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return "unknown";
  switch (t) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "boolean";
    case napi_number: {
      double d = 0;
      napi_get_value_double(env, v, &d);
      return "number " + FormatNumber(d);
    }
    case napi_string:
      return "string";
    case napi_symbol:
      return "symbol";
    case napi_function:
      return "function";
    case napi_bigint:
      return "bigint";
    default:
      return "object";
  }
}

// A typed array argument: where its elements start, how many there are, and how many the call
// will touch (set by Args::Need, used by the overlap checks).
template <typename T>
struct View {
  T* data = nullptr;
  size_t length = 0;
  int64_t used = 0;
  const char* name = "";
};
using F32 = View<float>;
using I32 = View<int32_t>;

// One binding's arguments. Constructed first thing in each binding: checks the count.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t expected) : info_(info), env_(info.Env()), fn_(fn) {
    if (info.Length() != expected) {
      TypeErr("expected " + std::to_string(expected) + " argument" + (expected == 1 ? "" : "s") + ", got " +
              std::to_string(info.Length()));
    }
  }

  napi_env env() const { return env_; }

  F32 Float32(size_t i, const char* name) { return Typed<float>(i, name, napi_float32_array, "a Float32Array"); }
  I32 Int32(size_t i, const char* name) { return Typed<int32_t>(i, name, napi_int32_array, "an Int32Array"); }

  // A Float32Array when the kernel will use it (required), else null/undefined is fine and the
  // kernel gets a null pointer. Something else (a number, a Float64Array) is always an error.
  F32 OptionalFloat32(size_t i, const char* name, bool required, const char* why) {
    napi_valuetype t;
    napi_typeof(env_, info_[i], &t);
    if (t == napi_null || t == napi_undefined) {
      if (required)
        TypeErr(std::string(name) + " must be a Float32Array when " + why + ", got " + Describe(env_, info_[i]));
      F32 none;
      none.name = name;
      return none;
    }
    F32 v = Typed<float>(i, name, napi_float32_array, "a Float32Array or null");
    if (!required) {  // the kernel ignores it: do not hand it a pointer, nor check its length
      v.data = nullptr;
      v.length = 0;
    }
    return v;
  }

  // A size: a finite, non-negative safe integer.
  int64_t Size(size_t i, const char* name) {
    double d = Number(i, name);
    if (!(d >= 0 && d <= kMaxSafe && d == std::floor(d))) {
      RangeErr(std::string(name) + " must be a non-negative integer, got " + FormatNumber(d));
    }
    return static_cast<int64_t>(d);
  }

  // An integer >= lo (and <= hi).
  int64_t Integer(size_t i, const char* name, double lo, double hi) {
    double d = Number(i, name);
    if (!(d >= lo && d <= hi && d == std::floor(d))) {
      RangeErr(std::string(name) + " must be an integer " +
               (hi >= kMaxSafe ? ">= " + FormatNumber(lo) : "from " + FormatNumber(lo) + " to " + FormatNumber(hi)) +
               ", got " + FormatNumber(d));
    }
    return static_cast<int64_t>(d);
  }

  double Number(size_t i, const char* name) {
    double d;
    if (napi_get_value_double(env_, info_[i], &d) != napi_ok) {
      TypeErr(std::string(name) + " must be a number, got " + Describe(env_, info_[i]));
    }
    return d;
  }

  bool Bool(size_t i, const char* name) {
    bool b;
    if (napi_get_value_bool(env_, info_[i], &b) != napi_ok) {
      TypeErr(std::string(name) + " must be a boolean, got " + Describe(env_, info_[i]));
    }
    return b;
  }

  // The buffer must hold the product of `factors` elements (`expr` says where it came from:
  // "N*C*L"). Each factor is a size (0 <= f <= 2^53 - 1); when the product is not a safe integer
  // no buffer holds that many, and the message shows the product as JS computes it (doubles,
  // left to right), so both backends print the same figure. The test divides instead of
  // multiplying, so it cannot overflow.
  template <typename T>
  void Need(View<T>& v, const char* expr, std::initializer_list<int64_t> factors) {
    constexpr int64_t max = static_cast<int64_t>(kMaxSafe);
    bool zero = false;
    for (int64_t f : factors) zero = zero || f == 0;
    int64_t count = zero ? 0 : 1;
    double product = 1;
    bool overflow = false;
    for (int64_t f : factors) {
      product *= static_cast<double>(f);
      if (zero) continue;
      if (count > max / f) overflow = true;
      if (!overflow) count *= f;
    }
    if (overflow || static_cast<uint64_t>(count) > v.length) {
      std::string want = overflow ? FormatNumber(product) : std::to_string(count);
      RangeErr(std::string(v.name) + " must have at least " + expr + " = " + want + " elements, got " +
               std::to_string(v.length));
    }
    v.used = count;
  }

  // out and in must not share a byte of the elements the call touches.
  template <typename T, typename U>
  void Disjoint(const View<T>& out, const View<U>& in) {
    if (Overlap(out, in)) RangeErr(std::string(out.name) + " must not overlap " + in.name);
  }

  // out may be in itself (the kernel allows it), but must not overlap it partially.
  void SameOrDisjoint(const F32& out, const F32& in) {
    if (out.data != in.data && Overlap(out, in)) {
      RangeErr(std::string(out.name) + " must be " + in.name + " itself or not overlap it (partial overlap)");
    }
  }

  // Every label in [0, C), checked before the kernel writes anything.
  void Labels(const I32& labels, int64_t N, int64_t C) {
    const int32_t* l = labels.data;
    for (int64_t i = 0; i < N; ++i) {
      if (l[i] < 0 || l[i] >= C) {
        RangeErr(std::string(labels.name) + "[" + std::to_string(i) + "] = " + std::to_string(l[i]) +
                 " is out of range [0, " + std::to_string(C) + ")");
      }
    }
  }

  // Labels the kernel will index with, read once: copied into `owned` (another thread may be
  // writing the caller's memory, a SharedArrayBuffer, at any time), the copy checked, and the
  // returned view of the copy is what the kernel reads. Copying N ints is cheap next to the
  // N x C work the kernels do with them.
  I32 OwnLabels(const I32& labels, int64_t N, int64_t C, std::vector<int32_t>& owned) {
    owned.resize(static_cast<size_t>(N));
    if (N > 0) std::memcpy(owned.data(), labels.data, static_cast<size_t>(N) * sizeof(int32_t));
    I32 copy = labels;
    copy.data = owned.data();
    Labels(copy, N, C);
    return copy;
  }

  [[noreturn]] void TypeErr(const std::string& msg) const {
    throw Napi::TypeError::New(env_, std::string(fn_) + ": " + msg);
  }
  [[noreturn]] void RangeErr(const std::string& msg) const {
    throw Napi::RangeError::New(env_, std::string(fn_) + ": " + msg);
  }

 private:
  template <typename T>
  View<T> Typed(size_t i, const char* name, napi_typedarray_type want, const char* want_name) {
    View<T> v;
    v.name = name;
    napi_typedarray_type t;
    void* data = nullptr;
    // `data` already points at the view's first element (the byte offset is applied); a
    // detached buffer reports length 0, so it is simply too short for any non-empty call.
    if (napi_get_typedarray_info(env_, info_[i], &t, &v.length, &data, nullptr, nullptr) != napi_ok || t != want) {
      TypeErr(std::string(name) + " must be " + want_name + ", got " + Describe(env_, info_[i]));
    }
    v.data = static_cast<T*>(data);
    return v;
  }

  template <typename T, typename U>
  static bool Overlap(const View<T>& a, const View<U>& b) {
    if (a.used <= 0 || b.used <= 0 || a.data == nullptr || b.data == nullptr) return false;
    uintptr_t a0 = reinterpret_cast<uintptr_t>(a.data), a1 = a0 + static_cast<uintptr_t>(a.used) * sizeof(T);
    uintptr_t b0 = reinterpret_cast<uintptr_t>(b.data), b1 = b0 + static_cast<uintptr_t>(b.used) * sizeof(U);
    return a0 < b1 && b0 < a1;
  }

  const Napi::CallbackInfo& info_;
  napi_env env_;
  const char* fn_;
};

}  // namespace nb
