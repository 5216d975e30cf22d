// GEMM driver, the BLIS way: cache blocking, packing, threading, dispatch to micro-kernels.
//
// Dimensions: C is M x N, op(A) is M x K, op(B) is K x N; row-major and contiguous, so
//   lda = transA ? M : K,  ldb = transB ? K : N,  ldc = N.
// Blocking (constants in gemm_internal.h):
//   jc  NC-column blocks of C (all of N unless the packed K x NC block of B would be too big)
//   ib  row blocks of <= MC rows  -- one task each (with few rows, also split over jr)
//   pc  K in equal blocks of <= KC (inside the task: pack this task's A block for it)
//   jr  NR-column panels of B, packed once by whichever task needs them first
//   ir  MR-row panels of the packed A block -> the MR x NR micro-kernel (AVX-512: 12 x 32
//       tiles over two A and two B panels, 12 x 16 at an odd panel; leftovers on 6 x 16)
// Narrow N (N <= NR, e.g. the 10-wide output layer): one B panel, A read in place, tasks over
// rows -- packing A would cost as much as the product. With AVX-512 and transA, rows of C go
// along the vector lanes instead (no lanes wasted on N = 10); with AVX-512, !transB and
// several threads, op(B) is read in place too (a shared packed panel crossed cores each call).
// Transposes are absorbed by the packing (and by the strides of the in-place A reads).
//
// Threads: one parallel_for per jc block, tasks over rows (and column panels) of C only,
// never K. Problems under kParallelFlops, or output-bound ones (small K, C within one L2),
// run on the calling thread.
// Reproducibility: C[i, j] = alpha * (sum over the k-blocks, in order) + ...; the k-blocks
// depend only on K, and each tile's sum runs in k order inside one micro-kernel call, so the
// value of C does not depend on how rows/columns are shared among threads.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "cpu.h"
#include "gemm_internal.h"
#include "kernels.h"
#include "threadpool.h"

