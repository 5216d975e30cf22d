// GEMM internals shared by the driver (gemm.cc), the packing (gemm_pack.cc) and the per-ISA
// translation units, each of which fills one GemmContext.
//
// Dimensions:
//   M, N, K   C is M x N, op(A) is M x K, op(B) is K x N, all row-major, contiguous.
//   MR x NR   one packed panel: A is packed into MR-row panels, B into NR-column panels. Every
//             ISA shares this packing, so one packing routine serves all micro-kernels.
//   mr x nr   a context's register tile (BLIS's MR x NR): a whole number of packed panels, e.g.
//             12 x 32 = two A panels by two B panels with AVX-512, 6 x 16 = one by one elsewhere.
//   kc        depth of one packed block: a kc x nr slice of B stays in L1 while the
//             micro-kernel sweeps the row panels of A.
//   mc        rows of op(A) packed at once: an mc x kc block of A stays in L2.
//   nc        columns of op(B) packed at once (all of K): the kc x nc slice in use lives in L3.
//
// Packed layouts (zero-padded at the edges, so a micro-kernel may always run full panels):
//   A panel: element (i, k) of an MR x kc panel at a[k * MR + i]   (rs_a = 1, cs_a = MR);
//            the panels of a block follow each other, MR * kc floats apart.
//   B panel: element (k, j) of a kc x NR panel at b[k * NR + j]; the panels of a block follow
//            each other, kc * NR floats apart.
#pragma once

#include <cstdint>

#include "kernels.h"

