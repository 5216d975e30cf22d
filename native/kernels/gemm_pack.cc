// GEMM packing: op(A) into MR-row panels and op(B) into NR-column panels (layouts in
// gemm_internal.h), shared by every ISA's context.
//
// Dimensions: op(A) is M x K (stored K x M when transA, row stride lda), op(B) is K x N (stored
// N x K when transB, row stride ldb); mc x kc of A and kc x nr of B are packed per call.
// Baseline code only: SSE2 is part of x86-64, so its transposes need no CPU check.
#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "gemm_internal.h"

namespace ng {
namespace gemm_detail {

#if defined(__SSE2__)
// Each returns how many k it packed (a multiple of 4); the caller finishes the rest. 3x faster
// than scalar loops here.

// Six rows r0 + i * lda (i < 6), k in [0, kc) -> ap[k * 6 + i].
int64_t pack_rows6_sse(float* ap, const float* r0, int64_t lda, int64_t kc) {
  static_assert(MR == 6, "pack_rows6_sse packs six rows");
  const float *r1 = r0 + lda, *r2 = r1 + lda, *r3 = r2 + lda, *r4 = r3 + lda, *r5 = r4 + lda;
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    __m128 a = _mm_loadu_ps(r0 + k), b = _mm_loadu_ps(r1 + k);
    __m128 c = _mm_loadu_ps(r2 + k), d = _mm_loadu_ps(r3 + k);
    _MM_TRANSPOSE4_PS(a, b, c, d);  // now a..d hold rows 0-3 at k, k+1, k+2, k+3
    const __m128 e = _mm_loadu_ps(r4 + k), f = _mm_loadu_ps(r5 + k);
    const __m128 lo = _mm_unpacklo_ps(e, f), hi = _mm_unpackhi_ps(e, f);  // rows 4-5 pairs
    float* o = ap + k * MR;
    _mm_storeu_ps(o, a);
    _mm_storel_pi(reinterpret_cast<__m64*>(o + 4), lo);
    _mm_storeu_ps(o + 6, b);
    _mm_storeh_pi(reinterpret_cast<__m64*>(o + 10), lo);
    _mm_storeu_ps(o + 12, c);
    _mm_storel_pi(reinterpret_cast<__m64*>(o + 16), hi);
    _mm_storeu_ps(o + 18, d);
    _mm_storeh_pi(reinterpret_cast<__m64*>(o + 22), hi);
  }
  return k;
}

// Sixteen rows r0 + j * ldb (j < 16), k in [0, kc) -> bp[k * 16 + j].
int64_t pack_cols16_sse(float* bp, const float* r0, int64_t ldb, int64_t kc) {
  static_assert(NR == 16, "pack_cols16_sse packs sixteen rows");
  int64_t done = 0;
  for (int64_t jq = 0; jq < NR; jq += 4) {
    const float* q0 = r0 + jq * ldb;
    const float *q1 = q0 + ldb, *q2 = q1 + ldb, *q3 = q2 + ldb;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m128 a = _mm_loadu_ps(q0 + k), b = _mm_loadu_ps(q1 + k);
      __m128 c = _mm_loadu_ps(q2 + k), d = _mm_loadu_ps(q3 + k);
      _MM_TRANSPOSE4_PS(a, b, c, d);
      _mm_storeu_ps(bp + k * NR + jq, a);
      _mm_storeu_ps(bp + (k + 1) * NR + jq, b);
      _mm_storeu_ps(bp + (k + 2) * NR + jq, c);
      _mm_storeu_ps(bp + (k + 3) * NR + jq, d);
    }
    done = k;
  }
  return done;
}
#endif

