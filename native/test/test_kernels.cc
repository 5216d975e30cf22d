// Native kernel tests (ctest): every SIMD path this CPU runs against double-precision
// references, bit-identical results across thread counts, and the edge cases the kernels
// promise (beta == 0 never reads C, K == 0, extreme logits, ...).
//
// Dimensions: gemm C is M x N, op(A) M x K, op(B) K x N; softmax N x C; optimizers n elements.
// Usage: test_kernels [--quick]   (exit status 0 when every check passes)
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cpu.h"
#include "gemm_internal.h"
#include "kernels.h"
#include "threadpool.h"
#include "workspace.h"

using namespace ng;

namespace {

int g_failures = 0;
int g_checks = 0;

#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    ++g_checks;                                                              \
    if (!(cond)) {                                                           \
      ++g_failures;                                                          \
      if (g_failures <= 30) {                                                \
        std::fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
        std::fprintf(stderr, __VA_ARGS__);                                   \
        std::fprintf(stderr, "\n");                                          \
      }                                                                      \
    }                                                                        \
  } while (0)

std::mt19937_64 g_rng(12345);
bool g_quick = false;  // --quick: fewer shapes (for slow emulators)

std::vector<float> randv(int64_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(size_t(std::max<int64_t>(n, 0)));
  for (auto& x : v) x = d(g_rng);
  return v;
}

std::vector<Simd> paths() {
  std::vector<Simd> out;
  for (const SimdPath& p : kSimdPaths)
    if (simd_supported(p.simd)) out.push_back(p.simd);
  return out;
}

// ---------------------------------------------------------------------------------------------
// GEMM

// Checks one gemm against a double reference. Tolerance: float32 accumulation over K terms
// errs by at most ~K * 2^-24 times sum_k |a_ik b_kj| (plus one rounding each for alpha, beta);
// we allow 1e-6 * (K + 2) times (|alpha| sum_k |a b| + |beta c0|), ~16x that worst case, still
// far below what a wrong element, index or stride would produce.
bool check_gemm(Simd simd, ThreadPool& pool, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                float beta) {
  const auto A = randv(M * K), B = randv(K * N);
  std::vector<float> C0 = randv(M * N);
  if (beta == 0.0f) std::fill(C0.begin(), C0.end(), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> C = C0;
  gemm(simd, pool, ta, tb, M, N, K, alpha, A.data(), B.data(), beta, C.data());
  int bad = 0;
  for (int64_t i = 0; i < M && bad < 3; ++i) {
    for (int64_t j = 0; j < N && bad < 3; ++j) {
      double s = 0.0, sa = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double a = ta ? A[k * M + i] : A[i * K + k];
        const double b = tb ? B[j * K + k] : B[k * N + j];
        s += a * b;
        sa += std::fabs(a * b);
      }
      const double c0 = beta == 0.0f ? 0.0 : double(C0[i * N + j]);
      const double ref = double(alpha) * s + double(beta) * c0;
      const double tol = 1e-6 * double(K + 2) * (std::fabs(alpha) * sa + std::fabs(beta * c0)) + 1e-30;
      const float got = C[i * N + j];
      if (!(std::fabs(got - ref) <= tol)) {
        ++bad;
        CHECK(false, "gemm %s ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g beta=%g C[%lld,%lld]=%.9g ref=%.9g tol=%.3g",
              simd_name(simd), ta, tb, (long long)M, (long long)N, (long long)K, alpha, beta, (long long)i,
              (long long)j, got, ref, tol);
      }
    }
  }
  ++g_checks;
  return bad == 0;
}

void test_gemm_shapes(bool quick) {
  ThreadPool pool(2);
  const int64_t small[] = {1, 2, 3, 5, 7, 15, 16, 17, 31, 33};
  const int64_t big[] = {64, 100, 255, 257};
  const float ab[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {0.5f, -2.0f}, {-1.5f, 0.0f}, {2.0f, 0.25f}};
  for (Simd simd : paths()) {
    int n = 0;
    // Every small triple, every transpose combination; alpha/beta cycle through the pairs.
    for (int64_t M : small)
      for (int64_t N : small)
        for (int64_t K : small)
          for (int t = 0; t < 4; ++t, ++n) {
            if (quick && (n % 7) != 0) continue;
            const auto& p = ab[n % 5];
            check_gemm(simd, pool, t & 1, t & 2, M, N, K, p[0], p[1]);
          }
    // The large sizes in every position, with small and large partners.
    std::vector<std::array<int64_t, 3>> shapes;
    for (int64_t x : big) {
      shapes.push_back({x, 17, 33});
      shapes.push_back({17, x, 33});
      shapes.push_back({33, 17, x});
      shapes.push_back({x, x, 7});
      shapes.push_back({x, 5, x});
      shapes.push_back({3, x, x});
      shapes.push_back({x, 1, 100});
      shapes.push_back({1, x, 257});
    }
    shapes.push_back({257, 255, 257});
    shapes.push_back({100, 33, 600});  // several k-blocks, packed path
    shapes.push_back({300, 10, 600});  // several k-blocks, narrow path
    shapes.push_back({7, 3100, 5});    // more than NC columns
    shapes.push_back({400, 40, 64});   // several MC row blocks
    for (const auto& s : shapes)
      for (int t = 0; t < 4; ++t, ++n) {
        if (quick && (n % 3) != 0) continue;
        const auto& p = ab[n % 5];
        check_gemm(simd, pool, t & 1, t & 2, s[0], s[1], s[2], p[0], p[1]);
      }
  }
}

void test_gemm_edges() {
  ThreadPool pool(2);
  for (Simd simd : paths()) {
    // K == 0: C = beta * C; with beta == 0, C = 0 even if it held NaN.
    std::vector<float> C = {1.0f, 2.0f, std::nanf(""), 4.0f};
    gemm(simd, pool, false, false, 2, 2, 0, 1.0f, nullptr, nullptr, 0.0f, C.data());
    CHECK(C[0] == 0.0f && C[1] == 0.0f && C[2] == 0.0f && C[3] == 0.0f, "K=0 beta=0");
    C = {1.0f, 2.0f, 3.0f, 4.0f};
    gemm(simd, pool, false, false, 2, 2, 0, 1.0f, nullptr, nullptr, 0.5f, C.data());
    CHECK(C[0] == 0.5f && C[3] == 2.0f, "K=0 beta=0.5");
    // alpha == 0: A and B are not used (NaN in them must not leak).
    std::vector<float> A(6, std::nanf("")), B(6, std::nanf(""));
    C = {1.0f, 2.0f, 3.0f, 4.0f};
    gemm(simd, pool, false, false, 2, 2, 3, 0.0f, A.data(), B.data(), 2.0f, C.data());
    CHECK(C[0] == 2.0f && C[3] == 8.0f, "alpha=0");
    // M == 0 or N == 0: nothing is touched.
    gemm(simd, pool, false, false, 0, 2, 3, 1.0f, A.data(), B.data(), 0.0f, nullptr);
    gemm(simd, pool, true, true, 2, 0, 3, 1.0f, A.data(), B.data(), 0.0f, nullptr);
    // 1 x 1 x 1.
    float a = 3.0f, b = -2.0f, c = std::nanf("");
    gemm(simd, pool, true, false, 1, 1, 1, 1.0f, &a, &b, 0.0f, &c);
    CHECK(c == -6.0f, "1x1x1 got %g", c);
    // Exact small-integer product: every path must give exactly the integer result.
    const int64_t M = 37, N = 29, K = 41;
    std::vector<float> Ai(M * K), Bi(K * N), Ci(M * N, std::nanf(""));
    for (int64_t i = 0; i < M * K; ++i) Ai[i] = float(int(i % 7) - 3);
    for (int64_t i = 0; i < K * N; ++i) Bi[i] = float(int(i % 5) - 2);
    gemm(simd, pool, false, false, M, N, K, 1.0f, Ai.data(), Bi.data(), 0.0f, Ci.data());
    bool exact = true;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += double(Ai[i * K + k]) * Bi[k * N + j];
        exact = exact && Ci[i * N + j] == float(s);
      }
    CHECK(exact, "%s exact integer product", simd_name(simd));
  }
}