namespace ng {

namespace gemm_detail {

#if defined(__SSE2__)
// SSE2 is part of baseline x86-64, so these need no CPU check. Each returns how many k it
// packed (a multiple of 4); the caller finishes the rest. 3x faster than scalar loops here.

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

void pack_a(float* ap, const float* A, int64_t lda, bool transA, int64_t i0, int64_t mc,
            int64_t p0, int64_t kc) {
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

void pack_b_panel(float* bp, const float* B, int64_t ldb, bool transB, int64_t p0, int64_t kc,
                  int64_t j0, int64_t nr) {
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

}  // namespace gemm_detail

namespace {

using namespace gemm_detail;

// 64-byte aligned scratch, owned by one gemm call (never static: several pools, several
// JS threads).
struct Scratch {
  float* p = nullptr;
  explicit Scratch(size_t n)
      : p(static_cast<float*>(::operator new(std::max<size_t>(n, 16) * sizeof(float),
                                             std::align_val_t(64)))) {}
  ~Scratch() { ::operator delete(p, std::align_val_t(64)); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

MicroKernel pick_kernel(Simd simd) {
  // An unsupported path falls back to scalar rather than die on an illegal instruction.
  if (!simd_supported(simd)) return ukernel_scalar;
  switch (simd) {
#if defined(__x86_64__) || defined(_M_X64)
    case Simd::Avx2:
    case Simd::Avx512: return ukernel_avx2;
#endif
#if defined(__aarch64__)
    case Simd::Neon: return ukernel_neon;
#endif
    default: return ukernel_scalar;
  }
}

// C = beta * C (K == 0 or alpha == 0: BLAS does not read A or B then).
void scale_c(float* C, int64_t n, float beta) {
  if (beta == 0.0f) {
    std::fill(C, C + n, 0.0f);  // not 0 * C: C may hold NaN
  } else if (beta != 1.0f) {
    for (int64_t i = 0; i < n; ++i) C[i] *= beta;
  }
}

// Runs fn(0..tasks) on the pool, or inline when only one thread is worth using.
template <class F>
void run(ThreadPool& pool, int threads, int64_t tasks, const F& fn) {
  if (threads <= 1 || tasks <= 1) {
    for (int64_t t = 0; t < tasks; ++t) fn(t);
  } else {
    pool.parallel_for(tasks, std::function<void(int64_t)>(fn));
  }
}

// Per-thread A-block buffers: a task takes a free slot for its duration. At most `threads`
// tasks run at once, so a free slot always exists.
class Slots {
 public:
  Slots(int n, size_t floats_each)
      : n_(n), each_(floats_each), buf_(size_t(n) * floats_each), busy_(new std::atomic<int>[n]) {
    for (int i = 0; i < n; ++i) busy_[i].store(0);
  }
  int acquire() {
    // Each thread tries its own slot first, so the same buffer stays in the same core's caches
    // from one gemm to the next (a buffer last written by the other core costs a transfer of
    // every line when it is packed again).
    static std::atomic<int> next_id{0};
    thread_local const int id = next_id.fetch_add(1, std::memory_order_relaxed);
    for (int j = 0;; ++j) {
      const int i = (id + j) % n_;
      int expected = 0;
      if (busy_[i].load(std::memory_order_relaxed) == 0 &&
          busy_[i].compare_exchange_strong(expected, 1, std::memory_order_acquire))
        return i;
    }
  }
  void release(int i) { busy_[i].store(0, std::memory_order_release); }
  float* get(int i) { return buf_.p + size_t(i) * each_; }

 private:
  int n_;
  size_t each_;
  Scratch buf_;
  std::unique_ptr<std::atomic<int>[]> busy_;
};

// N <= NR: one B panel, and A is read in place (packing A would cost about as much as the
// product itself, and a wider tile would mostly multiply the zero padding).
void gemm_narrow(MicroKernel uk, bool wide, ThreadPool& pool, int threads, bool transA,
                 bool transB,
                 int64_t M, int64_t N, int64_t K, int64_t kcs, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#if defined(__x86_64__) || defined(_M_X64)
  if (wide && transA && N <= kNarrowTMaxN) {
    // op(A)'s columns are contiguous: rows of C go along the vector lanes, 32 at a time, and
    // B is read in place (it is tiny). Same k-blocks and write-back as below, same bits.
    const int64_t rs_b = transB ? 1 : ldb, cs_b = transB ? ldb : 1;
    const int64_t units = ceil_div(M, 32);
    const int64_t tasks = threads <= 1 ? 1 : std::min<int64_t>(units, 4 * threads);
    run(pool, threads, tasks, [&](int64_t t) {
      for (int64_t u = units * t / tasks; u < units * (t + 1) / tasks; ++u) {
        const int64_t i = u * 32, mr = std::min<int64_t>(32, M - i);
        for (int64_t p0 = 0; p0 < K; p0 += kcs)
          ukernel_avx512_narrow_t(std::min(kcs, K - p0), A + p0 * lda + i, lda, B + p0 * rs_b,
                                  rs_b, cs_b, C + i * ldc, ldc, mr, N, alpha,
                                  p0 == 0 ? beta : 1.0f);
      }
    });
    return;
  }
  if (wide && !transB && threads > 1) {
    // op(B)'s rows are contiguous: read them in place (masked to N lanes), so no thread reads
    // a panel another one packed -- on this path the packed panel crossing cores cost more
    // than the product. Rows in units of 12, the last one clamped. Same bits as below.
    const int64_t units = ceil_div(M, 2 * MR);
    const int64_t rs_a = transA ? 1 : lda, cs_a = transA ? lda : 1;
    const int64_t tasks = threads <= 1 ? 1 : std::min<int64_t>(units, 4 * threads);
    run(pool, threads, tasks, [&](int64_t t) {
      const int64_t u0 = units * t / tasks, u1 = units * (t + 1) / tasks;
      for (int64_t p0 = 0; p0 < K; p0 += kcs) {
        const int64_t kc = std::min(kcs, K - p0);
        for (int64_t u = u0; u < u1; ++u) {
          const int64_t i = u * 2 * MR;
          ukernel_avx512_12_bn(kc, A + i * rs_a + p0 * cs_a, rs_a, cs_a, B + p0 * ldb, ldb,
                               C + i * ldc, ldc, std::min(2 * MR, M - i), N, alpha,
                               p0 == 0 ? beta : 1.0f);
        }
      }
    });
    return;
  }
#endif
  Scratch bp(size_t(K) * NR);
  pack_b_panel(bp.p, B, ldb, transB, 0, K, 0, N);
  const int64_t rs_a = transA ? 1 : lda, cs_a = transA ? lda : 1;
  const int64_t panels = ceil_div(M, MR);
  const int64_t per = wide ? 2 : 1;  // panels per unit: whole 12-row tiles with AVX-512
  const int64_t units = ceil_div(panels, per);
  // A few tasks per thread, so a preempted thread on a busy machine delays little.
  const int64_t tasks = threads <= 1 ? 1 : std::min<int64_t>(units, 4 * threads);
  run(pool, threads, tasks, [&](int64_t t) {
    const int64_t r0 = units * t / tasks * per;
    const int64_t r1 = std::min(units * (t + 1) / tasks * per, panels);
    for (int64_t p0 = 0; p0 < K; p0 += kcs) {
      const int64_t kc = std::min(kcs, K - p0);
      const float b_eff = p0 == 0 ? beta : 1.0f;
      int64_t r = r0;
#if defined(__x86_64__) || defined(_M_X64)
      if (wide) {
        for (; r + 2 <= r1 && (r + 2) * MR <= M; r += 2) {
          const int64_t i = r * MR;
          ukernel_avx512_12(kc, A + i * rs_a + p0 * cs_a, rs_a, cs_a, bp.p + p0 * NR,
                            C + i * ldc, ldc, N, alpha, b_eff);
        }
      }
#endif
      for (; r < r1; ++r) {
        const int64_t i = r * MR;
        uk(kc, A + i * rs_a + p0 * cs_a, rs_a, cs_a, bp.p + p0 * NR, C + i * ldc, ldc,
           std::min(MR, M - i), N, alpha, b_eff);
      }
    }
  });
}

// The general path. One fork-join per NC column block: each task owns a block of rows (and,
// when there are few rows, a range of column panels), packs its A block for each k-block and
// sweeps the B panels. B is packed once, by whichever task first needs a panel: a per-panel
// flag (0 unpacked, 1 being packed, 2 ready) replaces a barrier, so threads never wait for a
// whole packing phase, and a task skips a panel another thread is packing and returns to it
// at the end.
void gemm_packed(MicroKernel uk, bool wide, ThreadPool& pool, int threads, bool transA,
                 bool transB,
                 int64_t M, int64_t N, int64_t K, int64_t kcs, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  // Row blocks of at most MC rows; with several threads, at least ~4 per thread (but >= 48
  // rows each, so each B panel loaded from L2 still feeds enough A rows), a multiple of the
  // thread count. Blocks are whole MR-row panels, spread evenly (256 rows in 6 blocks:
  // 42 or 48 rows each, not 5 x 48 + 16), so the shares come out even.
  // Rows are handed out in units of the tallest tile (12 rows with AVX-512), so no block ends
  // in a half-height tile that runs at half speed.
  const int64_t unit = wide ? 2 * MR : MR;
  const int64_t munits = ceil_div(M, unit);
  int64_t mb = ceil_div(M, MC);
  if (threads > 1) {
    mb = std::max(mb, std::min<int64_t>(4 * threads, ceil_div(M, 48)));
    mb = std::min(ceil_div(mb, threads) * threads, munits);
  }
  const int64_t mc = ceil_div(munits, mb) * unit;  // the largest block
  const int64_t kb = ceil_div(K, kcs);
  // Columns per block: all of N when the packed B (K x nc) fits the budget.
  const int64_t nc_budget = std::max<int64_t>(NR, kPackBFloats / K / NR * NR);
  const int64_t ncmax = std::min({NC, nc_budget, ceil_div(N, NR) * NR});
  Scratch bp(size_t(K) * ncmax);
  Slots slots(threads, size_t(mc) * kcs);
  std::unique_ptr<std::atomic<uint8_t>[]> state(new std::atomic<uint8_t>[kb * (ncmax / NR)]);

  for (int64_t jc = 0; jc < N; jc += ncmax) {
    const int64_t nc = std::min(ncmax, N - jc);
    const int64_t npanels = ceil_div(nc, NR);
    for (int64_t i = 0; i < kb * npanels; ++i) state[i].store(0, std::memory_order_relaxed);
    // Few row blocks (small M): split the column panels too, so every thread has work.
    const int64_t njb =
        mb >= threads ? 1 : std::min<int64_t>(npanels, ceil_div(2 * threads, mb));

    run(pool, threads, mb * njb, [&](int64_t t) {
      const int64_t ib = t / njb, jb = t % njb;
      const int64_t i0 = munits * ib / mb * unit;
      const int64_t mcur = std::min(munits * (ib + 1) / mb * unit, M) - i0;
      const int64_t jp0 = npanels * jb / njb, jp1 = npanels * (jb + 1) / njb, np = jp1 - jp0;
      const int s = slots.acquire();
      float* ap = slots.get(s);
      std::vector<int64_t> skipped;
      skipped.reserve(size_t(np));
      for (int64_t p = 0; p < kb; ++p) {
        const int64_t p0 = p * kcs, kc = std::min(kcs, K - p0);
        const float b_eff = p == 0 ? beta : 1.0f;  // later k-blocks add to C
        pack_a(ap, A, lda, transA, i0, mcur, p0, kc);
        float* bblock = bp.p + p0 * ncmax;  // k-block p: npanels panels of kc x NR
        std::atomic<uint8_t>* st = state.get() + p * npanels;
        // Computes panels jp (and jp + 1 when pair): with AVX-512, 12-row by 32-column tiles
        // where both panels are there, else 12 x 16; leftover rows on the 6 x 16 kernel.
        auto compute = [&](int64_t jp, bool pair) {
          const int64_t j = jp * NR, nr = std::min(NR, nc - j);
          const float* b = bblock + jp * kc * NR;
          int64_t ir = 0;
#if defined(__x86_64__) || defined(_M_X64)
          if (wide) {
            const int64_t nr2 = pair ? std::min(NR, nc - j - NR) : 0;
            for (; ir + 2 * MR <= mcur; ir += 2 * MR) {
              float* cij = C + (i0 + ir) * ldc + jc + j;
              if (pair) {
                ukernel_avx512_12x32(kc, ap + ir * kc, b, cij, ldc, nr2, alpha, b_eff);
              } else {
                ukernel_avx512_12(kc, ap + ir * kc, 1, MR, b, cij, ldc, nr, alpha, b_eff);
              }
            }
          }
#endif
          for (int64_t jj = 0; jj < (pair ? 2 : 1); ++jj) {
            const int64_t jx = j + jj * NR, nrx = std::min(NR, nc - jx);
            for (int64_t irx = ir; irx < mcur; irx += MR)
              uk(kc, ap + irx * kc, 1, MR, b + jj * kc * NR, C + (i0 + irx) * ldc + jc + jx, ldc,
                 std::min(MR, mcur - irx), nrx, alpha, b_eff);
          }
        };
        // Makes panel jp ready if nobody has claimed it; returns whether it is ready now.
        auto ready = [&](int64_t jp) {
          uint8_t v = st[jp].load(std::memory_order_acquire);
          if (v == 0 && st[jp].compare_exchange_strong(v, 1, std::memory_order_acq_rel)) {
            pack_b_panel(bblock + jp * kc * NR, B, ldb, transB, p0, kc, jc + jp * NR,
                         std::min(NR, nc - jp * NR));
            st[jp].store(2, std::memory_order_release);
            return true;
          }
          return v == 2;
        };
        auto wait_ready = [&](int64_t jp) {
          for (int spins = 0; !ready(jp); ++spins) {
            cpu_relax();
            if ((spins & 63) == 63) std::this_thread::yield();  // the packer may be preempted
          }
        };
        // Work in steps of two panels with the 12 x 32 tile (one panel otherwise), starting at
        // a per-task offset so that tasks running side by side pack different panels first.
        // A step whose panels another thread is still packing is done at the end.
        const int64_t step = wide ? 2 : 1;
        const int64_t nsteps = ceil_div(np, step);
        const int64_t first = nsteps * (ib % threads) / threads;
        skipped.clear();
        for (int64_t q = 0; q < nsteps; ++q) {
          const int64_t jp = jp0 + ((first + q) % nsteps) * step;
          const bool pair = step == 2 && jp + 1 < jp1;
          const bool ok0 = ready(jp);
          const bool ok1 = !pair || ready(jp + 1);
          if (ok0 && ok1) {
            compute(jp, pair);
          } else {
            skipped.push_back(jp);  // another thread is packing it: come back at the end
          }
        }
        for (int64_t jp : skipped) {
          const bool pair = step == 2 && jp + 1 < jp1;
          wait_ready(jp);
          if (pair) wait_ready(jp + 1);
          compute(jp, pair);
        }
      }
      slots.release(s);
    });
  }
}

}  // namespace

void gemm(Simd simd, ThreadPool& pool, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
          float alpha, const float* A, const float* B, float beta, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(C, M * N, beta);
    return;
  }
  const MicroKernel uk = pick_kernel(simd);
  // The Avx512 path runs 12-row AVX-512 tiles where they fit (the same bits as the 6 x 16 AVX2 tile).
  const bool wide = uk != ukernel_scalar && simd == Simd::Avx512;
  const int64_t lda = transA ? M : K, ldb = transB ? K : N, ldc = N;
  // Equal k-blocks (784 = 4 x 196, not 3 x 256 + 16); they depend on K alone.
  const int64_t kcs = ceil_div(K, ceil_div(K, KC));
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const bool out_bound = K <= kSerialMaxK && M * N <= kSerialMaxC;
  const int threads = flops < kParallelFlops || out_bound ? 1 : pool.size();
  if (N <= NR) {
    gemm_narrow(uk, wide, pool, threads, transA, transB, M, N, K, kcs, alpha, A, lda, B, ldb, beta, C,
                ldc);
  } else {
    gemm_packed(uk, wide, pool, threads, transA, transB, M, N, K, kcs, alpha, A, lda, B, ldb, beta, C,
                ldc);
  }
}

}  // namespace ng
