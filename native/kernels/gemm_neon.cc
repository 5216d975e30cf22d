// NEON GEMM micro-kernel (arm64): one 6 x 16 tile of C (see gemm_internal.h for the layouts),
// and the neon path's GemmContext.
//
// Dimensions: kc is the depth of the panels; mr <= MR = 6, nr <= NR = 16 are the valid
// rows/columns of the tile. 24 q-register accumulators (6 rows x 4 vectors of 4), four B
// vectors and the six A values in two registers (fma by lane): 30 of the 32 registers.
// NEON is part of the arm64 baseline, so no run-time check is needed.
#if defined(__aarch64__)
#include <arm_neon.h>

#include "gemm_internal.h"

namespace ng {
namespace gemm_detail {

static_assert(MR == 6 && NR == 16, "the NEON micro-kernel is written for a 6 x 16 tile");

namespace {

void ukernel_neon(int64_t kc, const float* a, int64_t rs_a, int64_t cs_a, const float* b, float* c, int64_t ldc,
                  int64_t mr, int64_t nr, float alpha, float beta) {
  float32x4_t acc[MR][4];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = vdupq_n_f32(0.0f);

  const bool packed = rs_a == 1 && cs_a == MR;
  // Rows past mr read row mr - 1 (valid memory) on the unpacked path; results discarded.
  const float* ar[MR];
  for (int64_t i = 0; i < MR; ++i) ar[i] = a + (i < mr ? i : mr - 1) * rs_a;

  for (int64_t k = 0; k < kc; ++k) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    const float32x4_t b2 = vld1q_f32(b + 8), b3 = vld1q_f32(b + 12);
    float32x4_t a03;
    float32x2_t a45;
    if (packed) {
      a03 = vld1q_f32(a + k * MR);
      a45 = vld1_f32(a + k * MR + 4);
    } else {
      const int64_t o = k * cs_a;
      const float v[4] = {ar[0][o], ar[1][o], ar[2][o], ar[3][o]};
      const float w[2] = {ar[4][o], ar[5][o]};
      a03 = vld1q_f32(v);
      a45 = vld1_f32(w);
    }
    acc[0][0] = vfmaq_laneq_f32(acc[0][0], b0, a03, 0);
    acc[0][1] = vfmaq_laneq_f32(acc[0][1], b1, a03, 0);
    acc[0][2] = vfmaq_laneq_f32(acc[0][2], b2, a03, 0);
    acc[0][3] = vfmaq_laneq_f32(acc[0][3], b3, a03, 0);
    acc[1][0] = vfmaq_laneq_f32(acc[1][0], b0, a03, 1);
    acc[1][1] = vfmaq_laneq_f32(acc[1][1], b1, a03, 1);
    acc[1][2] = vfmaq_laneq_f32(acc[1][2], b2, a03, 1);
    acc[1][3] = vfmaq_laneq_f32(acc[1][3], b3, a03, 1);
    acc[2][0] = vfmaq_laneq_f32(acc[2][0], b0, a03, 2);
    acc[2][1] = vfmaq_laneq_f32(acc[2][1], b1, a03, 2);
    acc[2][2] = vfmaq_laneq_f32(acc[2][2], b2, a03, 2);
    acc[2][3] = vfmaq_laneq_f32(acc[2][3], b3, a03, 2);
    acc[3][0] = vfmaq_laneq_f32(acc[3][0], b0, a03, 3);
    acc[3][1] = vfmaq_laneq_f32(acc[3][1], b1, a03, 3);
    acc[3][2] = vfmaq_laneq_f32(acc[3][2], b2, a03, 3);
    acc[3][3] = vfmaq_laneq_f32(acc[3][3], b3, a03, 3);
    acc[4][0] = vfmaq_lane_f32(acc[4][0], b0, a45, 0);
    acc[4][1] = vfmaq_lane_f32(acc[4][1], b1, a45, 0);
    acc[4][2] = vfmaq_lane_f32(acc[4][2], b2, a45, 0);
    acc[4][3] = vfmaq_lane_f32(acc[4][3], b3, a45, 0);
    acc[5][0] = vfmaq_lane_f32(acc[5][0], b0, a45, 1);
    acc[5][1] = vfmaq_lane_f32(acc[5][1], b1, a45, 1);
    acc[5][2] = vfmaq_lane_f32(acc[5][2], b2, a45, 1);
    acc[5][3] = vfmaq_lane_f32(acc[5][3], b3, a45, 1);
    b += NR;
  }

  const float32x4_t va = vdupq_n_f32(alpha);
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      for (int j = 0; j < 4; ++j) {
        const float32x4_t t = vmulq_f32(va, acc[i][j]);
        // beta == 0 must not read C: it may hold NaN. Otherwise round alpha * t and
        // beta * c separately, then add (no fused multiply-add), as write_tile_edge does.
        vst1q_f32(ci + 4 * j, beta == 0.0f ? t : vaddq_f32(t, vmulq_f32(vdupq_n_f32(beta), vld1q_f32(ci + 4 * j))));
      }
    }
    return;
  }
  float t[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < 4; ++j) vst1q_f32(t + i * NR + 4 * j, acc[i][j]);
  write_tile_edge(c, ldc, t, mr, nr, alpha, beta);
}

}  // namespace

// The blocking of the AVX2 context (not tuned on an arm64 machine yet).
const GemmContext gemm_neon_context = {ukernel_neon,         MR, NR,
                                       /*kc=*/512,
                                       /*mc=*/144,
                                       /*nc=*/4096,
                                       /*narrow_b=*/nullptr,
                                       /*narrow_t=*/nullptr, 0,  0,  /*ukernel_rows=*/nullptr};

}  // namespace gemm_detail
}  // namespace ng
#endif
