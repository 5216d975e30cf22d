// CPU feature detection, done once (function-local statics are initialised thread-safely).
//
// The whole binary is baseline x86-64 (or arm64); only the *_avx2.cc files are compiled with
// -mavx2 -mfma, and they run only when the CPU reports both features (their AVX-512F tiles
// only when it reports avx512f too).
#include "cpu.h"

#include <cstdlib>
#include <cstring>

#include "gemm_internal.h"

namespace ng {

namespace {

bool detect_avx2_fma() {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool detect_avx512() {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  // libgcc's check includes the OS saving the AVX-512 register state (XGETBV).
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
         __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace

bool simd_supported(Simd s) {
  switch (s) {
    case Simd::Scalar:
      return true;
    case Simd::Avx2: {
      static const bool ok = detect_avx2_fma();
      return ok;
    }
    case Simd::Avx512: {
      static const bool ok = detect_avx512();
      return ok;
    }
    case Simd::Neon:
#if defined(__aarch64__)
      return true;  // NEON is part of the arm64 baseline
#else
      return false;
#endif
  }
  return false;
}

Simd best_simd() {
  if (simd_supported(Simd::Neon)) return Simd::Neon;
  if (simd_supported(Simd::Avx512)) return Simd::Avx512;
  if (simd_supported(Simd::Avx2)) return Simd::Avx2;
  return Simd::Scalar;
}

const char* simd_name(Simd s) {
  switch (s) {
    case Simd::Scalar: return "scalar";
    case Simd::Avx2: return "avx2";
    case Simd::Avx512: return "avx512";
    case Simd::Neon: return "neon";
  }
  return "scalar";
}

bool parse_simd(const char* name, Simd* out) {
  if (name == nullptr) return false;
  static const Simd all[] = {Simd::Scalar, Simd::Avx2, Simd::Avx512, Simd::Neon};
  for (Simd s : all) {
    if (std::strcmp(name, simd_name(s)) == 0) {
      *out = s;
      return true;
    }
  }
  return false;
}

}  // namespace ng
