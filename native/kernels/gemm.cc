// GEMM driver, the BLIS way: cache blocking, packing, threading, dispatch to micro-kernels.
//
// Dimensions: C is M x N, op(A) is M x K, op(B) is K x N; row-major and contiguous, so
//   lda = transA ? M : K,  ldb = transB ? K : N,  ldc = N.
// Blocking (gemm_internal.h): jc over NC columns, pc over K in equal blocks of <= KC,
// ic over MC rows, jr over NR columns, ir over MR rows, then the MR x NR micro-kernel.
//
// Reproducibility: C[i, j] = alpha * (sum over the k-blocks, in order) + ...; the k-blocks
// depend only on K, and each tile's sum runs in k order inside one micro-kernel call, so the
// value of C does not depend on how rows/columns are shared among threads.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "gemm_internal.h"
#include "kernels.h"
#include "threadpool.h"

namespace ng {

namespace gemm_detail {

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
    } else {
      // op(A)(i, k) = A[i * lda + k]: read each row contiguously, write with stride MR.
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
  } else {
    // op(B)(k, j) = B[j * ldb + k]: read each stored row contiguously, write with stride NR.
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
  switch (simd) {
#if defined(__x86_64__) || defined(_M_X64)
    case Simd::Avx2: return ukernel_avx2;
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
    for (;;) {
      for (int i = 0; i < n_; ++i) {
        int expected = 0;
        if (busy_[i].load(std::memory_order_relaxed) == 0 &&
            busy_[i].compare_exchange_strong(expected, 1, std::memory_order_acquire))
          return i;
      }
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
void gemm_narrow(MicroKernel uk, ThreadPool& pool, int threads, bool transA, bool transB,
                 int64_t M, int64_t N, int64_t K, int64_t kcs, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  Scratch bp(size_t(K) * NR);
  pack_b_panel(bp.p, B, ldb, transB, 0, K, 0, N);
  const int64_t rs_a = transA ? 1 : lda, cs_a = transA ? lda : 1;
  const int64_t panels = ceil_div(M, MR);
  // A few tasks per thread, so a preempted thread on a busy machine delays little.
  const int64_t tasks = threads <= 1 ? 1 : std::min<int64_t>(panels, 4 * threads);
  run(pool, threads, tasks, [&](int64_t t) {
    const int64_t r0 = panels * t / tasks, r1 = panels * (t + 1) / tasks;
    for (int64_t p0 = 0; p0 < K; p0 += kcs) {
      const int64_t kc = std::min(kcs, K - p0);
      const float b_eff = p0 == 0 ? beta : 1.0f;
      for (int64_t r = r0; r < r1; ++r) {
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
void gemm_packed(MicroKernel uk, ThreadPool& pool, int threads, bool transA, bool transB,
                 int64_t M, int64_t N, int64_t K, int64_t kcs, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  // Row blocks of at most MC rows; with several threads, at least ~4 per thread (but >= 48
  // rows each, so each B panel loaded from L2 still feeds enough A rows), a multiple of the
  // thread count. Blocks are whole MR-row panels, spread evenly (256 rows in 6 blocks:
  // 42 or 48 rows each, not 5 x 48 + 16), so the shares come out even.
  const int64_t mpanels = ceil_div(M, MR);
  int64_t mb = ceil_div(M, MC);
  if (threads > 1) {
    mb = std::max(mb, std::min<int64_t>(4 * threads, ceil_div(M, 48)));
    mb = std::min(ceil_div(mb, threads) * threads, mpanels);
  }
  const int64_t mc = ceil_div(mpanels, mb) * MR;  // the largest block
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
      const int64_t i0 = mpanels * ib / mb * MR;
      const int64_t mcur = std::min(mpanels * (ib + 1) / mb * MR, M) - i0;
      const int64_t jp0 = npanels * jb / njb, jp1 = npanels * (jb + 1) / njb, np = jp1 - jp0;
      // Tasks that run side by side start at different panels, so they pack different ones.
      const int64_t first = np * (ib % threads) / threads;
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
        auto compute = [&](int64_t jp) {
          const int64_t j = jp * NR, nr = std::min(NR, nc - j);
          const float* b = bblock + jp * kc * NR;
          for (int64_t ir = 0; ir < mcur; ir += MR)
            uk(kc, ap + ir * kc, 1, MR, b, C + (i0 + ir) * ldc + jc + j, ldc,
               std::min(MR, mcur - ir), nr, alpha, b_eff);
        };
        skipped.clear();
        for (int64_t q = 0; q < np; ++q) {
          const int64_t jp = jp0 + (first + q) % np;
          uint8_t v = st[jp].load(std::memory_order_acquire);
          if (v == 0 && st[jp].compare_exchange_strong(v, 1, std::memory_order_acq_rel)) {
            pack_b_panel(bblock + jp * kc * NR, B, ldb, transB, p0, kc, jc + jp * NR,
                         std::min(NR, nc - jp * NR));
            st[jp].store(2, std::memory_order_release);
            v = 2;
          }
          if (v == 2) {
            compute(jp);
          } else {
            skipped.push_back(jp);  // another thread is packing it: come back at the end
          }
        }
        for (int64_t jp : skipped) {
          while (st[jp].load(std::memory_order_acquire) != 2) cpu_relax();
          compute(jp);
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
  const int64_t lda = transA ? M : K, ldb = transB ? K : N, ldc = N;
  // Equal k-blocks (784 = 4 x 196, not 3 x 256 + 16); they depend on K alone.
  const int64_t kcs = ceil_div(K, ceil_div(K, KC));
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const int threads = flops < kParallelFlops ? 1 : pool.size();
  if (N <= NR) {
    gemm_narrow(uk, pool, threads, transA, transB, M, N, K, kcs, alpha, A, lda, B, ldb, beta, C,
                ldc);
  } else {
    gemm_packed(uk, pool, threads, transA, transB, M, N, K, kcs, alpha, A, lda, B, ldb, beta, C,
                ldc);
  }
}

}  // namespace ng
