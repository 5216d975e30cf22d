// The SIMD paths, CPU feature detection, and the choice of path, made once at load.
#pragma once

#if !defined(__wasm__)
#include <thread>
#endif

#include "kernels.h"

namespace ng {

// Every SIMD path and its name (NODEGRAD_SIMD, the addon's simd()), from the baseline up: the
// best path a machine supports is the last one here that it supports. Every list of paths
// (messages, tests, benchmarks) walks this table.
struct SimdPath {
  Simd simd;
  const char* name;
};
inline constexpr SimdPath kSimdPaths[] = {
    {Simd::Scalar, "scalar"},    // any CPU
    {Simd::Avx2, "avx2"},        // x86-64 with AVX2 and FMA
    {Simd::Avx512, "avx512"},    // x86-64 with AVX-512F, AVX2 and FMA
    {Simd::Neon, "neon"},        // arm64 (part of its baseline)
    {Simd::Simd128, "simd128"},  // WebAssembly SIMD128 (the wasm build, compiled with -msimd128)
};

// The best path this CPU and this binary support.
Simd best_simd();
// Whether this binary has the path's code and this CPU can run it.
bool simd_supported(Simd s);
// Its name in kSimdPaths.
const char* simd_name(Simd s);
// Parses a name in kSimdPaths; returns false for anything else.
bool parse_simd(const char* name, Simd* out);

// One step of a spin-wait: the CPU's pause hint, and every 64th step let the OS run something
// else (the thread waited for may be preempted).
inline void spin_pause(int spins) {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
#if !defined(__wasm__)
  if ((spins & 63) == 63) std::this_thread::yield();
#else
  (void)spins;  // one thread: nothing to wait for (threadpool.cc)
#endif
}

}  // namespace ng