// The same product on 1, 2, 3 and 4 threads must agree to the bit.
void test_gemm_threads() {
  ThreadPool p1(1), p2(2), p3(3), p4(4);
  ThreadPool* pools[] = {&p1, &p2, &p3, &p4};
  // All above the single-thread flop threshold, covering the packed path (several row
  // blocks, few row blocks with split columns) and the narrow N <= NR path.
  const std::vector<std::array<int64_t, 3>> full = {{255, 257, 300}, {256, 256, 784}, {784, 256, 256},
                                                    {256, 784, 256}, {1000, 10, 300}, {256, 10, 256},
                                                    {7, 1000, 600},  {256, 256, 10},  {333, 70, 513}};
  const std::vector<std::array<int64_t, 3>> quick = {{255, 257, 64}, {1000, 10, 300}, {7, 1000, 600}, {333, 70, 97}};
  for (Simd simd : paths())
    for (const auto& s : g_quick ? quick : full)
      for (int t = 0; t < 4; ++t) {
        if (g_quick && (t == 1 || t == 2)) continue;
        const int64_t M = s[0], N = s[1], K = s[2];
        const auto A = randv(M * K), B = randv(K * N), C0 = randv(M * N);
        std::vector<float> ref;
        for (ThreadPool* p : pools) {
          for (float beta : {0.0f, 0.75f}) {
            std::vector<float> C = C0;
            gemm(simd, *p, t & 1, t & 2, M, N, K, 1.25f, A.data(), B.data(), beta, C.data());
            if (beta == 0.0f) {
              if (p == pools[0]) ref = C;
              CHECK(std::memcmp(C.data(), ref.data(), C.size() * sizeof(float)) == 0,
                    "%s threads=%d M=%lld N=%lld K=%lld t=%d not bit-identical", simd_name(simd), p->size(),
                    (long long)M, (long long)N, (long long)K, t);
            }
          }
        }
        check_gemm(simd, p4, t & 1, t & 2, M, N, K, 1.0f, 0.0f);
      }
}

// Every path's GemmContext keeps the promises the driver relies on, and its micro-kernel does
// what MicroKernel says for every tile size up to mr x nr, packed and unpacked A: the valid
// part against a double reference, nothing outside it written, C not read when beta == 0.
void test_gemm_contexts() {
  using namespace gemm_detail;
  for (Simd simd : paths()) {
    const GemmContext& cx = gemm_context(simd);
    const char* name = simd_name(simd);
    CHECK(cx.ukernel && cx.mr % MR == 0 && cx.nr % NR == 0 && cx.mc % cx.mr == 0 && cx.nc % cx.nr == 0 && cx.kc > 0,
          "%s: context blocking mr=%lld nr=%lld mc=%lld nc=%lld", name, (long long)cx.mr, (long long)cx.nr,
          (long long)cx.mc, (long long)cx.nc);
    CHECK(!cx.narrow_t || (cx.narrow_t_rows > 0 && cx.narrow_t_max_n > 0 && cx.narrow_t_max_n <= NR),
          "%s: narrow_t rows=%lld max_n=%lld", name, (long long)cx.narrow_t_rows, (long long)cx.narrow_t_max_n);
    const int64_t kc = 37, ldc = cx.nr + 5, lda = kc + 3;
    for (int packed = 0; packed < 2; ++packed)
      for (int64_t mr = 1; mr <= cx.mr; ++mr)
        for (int64_t nr = 1; nr <= cx.nr; ++nr)
          for (float beta : {0.0f, 0.5f}) {
            // Packed: the ceil(mr / MR) panels a block would hold, zero-padded. Unpacked: mr
            // rows of lda floats and nothing after them (rows past mr must not be read).
            const int64_t panels = (mr + MR - 1) / MR;
            std::vector<float> a(size_t(packed ? panels * MR * kc : mr * lda));
            // B panels are 64-byte aligned, as the driver's pack buffers are.
            std::vector<float> bbuf(size_t((nr + NR - 1) / NR * NR * kc + 16), 0.0f);
            float* b = bbuf.data() + (64 - reinterpret_cast<uintptr_t>(bbuf.data()) % 64) % 64 / 4;
            const auto av = randv(mr * kc), bv = randv(kc * nr);
            for (int64_t i = 0; i < mr; ++i)
              for (int64_t k = 0; k < kc; ++k)
                a[size_t(packed ? i / MR * MR * kc + k * MR + i % MR : i * lda + k)] = av[size_t(i * kc + k)];
            for (int64_t k = 0; k < kc; ++k)
              for (int64_t j = 0; j < nr; ++j) b[size_t(j / NR * kc * NR + k * NR + j % NR)] = bv[size_t(k * nr + j)];
            const float sentinel = 7.0f;
            std::vector<float> c(size_t((cx.mr + 1) * ldc), sentinel);
            const auto c0 = randv(mr * nr);
            for (int64_t i = 0; i < mr; ++i)
              for (int64_t j = 0; j < nr; ++j)
                c[size_t(i * ldc + j)] =
                    beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : c0[size_t(i * nr + j)];
            cx.ukernel(kc, a.data(), packed ? 1 : lda, packed ? MR : 1, b, c.data(), ldc, mr, nr, 1.5f, beta);
            int bad = 0;
            for (int64_t i = 0; i <= cx.mr; ++i)
              for (int64_t j = 0; j < ldc; ++j) {
                const float got = c[size_t(i * ldc + j)];
                if (i >= mr || j >= nr) {
                  bad += got != sentinel;
                  continue;
                }
                double ref = 0.0, mag = 0.0;
                for (int64_t k = 0; k < kc; ++k) {
                  ref += double(av[size_t(i * kc + k)]) * bv[size_t(k * nr + j)];
                  mag += std::fabs(double(av[size_t(i * kc + k)]) * bv[size_t(k * nr + j)]);
                }
                ref = 1.5 * ref + (beta == 0.0f ? 0.0 : 0.5 * c0[size_t(i * nr + j)]);
                bad += !(std::fabs(got - ref) <= 1e-6 * (kc + 2) * (1.5 * mag + 1.0));
              }
            CHECK(bad == 0, "%s micro-kernel packed=%d mr=%lld nr=%lld beta=%g: %d bad", name, packed, (long long)mr,
                  (long long)nr, beta, bad);
          }
  }
}

