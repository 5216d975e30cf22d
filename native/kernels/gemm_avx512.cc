// x86-64 GEMM micro-kernels with AVX-512F, and the avx512 path's GemmContext: a 12 x 32 tile
// (two packed 6-row A panels by two packed 16-column B panels), a 12 x 16 tile, a 6 x 32 tile
// for the last rows of a block, and two narrow-N kernels (see gemm_internal.h for the layouts).
//
// Dimensions: kc is the depth of the panels; mr <= 12, nr <= 32 are the valid rows/columns of
// a tile. 12 x 32: 24 zmm accumulators (12 rows x 2 vectors of 16), two B vectors, broadcasts
// from memory. 12 x 16: twelve accumulators, one B vector. Tiles of fewer than 12 rows (the
// last rows of a block) run per 6-row panel on the 6 x 32 tile (packed A, two B panels) or
// on the AVX2 6 x 16 kernel, which round alike.
//
// This file alone is built with -mavx512f -mavx2 -mfma (nodegrad_avx512 in binding.gyp and
// CMakeLists.txt); its context is handed out only after cpu.cc has found AVX-512F, AVX2 and FMA.
//
// Every kernel computes each element as the same chain of fused multiply-adds in k order as the
// AVX2 kernel and writes back alike, so a tile has the same bits whichever kernel computes it.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>

#include "gemm_internal.h"

namespace ng {
namespace gemm_detail {

namespace {

static_assert(MR == 6 && NR == 16, "the AVX-512 kernels are written for 6 x 16 panels");

// 12 x 16 tile: rows 0-5 from the A panel at a, rows 6-11 from the next one (packed: at
// a + MR * kc; unpacked: rows i at a + i * rs_a). All 12 rows must be valid; columns past nr
// are masked off on write-back.
template <bool Packed>
inline void tile12(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, __m512 acc[12]) {
  __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps();
  __m512 c3 = _mm512_setzero_ps(), c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps();
  __m512 c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps(), c8 = _mm512_setzero_ps();
  __m512 c9 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
#define NG_AVX512_STEP(P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11) \
  {                                                                      \
    const __m512 bv = _mm512_loadu_ps(b);                                \
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(*(P0)), bv, c0);                 \
    c1 = _mm512_fmadd_ps(_mm512_set1_ps(*(P1)), bv, c1);                 \
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(*(P2)), bv, c2);                 \
    c3 = _mm512_fmadd_ps(_mm512_set1_ps(*(P3)), bv, c3);                 \
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(*(P4)), bv, c4);                 \
    c5 = _mm512_fmadd_ps(_mm512_set1_ps(*(P5)), bv, c5);                 \
    c6 = _mm512_fmadd_ps(_mm512_set1_ps(*(P6)), bv, c6);                 \
    c7 = _mm512_fmadd_ps(_mm512_set1_ps(*(P7)), bv, c7);                 \
    c8 = _mm512_fmadd_ps(_mm512_set1_ps(*(P8)), bv, c8);                 \
    c9 = _mm512_fmadd_ps(_mm512_set1_ps(*(P9)), bv, c9);                 \
    c10 = _mm512_fmadd_ps(_mm512_set1_ps(*(P10)), bv, c10);              \
    c11 = _mm512_fmadd_ps(_mm512_set1_ps(*(P11)), bv, c11);              \
    b += NR;                                                             \
  }
  if (Packed) {
    const float* a1 = a + MR * kc;
    for (int64_t k = 0; k < kc; ++k, a += MR, a1 += MR)
      NG_AVX512_STEP(a, a + 1, a + 2, a + 3, a + 4, a + 5, a1, a1 + 1, a1 + 2, a1 + 3, a1 + 4, a1 + 5);
  } else {
    const float* r[12];
    for (int i = 0; i < 12; ++i) r[i] = a + i * rs_a;
    for (int64_t k = 0; k < kc; ++k) {
      const int64_t o = k * cs_a;
      NG_AVX512_STEP(r[0] + o, r[1] + o, r[2] + o, r[3] + o, r[4] + o, r[5] + o, r[6] + o, r[7] + o, r[8] + o, r[9] + o,
                     r[10] + o, r[11] + o);
    }
  }
#undef NG_AVX512_STEP
  acc[0] = c0;
  acc[1] = c1;
  acc[2] = c2;
  acc[3] = c3;
  acc[4] = c4;
  acc[5] = c5;
  acc[6] = c6;
  acc[7] = c7;
  acc[8] = c8;
  acc[9] = c9;
  acc[10] = c10;
  acc[11] = c11;
}

