// GEMM for the TypeScript backend, the BLIS way: cache blocking, packed panels, one register-
// blocked micro-kernel.
//
// Dimensions: C is M x N, op(A) is M x K, op(B) is K x N; row-major and contiguous, so
//   lda = transA ? M : K,  ldb = transB ? K : N,  ldc = N.
// Blocking: jc over NC columns, pc over K in equal blocks of <= KC, ic over MC rows, jr over
// NR columns, ir over MR rows, then the MR x NR micro-kernel on packed panels.
//
// Why these choices (measured with Node 20 / V8 on a Zen 3 x86-64; TurboFan's machine code read
// with --print-opt-code):
// - The micro-kernel is 2 x 3: six sums in locals. TurboFan schedules a loop body's pure
//   arithmetic as "all products, then all sums", so MR * NR products and MR * NR sums are live
//   at once. With 6 + 6 (+ the loaded values) everything stays in the 15 usable xmm registers;
//   with 2 x 4, 3 x 4 or 4 x 4 the allocator spills sums, and a spilled sum puts a store and a
//   reload on the loop-carried chain (store-to-load forwarding), which halved the speed.
// - Both packs are Float64Array (a load needs no float -> double conversion) and module
//   constants with fixed sizes: with a constant, off-heap typed array TurboFan embeds the data
//   pointer and length, so the loop does no map check and reloads nothing.
// - Each operand is read through MR (NR) views of one buffer at element offsets 0, 1, .., so
//   the five loads of one k share two indices (A and B), and the views of one operand have equal
//   lengths, so TurboFan keeps one bounds check per operand and k (checks against the same
//   constant on the same index are merged). Indices advance with `| 0` (no overflow checks).
//   Net: ~26 instructions per k for 12 flops, about 2x the previous 4 x 4 Float32Array kernel.
// - Packing puts both operands of the inner loop in sequential order (op(A) as MR-row
//   micro-panels, op(B) as NR-column micro-panels, zero-padded), so transposes cost nothing in
//   the inner loop and edge tiles run the same code.
// - Sums run in JS doubles: within a k-block the result is more accurate than float32 math.
//   Between k-blocks the partial result is stored in C (float32), as BLIS and the native
//   kernels do.
//
// Determinism: the blocking depends only on M, N, K, so the same inputs give the same bits.

const MR = 2;
const NR = 3;
const KC = 256;
const MC = 64; // multiple of MR; an A block (MC x KC doubles, 128 KB) stays in L2
const NC = 1023; // multiple of NR; a B panel is at most KC x NC doubles (2 MB)

// Scratch reused across calls (JS runs one call at a time per thread; each worker has its own
// module instance). Fixed sizes: the views below must be constants for the compiler. The memory
// is only touched (and so only resident) once the TS backend multiplies.
const SA = MC * KC;
const SB = KC * NC;
const bufA = new ArrayBuffer(8 * (SA + MR));
const bufB = new ArrayBuffer(8 * (SB + NR));
const packA = new Float64Array(bufA);
const packB = new Float64Array(bufB);
// packA[q + i] = A_i[q], packB[q + j] = B_j[q]; equal lengths (see above).
const A0 = new Float64Array(bufA, 0, SA);
const A1 = new Float64Array(bufA, 8, SA);
const B0 = new Float64Array(bufB, 0, SB);
const B1 = new Float64Array(bufB, 8, SB);
const B2 = new Float64Array(bufB, 16, SB);
const tile = new Float64Array(MR * NR);

/**
 * C = alpha * op(A) * op(B) + beta * C (see types.ts). Arguments are assumed validated.
 * alpha and beta are used as float32 values, as the native kernels do. With beta = 0, C is not
 * read; with K = 0 or alpha = 0, A and B are not read (BLAS convention).
 */
export function gemmTs(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  B: Float32Array,
  beta: number,
  C: Float32Array,
): void {
  if (M === 0 || N === 0) return;
  alpha = Math.fround(alpha);
  beta = Math.fround(beta);
  if (K === 0 || alpha === 0) {
    scaleC(C, M * N, beta);
    return;
  }
  // Equal k-blocks, so no tiny last block.
  const kblocks = Math.ceil(K / KC);
  const kcs = Math.ceil(K / kblocks);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += kcs) {
      const kc = Math.min(kcs, K - pc);
      const betaEff = pc === 0 ? beta : 1;
      packPanelsB(transB, B, N, K, pc, kc, jc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packBlockA(transA, A, M, K, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            micro(kc, ir * kc, jr * kc, C, (ic + ir) * N + jc + jr, N, alpha, betaEff, Math.min(MR, mc - ir), nr);
          }
        }
      }
    }
  }
}

// C = beta * C over n elements; beta = 0 writes zeros (C may hold NaN).
function scaleC(C: Float32Array, n: number, beta: number): void {
  if (beta === 0) C.fill(0, 0, n);
  else if (beta !== 1) for (let i = 0; i < n; i++) C[i] = beta * C[i];
}