// The avx2 and avx512 paths compute every element as the same fma chain and write it back
// alike, so they agree bit for bit on every shape (packed, narrow, narrow transposed, and few
// rows computed as C^T on the narrow transposed kernel: 7 x 1000, 10 x 256, 12 x 40, 1 x 300).
void test_gemm_avx512_matches_avx2() {
  if (!simd_supported(Simd::Avx512)) return;
  ThreadPool pool(2);
  const std::vector<std::array<int64_t, 3>> shapes = {{255, 257, 300}, {1000, 10, 300}, {37, 12, 700},  {40, 9, 1100},
                                                      {13, 33, 513},   {333, 70, 513},  {7, 1000, 600}, {25, 47, 31},
                                                      {10, 256, 256},  {12, 40, 1100},  {1, 300, 45}};
  for (const auto& s : shapes)
    for (int t = 0; t < 4; ++t)
      for (float beta : {0.0f, 0.75f}) {
        const int64_t M = s[0], N = s[1], K = s[2];
        const auto A = randv(M * K), B = randv(K * N), C0 = randv(M * N);
        std::vector<float> c2 = C0, c5 = C0;
        gemm(Simd::Avx2, pool, t & 1, t & 2, M, N, K, 1.25f, A.data(), B.data(), beta, c2.data());
        gemm(Simd::Avx512, pool, t & 1, t & 2, M, N, K, 1.25f, A.data(), B.data(), beta, c5.data());
        CHECK(std::memcmp(c2.data(), c5.data(), c2.size() * sizeof(float)) == 0,
              "avx512 != avx2 M=%lld N=%lld K=%lld t=%d beta=%g", (long long)M, (long long)N, (long long)K, t, beta);
      }
}

// ---------------------------------------------------------------------------------------------
// Thread pool

void test_threadpool() {
  ThreadPool pool(3);
  CHECK(pool.size() == 3, "size %d", pool.size());
  CHECK(hardware_threads() >= 1, "hardware_threads");
  for (int round = 0; round < 2000; ++round) {
    const int64_t tasks = round % 13;
    std::vector<int> hit(size_t(tasks), 0);
    pool.parallel_for(tasks, [&](int64_t i) { hit[size_t(i)] += 1; });
    bool ok = true;
    for (int h : hit) ok = ok && h == 1;
    CHECK(ok, "parallel_for round %d", round);
    if (round == 700) pool.resize(1);
    if (round == 900) pool.resize(4);
    if (round == 1500) pool.resize(2);
  }
  CHECK(pool.size() == 2, "resize");
}

// Several pools in several threads at once (the addon makes one pool per JS thread / worker):
// each must still give the single-threaded result, bit for bit.
void test_pools_in_threads() {
  const int64_t M = 200, N = 150, K = 300;
  const auto A = randv(M * K), B = randv(K * N);
  std::vector<float> ref(M * N);
  {
    ThreadPool one(1);
    gemm(best_simd(), one, false, true, M, N, K, 1.0f, A.data(), B.data(), 0.0f, ref.data());
  }
  std::vector<int> ok(3, 0);
  std::vector<std::thread> ts;
  for (int t = 0; t < 3; ++t)
    ts.emplace_back([&, t] {
      ThreadPool pool(2);
      std::vector<float> C(M * N);
      int good = 1;
      for (int r = 0; r < 20; ++r) {
        gemm(best_simd(), pool, false, true, M, N, K, 1.0f, A.data(), B.data(), 0.0f, C.data());
        good &= std::memcmp(C.data(), ref.data(), C.size() * sizeof(float)) == 0;
        if (r == 10) pool.resize(3);
      }
      ok[size_t(t)] = good;
      workspace_release_thread();  // a thread that ran kernels frees its scratch (workspace.h)
    });
  for (auto& th : ts) th.join();
  CHECK(ok[0] && ok[1] && ok[2], "pools in threads: %d %d %d", ok[0], ok[1], ok[2]);
}

// ---------------------------------------------------------------------------------------------
// softmax + cross-entropy

void test_softmax() {
  // Extreme logits: finite loss, no NaN/Inf probabilities.
  for (float big : {1e30f, 3e38f}) {
    const float x[] = {big, -big, 0.0f};
    for (int32_t label = 0; label < 3; ++label) {
      float p[3];
      const double loss = softmax_xent_forward(p, x, &label, 1, 3);
      CHECK(std::isfinite(loss), "extreme loss %g", loss);
      CHECK(p[0] == 1.0f && p[1] == 0.0f && p[2] == 0.0f, "extreme probs %g %g %g", p[0], p[1], p[2]);
      if (label == 0) CHECK(loss == 0.0, "loss %g", loss);
      if (label == 2) CHECK(std::fabs(loss - double(big)) <= 1e-9 * big, "loss %g", loss);
    }
  }
  // C == 1: the only class has probability 1, loss 0; gradient 0.
  {
    const float x[] = {5.0f, -7.0f};
    const int32_t l[] = {0, 0};
    float p[2], d[2];
    CHECK(softmax_xent_forward(p, x, l, 2, 1) == 0.0, "C=1 loss");
    CHECK(p[0] == 1.0f && p[1] == 1.0f, "C=1 probs");
    softmax_xent_backward(d, p, l, 2, 1);
    CHECK(d[0] == 0.0f && d[1] == 0.0f, "C=1 grad");
  }
  // Random rows, C in {2, 10, 1000}, vs a double reference.
  for (int64_t C : {2, 10, 1000}) {
    const int64_t N = 37;
    const auto x = randv(N * C, -20.0f, 20.0f);
    std::vector<int32_t> l(N);
    for (int64_t n = 0; n < N; ++n) l[n] = int32_t((n * 7919) % C);
    std::vector<float> p(N * C), d(N * C);
    const double loss = softmax_xent_forward(p.data(), x.data(), l.data(), N, C);
    double ref_loss = 0.0;
    bool ok = true;
    for (int64_t n = 0; n < N; ++n) {
      double mx = -1e300, s = 0.0;
      for (int64_t c = 0; c < C; ++c) mx = std::max(mx, double(x[n * C + c]));
      for (int64_t c = 0; c < C; ++c) s += std::exp(double(x[n * C + c]) - mx);
      double rowsum = 0.0;
      for (int64_t c = 0; c < C; ++c) {
        const double ref = std::exp(double(x[n * C + c]) - mx) / s;
        ok = ok && std::fabs(p[n * C + c] - ref) <= 1e-7 * ref + 1e-30;
        rowsum += p[n * C + c];
      }
      ok = ok && std::fabs(rowsum - 1.0) < 1e-5;
      ref_loss += std::log(s) + mx - double(x[n * C + l[n]]);
    }
    ref_loss /= double(N);
    CHECK(ok, "softmax probs C=%lld", (long long)C);
    CHECK(std::fabs(loss - ref_loss) <= 1e-12 * std::fabs(ref_loss), "loss %.17g ref %.17g", loss, ref_loss);
    softmax_xent_backward(d.data(), p.data(), l.data(), N, C);
    ok = true;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        const double ref = (double(p[n * C + c]) - (c == l[n] ? 1.0 : 0.0)) / double(N);
        ok = ok && d[n * C + c] == float(ref);
      }
    CHECK(ok, "softmax backward C=%lld", (long long)C);
    // dlogits may alias probs.
    std::vector<float> q = p;
    softmax_xent_backward(q.data(), q.data(), l.data(), N, C);
    CHECK(q == d, "softmax backward in place");
  }
}

