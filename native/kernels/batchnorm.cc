// Batch normalisation, forward (training and eval) and backward, as
// torch.nn.functional.batch_norm.
//
// Dimensions: x, y, dy, dx are N x C x L, row-major (L = 1 for [N, C] input, H*W for images);
// weight, bias, the running and saved statistics, dweight and dbias have C entries. M = N * L
// values share a channel.
//
// Every channel's sums run in double in one fixed order, the order of the TS backend
// (lib/backend/ts-norm.ts), so both give the same bits: rows (n, c) in n ascending; within a
// row, four lanes (element l to lane l % 4) over the first L - L % 4 elements, combined as
// (lane0 + lane1) + (lane2 + lane3), then the tail in order. The independent lanes are what lets
// gcc vectorise the row loop (converting floats to doubles, two or four at a time) without
// reassociating anything. Elementwise results are computed in double from float inputs and
// rounded once (-ffp-contract=off keeps a*b+c two roundings-free double ops, as in JS).
//
// Threads take blocks of channels: a channel's arithmetic never depends on which thread runs
// it or on the block size, so results are bit-identical for any thread count.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "threadpool.h"

namespace ng {
namespace {

// Channels per task: enough work to amortise a task when L is 1, and blocks of several rows of
// x at once (n outer, c inner) keep the [N, C] case reading memory in order.
constexpr int64_t kChannelBlock = 16;

// Sum of r[0 .. L) in the lane order above.
inline double row_sum(const float* r, int64_t L) {
  const int64_t L4 = L - L % 4;
  double a[4] = {0.0, 0.0, 0.0, 0.0};
  for (int64_t l = 0; l < L4; l += 4) {
    for (int k = 0; k < 4; ++k) a[k] += double(r[l + k]);
  }
  double s = (a[0] + a[1]) + (a[2] + a[3]);
  for (int64_t l = L4; l < L; ++l) s += double(r[l]);
  return s;
}

// Sum of (x - m) * w over a row (w = x - m when w is null: the squared deviations).
inline double row_dot(const float* x, const float* w, int64_t L, double m) {
  const int64_t L4 = L - L % 4;
  double a[4] = {0.0, 0.0, 0.0, 0.0};
  if (w == nullptr) {
    for (int64_t l = 0; l < L4; l += 4) {
      for (int k = 0; k < 4; ++k) {
        const double d = double(x[l + k]) - m;
        a[k] += d * d;
      }
    }
  } else {
    for (int64_t l = 0; l < L4; l += 4) {
      for (int k = 0; k < 4; ++k) a[k] += (double(x[l + k]) - m) * double(w[l + k]);
    }
  }
  double s = (a[0] + a[1]) + (a[2] + a[3]);
  for (int64_t l = L4; l < L; ++l) {
    const double d = double(x[l]) - m;
    s += d * (w == nullptr ? d : double(w[l]));
  }
  return s;
}

// y[n, c, :] = x[n, c, :] * a + b for every n. y may alias x.
inline void affine_channel(float* y, const float* x, int64_t c, int64_t N, int64_t C, int64_t L, double a, double b) {
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + (n * C + c) * L;
    float* yr = y + (n * C + c) * L;
    for (int64_t l = 0; l < L; ++l) yr[l] = float(double(xr[l]) * a + b);
  }
}

// Runs fn(c0, c1) on blocks of channels spread over the pool.
template <typename Fn>
void over_channels(ThreadPool& pool, int64_t C, const Fn& fn) {
  const int64_t tasks = (C + kChannelBlock - 1) / kChannelBlock;
  pool.parallel_for(tasks, [&](int64_t t) {
    const int64_t c0 = t * kChannelBlock;
    fn(c0, std::min(C, c0 + kChannelBlock));
  });
}

}  // namespace

