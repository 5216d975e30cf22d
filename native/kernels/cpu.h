// CPU feature detection and the choice of SIMD path, made once at load.
#pragma once

#include "kernels.h"

namespace ng {

// The best path this CPU and this binary support: Avx2 needs AVX2 and FMA at run time (x86-64),
// Neon is always there on arm64, otherwise Scalar.
Simd best_simd();
// Whether this binary and this CPU can run the path.
bool simd_supported(Simd s);
// "scalar", "avx2", "neon".
const char* simd_name(Simd s);
// Parses "scalar" | "avx2" | "neon"; returns false for anything else.
bool parse_simd(const char* name, Simd* out);

}  // namespace ng