// ---------------------------------------------------------------------------------------------
// bias and relu

void test_elementwise() {
  const int64_t N = 13, C = 300;  // C > 256 crosses bias_grad's column blocks
  const auto x = randv(N * C), bias = randv(C), dy = randv(N * C);
  std::vector<float> y(N * C);
  bias_add(y.data(), x.data(), bias.data(), N, C);
  bool ok = true;
  for (int64_t i = 0; i < N * C; ++i) ok = ok && y[i] == x[i] + bias[i % C];
  CHECK(ok, "bias_add");
  std::vector<float> z = x;
  bias_add(z.data(), z.data(), bias.data(), N, C);
  CHECK(z == y, "bias_add in place");

  std::vector<float> db(C, 7.0f);
  bias_grad(db.data(), dy.data(), N, C, false);
  ok = true;
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) s += dy[n * C + c];
    ok = ok && db[c] == float(s);
  }
  CHECK(ok, "bias_grad");
  std::vector<float> db2(C, 0.5f);
  bias_grad(db2.data(), dy.data(), N, C, true);
  ok = true;
  for (int64_t c = 0; c < C; ++c) {
    double s = 0.5;
    for (int64_t n = 0; n < N; ++n) s += dy[n * C + c];
    ok = ok && std::fabs(db2[c] - s) <= 1e-6;
  }
  CHECK(ok, "bias_grad accumulate");

  const float xr[] = {-1.0f, 0.0f, -0.0f, 2.5f, std::nanf(""), -3e38f, 1e-40f};
  float yr[7];
  relu_forward(yr, xr, 7);
  CHECK(yr[0] == 0.0f && yr[1] == 0.0f && !std::signbit(yr[2]) && yr[3] == 2.5f && std::isnan(yr[4]) && yr[5] == 0.0f &&
            yr[6] == 1e-40f,
        "relu_forward");
  const float dyr[] = {1, 2, 3, 4, 5, 6, 7};
  float dx[7];
  relu_backward(dx, dyr, yr, 7);
  CHECK(dx[0] == 0 && dx[1] == 0 && dx[2] == 0 && dx[3] == 4 && dx[4] == 0 && dx[5] == 0 && dx[6] == 7,
        "relu_backward");
  std::vector<float> big = randv(1001), out(1001);
  relu_forward(out.data(), big.data(), 1001);
  relu_forward(big.data(), big.data(), 1001);
  CHECK(out == big, "relu in place");
}

// ---------------------------------------------------------------------------------------------
// Optimizers: several steps against plain references in double (PyTorch's formulas); the
// kernels round in float32 after each operation, so allow rtol relative to the parameters'
// scale (they start in [-1, 1], so an error of rtol * (|ref| + 1); a wrong coefficient or
// branch is off by ~lr, orders of magnitude more).

bool close_vec(const std::vector<float>& got, const std::vector<double>& ref, double rtol) {
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - ref[i]) <= rtol * (std::fabs(ref[i]) + 1.0))) {
      std::fprintf(stderr, "  [%zu] got %.9g ref %.9g\n", i, got[i], ref[i]);
      return false;
    }
  return true;
}

void test_sgd() {
  const int64_t n = 101;
  for (int variant = 0; variant < 5; ++variant) {
    const double lr = 0.1, mom = variant == 0 ? 0.0 : 0.9, damp = variant == 3 ? 0.2 : 0.0;
    const double wd = variant >= 2 ? 0.01 : 0.0;
    const bool nesterov = variant == 4;
    auto p = randv(n);
    std::vector<float> buf(n, 0.0f);
    std::vector<double> rp(p.begin(), p.end()), rb(n, 0.0);
    for (int step = 0; step < 5; ++step) {
      const auto g = randv(n);
      sgd_step(p.data(), mom != 0 ? buf.data() : nullptr, g.data(), n, lr, mom, damp, wd, nesterov, step == 0);
      for (int64_t i = 0; i < n; ++i) {
        double d = g[i] + wd * rp[i];
        if (mom != 0) {
          rb[i] = step == 0 ? d : mom * rb[i] + (1 - damp) * d;
          d = nesterov ? d + mom * rb[i] : rb[i];
        }
        rp[i] -= lr * d;
      }
    }
    CHECK(close_vec(p, rp, 1e-5), "sgd variant %d", variant);
  }
}

void test_adam() {
  const int64_t n = 101;
  for (int variant = 0; variant < 4; ++variant) {
    const bool decoupled = variant & 1, amsgrad = variant & 2;
    const double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05;
    auto p = randv(n);
    std::vector<float> m(n, 0.0f), v(n, 0.0f), vm(n, 0.0f);
    std::vector<double> rp(p.begin(), p.end()), rm(n, 0.0), rv(n, 0.0), rvm(n, 0.0);
    for (int64_t step = 1; step <= 6; ++step) {
      const auto g = randv(n);
      adam_step(p.data(), m.data(), v.data(), amsgrad ? vm.data() : nullptr, g.data(), n, step, lr, b1, b2, eps, wd,
                decoupled, amsgrad);
      for (int64_t i = 0; i < n; ++i) {
        double gi = g[i];
        if (decoupled)
          rp[i] *= 1 - lr * wd;
        else
          gi += wd * rp[i];
        rm[i] = b1 * rm[i] + (1 - b1) * gi;
        rv[i] = b2 * rv[i] + (1 - b2) * gi * gi;
        double vv = rv[i];
        if (amsgrad) vv = rvm[i] = std::max(rvm[i], rv[i]);
        const double denom = std::sqrt(vv) / std::sqrt(1 - std::pow(b2, step)) + eps;
        rp[i] -= lr / (1 - std::pow(b1, step)) * rm[i] / denom;
      }
    }
    CHECK(close_vec(p, rp, 1e-5), "adam decoupled=%d amsgrad=%d", decoupled, amsgrad);
  }
}

