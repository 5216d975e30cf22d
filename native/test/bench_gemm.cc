// GEMM GFLOPS for the shapes of ../shared/anchors/gemm_bench.py (square sizes and the MLP
// products), 1 and 2 threads. Checks a few entries against a double reference before timing.
//
// Dimensions: C is M x N, op(A) is M x K, op(B) is K x N.
// Usage: bench_gemm [--simd scalar|avx2|avx512|neon] [--threads 1,2] [--min-time 0.3] [--shapes a,b]
//        [--json] [--stat median|min] [--batch-ms 50]   (min is steadier on a busy machine; median by default)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu.h"
#include "kernels.h"
#include "threadpool.h"

using namespace ng;

struct Shape {
  std::string name;
  int64_t M, N, K;
  bool ta, tb;
};

int main(int argc, char** argv) {
  Simd simd = best_simd();
  std::vector<int> threads = {1, 2};
  double min_time = 0.3;
  std::string only;
  bool json = false;
  bool use_min = false;
  double batch = 0.05;  // seconds per timed batch, as gemm_bench.py
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--simd" && i + 1 < argc) {
      if (!parse_simd(argv[++i], &simd) || !simd_supported(simd)) {
        std::fprintf(stderr, "unsupported simd %s\n", argv[i]);
        return 2;
      }
    } else if (a == "--threads" && i + 1 < argc) {
      threads.clear();
      for (char* s = argv[++i]; *s;) {
        threads.push_back(int(std::strtol(s, &s, 10)));
        if (*s == ',') ++s;
      }
    } else if (a == "--min-time" && i + 1 < argc) {
      min_time = std::atof(argv[++i]);
    } else if (a == "--shapes" && i + 1 < argc) {
      only = std::string(",") + argv[++i] + ",";
    } else if (a == "--stat" && i + 1 < argc) {
      use_min = std::strcmp(argv[++i], "min") == 0;
    } else if (a == "--batch-ms" && i + 1 < argc) {
      batch = std::atof(argv[++i]) / 1e3;
    } else if (a == "--json") {
      json = true;
    }
  }

  std::vector<Shape> shapes;
  for (int64_t n : {128, 256, 512, 1024, 2048}) shapes.push_back({"sq" + std::to_string(n), n, n, n, false, false});
  shapes.push_back({"fwd_X.W1_256x784x256", 256, 256, 784, false, false});
  shapes.push_back({"bwd_dW1_XT.dH_784x256x256", 784, 256, 256, true, false});
  shapes.push_back({"bwd_dX_dH.W1T_256x256x784", 256, 784, 256, false, true});
  shapes.push_back({"fwd_H.W2_256x256x10", 256, 10, 256, false, false});
  shapes.push_back({"bwd_dW2_HT.dO_256x256x10", 256, 10, 256, true, false});
  shapes.push_back({"bwd_dH_dO.W2T_256x10x256", 256, 256, 10, false, true});
  // The products as nodegrad's Linear runs them (weight [out, in]): the forward X W1^T and
  // the weight gradient dH^T X.
  shapes.push_back({"ng_fwd_NT_256x256x784", 256, 256, 784, false, true});
  shapes.push_back({"ng_dW1_TN_256x784x256", 256, 784, 256, true, false});
  // The anchor CNN's conv2 per sample: forward W (64x800) col (800x196), input gradient
  // W^T dy, weight gradient over a 4-sample chunk dy col^T.
  shapes.push_back({"conv2_fwd_64x196x800", 64, 196, 800, false, false});
  shapes.push_back({"conv2_dcol_TN_800x196x64", 800, 196, 64, true, false});
  shapes.push_back({"conv2_dw_NT_64x800x784", 64, 800, 784, false, true});

  std::mt19937 rng(0);
  std::normal_distribution<float> nd;
  if (!json)
    std::printf("simd=%s   GFLOPS from the %s batch time\n%-28s %8s %10s %10s %10s\n", simd_name(simd),
                use_min ? "fastest" : "median", "shape", "threads", "GFLOPS", "ms", "best GF");
  for (int T : threads) {
    ThreadPool pool(T);
    for (const Shape& s : shapes) {
      if (!only.empty() && only.find("," + s.name + ",") == std::string::npos) continue;
      std::vector<float> A(size_t(s.M * s.K)), B(size_t(s.K * s.N)), C(size_t(s.M * s.N));
      for (auto& x : A) x = nd(rng);
      for (auto& x : B) x = nd(rng);
      auto run = [&] { gemm(simd, pool, s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), B.data(), 0.0f, C.data()); };
      run();
      // Validate a few entries before timing.
      for (int t = 0; t < 16; ++t) {
        const int64_t i = (t * 7919) % s.M, j = (t * 104729) % s.N;
        double ref = 0, mag = 0;
        for (int64_t k = 0; k < s.K; ++k) {
          const double a = s.ta ? A[k * s.M + i] : A[i * s.K + k];
          const double b = s.tb ? B[j * s.K + k] : B[k * s.N + j];
          ref += a * b;
          mag += std::fabs(a * b);
        }
        if (std::fabs(C[i * s.N + j] - ref) > 1e-5 * (s.K + 2) * mag) {
          std::fprintf(stderr, "WRONG RESULT %s C[%lld,%lld]=%g ref=%g\n", s.name.c_str(), (long long)i, (long long)j,
                       C[i * s.N + j], ref);
          return 1;
        }
      }
      using clk = std::chrono::steady_clock;
      auto t0 = clk::now();
      run();
      const double one = std::chrono::duration<double>(clk::now() - t0).count();
      const int reps = std::max(1, int(batch / std::max(one, 1e-9)));
      std::vector<double> times;
      double total = 0;
      while (total < min_time || times.size() < 3) {
        t0 = clk::now();
        for (int r = 0; r < reps; ++r) run();
        const double dt = std::chrono::duration<double>(clk::now() - t0).count() / reps;
        times.push_back(dt);
        total += dt * reps;
      }
      std::sort(times.begin(), times.end());
      const double med = use_min ? times[0] : times[times.size() / 2];
      const double gf = 2.0 * s.M * s.N * s.K / med / 1e9;
      if (json)
        std::printf(
            "{\"bench\":\"gemm\",\"impl\":\"nodegrad-%s\",\"threads\":%d,\"shape\":\"%s\","
            "\"value\":%.2f,\"ms\":%.4f}\n",
            simd_name(simd), T, s.name.c_str(), gf, med * 1e3);
      else
        std::printf("%-28s %8d %10.2f %10.4f %10.2f\n", s.name.c_str(), T, gf, med * 1e3,
                    2.0 * s.M * s.N * s.K / times[0] / 1e9);
      std::fflush(stdout);
    }
  }
  return 0;
}
