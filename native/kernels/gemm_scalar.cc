// Portable GEMM micro-kernel: one MR x NR tile of C (see gemm_internal.h for the layouts), and
// the scalar path's GemmContext.
//
// Dimensions: kc is the depth of the panels; mr <= MR, nr <= NR are the valid rows/columns of
// the tile. Plain loops: at baseline x86-64 gcc turns the j loop into SSE2, and the scalar
// path must work on any CPU, so nothing here assumes more.
#include "gemm_internal.h"

namespace ng {
namespace gemm_detail {

void write_tile_edge(float* c, int64_t ldc, const float* t, int64_t mr, int64_t nr, float alpha, float beta) {
  for (int64_t i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    const float* ti = t + i * NR;
    // beta == 0 must not read C: it may hold NaN, and 0 * NaN is NaN.
    if (beta == 0.0f) {
      for (int64_t j = 0; j < nr; ++j) ci[j] = alpha * ti[j];
    } else {
      for (int64_t j = 0; j < nr; ++j) ci[j] = alpha * ti[j] + beta * ci[j];
    }
  }
}

namespace {

void ukernel_scalar(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, float* c, int64_t ldc,
                    int64_t mr, int64_t nr, float alpha, float beta) {
  // Rows past mr point at row mr - 1: the unpacked (narrow) path has no padding to read.
  const float* ar[MR];
  for (int64_t i = 0; i < MR; ++i) ar[i] = a + (i < mr ? i : mr - 1) * rs_a;

  float t[MR * NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* bk = b + k * NR;
    for (int64_t i = 0; i < MR; ++i) {
      const float aik = ar[i][k * cs_a];
      for (int64_t j = 0; j < NR; ++j) t[i * NR + j] += aik * bk[j];
    }
  }
  write_tile_edge(c, ldc, t, mr, nr, alpha, beta);
}

}  // namespace

// The blocking of the AVX2 context: nothing was tuned for the scalar path alone.
const GemmContext gemm_scalar_context = {ukernel_scalar,       MR, NR,
                                         /*kc=*/512,
                                         /*mc=*/144,
                                         /*nc=*/4096,
                                         /*narrow_b=*/nullptr,
                                         /*narrow_t=*/nullptr, 0,  0,  /*ukernel_rows=*/nullptr};

}  // namespace gemm_detail
}  // namespace ng