namespace ng {
namespace gemm_detail {

// 6 x 16 fills AVX2's 16 ymm registers (12 accumulators, 2 B vectors, 1 broadcast) and
// NEON's 32 q registers (24 accumulators, 4 B vectors, 2 A vectors).
constexpr int64_t MR = 6;
constexpr int64_t NR = 16;

// The whole K x nc block of B is packed at once (each k-block's kc x nc slice in turn is the
// one in use); nc shrinks so that it holds at most this many floats (8 MB).
constexpr int64_t kPackBFloats = int64_t(2) << 20;

// Below this many flops (2*M*N*K) a gemm runs on the calling thread alone: handing work to
// the pool costs more than it saves. The 10-wide MLP products (1.3 Mflop, ~12 us on one core
// with AVX-512) are above it: the N = 10 one gains ~1.35x from a second thread.
constexpr double kParallelFlops = 1.0e6;
// Output-bound products also run on one thread: with K <= kSerialMaxK (<= 64 flops per
// element of C) and C no bigger than one core's L2, writing C is the cost, and a second core
// writing half of it made the whole slower, not faster (measured, 2 threads vs 1:
// 256x256x10 NT 20 us vs 8.7, 256x256x32 24 vs 22, 1024x256x10 51 vs 35; 256x256x48 and
// 2048x2048x10, whose C spills to memory, do gain from a second thread).
constexpr int64_t kSerialMaxK = 32;
constexpr int64_t kSerialMaxC = int64_t(1) << 18;  // floats of C (1 MB)

// A micro-kernel computes one tile (mr <= the context's mr, nr <= its nr)
//   C[i, j] = alpha * sum_k a(i, k) * b(k, j) + beta * C[i, j]   (i < mr, j < nr)
// where a(i, k) = a[i * rs_a + k * cs_a], except that the packed layout (rs_a = 1, cs_a = MR)
// continues row i >= MR in the next panel, at a[MR * kc + ...]; b(k, j) is in packed panel
// j / NR, at b[(j / NR) * kc * NR + k * NR + j % NR], b 64-byte aligned (the pack buffers are,
// and kc * NR floats are a multiple of 64 bytes). The packed path passes packed A; the
// narrow path passes op(A) unpacked (rs_a, cs_a = its strides), and then rows i >= mr must not
// be read (kernels clamp them to row mr - 1; their results are discarded).
// With beta == 0, C is never read. Each element is one sum over k in ascending order, each
// product fused or not in a fixed way per ISA (write-back: alpha * t and beta * c rounded, then
// added), so a tile's value does not depend on who computes it or how the tiles are cut.
using MicroKernel = void (*)(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, float* c,
                             int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta);

// Narrow N, both operands read in place (no packing): C[0:mr, 0:nr] (mr <= the context's mr,
// nr <= NR), op(A) unpacked as above, op(B)(k, j) = b[k * ldb + j] (nothing past column nr is
// read). Rows past mr read row mr - 1 and are not written. Same per-element arithmetic as the
// context's micro-kernel.
using NarrowBKernel = void (*)(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, int64_t ldb,
                               float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta);
// Narrow N with op(A) = A^T, rows of C along the vector lanes: C[0:mr, 0:n] (mr <= the
// context's narrow_t_rows, n <= its narrow_t_max_n). op(A)(i, k) = a[k * lda + i],
// op(B)(k, j) = b[k * rs_b + j * cs_b]. Same per-element arithmetic as the micro-kernel.
using NarrowTKernel = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, int64_t rs_b, int64_t cs_b,
                               float* c, int64_t ldc, int64_t mr, int64_t n, float alpha, float beta);

// A tile as MicroKernel's packed path (packed A, mr <= the context's mr, nr <= its nr), B's
// row k read in place at rows[k][j0 .. j0 + nr): nothing past column nr is read. Same
// per-element arithmetic as the micro-kernel.
using RowsKernel = void (*)(int64_t kc, const float* a, const float* const* rows, int64_t j0, float* c, int64_t ldc,
                            int64_t mr, int64_t nr, float alpha, float beta);

// Everything the driver knows about an instruction set. Each ISA's translation unit defines
// one (gemm_<isa>_context); cpu.cc's path table hands the chosen one to the driver.
struct GemmContext {
  MicroKernel ukernel;     // every tile of the packed path, edges included
  int64_t mr, nr;          // its full tile: multiples of MR and NR
  int64_t kc, mc, nc;      // cache blocking: kc and nc as above, mc a multiple of mr
  NarrowBKernel narrow_b;  // N <= NR, !transB, several threads; null: pack the B panel
  NarrowTKernel narrow_t;  // N <= narrow_t_max_n and transA; null: the micro-kernel
  int64_t narrow_t_rows, narrow_t_max_n;
  RowsKernel ukernel_rows;  // null: callers pack B panels (pack_b_rows) for ukernel instead
};

extern const GemmContext gemm_scalar_context;  // gemm_scalar.cc, every binary
extern const GemmContext gemm_avx2_context;    // gemm_avx2.cc, x86-64 only
extern const GemmContext gemm_avx512_context;  // gemm_avx512.cc, x86-64 only
extern const GemmContext gemm_neon_context;    // gemm_neon.cc, arm64 only
extern const GemmContext gemm_wasm_context;    // gemm_wasm.cc, wasm32 with SIMD128 only

// The context of a path (cpu.cc); an unsupported path gets the scalar one, so a wrong choice
// runs slowly rather than dies on an illegal instruction.
const GemmContext& gemm_context(Simd simd);

// The AVX2 6 x 16 micro-kernel, which the AVX-512 context also runs on tiles of fewer than 12
// rows (x86-64 only; call it only where AVX2 and FMA were found).
void ukernel_avx2(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, float* c, int64_t ldc,
                  int64_t mr, int64_t nr, float alpha, float beta);

// Copies the valid mr x nr part of a full MR x NR tile t into C with alpha/beta applied
// (beta == 0: C not read). Shared by every ISA's edge-tile path.
void write_tile_edge(float* c, int64_t ldc, const float* t, int64_t mr, int64_t nr, float alpha, float beta);

// Packing (gemm_pack.cc). op(A) rows [i0, i0 + mc) x cols [p0, p0 + kc) into ceil(mc / MR)
// panels; op(B) rows [p0, p0 + kc) x cols [j0, j0 + nr) into one panel (nr <= NR).
// lda/ldb are the row strides of A and B as stored (before op).
void pack_a(float* ap, const float* A, int64_t lda, bool transA, int64_t i0, int64_t mc, int64_t p0, int64_t kc);
void pack_b_panel(float* bp, const float* B, int64_t ldb, bool transB, int64_t p0, int64_t kc, int64_t j0, int64_t nr);
// One B panel whose rows are given by pointers: op(B)(k, j) = rows[k][j] for k < kc, columns
// [j0, j0 + nr) (nr <= NR), zero-padded to NR. The convolution's shifted-rows path (conv.cc)
// packs its implicit im2col matrix this way.
void pack_b_rows(float* bp, const float* const* rows, int64_t kc, int64_t j0, int64_t nr);
// Rows k < len of a B panel whose columns are contiguous runs: bp[k * NR + j] = rows[j][k] for
// j < nr (nr <= NR), 0 for the padding. The weight gradient's shifted-rows path packs its
// implicit im2col^T this way, one output row's run of positions at a time.
void pack_b_cols_t(float* bp, const float* const* rows, int64_t nr, int64_t len);

}  // namespace gemm_detail
}  // namespace ng
