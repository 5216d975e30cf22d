// GEMM driver, the BLIS way: cache blocking, packing, threading; the instruction set comes in
// as a GemmContext (gemm_internal.h), filled by each ISA's translation unit, so nothing here
// depends on one.
//
// Dimensions: C is M x N, op(A) is M x K, op(B) is K x N; row-major and contiguous, so
//   lda = transA ? M : K,  ldb = transB ? K : N,  ldc = N.
// Blocking (the context's mr, nr, kc, mc, nc; panels of MR rows / NR columns):
//   jc  nc-column blocks of C (all of N unless the packed K x nc block of B would be too big)
//   ib  row blocks of <= mc rows, whole mr-row tiles  -- one task each (with few rows, also
//       split over jr)
//   pc  K in equal blocks of <= kc (inside the task: pack this task's A block for it)
//   jr  nr-column tiles (nr / NR packed B panels), packed once by whichever task needs them
//   ir  mr-row tiles of the packed A block -> the context's micro-kernel
// Narrow N (N <= NR, e.g. the 10-wide output layer): one B panel, A read in place, tasks over
// rows -- packing A would cost as much as the product. Few rows (M small, op(B) untransposed):
// the same narrow path on C^T = op(B)^T op(A)^T. A context may bring narrow kernels:
// narrow_t (transA: rows of C along the vector lanes, no lanes wasted on N = 10) and narrow_b
// (!transB, several threads: op(B) read in place too, since a shared packed panel crossed
// cores each call).
// Transposes are absorbed by the packing (and by the strides of the in-place A reads).
//
// Threads: one parallel_for per jc block, tasks over rows (and column panels) of C only,
// never K. Problems under kParallelFlops, or output-bound ones (small K, C within one L2),
// run on the calling thread.
// Reproducibility: C[i, j] = alpha * (sum over the k-blocks, in order) + ...; the k-blocks
// depend only on K and the context's kc, and each tile's sum runs in k order inside one
// micro-kernel call, so the value of C does not depend on how rows/columns are shared among
// threads.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "cpu.h"
#include "gemm_internal.h"
#include "kernels.h"
#include "threadpool.h"
#include "workspace.h"