void test_adagrad_rmsprop() {
  const int64_t n = 101;
  {
    auto p = randv(n);
    std::vector<float> s(n, 0.0f);
    std::vector<double> rp(p.begin(), p.end()), rs(n, 0.0);
    const double lr = 0.05, decay = 0.01, eps = 1e-10, wd = 0.02;
    for (int step = 1; step <= 5; ++step) {
      const auto g = randv(n);
      const double clr = lr / (1 + (step - 1) * decay);
      adagrad_step(p.data(), s.data(), g.data(), n, clr, eps, wd);
      for (int64_t i = 0; i < n; ++i) {
        const double gi = g[i] + wd * rp[i];
        rs[i] += gi * gi;
        rp[i] -= clr * gi / (std::sqrt(rs[i]) + eps);
      }
    }
    CHECK(close_vec(p, rp, 1e-5), "adagrad");
  }
  for (int variant = 0; variant < 4; ++variant) {
    const bool centered = variant & 1;
    const double mom = (variant & 2) ? 0.9 : 0.0;
    const double lr = 0.01, alpha = 0.99, eps = 1e-8, wd = 0.01;
    auto p = randv(n);
    std::vector<float> sq(n, 0.0f), ga(n, 0.0f), buf(n, 0.0f);
    std::vector<double> rp(p.begin(), p.end()), rsq(n, 0.0), rga(n, 0.0), rb(n, 0.0);
    for (int step = 1; step <= 5; ++step) {
      const auto g = randv(n);
      rmsprop_step(p.data(), sq.data(), centered ? ga.data() : nullptr, mom > 0 ? buf.data() : nullptr, g.data(), n, lr,
                   alpha, eps, wd, mom, centered);
      for (int64_t i = 0; i < n; ++i) {
        const double gi = g[i] + wd * rp[i];
        rsq[i] = alpha * rsq[i] + (1 - alpha) * gi * gi;
        double avg;
        if (centered) {
          rga[i] = alpha * rga[i] + (1 - alpha) * gi;
          avg = std::sqrt(rsq[i] - rga[i] * rga[i]) + eps;
        } else {
          avg = std::sqrt(rsq[i]) + eps;
        }
        if (mom > 0) {
          rb[i] = mom * rb[i] + gi / avg;
          rp[i] -= lr * rb[i];
        } else {
          rp[i] -= lr * gi / avg;
        }
      }
    }
    CHECK(close_vec(p, rp, 1e-4), "rmsprop centered=%d momentum=%g", centered, mom);
  }
}

// Bit-exact agreement with PyTorch 1.13 (numbers it produced; generator kept in the comment).
// Inputs are exact in float, so nothing here depends on libm.
// Generated by torch 1.13.0a0 (CPU, foreach=False): 16 parameters, 3 steps;
// param0[i] = ((i * 37) % 19 - 9) / 8, grad_s[i] = ((i * 13 + s * 7) % 23 - 11) / 16.
const float kTorchParams[][16] = {
    /* sgd_plain */ {-0x1.0ccccc0000000p+0f, 0x1.19999a0000000p+0f, 0x1.04cccc0000000p+0f, 0x1.e000000000000p-1f,
                     0x1.6cccce0000000p-1f, 0x1.4333340000000p-1f, 0x1.19999a0000000p-1f, 0x1.4cccce0000000p-2f,
                     0x1.f333340000000p-3f, 0x1.4cccce0000000p-3f, -0x1.0000000000000p-4f, -0x1.2666660000000p-3f,
                     -0x1.ccccca0000000p-3f, -0x1.cccccc0000000p-2f, -0x1.1000000000000p-1f, -0x1.39999a0000000p-1f},
    /* sgd_momentum */
    {-0x1.d06dca0000000p-1f, 0x1.0746920000000p+0f, 0x1.1b60cc0000000p+0f, 0x1.d9ff2a0000000p-1f, 0x1.8467bc0000000p-1f,
     0x1.27a54e0000000p-1f, 0x1.144b540000000p-1f, 0x1.d52dd60000000p-3f, 0x1.87c5e40000000p-3f, 0x1.144bd80000000p-2f,
     -0x1.41a1820000000p-3f, -0x1.419f6e0000000p-4f, -0x1.09ecb60000000p-2f, -0x1.b51b8e0000000p-2f,
     -0x1.3750340000000p-1f, -0x1.4aaa300000000p-1f},
    /* sgd_nesterov */
    {-0x1.fb07300000000p-1f, 0x1.1183080000000p+0f, 0x1.0ef37e0000000p+0f, 0x1.e02a280000000p-1f, 0x1.77526a0000000p-1f,
     0x1.3995940000000p-1f, 0x1.16a95e0000000p-1f, 0x1.2602060000000p-2f, 0x1.c0532c0000000p-3f, 0x1.abd6e20000000p-3f,
     -0x1.b3fe360000000p-4f, -0x1.dcf6c80000000p-4f, -0x1.e56eb80000000p-3f, -0x1.c466d60000000p-2f,
     -0x1.1ff0400000000p-1f, -0x1.42dc780000000p-1f},
    /* adam */
    {-0x1.1f638c0000000p+0f, 0x1.1f7b7c0000000p+0f, 0x1.0078ea0000000p+0f, 0x1.bff23e0000000p-1f, 0x1.807a780000000p-1f,
     0x1.3f90840000000p-1f, 0x1.0080a00000000p-1f, 0x1.7e52fe0000000p-2f, 0x1.fc44ba0000000p-3f, 0x1.043a980000000p-3f,
     -0x1.3250c20000000p-9f, -0x1.fac01a0000000p-4f, -0x1.0097ce0000000p-2f, -0x1.7fd5460000000p-2f,
     -0x1.00b6aa0000000p-1f, -0x1.404db60000000p-1f},
    /* adam_wd_amsgrad */
    {-0x1.19d5180000000p+0f, 0x1.1abd7e0000000p+0f, 0x1.049f500000000p+0f, 0x1.bf503c0000000p-1f, 0x1.848dae0000000p-1f,
     0x1.3b81300000000p-1f, 0x1.04e30a0000000p-1f, 0x1.6f1afa0000000p-2f, 0x1.da83c20000000p-3f, 0x1.2a32fe0000000p-3f,
     -0x1.7edc600000000p-6f, -0x1.cb415e0000000p-4f, -0x1.05d1fc0000000p-2f, -0x1.7e1b960000000p-2f,
     -0x1.07073e0000000p-1f, -0x1.3dca1a0000000p-1f},
    /* adamw */
    {-0x1.1f61580000000p+0f, 0x1.1f79480000000p+0f, 0x1.0076f20000000p+0f, 0x1.bfeecc0000000p-1f, 0x1.8077840000000p-1f,
     0x1.3f8e0e0000000p-1f, 0x1.007ea80000000p-1f, 0x1.7e500a0000000p-2f, 0x1.fc40ce0000000p-3f, 0x1.04389c0000000p-3f,
     -0x1.324fc60000000p-9f, -0x1.fabc300000000p-4f, -0x1.0095d60000000p-2f, -0x1.7fd2520000000p-2f,
     -0x1.00b4b20000000p-1f, -0x1.404b400000000p-1f},
    /* adagrad */
    {-0x1.1d21520000000p+0f, 0x1.1c71de0000000p+0f, 0x1.0148ba0000000p+0f, 0x1.c0ff540000000p-1f, 0x1.7ec35e0000000p-1f,
     0x1.3ed16a0000000p-1f, 0x1.04df440000000p-1f, 0x1.7836ae0000000p-2f, 0x1.e57b540000000p-3f, 0x1.0f38040000000p-3f,
     -0x1.fa4bf80000000p-7f, -0x1.fd79100000000p-4f, -0x1.0070580000000p-2f, -0x1.86e70c0000000p-2f,
     -0x1.02dda40000000p-1f, -0x1.3bf3120000000p-1f},
    /* rmsprop */
    {-0x1.0406700000000p+0f, 0x1.f9df320000000p-1f, 0x1.0d68c20000000p+0f, 0x1.cba0780000000p-1f, 0x1.740f1c0000000p-1f,
     0x1.35a2ee0000000p-1f, 0x1.31aa320000000p-1f, 0x1.3347320000000p-2f, 0x1.f12de80000000p-4f, 0x1.9710840000000p-3f,
     -0x1.3c8bfc0000000p-3f, -0x1.f14cf00000000p-4f, -0x1.039b420000000p-2f, -0x1.c8ff700000000p-2f,
     -0x1.1d2c380000000p-1f, -0x1.4ab5720000000p-1f},
    /* rmsprop_centered_momentum */
    {-0x1.04e1780000000p+0f, 0x1.fb457c0000000p-1f, 0x1.13a1be0000000p+0f, 0x1.b39f7c0000000p-1f, 0x1.92a0ec0000000p-1f,
     0x1.2935fa0000000p-1f, 0x1.1fb1a80000000p-1f, 0x1.37efcc0000000p-2f, 0x1.e67e8a0000000p-4f, 0x1.b4f47e0000000p-3f,
     -0x1.1c4d6c0000000p-3f, -0x1.24bcd60000000p-4f, -0x1.24799c0000000p-2f, -0x1.74a89c0000000p-2f,
     -0x1.1ee2840000000p-1f, -0x1.24f15e0000000p-1f},
};

