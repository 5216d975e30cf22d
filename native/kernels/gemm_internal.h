// GEMM internals shared by the driver (gemm.cc) and the per-ISA micro-kernels.
//
// Dimensions:
//   M, N, K   C is M x N, op(A) is M x K, op(B) is K x N, all row-major, contiguous.
//   MR x NR   the register tile of C one micro-kernel call computes.
//   KC        depth of one packed block: a KC x NR panel of B stays in L1 while the
//             micro-kernel sweeps the MR-row panels of A.
//   MC        rows of op(A) packed at once: an MC x KC block of A (~144 KB) stays in L2.
//   NC        columns of op(B) packed at once (all of K): the KC x NC slice in use lives in L3.
//
// Packed layouts (zero-padded at the edges, so a micro-kernel always runs a full tile):
//   A panel: element (i, k) of an MR x kc panel at a[k * MR + i]   (rs_a = 1, cs_a = MR)
//   B panel: element (k, j) of a kc x NR panel at b[k * NR + j]
#pragma once

#include <cstdint>

namespace ng {
namespace gemm_detail {

// One MR x NR packing for every ISA, so one packing routine serves all micro-kernels. With
// AVX-512 the Avx2 path also runs 12 x 32 tiles (two A panels x two B panels) and 12 x 16 tiles
// on the same packed data; every kernel computes an element the same way (one fma chain in k
// order, the same write-back), so which one runs a tile never changes the result.
// 6 x 16 fills AVX2's 16 ymm registers (12 accumulators, 2 B vectors, 1 broadcast) and
// NEON's 32 q registers (24 accumulators, 4 B vectors, 2 A vectors).
constexpr int64_t MR = 6;
constexpr int64_t NR = 16;
// KC = 512: a 12 x 32 AVX-512 tile then streams a 64 KB B panel pair from L2 (L2 -> L1 keeps
// up with it), and C is read and written K / KC times instead of twice as often: measured on a
// Zen 5 (48 KB L1, 1 MB L2), 2 threads, 1024^3 and 2048^3 ran ~10% faster than with KC = 256
// (KC = 1024 about the same as 512, 384 and below slower).
constexpr int64_t KC = 512;   // 32 KB B panel, 12 KB A panel
constexpr int64_t MC = 144;   // 288 KB A block in L2 (1 MB); multiple of MR
constexpr int64_t NC = 4096;  // multiple of NR
// The whole K x NC block of B is packed at once (each k-block's KC x NC slice in turn is the
// one in use); NC shrinks so that it holds at most this many floats (8 MB).
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

// A micro-kernel computes one tile
//   C[i, j] = alpha * sum_k a(i, k) * b[k * NR + j] + beta * C[i, j]   (i < mr, j < nr)
// where a(i, k) = a[i * rs_a + k * cs_a]. The packed path passes rs_a = 1, cs_a = MR; the
// narrow path passes op(A) unpacked (rs_a, cs_a = its strides) and then rows i >= mr must not
// be read (the kernel clamps them to row mr - 1; their results are discarded).
// With beta == 0, C is never read. The sum over k runs in ascending k order, each product
// fused or not in a fixed way per ISA, so a tile's value does not depend on who computes it.
using MicroKernel = void (*)(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a,
                             const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                             float alpha, float beta);

void ukernel_scalar(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                    float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta);
#if defined(__x86_64__) || defined(_M_X64)
void ukernel_avx2(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                  float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta);
// AVX-512F companion of the AVX2 path: a 12 x nr tile (nr <= NR), i.e. two MR-row panels at
// once -- packed (rs_a = 1, cs_a = MR): the second panel at a + MR * kc; unpacked: rows at
// a + i * rs_a. All 12 rows must be valid. Same per-element arithmetic as ukernel_avx2, so
// which of the two computes a tile does not change its bits.
void ukernel_avx512_12(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                       float* c, int64_t ldc, int64_t nr, float alpha, float beta);
// AVX-512F, narrow N with B read in place: C[0:mr, 0:nr] (mr <= 12, nr <= NR), op(A) unpacked
// as above, op(B)(k, j) = b[k * ldb + j] (j < nr; nothing past column nr is read). Rows past mr
// read row mr - 1 and are not written. Same per-element arithmetic as ukernel_avx512_12.
void ukernel_avx512_12_bn(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                          int64_t ldb, float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha,
                          float beta);
// AVX-512F, 12 x (16 + nr2) tile: two packed A panels (second at a + MR * kc) times two adjacent
// packed B panels (second at b + kc * NR, nr2 <= NR valid columns); the first B panel is full.
void ukernel_avx512_12x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                          int64_t nr2, float alpha, float beta);
// AVX-512F, narrow N with op(A) = A^T: C[0:mr, 0:n] (mr <= 32, n <= kNarrowTMaxN) with rows
// along the vector lanes. op(A)(i, k) = a[k * lda + i], op(B)(k, j) = b[k * rs_b + j * cs_b].
constexpr int64_t kNarrowTMaxN = 12;  // 2 * 12 accumulators + 3 of the 32 zmm registers
void ukernel_avx512_narrow_t(int64_t kc, const float* a, int64_t lda, const float* b,
                             int64_t rs_b, int64_t cs_b, float* c, int64_t ldc, int64_t mr,
                             int64_t n, float alpha, float beta);
#endif
#if defined(__aarch64__)
void ukernel_neon(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                  float* c, int64_t ldc, int64_t mr, int64_t nr, float alpha, float beta);
#endif

// Copies the valid mr x nr part of a full MR x NR tile t into C with alpha/beta applied
// (beta == 0: C not read). Shared by every ISA's edge-tile path.
void write_tile_edge(float* c, int64_t ldc, const float* t, int64_t mr, int64_t nr, float alpha,
                     float beta);

// Packing (gemm.cc). op(A) rows [i0, i0 + mc) x cols [p0, p0 + kc) into ceil(mc / MR) panels;
// op(B) rows [p0, p0 + kc) x cols [j0, j0 + nc) into ceil(nc / NR) panels.
// lda/ldb are the row strides of A and B as stored (before op).
void pack_a(float* ap, const float* A, int64_t lda, bool transA, int64_t i0, int64_t mc,
            int64_t p0, int64_t kc);
void pack_b_panel(float* bp, const float* B, int64_t ldb, bool transB, int64_t p0, int64_t kc,
                  int64_t j0, int64_t nr);

}  // namespace gemm_detail
}  // namespace ng
