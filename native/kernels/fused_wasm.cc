// Fused bias + ReLU with WebAssembly SIMD128, four columns at a time: the same operations in the
// same order as fused.cc's kernels (whose SSE2 loop the wasm build does not get), so the two
// paths give the same bits.
//
// Dimensions: x, y, dy, dx are N x C, row-major; bias, dbias have C entries.
//
// Forward: s = x + bias, then `s <= 0 ? 0 : s` as a mask (NaN compares false and stays, -0
// becomes +0, as the scalar select). Backward: dx = dy where y > 0 (a mask again), and the
// column sums of dx in double, n ascending, in blocks of 256 columns as bias_relu_backward, two
// f64x2 adds per four columns. Measured on the MLP step (256 x 256): the scalar backward was the
// largest wasm kernel after GEMM and Adam. The backward mirrors fused.cc's loop (its SSE2 body
// with SIMD128 operations) rather than sharing it: the sums must run in the scalar's order.
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include <algorithm>

#include "kernels.h"

namespace ng {

void bias_relu_forward_wasm(float* y, const float* x, const float* bias, int64_t N, int64_t C) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + n * C;
    float* yr = y + n * C;
    int64_t c = 0;
    for (; c + 4 <= C; c += 4) {
      const v128_t s = wasm_f32x4_add(wasm_v128_load(xr + c), wasm_v128_load(bias + c));
      wasm_v128_store(yr + c, wasm_v128_andnot(s, wasm_f32x4_le(s, zero)));
    }
    if (c < C) bias_relu_forward(yr + c, xr + c, bias + c, 1, C - c);  // the C % 4 tail: one short row
  }
}

void bias_relu_backward_wasm(float* dx, float* dbias, const float* dy, const float* y, int64_t N, int64_t C,
                             bool accumulate) {
  constexpr int64_t kBlock = 256;
  double acc[kBlock];
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
    const int64_t cb = std::min(kBlock, C - c0);
    for (int64_t c = 0; c < cb; ++c) acc[c] = accumulate ? double(dbias[c0 + c]) : 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const float* d = dy + n * C + c0;
      const float* yr = y + n * C + c0;
      float* o = dx + n * C + c0;
      int64_t c = 0;
      for (; c + 4 <= cb; c += 4) {
        const v128_t r = wasm_v128_and(wasm_f32x4_gt(wasm_v128_load(yr + c), zero), wasm_v128_load(d + c));
        wasm_v128_store(o + c, r);
        wasm_v128_store(acc + c, wasm_f64x2_add(wasm_v128_load(acc + c), wasm_f64x2_promote_low_f32x4(r)));
        wasm_v128_store(acc + c + 2,
                        wasm_f64x2_add(wasm_v128_load(acc + c + 2),
                                       wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(r, r, 2, 3, 0, 1))));
      }
      for (; c < cb; ++c) {
        const float r = yr[c] > 0.0f ? d[c] : 0.0f;
        o[c] = r;
        acc[c] += double(r);
      }
    }
    for (int64_t c = 0; c < cb; ++c) dbias[c0 + c] = float(acc[c]);
  }
}

}  // namespace ng
#endif