// Narrow N with op(A) = A^T (the 10-wide backward products): rows of C along the vector
// lanes, so N = 10 wastes no lanes. 32 rows x NJ columns: 2 * NJ zmm accumulators; per k,
// two contiguous loads of op(A)'s column (masked past mr) and NJ broadcasts of op(B)'s row.
// Element (i, k) of op(A) at a[k * lda + i]; (k, j) of op(B) at b[k * rs_b + j * cs_b].
// Each element is the same fma chain in k order as in the other kernels, and written back
// the same way, so the bits do not depend on which kernel computed it.
template <int NJ>
void narrow_t(int64_t kc, const float* a, int64_t lda, const float* b, int64_t rs_b, int64_t cs_b, float* c,
              int64_t ldc, int64_t mr, float alpha, float beta) {
  static_assert(NJ >= 1 && NJ <= 12, "2 * NJ accumulators must fit the 32 zmm registers");
  // Named accumulators (u: rows 0-15, v: rows 16-31, one pair per column j); the unused ones
  // are folded away (NJ is a constant). An array of them would live on the stack.
  __m512 u0 = _mm512_setzero_ps(), v0 = _mm512_setzero_ps();
  __m512 u1 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
  __m512 u2 = _mm512_setzero_ps(), v2 = _mm512_setzero_ps();
  __m512 u3 = _mm512_setzero_ps(), v3 = _mm512_setzero_ps();
  __m512 u4 = _mm512_setzero_ps(), v4 = _mm512_setzero_ps();
  __m512 u5 = _mm512_setzero_ps(), v5 = _mm512_setzero_ps();
  __m512 u6 = _mm512_setzero_ps(), v6 = _mm512_setzero_ps();
  __m512 u7 = _mm512_setzero_ps(), v7 = _mm512_setzero_ps();
  __m512 u8 = _mm512_setzero_ps(), v8 = _mm512_setzero_ps();
  __m512 u9 = _mm512_setzero_ps(), v9 = _mm512_setzero_ps();
  __m512 u10 = _mm512_setzero_ps(), v10 = _mm512_setzero_ps();
  __m512 u11 = _mm512_setzero_ps(), v11 = _mm512_setzero_ps();
  const __mmask16 m0 = mr >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << mr) - 1u);
  const __mmask16 m1 = mr >= 32 ? __mmask16(0xFFFF) : mr > 16 ? __mmask16((1u << (mr - 16)) - 1u) : __mmask16(0);
#define NG_NT_STEP(J)                              \
  if (NJ > J) {                                    \
    const __m512 bj = _mm512_set1_ps(b[J * cs_b]); \
    u##J = _mm512_fmadd_ps(x0, bj, u##J);          \
    v##J = _mm512_fmadd_ps(x1, bj, v##J);          \
  }
  for (int64_t k = 0; k < kc; ++k, a += lda, b += rs_b) {
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, a);  // masked lanes are not read
    const __m512 x1 = _mm512_maskz_loadu_ps(m1, a + 16);
    NG_NT_STEP(0)
    NG_NT_STEP(1)
    NG_NT_STEP(2)
    NG_NT_STEP(3)
    NG_NT_STEP(4)
    NG_NT_STEP(5)
    NG_NT_STEP(6)
    NG_NT_STEP(7)
    NG_NT_STEP(8)
    NG_NT_STEP(9)
    NG_NT_STEP(10)
    NG_NT_STEP(11)
  }
#undef NG_NT_STEP
  alignas(64) float t[12][32];
#define NG_NT_STORE(J)                \
  if (NJ > J) {                       \
    _mm512_store_ps(t[J], u##J);      \
    _mm512_store_ps(t[J] + 16, v##J); \
  }
  NG_NT_STORE(0)
  NG_NT_STORE(1)
  NG_NT_STORE(2)
  NG_NT_STORE(3)
  NG_NT_STORE(4)
  NG_NT_STORE(5)
  NG_NT_STORE(6)
  NG_NT_STORE(7)
  NG_NT_STORE(8)
  NG_NT_STORE(9)
  NG_NT_STORE(10)
  NG_NT_STORE(11)
#undef NG_NT_STORE
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < NJ; ++j) ci[j] = alpha * t[j][i];
    } else {
      for (int j = 0; j < NJ; ++j) ci[j] = alpha * t[j][i] + beta * ci[j];
    }
  }
}

