// WebAssembly SIMD128 GEMM micro-kernel: one MR x NR = 6 x 16 tile of C (see gemm_internal.h
// for the layouts), and the simd128 path's GemmContext.
//
// Dimensions: kc is the depth of the panels; mr <= MR, nr <= NR are the valid rows/columns of
// the tile. V8 maps v128 values onto x86-64's 16 xmm registers and keeps one (xmm15) as its
// scratch, so 15 are ours: the tile is computed in three passes of R x 4V = 2 x 16 (8
// accumulators, 4 B vectors, the broadcast A value and a product: 14 registers), each pass
// reading the kc x 16 B panel again from L1. Measured (CPU time of the MLP's products,
// 256 x 784 x 256 and its transposes, min of 5): 2 x 16 and 3 x 8 ran 35-50 Gflop/s; 6 x 8
// (16 registers: V8 spilled two accumulators to the stack in the inner loop) 23-27; 6 x 4 31-33;
// 6 x 16 in one pass 24. kc 128-512 and mc 36-144 were within the noise of each other.
//
// Arithmetic: plain SIMD128 has no fused multiply-add (relaxed SIMD's is not in Node 20 without
// a flag, and its rounding is left to the engine), so each step is a multiply then an add,
// rounded separately, in k order: exactly the scalar micro-kernel's arithmetic, so the two
// paths give the same bits.
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "gemm_internal.h"

namespace ng {
namespace gemm_detail {

static_assert(MR == 6 && NR == 16, "the SIMD128 micro-kernel is written for a 6 x 16 tile");

namespace {

// One pass computes R rows by V vectors of 4 columns.
constexpr int R = 2;
constexpr int V = 4;
static_assert(MR % R == 0 && NR % (4 * V) == 0, "passes tile the 6 x 16 tile");

// acc[i][v] = sum_k a(i0 + i, k) * b(k, j0 + 4v .. j0 + 4v + 3); ak points at a(i0, 0), off[i]
// is row i0 + i's offset from it, astep the distance between k and k + 1.
inline void pass(int32_t kc, const float* ak, const int32_t* off, int32_t astep, const float* b, v128_t acc[R][V]) {
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < V; ++v) acc[i][v] = wasm_f32x4_splat(0.0f);
  // Pointers step through the panels (32-bit adds in wasm32, where int64_t indices cost more).
  for (int32_t k = 0; k < kc; ++k, b += NR, ak += astep) {
    v128_t bv[V];
    for (int v = 0; v < V; ++v) bv[v] = wasm_v128_load(b + 4 * v);
    for (int i = 0; i < R; ++i) {
      const v128_t ai = wasm_v128_load32_splat(ak + off[i]);
      for (int v = 0; v < V; ++v) acc[i][v] = wasm_f32x4_add(acc[i][v], wasm_f32x4_mul(ai, bv[v]));
    }
  }
}

void ukernel_wasm(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, float* c, int64_t ldc,
                  int64_t mr, int64_t nr, float alpha, float beta) {
  const bool packed = rs_a == 1 && cs_a == MR;
  // Rows past mr read row mr - 1 (valid memory) on the unpacked path; results discarded.
  int32_t off[MR];
  for (int i = 0; i < MR; ++i) off[i] = packed ? i : int32_t((i < mr ? i : mr - 1) * rs_a);
  const int32_t astep = packed ? int32_t(MR) : int32_t(cs_a);
  const bool full = mr == MR && nr == NR;
  const v128_t va = wasm_f32x4_splat(alpha), vb = wasm_f32x4_splat(beta);
  float t[MR * NR];
  for (int i0 = 0; i0 < mr; i0 += R) {
    for (int64_t j0 = 0; j0 < nr; j0 += 4 * V) {
      v128_t acc[R][V];
      pass(int32_t(kc), a, off + i0, astep, b + j0, acc);
      if (!full) {
        for (int i = 0; i < R; ++i)
          for (int v = 0; v < V; ++v) wasm_v128_store(t + (i0 + i) * NR + j0 + 4 * v, acc[i][v]);
        continue;
      }
      for (int i = 0; i < R; ++i) {
        float* ci = c + (i0 + i) * ldc + j0;
        for (int v = 0; v < V; ++v) {
          const v128_t s = wasm_f32x4_mul(va, acc[i][v]);
          // beta == 0 must not read C: it may hold NaN. Otherwise alpha * t and beta * c are
          // rounded separately, then added, as write_tile_edge does.
          wasm_v128_store(ci + 4 * v,
                          beta == 0.0f ? s : wasm_f32x4_add(s, wasm_f32x4_mul(vb, wasm_v128_load(ci + 4 * v))));
        }
      }
    }
  }
  if (!full) write_tile_edge(c, ldc, t, mr, nr, alpha, beta);
}

}  // namespace

// Blocking: kc as the scalar context's, so the k-blocks (and with them the roundings of the
// partial sums stored in C) are the same and simd128 gives scalar's bits for every K; kc 512
// measured as fast as 256 here. mc 72: as fast as 144, and half the A block.
const GemmContext gemm_wasm_context = {ukernel_wasm,
                                       MR,
                                       NR,
                                       /*kc=*/512,
                                       /*mc=*/72,
                                       /*nc=*/4096,
                                       /*narrow_b=*/nullptr,
                                       /*narrow_t=*/nullptr,
                                       0,
                                       0,
                                       /*ukernel_rows=*/nullptr};

}  // namespace gemm_detail
}  // namespace ng
#endif