void batch_norm_train(float* running_mean, float* running_var, float* y, float* save_mean, float* save_invstd,
                      const float* x, const float* weight, const float* bias, int64_t N, int64_t C, int64_t L,
                      double momentum, double eps, ThreadPool& pool) {
  const double M = double(N) * double(L);
  over_channels(pool, C, [&](int64_t c0, int64_t c1) {
    double s[kChannelBlock] = {};
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t c = c0; c < c1; ++c) s[c - c0] += row_sum(x + (n * C + c) * L, L);
    }
    double q[kChannelBlock] = {};
    for (int64_t c = c0; c < c1; ++c) save_mean[c] = float(s[c - c0] / M);
    // two passes (squared deviations from the mean), so no cancellation for large means
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t c = c0; c < c1; ++c) q[c - c0] += row_dot(x + (n * C + c) * L, nullptr, L, save_mean[c]);
    }
    for (int64_t c = c0; c < c1; ++c) {
      const double mean = save_mean[c];
      const double qc = q[c - c0];
      const float invstd = float(1.0 / std::sqrt(qc / M + eps));
      save_invstd[c] = invstd;
      if (running_mean != nullptr) {
        // PyTorch moves the running variance with the unbiased estimate
        running_mean[c] = float((1.0 - momentum) * double(running_mean[c]) + momentum * mean);
        running_var[c] = float((1.0 - momentum) * double(running_var[c]) + momentum * qc / (M - 1.0));
      }
      const double a = weight != nullptr ? double(invstd) * double(weight[c]) : double(invstd);
      const double b = bias != nullptr ? double(bias[c]) - mean * a : -mean * a;
      affine_channel(y, x, c, N, C, L, a, b);
    }
  });
}

void batch_norm_eval(float* y, float* save_invstd, const float* x, const float* running_mean, const float* running_var,
                     const float* weight, const float* bias, int64_t N, int64_t C, int64_t L, double eps,
                     ThreadPool& pool) {
  over_channels(pool, C, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float invstd = float(1.0 / std::sqrt(double(running_var[c]) + eps));
      save_invstd[c] = invstd;
      const double a = weight != nullptr ? double(invstd) * double(weight[c]) : double(invstd);
      const double b = bias != nullptr ? double(bias[c]) - double(running_mean[c]) * a : -double(running_mean[c]) * a;
      affine_channel(y, x, c, N, C, L, a, b);
    }
  });
}

void batch_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                         const float* mean, const float* invstd, int64_t N, int64_t C, int64_t L, bool training,
                         ThreadPool& pool) {
  const double M = double(N) * double(L);
  const bool sums = training || dweight != nullptr;
  over_channels(pool, C, [&](int64_t c0, int64_t c1) {
    double sdy[kChannelBlock] = {};
    double dot[kChannelBlock] = {};
    if (sums) {
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t o = (n * C + c) * L;
          sdy[c - c0] += row_sum(dy + o, L);
          dot[c - c0] += row_dot(x + o, dy + o, L, mean[c]);
        }
      }
    }
    for (int64_t c = c0; c < c1; ++c) {
      const double is = invstd[c];
      if (dweight != nullptr) {
        dweight[c] = float(dot[c - c0] * is);
        dbias[c] = float(sdy[c - c0]);
      }
      const double ws = weight != nullptr ? is * double(weight[c]) : is;
      // the batch statistics depend on x: remove the mean of dy and the part along xhat
      const double mdy = training ? sdy[c - c0] / M : 0.0;
      const double k = training ? dot[c - c0] * is * is / M : 0.0;
      const double m = mean[c];
      for (int64_t n = 0; n < N; ++n) {
        const int64_t o = (n * C + c) * L;
        const float* d = dy + o;
        const float* xr = x + o;
        float* out = dx + o;
        if (training) {
          for (int64_t l = 0; l < L; ++l) out[l] = float((double(d[l]) - mdy - (double(xr[l]) - m) * k) * ws);
        } else {
          for (int64_t l = 0; l < L; ++l) out[l] = float(double(d[l]) * ws);
        }
      }
    }
  });
}

}  // namespace ng
