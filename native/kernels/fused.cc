// Fused bias + ReLU, forward and backward: the elementwise ends of a linear layer followed by
// ReLU, each one pass over memory instead of two (bias_add + relu_forward, relu_backward +
// bias_grad) and one call from JS instead of two.
//
// Dimensions: x, y, dy, dx are N x C, row-major; bias, dbias have C entries.
//
// No branches on the data: a data-dependent branch mispredicts on half the elements of a ReLU.
// The forward is a select gcc vectorises at baseline SSE2; the backward, whose column sums gcc
// leaves scalar, has an explicit SSE2 loop (baseline x86-64, so no CPU check) with the same
// per-column double sums in the same order as the scalar loop. Both are memory-bound, so wider
// SIMD would gain little.
#include <algorithm>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernels.h"

namespace ng {

// y = max(x + bias, 0): `s <= 0 ? 0 : s` as relu_forward, so NaN propagates and -0 becomes +0.
// y may alias x.
void bias_relu_forward(float* y, const float* x, const float* bias, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + n * C;
    float* yr = y + n * C;
    for (int64_t c = 0; c < C; ++c) {
      const float s = xr[c] + bias[c];
      yr[c] = s <= 0.0f ? 0.0f : s;
    }
  }
}

// dx = dy where y > 0, else 0; dbias (+)= sum_n dx[n, :] in double, n ascending, over blocks of
// columns (as bias_grad), rounded to float once. dx may alias dy.
void bias_relu_backward(float* dx, float* dbias, const float* dy, const float* y, int64_t N, int64_t C,
                        bool accumulate) {
  constexpr int64_t kBlock = 256;
  double acc[kBlock];
  for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
    const int64_t cb = std::min(kBlock, C - c0);
    for (int64_t c = 0; c < cb; ++c) acc[c] = accumulate ? double(dbias[c0 + c]) : 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const float* d = dy + n * C + c0;
      const float* yr = y + n * C + c0;
      float* o = dx + n * C + c0;
      int64_t c = 0;
#if defined(__SSE2__)
      const __m128 zero = _mm_setzero_ps();
      for (; c + 4 <= cb; c += 4) {
        const __m128 r = _mm_and_ps(_mm_cmpgt_ps(_mm_loadu_ps(yr + c), zero), _mm_loadu_ps(d + c));
        _mm_storeu_ps(o + c, r);
        _mm_storeu_pd(acc + c, _mm_add_pd(_mm_loadu_pd(acc + c), _mm_cvtps_pd(r)));
        _mm_storeu_pd(acc + c + 2, _mm_add_pd(_mm_loadu_pd(acc + c + 2), _mm_cvtps_pd(_mm_movehl_ps(r, r))));
      }
#endif
      for (; c < cb; ++c) {
        const float g = d[c];
        const float r = yr[c] > 0.0f ? g : 0.0f;
        o[c] = r;
        acc[c] += double(r);
      }
    }
    for (int64_t c = 0; c < cb; ++c) dbias[c0 + c] = float(acc[c]);
  }
}

}  // namespace ng
