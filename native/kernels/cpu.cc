// Which paths this binary has and this CPU runs, and each path's contexts: the one place that
// knows which translation units exist for which architecture. Detection is done once
// (function-local statics are initialised thread-safely).
//
// The whole binary is baseline x86-64 (or arm64, or wasm32 with SIMD128); only the *_avx2.cc and *_avx512.cc files are
// compiled with wider instruction sets, and their contexts are handed out only when the CPU
// reports the features they were compiled for.
#include "cpu.h"

#include <cstring>

#include "gemm_internal.h"

namespace ng {

namespace {

using gemm_detail::GemmContext;

constexpr int kPaths = int(sizeof(kSimdPaths) / sizeof(kSimdPaths[0]));
// Row i is Simd value i, so a path's value indexes the tables below.
constexpr bool rows_in_enum_order() {
  for (int i = 0; i < kPaths; ++i)
    if (static_cast<int>(kSimdPaths[i].simd) != i) return false;
  return true;
}
static_assert(rows_in_enum_order(), "kSimdPaths lists the Simd values in order");

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
bool detect_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool detect_avx512() {
  // libgcc's check includes the OS saving the AVX-512 register state (XGETBV).
  return detect_avx2_fma() && __builtin_cpu_supports("avx512f");
}
#endif

// A path as built into this binary: no contexts where its code is not compiled in.
struct PathCode {
  bool (*detect)();  // null: every CPU of this architecture runs it
  const GemmContext* gemm;
  const OptimContext* optim;
};

PathCode path_code(Simd s) {
  switch (s) {
    case Simd::Scalar:
      return {nullptr, &gemm_detail::gemm_scalar_context, &optim_scalar_context};
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
    case Simd::Avx2:
      return {detect_avx2_fma, &gemm_detail::gemm_avx2_context, &optim_avx2_context};
    case Simd::Avx512:
      return {detect_avx512, &gemm_detail::gemm_avx512_context, &optim_avx512_context};
#endif
#if defined(__aarch64__)
    case Simd::Neon:  // NEON is part of the arm64 baseline
      return {nullptr, &gemm_detail::gemm_neon_context, &optim_scalar_context};
#endif
#if defined(__wasm_simd128__)
    // Every engine that runs the wasm build runs SIMD128 (the module does not validate
    // without it), so there is nothing to detect.
    case Simd::Simd128:
      return {nullptr, &gemm_detail::gemm_wasm_context, &optim_wasm_context};
#endif
    default:
      return {nullptr, nullptr, nullptr};
  }
}

// Each path's contexts, resolved once: a path this binary or CPU cannot run gets the scalar
// ones, so a wrong choice runs slowly rather than dies on an illegal instruction.
struct Resolved {
  bool supported[kPaths];
  const GemmContext* gemm[kPaths];
  const OptimContext* optim[kPaths];
};

const Resolved& resolved() {
  static const Resolved r = [] {
    Resolved out{};
    const PathCode scalar = path_code(Simd::Scalar);
    for (const SimdPath& p : kSimdPaths) {
      const int i = static_cast<int>(p.simd);
      const PathCode c = path_code(p.simd);
      out.supported[i] = c.gemm != nullptr && (c.detect == nullptr || c.detect());
      out.gemm[i] = out.supported[i] ? c.gemm : scalar.gemm;
      out.optim[i] = out.supported[i] ? c.optim : scalar.optim;
    }
    return out;
  }();
  return r;
}

}  // namespace

bool simd_supported(Simd s) { return resolved().supported[static_cast<int>(s)]; }

Simd best_simd() {
  Simd best = Simd::Scalar;
  for (const SimdPath& p : kSimdPaths)
    if (simd_supported(p.simd)) best = p.simd;
  return best;
}

const char* simd_name(Simd s) {
  for (const SimdPath& p : kSimdPaths)
    if (p.simd == s) return p.name;
  return kSimdPaths[0].name;
}

bool parse_simd(const char* name, Simd* out) {
  if (name == nullptr) return false;
  for (const SimdPath& p : kSimdPaths) {
    if (std::strcmp(name, p.name) == 0) {
      *out = p.simd;
      return true;
    }
  }
  return false;
}

const gemm_detail::GemmContext& gemm_detail::gemm_context(Simd s) { return *resolved().gemm[static_cast<int>(s)]; }

const OptimContext& optim_context(Simd s) { return *resolved().optim[static_cast<int>(s)]; }

}  // namespace ng