// 12 x nr tile (nr <= NR): rows 0-5 from the A panel at a, rows 6-11 from the next one; all
// 12 rows must be valid.
void ukernel_avx512_12(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, float* c, int64_t ldc,
                       int64_t nr, float alpha, float beta) {
  __m512 acc[12];
  if (rs_a == 1 && cs_a == MR) {
    tile12<true>(kc, a, rs_a, cs_a, b, acc);
  } else {
    tile12<false>(kc, a, rs_a, cs_a, b, acc);
  }
  const __mmask16 m = nr >= NR ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1u);
  const __m512 va = _mm512_set1_ps(alpha);
  // Same rounding as the AVX2 kernel and write_tile_edge: alpha * t, beta * c, then add.
  if (beta == 0.0f) {
    for (int i = 0; i < 12; ++i) _mm512_mask_storeu_ps(c + i * ldc, m, _mm512_mul_ps(va, acc[i]));
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
    for (int i = 0; i < 12; ++i) {
      float* ci = c + i * ldc;
      const __m512 old = _mm512_maskz_loadu_ps(m, ci);  // masked: never reads past column nr
      _mm512_mask_storeu_ps(ci, m, _mm512_add_ps(_mm512_mul_ps(va, acc[i]), _mm512_mul_ps(vb, old)));
    }
  }
}

// Narrow N, B read in place: C[0:mr, 0:nr] (mr <= 12, nr <= NR) from op(A) unpacked (row i at
// a + i * rs_a, column stride cs_a) and op(B) row k at b + k * ldb (nr valid columns; the
// masked lanes are not read, they count as the zero padding of a packed panel). Rows past mr
// read row mr - 1 and are not written. Same fma chain and write-back as ukernel_avx512_12.
void ukernel_avx512_12_bn(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, int64_t ldb, float* c,
                          int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta) {
  const __mmask16 m = nr >= NR ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1u);
  const float* r[12];
  for (int64_t i = 0; i < 12; ++i) r[i] = a + (i < mr ? i : mr - 1) * rs_a;
  __m512 acc[12];
  __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps();
  __m512 c3 = _mm512_setzero_ps(), c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps();
  __m512 c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps(), c8 = _mm512_setzero_ps();
  __m512 c9 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k, b += ldb) {
    const int64_t o = k * cs_a;
    const __m512 bv = _mm512_maskz_loadu_ps(m, b);
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(r[0][o]), bv, c0);
    c1 = _mm512_fmadd_ps(_mm512_set1_ps(r[1][o]), bv, c1);
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(r[2][o]), bv, c2);
    c3 = _mm512_fmadd_ps(_mm512_set1_ps(r[3][o]), bv, c3);
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(r[4][o]), bv, c4);
    c5 = _mm512_fmadd_ps(_mm512_set1_ps(r[5][o]), bv, c5);
    c6 = _mm512_fmadd_ps(_mm512_set1_ps(r[6][o]), bv, c6);
    c7 = _mm512_fmadd_ps(_mm512_set1_ps(r[7][o]), bv, c7);
    c8 = _mm512_fmadd_ps(_mm512_set1_ps(r[8][o]), bv, c8);
    c9 = _mm512_fmadd_ps(_mm512_set1_ps(r[9][o]), bv, c9);
    c10 = _mm512_fmadd_ps(_mm512_set1_ps(r[10][o]), bv, c10);
    c11 = _mm512_fmadd_ps(_mm512_set1_ps(r[11][o]), bv, c11);
  }
  acc[0] = c0;
  acc[1] = c1;
  acc[2] = c2;
  acc[3] = c3;
  acc[4] = c4;
  acc[5] = c5;
  acc[6] = c6;
  acc[7] = c7;
  acc[8] = c8;
  acc[9] = c9;
  acc[10] = c10;
  acc[11] = c11;
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
    for (int64_t i = 0; i < mr; ++i) _mm512_mask_storeu_ps(c + i * ldc, m, _mm512_mul_ps(va, acc[i]));
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
    for (int64_t i = 0; i < mr; ++i) {
      float* ci = c + i * ldc;
      const __m512 old = _mm512_maskz_loadu_ps(m, ci);
      _mm512_mask_storeu_ps(ci, m, _mm512_add_ps(_mm512_mul_ps(va, acc[i]), _mm512_mul_ps(vb, old)));
    }
  }
}

