// Layer normalisation, forward and backward.
//
// Dimensions: x, y, dy, dx are N rows of D, row-major (D: the product of normalizedShape);
// mean, rstd have N entries; weight, bias, dweight, dbias have D.
//
// The numbers are those of the TS specification (lib/backend/ts-layers.ts) to the bit: a row's
// sums run in doubles over four lanes (element d in lane d % 4, added as (l0 + l1) + (l2 + l3)),
// which is also the order a 4-wide vector loop has, so gcc may vectorise the row loops without
// changing a bit; mean and rstd are rounded to float once and both passes use the float values;
// each output is computed in doubles and rounded once. Rows are independent and the column sums
// of dweight/dbias run over n ascending, so splitting rows (or columns) over the pool's threads
// never changes a result.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "threadpool.h"

namespace ng {

namespace {

// Below this many elements the pool's hand-off costs more than the work.
constexpr int64_t kParallelElems = 1 << 15;

// sum over d of v(d) in the four-lane order.
template <class F>
double lane_sum(int64_t D, F v) {
  double l0 = 0, l1 = 0, l2 = 0, l3 = 0;
  int64_t d = 0;
  for (; d + 4 <= D; d += 4) {
    l0 += v(d);
    l1 += v(d + 1);
    l2 += v(d + 2);
    l3 += v(d + 3);
  }
  if (d < D) l0 += v(d++);
  if (d < D) l1 += v(d++);
  if (d < D) l2 += v(d);
  return (l0 + l1) + (l2 + l3);
}

// Runs body(i0, i1) over [0, n) in one chunk per thread, or all at once when the work is small.
template <class F>
void split_rows(ThreadPool& pool, int64_t n, int64_t row_elems, F body) {
  const int64_t threads = pool.size();
  if (threads <= 1 || n < 2 || n * row_elems < kParallelElems) {
    body(int64_t{0}, n);
    return;
  }
  const int64_t tasks = std::min(threads, n);
  const int64_t per = (n + tasks - 1) / tasks;
  pool.parallel_for(tasks, [&](int64_t t) {
    const int64_t i0 = std::min(n, t * per), i1 = std::min(n, (t + 1) * per);
    if (i0 < i1) body(i0, i1);
  });
}

}  // namespace

// x, y: N x D; mean, rstd: N; weight, bias: D or null. y may alias x (a row's statistics are
// taken before its first write).
void layer_norm_forward(ThreadPool& pool, float* y, float* mean, float* rstd, const float* x, const float* weight,
                        const float* bias, int64_t N, int64_t D, double eps) {
  split_rows(pool, N, D, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* xr = x + n * D;
      float* yr = y + n * D;
      const double mu = float(lane_sum(D, [&](int64_t d) { return double(xr[d]); }) / double(D));
      const double var = lane_sum(D,
                                  [&](int64_t d) {
                                    const double c = double(xr[d]) - mu;
                                    return c * c;
                                  }) /
                         double(D);
      const double r = float(1.0 / std::sqrt(var + eps));
      mean[n] = float(mu);
      rstd[n] = float(r);
      for (int64_t d = 0; d < D; ++d) {
        double v = (double(xr[d]) - mu) * r;
        if (weight != nullptr) v *= double(weight[d]);
        if (bias != nullptr) v += double(bias[d]);
        yr[d] = float(v);
      }
    }
  });
}

// dy, x, dx: N x D; mean, rstd: N (layer_norm_forward's); weight, dweight, dbias: D or null.
// dx may alias dy: the parameter gradients, which read dy, are done first.
void layer_norm_backward(ThreadPool& pool, float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                         const float* mean, const float* rstd, const float* weight, int64_t N, int64_t D,
                         bool accumulate) {
  if (dweight != nullptr || dbias != nullptr) {
    // Columns split over threads: each column's sum keeps the n-ascending order.
    split_rows(pool, D, N, [&](int64_t d0, int64_t d1) {
      for (int64_t d = d0; d < d1; ++d) {
        double sw = dweight != nullptr && accumulate ? double(dweight[d]) : 0.0;
        double sb = dbias != nullptr && accumulate ? double(dbias[d]) : 0.0;
        for (int64_t n = 0; n < N; ++n) {
          const double g = dy[n * D + d];
          sw += g * ((double(x[n * D + d]) - double(mean[n])) * double(rstd[n]));
          sb += g;
        }
        if (dweight != nullptr) dweight[d] = float(sw);
        if (dbias != nullptr) dbias[d] = float(sb);
      }
    });
  }
  // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight (PyTorch's formula).
  split_rows(pool, N, D, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* dyr = dy + n * D;
      const float* xr = x + n * D;
      float* dxr = dx + n * D;
      const double mu = mean[n], r = rstd[n];
      auto g = [&](int64_t d) { return weight != nullptr ? double(dyr[d]) * double(weight[d]) : double(dyr[d]); };
      const double a = lane_sum(D, g) / double(D);
      const double b = lane_sum(D, [&](int64_t d) { return g(d) * ((double(xr[d]) - mu) * r); }) / double(D);
      for (int64_t d = 0; d < D; ++d) dxr[d] = float(r * (g(d) - a - (double(xr[d]) - mu) * r * b));
    }
  });
}

}  // namespace ng