namespace ng {

namespace {

using namespace gemm_detail;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

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
      : n_(n), each_(floats_each), buf_(WsSlot::GemmA, size_t(n) * floats_each), busy_(new std::atomic<int>[n]) {
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
  float* get(int i) { return buf_.data() + size_t(i) * each_; }

 private:
  int n_;
  size_t each_;
  Workspace buf_;
  std::unique_ptr<std::atomic<int>[]> busy_;
};

// N <= NR: one B panel, and A is read in place (packing A would cost about as much as the
// product itself, and a wider tile would mostly multiply the zero padding).
void gemm_narrow(const GemmContext& cx, ThreadPool& pool, int threads, bool transA, bool transB, int64_t M, int64_t N,
                 int64_t K, int64_t kcs, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float beta, float* C, int64_t ldc) {
  const int64_t rs_a = transA ? 1 : lda, cs_a = transA ? lda : 1;
  // Tasks over units of `rows` rows of C, a few tasks per thread, so a preempted thread on a
  // busy machine delays little. Each task runs fn(p0, kc, i, mr, beta) on each of its units for
  // every k-block in order: k-blocks outside (a packed kc x NR slice of B stays in L1 for all
  // the units) or, with k_inner, inside (the unit's C tile stays in L1 for all the k-blocks).
  auto over_rows = [&](int64_t rows, bool k_inner, const auto& fn) {
    const int64_t units = ceil_div(M, rows);
    const int64_t tasks = threads <= 1 ? 1 : std::min<int64_t>(units, 4 * threads);
    auto one = [&](int64_t u, int64_t p0) {
      const int64_t i = u * rows;
      fn(p0, std::min(kcs, K - p0), i, std::min(rows, M - i), p0 == 0 ? beta : 1.0f);
    };
    run(pool, threads, tasks, [&](int64_t t) {
      const int64_t u0 = units * t / tasks, u1 = units * (t + 1) / tasks;
      if (k_inner) {
        for (int64_t u = u0; u < u1; ++u)
          for (int64_t p0 = 0; p0 < K; p0 += kcs) one(u, p0);
      } else {
        for (int64_t p0 = 0; p0 < K; p0 += kcs)
          for (int64_t u = u0; u < u1; ++u) one(u, p0);
      }
    });
  };
  if (cx.narrow_t && transA && N <= cx.narrow_t_max_n) {
    // op(A)'s columns are contiguous: rows of C go along the vector lanes, and B is read in
    // place (it is tiny).
    const int64_t rs_b = transB ? 1 : ldb, cs_b = transB ? ldb : 1;
    over_rows(cx.narrow_t_rows, true, [&](int64_t p0, int64_t kc, int64_t i, int64_t mr, float b_eff) {
      cx.narrow_t(kc, A + p0 * lda + i, lda, B + p0 * rs_b, rs_b, cs_b, C + i * ldc, ldc, mr, N, alpha, b_eff);
    });
    return;
  }
  if (cx.narrow_b && !transB && threads > 1) {
    // op(B)'s rows are contiguous: read them in place, so no thread reads a panel another one
    // packed -- on this path the packed panel crossing cores cost more than the product.
    over_rows(cx.mr, false, [&](int64_t p0, int64_t kc, int64_t i, int64_t mr, float b_eff) {
      cx.narrow_b(kc, A + i * rs_a + p0 * cs_a, rs_a, cs_a, B + p0 * ldb, ldb, C + i * ldc, ldc, mr, N, alpha, b_eff);
    });
    return;
  }
  Workspace bp(WsSlot::GemmB, size_t(K) * NR);
  pack_b_panel(bp.data(), B, ldb, transB, 0, K, 0, N);
  over_rows(cx.mr, false, [&](int64_t p0, int64_t kc, int64_t i, int64_t mr, float b_eff) {
    cx.ukernel(kc, A + i * rs_a + p0 * cs_a, rs_a, cs_a, bp.data() + p0 * NR, C + i * ldc, ldc, mr, N, alpha, b_eff);
  });
}

// Few rows (M <= the context's narrow_t_max_n, e.g. dW2 = dY^T H of the 10-wide output layer,
// 10 x 256 x 256) and op(B) untransposed: computed as C^T = op(B)^T op(A)^T on the narrow_t
// kernel, then transposed into C. The packed path would pack all of B (256 KB for that dW2, as
// much memory traffic as the product) to feed a tile that is mostly zero padding. Same bits:
// C^T's element (j, i) is the same fma chain in k order (a * b and b * a round alike), the
// k-blocks are the same, and T starts as C^T when beta != 0, so the write-backs see the same
// values.
void gemm_small_m(const GemmContext& cx, ThreadPool& pool, int threads, bool transA, int64_t M, int64_t N, int64_t K,
                  int64_t kcs, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                  float* C) {
  Workspace ws(WsSlot::GemmT, size_t(N) * M);  // C^T, N x M
  float* t = ws.data();
  if (beta != 0.0f)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) t[j * M + i] = C[i * N + j];
  // op(A)^T(k, i) = op(A)(i, k): stored K x M (transA) it is A read untransposed, else A^T.
  gemm_narrow(cx, pool, threads, true, !transA, N, M, K, kcs, alpha, B, ldb, A, lda, beta, t, M);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * N + j] = t[j * M + i];
}