void test_optim_torch() {
  const int64_t n = 16;
  auto param0 = [&] {
    std::vector<float> p(n);
    for (int64_t i = 0; i < n; ++i) p[i] = float((i * 37) % 19 - 9) / 8.0f;
    return p;
  };
  auto grad = [&](int s) {
    std::vector<float> g(n);
    for (int64_t i = 0; i < n; ++i) g[i] = float((i * 13 + s * 7) % 23 - 11) / 16.0f;
    return g;
  };
  const char* names[] = {"sgd_plain", "sgd_momentum",    "sgd_nesterov",
                         "adam",      "adam_wd_amsgrad", "adamw",
                         "adagrad",   "rmsprop",         "rmsprop_centered_momentum"};
  for (int c = 0; c < 9; ++c) {
    auto p = param0();
    std::vector<float> s1(n, 0.0f), s2(n, 0.0f), s3(n, 0.0f);
    for (int s = 0; s < 3; ++s) {
      const auto g = grad(s);
      switch (c) {
        case 0:
          sgd_step(p.data(), nullptr, g.data(), n, 0.1, 0, 0, 0, false, s == 0);
          break;
        case 1:
          sgd_step(p.data(), s1.data(), g.data(), n, 0.1, 0.9, 0.1, 0.01, false, s == 0);
          break;
        case 2:
          sgd_step(p.data(), s1.data(), g.data(), n, 0.05, 0.9, 0, 1e-3, true, s == 0);
          break;
        case 3:
          adam_step(p.data(), s1.data(), s2.data(), nullptr, g.data(), n, s + 1, 1e-3, 0.9, 0.999, 1e-8, 0, false,
                    false);
          break;
        case 4:
          adam_step(p.data(), s1.data(), s2.data(), s3.data(), g.data(), n, s + 1, 1e-2, 0.9, 0.999, 1e-8, 0.01, false,
                    true);
          break;
        case 5:
          adam_step(p.data(), s1.data(), s2.data(), nullptr, g.data(), n, s + 1, 1e-3, 0.9, 0.999, 1e-8, 0.01, true,
                    false);
          break;
        case 6:
          adagrad_step(p.data(), s1.data(), g.data(), n, 0.01 / (1 + s * 0.01), 1e-10, 0.01);
          break;
        case 7:
          rmsprop_step(p.data(), s1.data(), nullptr, nullptr, g.data(), n, 0.01, 0.99, 1e-8, 0, 0, false);
          break;
        case 8:
          rmsprop_step(p.data(), s1.data(), s2.data(), s3.data(), g.data(), n, 0.01, 0.9, 1e-8, 0.01, 0.9, true);
          break;
      }
    }
    int diff = 0;
    for (int64_t i = 0; i < n; ++i) diff += std::memcmp(&p[i], &kTorchParams[c][i], 4) != 0;
    CHECK(diff == 0, "%s: %d of 16 parameters differ from PyTorch's bits", names[c], diff);
  }
}