// Packs op(B)[pc .. pc+kc, jc .. jc+nc] into packB as ceil(nc / NR) micro-panels of kc x NR
// (row k of a panel is NR consecutive values), zero-padding the last panel.
function packPanelsB(
  transB: boolean,
  B: Float32Array,
  N: number,
  K: number,
  pc: number,
  kc: number,
  jc: number,
  nc: number,
): void {
  const pb = packB;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = Math.min(NR, nc - jr);
    const o = jr * kc;
    const j0 = jc + jr;
    if (!transB) {
      // op(B)(k, j) = B[k * N + j]: a panel row is a contiguous slice of a row of B.
      if (nr === NR) {
        for (let p = 0, q = o, r = pc * N + j0; p < kc; p++, q += NR, r += N) {
          pb[q] = B[r];
          pb[q + 1] = B[r + 1];
          pb[q + 2] = B[r + 2];
        }
      } else {
        for (let p = 0, q = o, r = pc * N + j0; p < kc; p++, q += NR, r += N) {
          for (let j = 0; j < nr; j++) pb[q + j] = B[r + j];
          for (let j = nr; j < NR; j++) pb[q + j] = 0;
        }
      }
    } else {
      // op(B)(k, j) = B[j * K + k]: read each stored row contiguously, write with stride NR.
      for (let j = 0; j < NR; j++) {
        if (j < nr) {
          for (let p = 0, q = o + j, r = (j0 + j) * K + pc; p < kc; p++, q += NR) pb[q] = B[r + p];
        } else {
          for (let p = 0, q = o + j; p < kc; p++, q += NR) pb[q] = 0;
        }
      }
    }
  }
}

// Packs op(A)[ic .. ic+mc, pc .. pc+kc] into packA as ceil(mc / MR) micro-panels of MR x kc,
// stored k-major (the MR values of one k are consecutive), zero-padding the last panel.
function packBlockA(
  transA: boolean,
  A: Float32Array,
  M: number,
  K: number,
  ic: number,
  mc: number,
  pc: number,
  kc: number,
): void {
  const pa = packA;
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = Math.min(MR, mc - ir);
    const o = ir * kc;
    const i0 = ic + ir;
    if (transA) {
      // op(A)(i, k) = A[k * M + i]: the MR values of one k are contiguous in A.
      if (mr === MR) {
        for (let p = 0, q = o, r = pc * M + i0; p < kc; p++, q += MR, r += M) {
          pa[q] = A[r];
          pa[q + 1] = A[r + 1];
        }
      } else {
        for (let p = 0, q = o, r = pc * M + i0; p < kc; p++, q += MR, r += M) {
          for (let i = 0; i < mr; i++) pa[q + i] = A[r + i];
          for (let i = mr; i < MR; i++) pa[q + i] = 0;
        }
      }
    } else {
      // op(A)(i, k) = A[i * K + k]: read each row contiguously, write with stride MR.
      for (let i = 0; i < MR; i++) {
        if (i < mr) {
          for (let p = 0, q = o + i, r = (i0 + i) * K + pc; p < kc; p++, q += MR) pa[q] = A[r + p];
        } else {
          for (let p = 0, q = o + i; p < kc; p++, q += MR) pa[q] = 0;
        }
      }
    }
  }
}

// The MR x NR micro-kernel: C[ci.., MR x NR tile] = alpha * (panelA . panelB) + beta * C, the
// k-sum in double, k ascending. The A panel starts at packA[ia], the B panel at packB[ib]. Only
// the top-left mr x nr of the tile is written (edge tiles); C is not read when beta = 0.
function micro(
  kc: number,
  ia: number,
  ib: number,
  C: Float32Array,
  ci: number,
  ldc: number,
  alpha: number,
  beta: number,
  mr: number,
  nr: number,
): void {
  let c00 = 0,
    c01 = 0,
    c02 = 0;
  let c10 = 0,
    c11 = 0,
    c12 = 0;
  for (const end = (ia + kc * MR) | 0; ia < end; ia = (ia + MR) | 0, ib = (ib + NR) | 0) {
    const a0 = A0[ia],
      a1 = A1[ia];
    const b0 = B0[ib],
      b1 = B1[ib],
      b2 = B2[ib];
    c00 += a0 * b0;
    c01 += a0 * b1;
    c02 += a0 * b2;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c12 += a1 * b2;
  }
  if (mr === MR && nr === NR) {
    const c1 = ci + ldc;
    if (beta === 0) {
      C[ci] = alpha * c00;
      C[ci + 1] = alpha * c01;
      C[ci + 2] = alpha * c02;
      C[c1] = alpha * c10;
      C[c1 + 1] = alpha * c11;
      C[c1 + 2] = alpha * c12;
    } else {
      C[ci] = alpha * c00 + beta * C[ci];
      C[ci + 1] = alpha * c01 + beta * C[ci + 1];
      C[ci + 2] = alpha * c02 + beta * C[ci + 2];
      C[c1] = alpha * c10 + beta * C[c1];
      C[c1 + 1] = alpha * c11 + beta * C[c1 + 1];
      C[c1 + 2] = alpha * c12 + beta * C[c1 + 2];
    }
    return;
  }
  // Edge tile: park the sums, write the part inside C.
  const t = tile;
  t[0] = c00;
  t[1] = c01;
  t[2] = c02;
  t[3] = c10;
  t[4] = c11;
  t[5] = c12;
  for (let i = 0; i < mr; i++, ci += ldc) {
    for (let j = 0; j < nr; j++) {
      const v = alpha * t[i * NR + j];
      C[ci + j] = beta === 0 ? v : v + beta * C[ci + j];
    }
  }
}