void pack_a(float* ap, const float* A, int64_t lda, bool transA, int64_t i0, int64_t mc, int64_t p0, int64_t kc) {
  for (int64_t ir = 0; ir < mc; ir += MR, ap += MR * kc) {
    const int64_t mr = std::min(MR, mc - ir);
    if (transA) {
      // op(A)(i, k) = A[k * lda + i]: the MR values of one k are contiguous.
      const float* src = A + p0 * lda + i0 + ir;
      if (mr == MR) {
        for (int64_t k = 0; k < kc; ++k, src += lda)
          for (int64_t i = 0; i < MR; ++i) ap[k * MR + i] = src[i];
      } else {
        for (int64_t k = 0; k < kc; ++k, src += lda)
          for (int64_t i = 0; i < MR; ++i) ap[k * MR + i] = i < mr ? src[i] : 0.0f;
      }
    } else if (mr == MR) {
      // op(A)(i, k) = A[i * lda + k]: six rows read side by side, transposed 4 k at a time.
      const float* r0 = A + (i0 + ir) * lda + p0;
      int64_t k = 0;
#if defined(__SSE2__)
      k = pack_rows6_sse(ap, r0, lda, kc);
#endif
      for (; k < kc; ++k)
        for (int64_t i = 0; i < MR; ++i) ap[k * MR + i] = r0[i * lda + k];
    } else {
      // Edge panel: read each row contiguously, write with stride MR, zero the padding.
      for (int64_t i = 0; i < MR; ++i) {
        if (i < mr) {
          const float* src = A + (i0 + ir + i) * lda + p0;
          for (int64_t k = 0; k < kc; ++k) ap[k * MR + i] = src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) ap[k * MR + i] = 0.0f;
        }
      }
    }
  }
}

void pack_b_panel(float* bp, const float* B, int64_t ldb, bool transB, int64_t p0, int64_t kc, int64_t j0, int64_t nr) {
  if (!transB) {
    // op(B)(k, j) = B[k * ldb + j]: one row of the panel is a contiguous copy.
    const float* src = B + p0 * ldb + j0;
    for (int64_t k = 0; k < kc; ++k, src += ldb, bp += NR) {
      if (nr == NR) {
        std::memcpy(bp, src, NR * sizeof(float));
      } else {
        for (int64_t j = 0; j < NR; ++j) bp[j] = j < nr ? src[j] : 0.0f;
      }
    }
  } else if (nr == NR) {
    // op(B)(k, j) = B[j * ldb + k]: stored rows j0.. read side by side, transposed.
    const float* r0 = B + j0 * ldb + p0;
    int64_t k = 0;
#if defined(__SSE2__)
    k = pack_cols16_sse(bp, r0, ldb, kc);
#endif
    for (; k < kc; ++k)
      for (int64_t j = 0; j < NR; ++j) bp[k * NR + j] = r0[j * ldb + k];
  } else {
    // Edge panel: read each stored row contiguously, write with stride NR, zero the padding.
    for (int64_t j = 0; j < NR; ++j) {
      if (j < nr) {
        const float* src = B + (j0 + j) * ldb + p0;
        for (int64_t k = 0; k < kc; ++k) bp[k * NR + j] = src[k];
      } else {
        for (int64_t k = 0; k < kc; ++k) bp[k * NR + j] = 0.0f;
      }
    }
  }
}

void pack_b_rows(float* bp, const float* const* rows, int64_t kc, int64_t j0, int64_t nr) {
  for (int64_t k = 0; k < kc; ++k, bp += NR) {
    const float* src = rows[k] + j0;
    if (nr == NR) {
      std::memcpy(bp, src, NR * sizeof(float));
    } else {
      for (int64_t j = 0; j < NR; ++j) bp[j] = j < nr ? src[j] : 0.0f;
    }
  }
}

void pack_b_cols_t(float* bp, const float* const* rows, int64_t nr, int64_t len) {
  int64_t k = 0;
#if defined(__SSE2__)
  if (nr == NR) {
    for (; k + 4 <= len; k += 4)
      for (int64_t jq = 0; jq < NR; jq += 4) {
        __m128 a = _mm_loadu_ps(rows[jq] + k), b = _mm_loadu_ps(rows[jq + 1] + k);
        __m128 c = _mm_loadu_ps(rows[jq + 2] + k), d = _mm_loadu_ps(rows[jq + 3] + k);
        _MM_TRANSPOSE4_PS(a, b, c, d);
        _mm_storeu_ps(bp + k * NR + jq, a);
        _mm_storeu_ps(bp + (k + 1) * NR + jq, b);
        _mm_storeu_ps(bp + (k + 2) * NR + jq, c);
        _mm_storeu_ps(bp + (k + 3) * NR + jq, d);
      }
  }
#endif
  for (; k < len; ++k)
    for (int64_t j = 0; j < NR; ++j) bp[k * NR + j] = j < nr ? rows[j][k] : 0.0f;
}

}  // namespace gemm_detail
}  // namespace ng