// Batch norm against a double reference (mean, biased variance, the normalised output, the
// running statistics, the three gradients) for shapes with and without a tail of the four-lane
// row sums; bit-identical results for 1, 2 and 3 threads; y computed in place over x.
void test_batchnorm() {
  struct Shape {
    int64_t N, C, L;
  };
  for (Shape s : {Shape{7, 5, 1}, Shape{3, 4, 13}, Shape{2, 37, 36}, Shape{1, 2, 64}}) {
    const int64_t N = s.N, C = s.C, L = s.L, n = N * C * L;
    const double M = double(N * L), eps = 1e-5, mom = 0.1;
    std::vector<float> x = randv(n, -2.0f, 3.0f), dy = randv(n), w = randv(C, 0.5f, 1.5f), b = randv(C);
    std::vector<float> rm0 = randv(C), rv0 = randv(C, 0.5f, 1.5f);
    std::vector<std::vector<float>> outs;
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      std::vector<float> rm = rm0, rv = rv0, y(n), mean(C), invstd(C), dx(n), dw(C), db(C);
      batch_norm_train(rm.data(), rv.data(), y.data(), mean.data(), invstd.data(), x.data(), w.data(), b.data(), N, C,
                       L, mom, eps, pool);
      batch_norm_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), mean.data(), invstd.data(), N,
                          C, L, true, pool);
      std::vector<float> all;
      for (const auto* v : {&rm, &rv, &y, &mean, &invstd, &dx, &dw, &db}) all.insert(all.end(), v->begin(), v->end());
      outs.push_back(all);
      if (threads > 1) continue;
      std::vector<float> inplace = x;
      batch_norm_train(nullptr, nullptr, inplace.data(), mean.data(), invstd.data(), inplace.data(), w.data(), b.data(),
                       N, C, L, mom, eps, pool);
      CHECK(inplace == y, "batch_norm_train in place N=%lld C=%lld L=%lld", (long long)N, (long long)C, (long long)L);
      for (int64_t c = 0; c < C; ++c) {
        double sm = 0, sq = 0, sdy = 0, dot = 0;
        for (int64_t i = 0; i < N; ++i)
          for (int64_t l = 0; l < L; ++l) sm += x[(i * C + c) * L + l];
        const double mu = sm / M;
        for (int64_t i = 0; i < N; ++i)
          for (int64_t l = 0; l < L; ++l) sq += (x[(i * C + c) * L + l] - mu) * (x[(i * C + c) * L + l] - mu);
        const double var = sq / M, is = 1.0 / std::sqrt(var + eps);
        auto near = [](double got, double want) { return std::fabs(got - want) <= 1e-5 * (1.0 + std::fabs(want)); };
        CHECK(near(mean[c], mu) && near(invstd[c], is), "batch_norm stats c=%lld", (long long)c);
        CHECK(near(rm[c], (1 - mom) * rm0[c] + mom * mu) && near(rv[c], (1 - mom) * rv0[c] + mom * sq / (M - 1)),
              "batch_norm running stats c=%lld", (long long)c);
        for (int64_t i = 0; i < N; ++i)
          for (int64_t l = 0; l < L; ++l) {
            const int64_t o = (i * C + c) * L + l;
            sdy += dy[o];
            dot += dy[o] * (x[o] - mu) * is;
          }
        CHECK(near(dw[c], dot) && near(db[c], sdy), "batch_norm dweight/dbias c=%lld", (long long)c);
        int bad = 0;
        for (int64_t i = 0; i < N; ++i)
          for (int64_t l = 0; l < L; ++l) {
            const int64_t o = (i * C + c) * L + l;
            const double xh = (x[o] - mu) * is;
            bad += !near(y[o], xh * w[c] + b[c]);
            bad += !near(dx[o], w[c] * is * (dy[o] - sdy / M - xh * dot / M));
          }
        CHECK(bad == 0, "batch_norm y/dx c=%lld: %d bad", (long long)c, bad);
      }
    }
    CHECK(outs[1] == outs[0] && outs[2] == outs[0], "batch_norm threads N=%lld C=%lld L=%lld", (long long)N,
          (long long)C, (long long)L);
  }
}

}  // namespace

// conv2d on every SIMD path against a double reference (forward, input and weight gradients),
// with groups, stride, padding and dilation; and bit-identical results for 1, 2 and 3 threads.
void test_conv2d() {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  // N, G, Cg, H, W, Kg, kH, kW, sH, sW, pH, pW, dH, dW
  const int64_t shapes[][14] = {{3, 1, 3, 9, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1},
                                {5, 2, 2, 7, 9, 3, 3, 2, 2, 1, 0, 2, 2, 1},
                                {6, 1, 8, 14, 14, 16, 5, 5, 1, 1, 2, 2, 1, 1}};
  for (const auto& d : shapes) {
    ConvShape s{d[0], d[1], d[2], d[3], d[4], d[5], 0, 0, d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13]};
    s.Ho = (s.H + 2 * s.pH - s.dH * (s.kH - 1) - 1) / s.sH + 1;
    s.Wo = (s.W + 2 * s.pW - s.dW * (s.kW - 1) - 1) / s.sW + 1;
    const int64_t C = s.G * s.Cg, K = s.G * s.Kg, R = s.Cg * s.kH * s.kW, P = s.Ho * s.Wo;
    std::vector<float> x(static_cast<size_t>(s.N * C * s.H * s.W)), w(static_cast<size_t>(K * R)),
        b(static_cast<size_t>(K)), dy(static_cast<size_t>(s.N * K * P));
    for (auto* v : {&x, &w, &b, &dy})
      for (float& e : *v) e = u(rng);
    std::vector<double> ry(dy.size()), rdx(x.size()), rdw(w.size());
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t p = 0; p < P; ++p) {
          const int64_t g = k / s.Kg, oh = p / s.Wo, ow = p % s.Wo, yi = (n * K + k) * P + p;
          ry[size_t(yi)] = b[size_t(k)];
          for (int64_t c = 0; c < s.Cg; ++c)
            for (int64_t i = 0; i < s.kH; ++i)
              for (int64_t j = 0; j < s.kW; ++j) {
                const int64_t h = oh * s.sH - s.pH + i * s.dH, ww = ow * s.sW - s.pW + j * s.dW;
                if (h < 0 || h >= s.H || ww < 0 || ww >= s.W) continue;
                const int64_t xi = ((n * C + g * s.Cg + c) * s.H + h) * s.W + ww,
                              wi = (k * s.Cg + c) * s.kH * s.kW + i * s.kW + j;
                ry[size_t(yi)] += double(w[size_t(wi)]) * x[size_t(xi)];
                rdx[size_t(xi)] += double(w[size_t(wi)]) * dy[size_t(yi)];
                rdw[size_t(wi)] += double(x[size_t(xi)]) * dy[size_t(yi)];
              }
        }
    for (Simd simd : paths()) {
      std::vector<float> first[3];
      for (int threads = 1; threads <= 3; ++threads) {
        ThreadPool pool(threads);
        std::vector<float> y(dy.size()), dx(x.size()), dw(w.size()), db(b.size());
        conv2d_forward(simd, pool, y.data(), x.data(), w.data(), b.data(), s, false);
        conv2d_backward_input(simd, pool, dx.data(), dy.data(), w.data(), s, false);
        conv2d_backward_params(simd, pool, dw.data(), db.data(), dy.data(), x.data(), s, false, false);
        const std::vector<float>* got[3] = {&y, &dx, &dw};
        const std::vector<double>* want[3] = {&ry, &rdx, &rdw};
        // float32 sums of up to N*P products of numbers in [-1, 1]
        const double tol = 1e-5 * double(std::max(R, s.N * P));
        for (int q = 0; q < 3; ++q) {
          double worst = 0;
          for (size_t i = 0; i < got[q]->size(); ++i) worst = std::max(worst, std::fabs((*got[q])[i] - (*want[q])[i]));
          CHECK(worst <= tol, "conv2d %s %d threads output %d: error %g > %g", simd_name(simd), threads, q, worst, tol);
          if (threads == 1)
            first[q] = *got[q];
          else
            CHECK(first[q] == *got[q], "conv2d %s output %d differs with %d threads", simd_name(simd), q, threads);
        }
      }
    }
  }
}