// The general path. One fork-join per nc column block: each task owns a block of rows (and,
// when there are few rows, a range of column panels), packs its A block for each k-block and
// sweeps the B panels. B is packed once, by whichever task first needs a panel: a per-panel
// flag (0 unpacked, 1 being packed, 2 ready) replaces a barrier, so threads never wait for a
// whole packing phase, and a task skips a panel another thread is packing and returns to it
// at the end.
void gemm_packed(const GemmContext& cx, ThreadPool& pool, int threads, bool transA, bool transB, int64_t M, int64_t N,
                 int64_t K, int64_t kcs, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float beta, float* C, int64_t ldc) {
  // Row blocks of at most mc rows; with several threads, at least ~4 per thread (but >= 48
  // rows each, so each B panel loaded from L2 still feeds enough A rows), a multiple of the
  // thread count. Blocks are whole tiles of mr rows, spread evenly (256 rows in 6 blocks of
  // 6-row tiles: 42 or 48 rows each, not 5 x 48 + 16), so the shares come out even, and no
  // block but the last ends in a short tile.
  const int64_t unit = cx.mr;
  const int64_t munits = ceil_div(M, unit);
  int64_t mb = ceil_div(M, cx.mc);
  if (threads > 1) {
    mb = std::max(mb, std::min<int64_t>(4 * threads, ceil_div(M, 48)));
    mb = std::min(ceil_div(mb, threads) * threads, munits);
  }
  const int64_t mc = ceil_div(munits, mb) * unit;  // the largest block
  const int64_t kb = ceil_div(K, kcs);
  // Columns per block: all of N when the packed B (K x nc) fits the budget.
  const int64_t nc_budget = std::max<int64_t>(NR, kPackBFloats / K / NR * NR);
  const int64_t ncmax = std::min({cx.nc, nc_budget, ceil_div(N, NR) * NR});
  Workspace bpw(WsSlot::GemmB, size_t(K) * ncmax);
  float* const bp = bpw.data();
  Slots slots(threads, size_t(mc) * kcs);
  std::unique_ptr<std::atomic<uint8_t>[]> state(new std::atomic<uint8_t>[kb * (ncmax / NR)]);
  // Panels per tile step: a tile spans nr / NR adjacent B panels.
  const int64_t step = cx.nr / NR;

  for (int64_t jc = 0; jc < N; jc += ncmax) {
    const int64_t nc = std::min(ncmax, N - jc);
    const int64_t npanels = ceil_div(nc, NR);
    for (int64_t i = 0; i < kb * npanels; ++i) state[i].store(0, std::memory_order_relaxed);
    // Few row blocks (small M): split the column panels too, so every thread has work.
    const int64_t njb = mb >= threads ? 1 : std::min<int64_t>(npanels, ceil_div(2 * threads, mb));

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
        float* bblock = bp + p0 * ncmax;  // k-block p: npanels panels of kc x NR
        std::atomic<uint8_t>* st = state.get() + p * npanels;
        // The tiles of the panels jp .. jp + step - 1 that this task owns.
        auto width = [&](int64_t jp) { return std::min(step, jp1 - jp); };
        auto compute = [&](int64_t jp) {
          const int64_t j = jp * NR, nr = std::min(width(jp) * NR, nc - j);
          const float* b = bblock + jp * kc * NR;
          for (int64_t ir = 0; ir < mcur; ir += cx.mr)
            cx.ukernel(kc, ap + ir * kc, 1, MR, b, C + (i0 + ir) * ldc + jc + j, ldc, std::min(cx.mr, mcur - ir), nr,
                       alpha, b_eff);
        };
        // Makes panel jp ready if nobody has claimed it; returns whether it is ready now.
        auto ready = [&](int64_t jp) {
          uint8_t v = st[jp].load(std::memory_order_acquire);
          if (v == 0 && st[jp].compare_exchange_strong(v, 1, std::memory_order_acq_rel)) {
            pack_b_panel(bblock + jp * kc * NR, B, ldb, transB, p0, kc, jc + jp * NR, std::min(NR, nc - jp * NR));
            st[jp].store(2, std::memory_order_release);
            return true;
          }
          return v == 2;
        };
        auto all_ready = [&](int64_t jp) {
          bool ok = true;
          for (int64_t q = jp; q < jp + width(jp); ++q) ok = ready(q) && ok;  // claim them all
          return ok;
        };
        // Work in steps of one tile's panels, starting at a per-task offset so that tasks
        // running side by side pack different panels first. A step whose panels another
        // thread is still packing is done at the end.
        const int64_t nsteps = ceil_div(np, step);
        const int64_t first = nsteps * (ib % threads) / threads;
        skipped.clear();
        for (int64_t q = 0; q < nsteps; ++q) {
          const int64_t jp = jp0 + ((first + q) % nsteps) * step;
          if (all_ready(jp)) {
            compute(jp);
          } else {
            skipped.push_back(jp);  // another thread is packing it: come back at the end
          }
        }
        for (int64_t jp : skipped) {
          for (int spins = 0; !all_ready(jp); ++spins) spin_pause(spins);
          compute(jp);
        }
      }
      slots.release(s);
    });
  }
}

}  // namespace

void gemm(Simd simd, ThreadPool& pool, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, const float* B, float beta, float* C) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(C, M * N, beta);
    return;
  }
  const GemmContext& cx = gemm_context(simd);
  const int64_t lda = transA ? M : K, ldb = transB ? K : N, ldc = N;
  // Equal k-blocks (784 = 4 x 196, not 3 x 256 + 16); they depend on K alone.
  const int64_t kcs = ceil_div(K, ceil_div(K, cx.kc));
  const double flops = 2.0 * double(M) * double(N) * double(K);
  const bool out_bound = K <= kSerialMaxK && M * N <= kSerialMaxC;
  const int threads = flops < kParallelFlops || out_bound ? 1 : pool.size();
  if (N <= NR) {
    gemm_narrow(cx, pool, threads, transA, transB, M, N, K, kcs, alpha, A, lda, B, ldb, beta, C, ldc);
  } else if (cx.narrow_t && M <= cx.narrow_t_max_n && !transB) {
    gemm_small_m(cx, pool, threads, transA, M, N, K, kcs, alpha, A, lda, B, ldb, beta, C);
  } else {
    gemm_packed(cx, pool, threads, transA, transB, M, N, K, kcs, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}

}  // namespace ng
