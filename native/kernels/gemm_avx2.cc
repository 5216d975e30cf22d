// x86-64 GEMM micro-kernel with AVX2 + FMA: one 6 x 16 tile of C (see gemm_internal.h for the
// layouts), and the avx2 path's GemmContext.
//
// Dimensions: kc is the depth of the panels; mr <= MR = 6, nr <= NR = 16 are the valid
// rows/columns of the tile. Twelve ymm accumulators (6 rows x 2 vectors of 8), two B vectors
// and one A broadcast, 15 of the 16 ymm registers.
//
// This file (with optim_avx2.cc) alone is built with -mavx2 -mfma; its context is handed out
// only after cpu.cc has checked the CPU, so the rest of the binary stays baseline x86-64.
//
// Each element is one chain of fused multiply-adds in k order, written back as alpha * t and
// beta * c rounded, then added -- as in the AVX-512 kernels, so the two paths agree bit for bit.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "gemm_internal.h"

namespace ng {
namespace gemm_detail {

namespace {

static_assert(MR == 6 && NR == 16, "the AVX2 micro-kernel is written for a 6 x 16 tile");

// Packed selects the compile-time layout rs_a = 1, cs_a = MR (one contiguous A stream), so
// the hot loop needs one pointer for A; otherwise six row pointers with stride cs_a.
template <bool Packed>
inline void tile(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, __m256 acc[MR][2],
                 int64_t mr) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

#define NG_AVX2_STEP(A0, A1, A2, A3, A4, A5) \
  {                                          \
    const __m256 b0 = _mm256_load_ps(b);     \
    const __m256 b1 = _mm256_load_ps(b + 8); \
    __m256 av = _mm256_broadcast_ss(A0);     \
    c00 = _mm256_fmadd_ps(av, b0, c00);      \
    c01 = _mm256_fmadd_ps(av, b1, c01);      \
    av = _mm256_broadcast_ss(A1);            \
    c10 = _mm256_fmadd_ps(av, b0, c10);      \
    c11 = _mm256_fmadd_ps(av, b1, c11);      \
    av = _mm256_broadcast_ss(A2);            \
    c20 = _mm256_fmadd_ps(av, b0, c20);      \
    c21 = _mm256_fmadd_ps(av, b1, c21);      \
    av = _mm256_broadcast_ss(A3);            \
    c30 = _mm256_fmadd_ps(av, b0, c30);      \
    c31 = _mm256_fmadd_ps(av, b1, c31);      \
    av = _mm256_broadcast_ss(A4);            \
    c40 = _mm256_fmadd_ps(av, b0, c40);      \
    c41 = _mm256_fmadd_ps(av, b1, c41);      \
    av = _mm256_broadcast_ss(A5);            \
    c50 = _mm256_fmadd_ps(av, b0, c50);      \
    c51 = _mm256_fmadd_ps(av, b1, c51);      \
    b += NR;                                 \
  }

  if (Packed) {
    int64_t k = 0;
    // Unrolled by 4: fewer loop branches; the order of k is unchanged.
    for (; k + 4 <= kc; k += 4) {
      NG_AVX2_STEP(a + 0, a + 1, a + 2, a + 3, a + 4, a + 5);
      NG_AVX2_STEP(a + 6, a + 7, a + 8, a + 9, a + 10, a + 11);
      NG_AVX2_STEP(a + 12, a + 13, a + 14, a + 15, a + 16, a + 17);
      NG_AVX2_STEP(a + 18, a + 19, a + 20, a + 21, a + 22, a + 23);
      a += 4 * MR;
    }
    for (; k < kc; ++k) {
      NG_AVX2_STEP(a + 0, a + 1, a + 2, a + 3, a + 4, a + 5);
      a += MR;
    }
  } else {
    // Rows past mr read row mr - 1 (valid memory); their results are discarded.
    const float* a0 = a;
    const float* a1 = a + (mr > 1 ? 1 : mr - 1) * rs_a;
    const float* a2 = a + (mr > 2 ? 2 : mr - 1) * rs_a;
    const float* a3 = a + (mr > 3 ? 3 : mr - 1) * rs_a;
    const float* a4 = a + (mr > 4 ? 4 : mr - 1) * rs_a;
    const float* a5 = a + (mr > 5 ? 5 : mr - 1) * rs_a;
    for (int64_t k = 0; k < kc; ++k) {
      NG_AVX2_STEP(a0, a1, a2, a3, a4, a5);
      a0 += cs_a;
      a1 += cs_a;
      a2 += cs_a;
      a3 += cs_a;
      a4 += cs_a;
      a5 += cs_a;
    }
  }
#undef NG_AVX2_STEP

  acc[0][0] = c00;
  acc[0][1] = c01;
  acc[1][0] = c10;
  acc[1][1] = c11;
  acc[2][0] = c20;
  acc[2][1] = c21;
  acc[3][0] = c30;
  acc[3][1] = c31;
  acc[4][0] = c40;
  acc[4][1] = c41;
  acc[5][0] = c50;
  acc[5][1] = c51;
}

}  // namespace

void ukernel_avx2(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, float* c, int64_t ldc,
                  int64_t mr, int64_t nr, float alpha, float beta) {
  __m256 acc[MR][2];
  if (rs_a == 1 && cs_a == MR) {
    tile<true>(kc, a, rs_a, cs_a, b, acc, mr);
  } else {
    tile<false>(kc, a, rs_a, cs_a, b, acc, mr);
  }

  const __m256 va = _mm256_set1_ps(alpha);
  if (mr == MR && nr == NR) {
    if (beta == 0.0f) {
      // C is not read: it may hold NaN.
      for (int i = 0; i < MR; ++i) {
        _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, acc[i][0]));
        _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, acc[i][1]));
      }
    } else {
      // Same rounding as write_tile_edge: alpha * t and beta * c rounded, then added.
      const __m256 vb = _mm256_set1_ps(beta);
      for (int i = 0; i < MR; ++i) {
        float* ci = c + i * ldc;
        _mm256_storeu_ps(ci, _mm256_add_ps(_mm256_mul_ps(va, acc[i][0]), _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));
        _mm256_storeu_ps(ci + 8,
                         _mm256_add_ps(_mm256_mul_ps(va, acc[i][1]), _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8))));
      }
    }
    return;
  }
  // Edge tile: spill the full tile, then copy only the valid part.
  alignas(32) float t[MR * NR];
  for (int i = 0; i < MR; ++i) {
    _mm256_store_ps(t + i * NR, acc[i][0]);
    _mm256_store_ps(t + i * NR + 8, acc[i][1]);
  }
  write_tile_edge(c, ldc, t, mr, nr, alpha, beta);
}

// KC = 512, MC = 144, NC = 4096: see gemm_avx512.cc (measured there; 512 x 16 B panel = 32 KB
// of L1, 144 x 512 A block = 288 KB of L2).
const GemmContext gemm_avx2_context = {ukernel_avx2,         MR, NR,
                                       /*kc=*/512,
                                       /*mc=*/144,
                                       /*nc=*/4096,
                                       /*narrow_b=*/nullptr,
                                       /*narrow_t=*/nullptr, 0,  0,  /*ukernel_rows=*/nullptr};

}  // namespace gemm_detail
}  // namespace ng
#endif
