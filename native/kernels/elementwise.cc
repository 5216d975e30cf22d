// Bias and ReLU, forward and backward: memory-bound loops that gcc vectorises at baseline SSE2
// (they move bytes more than they compute, so wider SIMD would gain little).
//
// Dimensions: x, y, dy are N x C, row-major; bias, dbias have C entries; relu works on n
// contiguous elements.
#include <algorithm>

#include "kernels.h"

namespace ng {

// y[n, c] = x[n, c] + bias[c]. y may alias x.
void bias_add(float* y, const float* x, const float* bias, int64_t N, int64_t C) {
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + n * C;
    float* yr = y + n * C;
    for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] + bias[c];
  }
}

// dbias[c] (+)= sum_n dy[n, c]. The sums run in double, n ascending, over a block of columns
// at a time (rows stay contiguous reads, the block of partial sums stays in L1); the result
// is rounded to float once.
void bias_grad(float* dbias, const float* dy, int64_t N, int64_t C, bool accumulate) {
  constexpr int64_t kBlock = 256;
  double acc[kBlock];
  for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
    const int64_t cb = std::min(kBlock, C - c0);
    for (int64_t c = 0; c < cb; ++c) acc[c] = accumulate ? double(dbias[c0 + c]) : 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const float* row = dy + n * C + c0;
      for (int64_t c = 0; c < cb; ++c) acc[c] += double(row[c]);
    }
    for (int64_t c = 0; c < cb; ++c) dbias[c0 + c] = float(acc[c]);
  }
}

// y = max(x, 0). y may alias x. Written as `x <= 0 ? 0 : x` so NaN propagates (like
// Math.max and torch.relu) and -0 becomes +0.
void relu_forward(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] <= 0.0f ? 0.0f : x[i];
}

// dx = dy where y > 0, else 0. dx may alias dy.
void relu_backward(float* dx, const float* dy, const float* y, int64_t n) {
  // dy[i] is loaded unconditionally: a load under the condition keeps gcc from vectorising.
  for (int64_t i = 0; i < n; ++i) {
    const float d = dy[i];
    dx[i] = y[i] > 0.0f ? d : 0.0f;
  }
}

}  // namespace ng