// Where a 32-column tile's B rows come from. PackedB: two adjacent packed B panels (the second
// at b + kc * NR). RowsB: row k is rows[k][j0 .. j0 + 32), read in place (the convolution's
// shifted-rows path, whose B rows are runs of one padded buffer: no packing), the loads masked
// to the tile's valid columns so nothing past them is touched. Both give the same values in
// the same order, so the kernels' bits do not depend on the source.
struct PackedB {
  const float* b;
  const float* b2;
  PackedB(const float* b_, int64_t kc) : b(b_), b2(b_ + kc * NR) {}
  __m512 lo(int64_t k) const { return _mm512_loadu_ps(b + k * NR); }
  __m512 hi(int64_t k) const { return _mm512_loadu_ps(b2 + k * NR); }
};
struct RowsB {
  const float* const* rows;
  int64_t j0;
  __mmask16 m1, m2;
  __m512 lo(int64_t k) const { return _mm512_maskz_loadu_ps(m1, rows[k] + j0); }
  __m512 hi(int64_t k) const { return _mm512_maskz_loadu_ps(m2, rows[k] + j0 + NR); }
};

// The masks of a 32-column tile with nr valid columns (nr <= 2 * NR).
inline __mmask16 lo_mask(int64_t nr) { return nr >= NR ? __mmask16(0xFFFF) : __mmask16((1u << nr) - 1u); }
inline __mmask16 hi_mask(int64_t nr) { return lo_mask(std::max<int64_t>(nr - NR, 0)); }

