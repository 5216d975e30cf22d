// This machine's physical limits, for bench/machine.mjs: the FP32 FMA peak (independent fma
// chains in the widest vectors the compiler targets) and the memory bandwidth (STREAM triad),
// on 1 thread and on T threads. Built by machine.mjs with the host's compiler and -march=native
// (a probe of this CPU, never shipped), so the vector width is the CPU's own.
//
// Usage: machine-probe T [seconds]  -> one JSON line:
//   {"isa":..., "threads":T, "peak1":GFLOPS, "peakT":GFLOPS, "triad1":GB/s, "triadT":GB/s}
// Peak: NACC chains of acc = acc * a + b per thread, enough to cover the fma latency times the
// fma ports (Zen 5: 2 ports x 4 cycles, AVX-512 needs >= 8; 16 leaves room), best of 3 runs of
// `seconds`. Triad: a[i] = b[i] + s * c[i] on doubles, 3 arrays of 80 MB (far beyond any L3
// here), bytes counted as STREAM does (24 per element, write-allocate not counted), each
// thread first-touching and then sweeping its own slice; best of 8.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#define ISA "avx512"
using vec = __m512;
constexpr int kLanes = 16, kAcc = 16;
static inline vec vset(float x) { return _mm512_set1_ps(x); }
static inline vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline float vsum(vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define ISA "avx2"
using vec = __m256;
constexpr int kLanes = 8, kAcc = 12;  // 12 of the 16 ymm registers: 2 ports x 5 cycles of latency, plus spare
static inline vec vset(float x) { return _mm256_set1_ps(x); }
static inline vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline float vsum(vec v) {
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#define ISA "neon"
using vec = float32x4_t;
constexpr int kLanes = 4, kAcc = 16;
static inline vec vset(float x) { return vdupq_n_f32(x); }
static inline vec vfma(vec a, vec b, vec c) { return vfmaq_f32(c, a, b); }
static inline float vsum(vec v) { return vaddvq_f32(v); }
#else
#include <cmath>
#define ISA "scalar"
using vec = float;
constexpr int kLanes = 1, kAcc = 16;
static inline vec vset(float x) { return x; }
static inline vec vfma(vec a, vec b, vec c) { return std::fma(a, b, c); }
static inline float vsum(vec v) { return v; }
#endif

using Clock = std::chrono::steady_clock;

// Runs body(t) on T threads started together; returns the wall seconds from the start signal
// until the last one finishes.
template <class F>
double on_threads(int T, const F& body) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> th;
  for (int t = 1; t < T; ++t)
    th.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load()) {
      }
      body(t);
    });
  while (ready.load() != T - 1) {
  }
  const auto t0 = Clock::now();
  go.store(true);
  body(0);
  for (auto& x : th) x.join();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

float sink[64 * 16];

__attribute__((noinline)) void fma_chains(long iters, float seed, float* out) {
  vec acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = vset(seed + 0.001f * i);
  const vec a = vset(0.999999f), b = vset(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kAcc; ++i) acc[i] = vfma(acc[i], a, b);
  }
  float s = 0;
  for (int i = 0; i < kAcc; ++i) s += vsum(acc[i]);
  *out = s;
}

double peak_gflops(int T, double seconds) {
  // Calibrate on one thread: iterations for ~`seconds`.
  long iters = 1 << 16;
  for (;;) {
    const auto t0 = Clock::now();
    fma_chains(iters, 1.0f, &sink[0]);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (dt > 0.02) {
      iters = long(iters * seconds / dt) + 1;
      break;
    }
    iters *= 4;
  }
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const double dt = on_threads(T, [&](int t) { fma_chains(iters, 1.0f + t, &sink[(t % 64) * 16]); });
    const double g = double(T) * iters * kAcc * kLanes * 2.0 / dt / 1e9;
    if (g > best) best = g;
  }
  return best;
}

double triad_gbs(int T, double* a, double* b, double* c, long n) {
  auto slice = [&](int t, long& i0, long& i1) {
    i0 = n * t / T;
    i1 = n * (t + 1) / T;
  };
  on_threads(T, [&](int t) {
    long i0, i1;
    slice(t, i0, i1);
    for (long i = i0; i < i1; ++i) a[i] = 1.0, b[i] = 2.0, c[i] = 0.5;
  });
  const double s = 3.0;
  double best = 1e30;
  for (int rep = 0; rep < 8; ++rep) {
    const double dt = on_threads(T, [&](int t) {
      long i0, i1;
      slice(t, i0, i1);
      for (long i = i0; i < i1; ++i) a[i] = b[i] + s * c[i];
    });
    if (dt < best) best = dt;
  }
  sink[0] = float(a[n / 2]);
  return 24.0 * n / best / 1e9;
}

int main(int argc, char** argv) {
  const int T = argc > 1 ? std::max(1, atoi(argv[1])) : 1;
  const double seconds = argc > 2 ? atof(argv[2]) : 0.15;
  const long n = 10L << 20;  // 80 MB of doubles per array
  double* a = static_cast<double*>(std::aligned_alloc(64, n * sizeof(double)));
  double* b = static_cast<double*>(std::aligned_alloc(64, n * sizeof(double)));
  double* c = static_cast<double*>(std::aligned_alloc(64, n * sizeof(double)));
  if (!a || !b || !c) return 1;
  const double p1 = peak_gflops(1, seconds), pT = T > 1 ? peak_gflops(T, seconds) : p1;
  const double b1 = triad_gbs(1, a, b, c, n), bT = T > 1 ? triad_gbs(T, a, b, c, n) : b1;
  std::printf(
      "{\"isa\":\"%s\",\"lanes\":%d,\"chains\":%d,\"threads\":%d,\"peak1\":%.1f,\"peakT\":%.1f,\"triad1\":%.2f,"
      "\"triadT\":%.2f}\n",
      ISA, kLanes, kAcc, T, p1, pT, b1, bT);
  std::free(a);
  std::free(b);
  std::free(c);
  return 0;
}