// Max pooling picks the first maximum, or the last NaN; a window of padding only gives -inf.
void test_pool() {
  ThreadPool pool(2);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float x[6] = {1, 3, 3, nan, 2, nan};  // one 2 x 3 plane
  float y[2];
  PoolShape s{1, 2, 3, 1, 2, 2, 2, 1, 1, 0, 0, 1, 1, false, 0};  // 2 x 2 windows, stride 1
  max_pool2d_forward(pool, y, x, s);
  CHECK(y[0] != y[0] && y[1] != y[1], "NaN wins: %g %g", y[0], y[1]);
  const float z[4] = {4, 4, 1, 2};
  float dz[4], g[1] = {1.0f};
  PoolShape t{1, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0, 1, 1, false, 0};
  max_pool2d_backward(pool, dz, g, z, t, false);
  CHECK(dz[0] == 1.0f && dz[1] == 0.0f, "first maximum gets the gradient: %g %g", dz[0], dz[1]);
  // 1 x 1 input, kernel 3, padding 1: one window of 9 taps, 1 of them on the input
  float a = 5.0f, b = 0.0f;
  PoolShape c{1, 1, 1, 1, 1, 3, 3, 2, 2, 1, 1, 1, 1, true, 0};
  avg_pool2d_forward(pool, &b, &a, c);
  CHECK(b == 5.0f / 9.0f, "count_include_pad average %g", b);
  c.count_include_pad = false;
  avg_pool2d_forward(pool, &b, &a, c);
  CHECK(b == 5.0f, "average over the input only %g", b);
}

// The 2 x 2 / stride 2 fast path against the general path: the same windows plus one more row
// and column of them (partial windows in ceil mode for an odd H or W, windows wholly outside
// the input for an even one; their dy is 0, so dx is the same), for 1 and 3 threads. Two kinds
// of values: small integers, NaN and -0.0 in x (ties everywhere, accumulating onto -0.0); and
// distinct x with dx, dy of all magnitudes and some infinities, where dx + dy rounds. Widths
// give the vectorised row loops their tails (Wo of 1, 7, 15) and odd H, W an uncovered edge.
void test_pool_2x2() {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  auto same = [](float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  uint32_t r = 12345;
  auto next = [&] { return r = r * 1664525u + 1013904223u; };
  auto wide = [&] {  // any sign and magnitude from 2^-30 to 2^30, now and then an infinity
    const uint32_t k = next();
    if ((k >> 24) < 4) return k & 1 ? inf : -inf;
    return std::ldexp(float(k % 9973u + 1u) / 9973.0f, int((k >> 16) % 61u) - 30) * (k & 2 ? -1.0f : 1.0f);
  };
  const int64_t shapes[][2] = {{7, 9}, {8, 8}, {2, 2}, {3, 2}, {14, 14}, {5, 31}, {9, 30}};
  for (const auto& hw : shapes)
    for (bool ties : {true, false}) {
      const int64_t H = hw[0], W = hw[1], Ho = H / 2, Wo = W / 2, NC = 700;  // enough planes for several tasks
      std::vector<float> x(size_t(NC * H * W)), dy(size_t(NC * Ho * Wo)), dx0(x.size());
      std::vector<float> dyc(size_t(NC * (Ho + 1) * (Wo + 1)), 0.0f);
      for (float& v : x) {
        const uint32_t k = next() >> 24;
        v = !ties ? wide() : k < 8 ? nan : k < 24 ? -0.0f : float(int(k % 5) - 2);  // small integers: many ties
      }
      for (size_t i = 0; i < dx0.size(); ++i) dx0[i] = ties ? (i % 3 == 0 ? 0.5f : -0.0f) : wide();
      for (int64_t p = 0; p < NC; ++p)
        for (int64_t i = 0; i < Ho * Wo; ++i) {
          const uint32_t k = next() >> 24;
          const float v = !ties ? wide() : k < 16 ? -0.0f : float(int(k % 7) - 3) * 0.25f;
          dy[size_t(p * Ho * Wo + i)] = v;
          dyc[size_t((p * (Ho + 1) + i / Wo) * (Wo + 1) + i % Wo)] = v;
        }
      const PoolShape fast{NC, H, W, Ho, Wo, 2, 2, 2, 2, 0, 0, 1, 1, false, 0};
      PoolShape general = fast;
      general.Ho = Ho + 1;
      general.Wo = Wo + 1;
      for (int threads : {1, 3}) {
        ThreadPool pool(threads);
        std::vector<float> y(dy.size()), yc(dyc.size());
        max_pool2d_forward(pool, y.data(), x.data(), fast);
        max_pool2d_forward(pool, yc.data(), x.data(), general);
        int bad = 0;
        for (int64_t p = 0; p < NC; ++p)
          for (int64_t i = 0; i < Ho * Wo; ++i)
            bad += !same(y[size_t(p * Ho * Wo + i)], yc[size_t((p * (Ho + 1) + i / Wo) * (Wo + 1) + i % Wo)]);
        CHECK(bad == 0, "maxPool2d 2x2 forward, %lldx%lld, ties %d, %d threads: %d values differ from the general path",
              (long long)H, (long long)W, int(ties), threads, bad);
        for (bool acc : {false, true}) {
          std::vector<float> dx(dx0), dxc(dx0);
          max_pool2d_backward(pool, dx.data(), dy.data(), x.data(), fast, acc);
          max_pool2d_backward(pool, dxc.data(), dyc.data(), x.data(), general, acc);
          bad = 0;
          for (size_t i = 0; i < dx.size(); ++i) bad += !same(dx[i], dxc[i]);
          CHECK(bad == 0, "maxPool2d 2x2 backward, %lldx%lld, ties %d, %d threads, accumulate %d: %d values differ",
                (long long)H, (long long)W, int(ties), threads, int(acc), bad);
        }
      }
    }
}

int main(int argc, char** argv) {
  g_quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const bool quick = g_quick;
  using clk = std::chrono::steady_clock;
  std::printf("paths:");
  for (Simd s : paths()) std::printf(" %s", simd_name(s));
  std::printf(" (best: %s)\n", simd_name(best_simd()));

  struct {
    const char* name;
    void (*fn)();
  } tests[] = {{"threadpool", test_threadpool},
               {"gemm_edges", test_gemm_edges},
               {"gemm_threads", test_gemm_threads},
               {"gemm_contexts", test_gemm_contexts},
               {"avx512_is_avx2", test_gemm_avx512_matches_avx2},
               {"pools_in_threads", test_pools_in_threads},
               {"softmax", test_softmax},
               {"elementwise", test_elementwise},
               {"sgd", test_sgd},
               {"adam", test_adam},
               {"adagrad_rmsprop", test_adagrad_rmsprop},
               {"optim_torch", test_optim_torch},
               {"batchnorm", test_batchnorm},

               {"conv2d", test_conv2d},
               {"pool", test_pool},
               {"pool_2x2", test_pool_2x2}};
  for (const auto& t : tests) {
    const int before = g_failures;
    const auto t0 = clk::now();
    t.fn();
    std::printf("%-16s %-6s %6.2f s\n", t.name, g_failures == before ? "ok" : "FAILED",
                std::chrono::duration<double>(clk::now() - t0).count());
  }
  {
    const int before = g_failures;
    const auto t0 = clk::now();
    test_gemm_shapes(quick);
    std::printf("%-16s %-6s %6.2f s\n", "gemm_shapes", g_failures == before ? "ok" : "FAILED",
                std::chrono::duration<double>(clk::now() - t0).count());
  }
  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