// 12 x 32 tile: two packed 6-row A panels (the second at a + MR * kc) times a 32-column B
// source (nr <= 32 valid columns). 24 zmm accumulators; per k, two B loads and twelve
// broadcasts feed 24 fmas, so the loads no longer bound it.
template <class BSrc>
void ukernel_avx512_12x32(int64_t kc, const float* a, const BSrc& bs, float* c, int64_t ldc, int64_t nr, float alpha,
                          float beta) {
  __m512 p0 = _mm512_setzero_ps(), q0 = _mm512_setzero_ps();
  __m512 p1 = _mm512_setzero_ps(), q1 = _mm512_setzero_ps();
  __m512 p2 = _mm512_setzero_ps(), q2 = _mm512_setzero_ps();
  __m512 p3 = _mm512_setzero_ps(), q3 = _mm512_setzero_ps();
  __m512 p4 = _mm512_setzero_ps(), q4 = _mm512_setzero_ps();
  __m512 p5 = _mm512_setzero_ps(), q5 = _mm512_setzero_ps();
  __m512 p6 = _mm512_setzero_ps(), q6 = _mm512_setzero_ps();
  __m512 p7 = _mm512_setzero_ps(), q7 = _mm512_setzero_ps();
  __m512 p8 = _mm512_setzero_ps(), q8 = _mm512_setzero_ps();
  __m512 p9 = _mm512_setzero_ps(), q9 = _mm512_setzero_ps();
  __m512 p10 = _mm512_setzero_ps(), q10 = _mm512_setzero_ps();
  __m512 p11 = _mm512_setzero_ps(), q11 = _mm512_setzero_ps();
  const float* a1 = a + MR * kc;
#define NG_W_ROW(I, AV)                  \
  {                                      \
    const __m512 x = _mm512_set1_ps(AV); \
    p##I = _mm512_fmadd_ps(x, b0, p##I); \
    q##I = _mm512_fmadd_ps(x, b1, q##I); \
  }
  for (int64_t k = 0; k < kc; ++k, a += MR, a1 += MR) {
    const __m512 b0 = bs.lo(k), b1 = bs.hi(k);
    NG_W_ROW(0, a[0])
    NG_W_ROW(1, a[1])
    NG_W_ROW(2, a[2])
    NG_W_ROW(3, a[3])
    NG_W_ROW(4, a[4])
    NG_W_ROW(5, a[5])
    NG_W_ROW(6, a1[0])
    NG_W_ROW(7, a1[1])
    NG_W_ROW(8, a1[2])
    NG_W_ROW(9, a1[3])
    NG_W_ROW(10, a1[4])
    NG_W_ROW(11, a1[5])
  }
#undef NG_W_ROW
  const __mmask16 m1 = lo_mask(nr), m2 = hi_mask(nr);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  // Same rounding as the other kernels: alpha * t, beta * c, then add; beta == 0 reads no C.
#define NG_W_OUT(I)                                                                                                    \
  {                                                                                                                    \
    float* ci = c + (I)*ldc;                                                                                           \
    if (beta == 0.0f) {                                                                                                \
      _mm512_mask_storeu_ps(ci, m1, _mm512_mul_ps(va, p##I));                                                          \
      _mm512_mask_storeu_ps(ci + NR, m2, _mm512_mul_ps(va, q##I));                                                     \
    } else {                                                                                                           \
      _mm512_mask_storeu_ps(ci, m1,                                                                                    \
                            _mm512_add_ps(_mm512_mul_ps(va, p##I), _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, ci)))); \
      _mm512_mask_storeu_ps(                                                                                           \
          ci + NR, m2, _mm512_add_ps(_mm512_mul_ps(va, q##I), _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m2, ci + NR)))); \
    }                                                                                                                  \
  }
  NG_W_OUT(0)
  NG_W_OUT(1)
  NG_W_OUT(2)
  NG_W_OUT(3)
  NG_W_OUT(4)
  NG_W_OUT(5)
  NG_W_OUT(6)
  NG_W_OUT(7)
  NG_W_OUT(8)
  NG_W_OUT(9)
  NG_W_OUT(10)
  NG_W_OUT(11)
#undef NG_W_OUT
}

// 6 x 32 tile, rows mr <= 6 written: one packed 6-row A panel times two adjacent packed B
// panels (the second at b + kc * NR, nr2 <= NR valid columns). The last rows of a block (256
// rows = 21 tiles of 12 + 4) ran on the AVX2 6 x 16 kernel twice, as long as a whole 12 x 32
// tile for a third of its work; here they take half that. Twelve accumulators (6 rows x 2
// vectors), the same fma chain per element and the same write-back as the other kernels.
template <class BSrc>
void ukernel_avx512_6x32(int64_t kc, const float* a, const BSrc& bs, float* c, int64_t ldc, int64_t mr, int64_t nr,
                         float alpha, float beta) {
  __m512 p0 = _mm512_setzero_ps(), q0 = _mm512_setzero_ps();
  __m512 p1 = _mm512_setzero_ps(), q1 = _mm512_setzero_ps();
  __m512 p2 = _mm512_setzero_ps(), q2 = _mm512_setzero_ps();
  __m512 p3 = _mm512_setzero_ps(), q3 = _mm512_setzero_ps();
  __m512 p4 = _mm512_setzero_ps(), q4 = _mm512_setzero_ps();
  __m512 p5 = _mm512_setzero_ps(), q5 = _mm512_setzero_ps();
#define NG_W_ROW(I)                        \
  {                                        \
    const __m512 x = _mm512_set1_ps(a[I]); \
    p##I = _mm512_fmadd_ps(x, b0, p##I);   \
    q##I = _mm512_fmadd_ps(x, b1, q##I);   \
  }
  for (int64_t k = 0; k < kc; ++k, a += MR) {
    const __m512 b0 = bs.lo(k), b1 = bs.hi(k);
    NG_W_ROW(0)
    NG_W_ROW(1)
    NG_W_ROW(2)
    NG_W_ROW(3)
    NG_W_ROW(4)
    NG_W_ROW(5)
  }
#undef NG_W_ROW
  const __m512 acc[2][MR] = {{p0, p1, p2, p3, p4, p5}, {q0, q1, q2, q3, q4, q5}};
  const __mmask16 m1 = lo_mask(nr), m2 = hi_mask(nr);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      _mm512_mask_storeu_ps(ci, m1, _mm512_mul_ps(va, acc[0][i]));
      _mm512_mask_storeu_ps(ci + NR, m2, _mm512_mul_ps(va, acc[1][i]));
    } else {
      _mm512_mask_storeu_ps(
          ci, m1, _mm512_add_ps(_mm512_mul_ps(va, acc[0][i]), _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, ci))));
      _mm512_mask_storeu_ps(
          ci + NR, m2,
          _mm512_add_ps(_mm512_mul_ps(va, acc[1][i]), _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m2, ci + NR))));
    }
  }
}

// The narrow_t kernel of the context: narrow_t<n> for n <= kNarrowTMaxN.
constexpr int64_t kNarrowTMaxN = 12;  // 2 * 12 accumulators + 3 of the 32 zmm registers
void ukernel_avx512_narrow_t(int64_t kc, const float* a, int64_t lda, const float* b, int64_t rs_b, int64_t cs_b,
                             float* c, int64_t ldc, int64_t mr, int64_t n, float alpha, float beta) {
  // clang-format cannot lay out a switch built by a macro:
  // clang-format off
  switch (n) {
#define NG_CASE(J) \
  case J: narrow_t<J>(kc, a, lda, b, rs_b, cs_b, c, ldc, mr, alpha, beta); break;
    NG_CASE(1) NG_CASE(2) NG_CASE(3) NG_CASE(4) NG_CASE(5) NG_CASE(6)
    NG_CASE(7) NG_CASE(8) NG_CASE(9) NG_CASE(10) NG_CASE(11) NG_CASE(12)
#undef NG_CASE
    default: break;  // callers only pass n <= kNarrowTMaxN
  }
  // clang-format on
}

// The context's micro-kernel: a tile of up to 12 x 32 (see MicroKernel in gemm_internal.h).
void ukernel_avx512(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, float* c, int64_t ldc,
                    int64_t mr, int64_t nr, float alpha, float beta) {
  const bool packed = rs_a == 1 && cs_a == MR;
  if (mr == 2 * MR) {
    if (packed && nr > NR) {
      ukernel_avx512_12x32(kc, a, PackedB(b, kc), c, ldc, nr, alpha, beta);
    } else {
      for (int64_t j = 0; j < nr; j += NR)
        ukernel_avx512_12(kc, a, rs_a, cs_a, b + j * kc, c + j, ldc, std::min(NR, nr - j), alpha, beta);
    }
    return;
  }
  // Fewer rows (the end of a block): a 6-row tile per A panel, rather than a 12-row tile that
  // would multiply zero padding (or, unpacked, clamped rows): 6 x 32 on packed panels, else
  // the 6 x 16 kernel on each (A panel, B panel) pair.
  const int64_t next_panel = packed ? MR * kc : MR * rs_a;
  for (int64_t i = 0; i < mr; i += MR) {
    const float* ai = a + i / MR * next_panel;
    if (packed && nr > NR) {
      ukernel_avx512_6x32(kc, ai, PackedB(b, kc), c + i * ldc, ldc, std::min(MR, mr - i), nr, alpha, beta);
      continue;
    }
    for (int64_t j = 0; j < nr; j += NR)
      ukernel_avx2(kc, ai, rs_a, cs_a, b + j * kc, c + i * ldc + j, ldc, std::min(MR, mr - i), std::min(NR, nr - j),
                   alpha, beta);
  }
}

// The context's rows kernel (RowsKernel in gemm_internal.h): the same tiles as ukernel_avx512's
// packed path, B read in place from row pointers.
void ukernel_avx512_rows(int64_t kc, const float* a, const float* const* rows, int64_t j0, float* c, int64_t ldc,
                         int64_t mr, int64_t nr, float alpha, float beta) {
  const RowsB bs{rows, j0, lo_mask(nr), hi_mask(nr)};
  if (mr == 2 * MR) {
    ukernel_avx512_12x32(kc, a, bs, c, ldc, nr, alpha, beta);
    return;
  }
  for (int64_t i = 0; i < mr; i += MR)
    ukernel_avx512_6x32(kc, a + i / MR * MR * kc, bs, c + i * ldc, ldc, std::min(MR, mr - i), nr, alpha, beta);
}

}  // namespace

// KC = 512: a 12 x 32 tile then streams a 64 KB B panel pair from L2 (L2 -> L1 keeps up with
// it), and C is read and written K / KC times instead of twice as often: measured on a Zen 5
// (48 KB L1, 1 MB L2), 2 threads, 1024^3 and 2048^3 ran ~10% faster than with KC = 256
// (KC = 1024 about the same as 512, 384 and below slower). MC = 144: a 288 KB A block in L2.
const GemmContext gemm_avx512_context = {ukernel_avx512,
                                         2 * MR,
                                         2 * NR,
                                         /*kc=*/512,
                                         /*mc=*/144,
                                         /*nc=*/4096,
                                         ukernel_avx512_12_bn,
                                         ukernel_avx512_narrow_t,
                                         /*narrow_t_rows=*/32,
                                         kNarrowTMaxN,
                                         ukernel_avx512_rows};

}  // namespace gemm_detail
}  // namespace ng
#endif
