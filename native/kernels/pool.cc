// 2-D pooling over NC independent planes of H x W (NCHW with N*C planes): max, average and
// adaptive average, forward and input gradient. Output (oh, ow) of a window reads input row
// oh*sH - pH + i*dH (i < kH), column likewise; PoolShape (kernels.h) holds the sizes.
//
// Sums run in double and are rounded once, gradients are gathered per plane in a double buffer
// and stored once, so these kernels give the TS backend's numbers exactly. Planes are
// independent: the pool's tasks take contiguous runs of them, whatever the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "threadpool.h"

namespace ng {

namespace {

template <class F>
void over_planes(ThreadPool& pool, int64_t NC, int64_t work_per_plane, const F& fn) {
  // Small problems stay on the calling thread: a fork-join costs more than it saves.
  const int64_t tasks = NC * work_per_plane < (int64_t(1) << 15) ? 1 : std::min<int64_t>(pool.size(), NC);
  if (tasks <= 1) {
    fn(0, NC);
    return;
  }
  pool.parallel_for(tasks, [&](int64_t t) { fn(NC * t / tasks, NC * (t + 1) / tasks); });
}

// The taps of each output row's (column's) window that fall inside the input: [lo, hi) per
// output index, computed once per call (the divisions would otherwise dominate a 2 x 2 window).
struct Taps {
  std::vector<int64_t> lo, hi;
  Taps(int64_t out, int64_t stride, int64_t pad, int64_t dil, int64_t k, int64_t size) : lo(out), hi(out) {
    for (int64_t o = 0; o < out; ++o) {
      const int64_t start = o * stride - pad;
      lo[o] = start >= 0 ? 0 : (-start + dil - 1) / dil;
      hi[o] = std::max(lo[o], std::min(k, start >= size ? 0 : (size - 1 - start) / dil + 1));
    }
  }
};

// The index (in the plane) maxPool2d picks at (oh, ow), or -1 when the window has no input
// element: the first maximum in row-major order, or the last NaN (PyTorch's `v > max || isnan`).
// The choice is a select, not a branch: on real data the comparisons are unpredictable.
inline int64_t max_index(const float* xp, const PoolShape& s, const Taps& th, const Taps& tw, int64_t oh, int64_t ow) {
  const int64_t i0 = th.lo[oh], i1 = th.hi[oh], j0 = tw.lo[ow], j1 = tw.hi[ow];
  if (i0 >= i1 || j0 >= j1) return -1;
  const int64_t h0 = oh * s.sH - s.pH, w0 = ow * s.sW - s.pW;
  int64_t best = (h0 + i0 * s.dH) * s.W + w0 + j0 * s.dW;
  float m = xp[best];
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t row = (h0 + i * s.dH) * s.W + w0;
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t idx = row + j * s.dW;
      const float v = xp[idx];
      const bool take = (v > m) | (v != v);
      best = take ? idx : best;
      m = take ? v : m;
    }
  }
  return best;
}

// avgPool2d's window along one axis: input [*b, *e) and the window's length within the padded input.
inline int64_t avg_span(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size, int64_t* b, int64_t* e) {
  const int64_t start = o * stride - pad, end = std::min(start + k, size + pad);
  *b = std::max<int64_t>(start, 0);
  *e = std::min(end, size);
  return end - start;
}

inline double avg_divisor(const PoolShape& s, int64_t hb, int64_t he, int64_t ph, int64_t wb, int64_t we, int64_t pw) {
  if (s.divisor != 0) return double(s.divisor);
  return s.count_include_pad ? double(ph * pw) : double((he - hb) * (we - wb));
}

// PyTorch's adaptive window: [floor(o*size/out), ceil((o+1)*size/out)).
inline void adaptive_span(int64_t o, int64_t out, int64_t size, int64_t* b, int64_t* e) {
  *b = (o * size) / out;
  *e = ((o + 1) * size + out - 1) / out;
}

// Stores a plane's double gradient buffer into dx (added when accumulate).
inline void store(float* dxp, const double* g, int64_t n, bool accumulate) {
  for (int64_t i = 0; i < n; ++i) dxp[i] = accumulate ? static_cast<float>(dxp[i] + g[i]) : static_cast<float>(g[i]);
}

// The common 2 x 2 / stride 2 window with every window inside the input (no padding, no
// dilation; ceil_mode's partial last window takes the general path). The general path's
// per-window tap loops cost several times the comparisons here.
inline bool is_2x2(const PoolShape& s) {
  return s.kH == 2 && s.kW == 2 && s.sH == 2 && s.sW == 2 && s.pH == 0 && s.pW == 0 && s.dH == 1 && s.dW == 1 &&
         2 * s.Ho <= s.H && 2 * s.Wo <= s.W;
}

// The 2 x 2 fast path keeps max_index's selects as bit masks (all ones where a tap takes the
// maximum): with bool selects GCC threads the jumps, leaves a comparison on one path only and
// then will not vectorise a comparison that could trap; with masks the loops below vectorise
// with the baseline ISA (SSE2, NEON, SIMD128).
inline uint32_t bits_of(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}
inline float float_of(uint32_t u) {
  float v;
  std::memcpy(&v, &u, sizeof v);
  return v;
}
// max_index's select, one tap: v replaces the maximum m when greater, or when NaN.
inline uint32_t takes(float v, float m) { return 0u - uint32_t((v > m) | (v != v)); }
inline float blend(uint32_t mask, float a, float b) { return float_of((bits_of(a) & mask) | (bits_of(b) & ~mask)); }

// One 2 x 2 window, taps v0 v1 (top row) v2 v3 in row-major order as max_index takes them, so
// the same pick: the maximum, and in t1, t2, t3 whether v1, v2, v3 took it. The pick is the
// last tap that took it, v0 when none did.
inline float max_2x2(float v0, float v1, float v2, float v3, uint32_t* t1, uint32_t* t2, uint32_t* t3) {
  *t1 = takes(v1, v0);
  float m = blend(*t1, v1, v0);
  *t2 = takes(v2, m);
  m = blend(*t2, v2, m);
  *t3 = takes(v3, m);
  return blend(*t3, v3, m);
}

// One row of Wo windows over input rows r0, r1, the loop vectorised whole. x, y, dx and dy never
// overlap (the kernel table's disjoint lists) nor do two rows: __restrict spares every row the
// overlap test the vectoriser adds otherwise (~15% of the time on the anchor CNN's planes).
inline void max_2x2_row(float* __restrict y, const float* __restrict r0, const float* __restrict r1, int64_t Wo) {
  for (int64_t ow = 0; ow < Wo; ++ow) {
    uint32_t t1, t2, t3;
    y[ow] = max_2x2(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], &t1, &t2, &t3);
  }
}

// The input gradient of one row of windows: all four dx of each window (rows d0, d1) in one
// pass. The general path's double buffer holds 0.0 + dy at the pick and 0.0 elsewhere (windows
// do not overlap), then stores it or adds it to dx in double; float arithmetic gives the same
// bits: adding 0.0 is exact (it only turns -0.0 into +0.0), and a sum of two floats rounded to
// double then to float is their float sum (53 >= 2 * 24 + 2 bits: the double rounding is harmless).
template <bool Accumulate>
inline void max_2x2_row_backward(float* __restrict d0, float* __restrict d1, const float* __restrict dy,
                                 const float* __restrict r0, const float* __restrict r1, int64_t Wo) {
  for (int64_t ow = 0; ow < Wo; ++ow) {
    uint32_t t1, t2, t3;
    max_2x2(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], &t1, &t2, &t3);
    const uint32_t g = bits_of(dy[ow]);
    const float g0 = 0.0f + float_of(g & ~(t1 | t2 | t3)), g1 = 0.0f + float_of(g & t1 & ~(t2 | t3)),
                g2 = 0.0f + float_of(g & t2 & ~t3), g3 = 0.0f + float_of(g & t3);
    d0[2 * ow] = Accumulate ? d0[2 * ow] + g0 : g0;
    d0[2 * ow + 1] = Accumulate ? d0[2 * ow + 1] + g1 : g1;
    d1[2 * ow] = Accumulate ? d1[2 * ow] + g2 : g2;
    d1[2 * ow + 1] = Accumulate ? d1[2 * ow + 1] + g3 : g3;
  }
}

// dx of input elements no window covers (an odd H's last row, an odd W's last column): 0.0,
// or dx + 0.0 when accumulating, as the general path stores them.
template <bool Accumulate>
inline void uncovered(float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = Accumulate ? d[i] + 0.0f : 0.0f;
}

// max_pool2d_backward's 2 x 2 path: dx (NC x H x W) from dy (NC x Ho x Wo), every dx written once.
template <bool Accumulate>
void max_2x2_backward(ThreadPool& pool, float* dx, const float* dy, const float* x, const PoolShape& s) {
  over_planes(pool, s.NC, s.Ho * s.Wo * 4, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x + p * s.H * s.W;
      float* dxp = dx + p * s.H * s.W;
      for (int64_t oh = 0; oh < s.Ho; ++oh) {
        const int64_t at = 2 * oh * s.W;
        max_2x2_row_backward<Accumulate>(dxp + at, dxp + at + s.W, dy + (p * s.Ho + oh) * s.Wo, xp + at, xp + at + s.W,
                                         s.Wo);
        if (s.W > 2 * s.Wo) {
          uncovered<Accumulate>(dxp + at + 2 * s.Wo, s.W - 2 * s.Wo);
          uncovered<Accumulate>(dxp + at + s.W + 2 * s.Wo, s.W - 2 * s.Wo);
        }
      }
      uncovered<Accumulate>(dxp + 2 * s.Ho * s.W, (s.H - 2 * s.Ho) * s.W);
    }
  });
}

}  // namespace

void max_pool2d_forward(ThreadPool& pool, float* y, const float* x, const PoolShape& s) {
  if (is_2x2(s)) {
    over_planes(pool, s.NC, s.Ho * s.Wo * 4, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* xp = x + p * s.H * s.W;
        float* yp = y + p * s.Ho * s.Wo;
        for (int64_t oh = 0; oh < s.Ho; ++oh)
          max_2x2_row(yp + oh * s.Wo, xp + 2 * oh * s.W, xp + (2 * oh + 1) * s.W, s.Wo);
      }
    });
    return;
  }
  const Taps th(s.Ho, s.sH, s.pH, s.dH, s.kH, s.H), tw(s.Wo, s.sW, s.pW, s.dW, s.kW, s.W);
  over_planes(pool, s.NC, s.Ho * s.Wo * s.kH * s.kW, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x + p * s.H * s.W;
      float* yp = y + p * s.Ho * s.Wo;
      for (int64_t oh = 0; oh < s.Ho; ++oh)
        for (int64_t ow = 0; ow < s.Wo; ++ow) {
          const int64_t i = max_index(xp, s, th, tw, oh, ow);
          yp[oh * s.Wo + ow] = i < 0 ? -INFINITY : xp[i];
        }
    }
  });
}

void max_pool2d_backward(ThreadPool& pool, float* dx, const float* dy, const float* x, const PoolShape& s,
                         bool accumulate) {
  if (is_2x2(s)) {
    if (accumulate)
      max_2x2_backward<true>(pool, dx, dy, x, s);
    else
      max_2x2_backward<false>(pool, dx, dy, x, s);
    return;
  }
  const Taps th(s.Ho, s.sH, s.pH, s.dH, s.kH, s.H), tw(s.Wo, s.sW, s.pW, s.dW, s.kW, s.W);
  over_planes(pool, s.NC, s.Ho * s.Wo * s.kH * s.kW, [&](int64_t p0, int64_t p1) {
    std::vector<double> g(size_t(s.H * s.W));
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x + p * s.H * s.W;
      const float* dyp = dy + p * s.Ho * s.Wo;
      std::fill(g.begin(), g.end(), 0.0);
      for (int64_t oh = 0; oh < s.Ho; ++oh)
        for (int64_t ow = 0; ow < s.Wo; ++ow) {
          const int64_t i = max_index(xp, s, th, tw, oh, ow);
          if (i >= 0) g[size_t(i)] += dyp[oh * s.Wo + ow];
        }
      store(dx + p * s.H * s.W, g.data(), s.H * s.W, accumulate);
    }
  });
}

void avg_pool2d_forward(ThreadPool& pool, float* y, const float* x, const PoolShape& s) {
  over_planes(pool, s.NC, s.Ho * s.Wo * s.kH * s.kW, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x + p * s.H * s.W;
      float* yp = y + p * s.Ho * s.Wo;
      for (int64_t oh = 0; oh < s.Ho; ++oh) {
        int64_t hb, he;
        const int64_t ph = avg_span(oh, s.sH, s.pH, s.kH, s.H, &hb, &he);
        for (int64_t ow = 0; ow < s.Wo; ++ow) {
          int64_t wb, we;
          const int64_t pw = avg_span(ow, s.sW, s.pW, s.kW, s.W, &wb, &we);
          double acc = 0.0;
          for (int64_t h = hb; h < he; ++h)
            for (int64_t w = wb; w < we; ++w) acc += xp[h * s.W + w];
          const double d = avg_divisor(s, hb, he, ph, wb, we, pw);
          yp[oh * s.Wo + ow] = d == 0.0 ? 0.0f : static_cast<float>(acc / d);
        }
      }
    }
  });
}

void avg_pool2d_backward(ThreadPool& pool, float* dx, const float* dy, const PoolShape& s, bool accumulate) {
  over_planes(pool, s.NC, s.Ho * s.Wo * s.kH * s.kW, [&](int64_t p0, int64_t p1) {
    std::vector<double> g(size_t(s.H * s.W));
    for (int64_t p = p0; p < p1; ++p) {
      const float* dyp = dy + p * s.Ho * s.Wo;
      std::fill(g.begin(), g.end(), 0.0);
      for (int64_t oh = 0; oh < s.Ho; ++oh) {
        int64_t hb, he;
        const int64_t ph = avg_span(oh, s.sH, s.pH, s.kH, s.H, &hb, &he);
        for (int64_t ow = 0; ow < s.Wo; ++ow) {
          int64_t wb, we;
          const int64_t pw = avg_span(ow, s.sW, s.pW, s.kW, s.W, &wb, &we);
          const double d = avg_divisor(s, hb, he, ph, wb, we, pw);
          if (d == 0.0) continue;
          const double v = dyp[oh * s.Wo + ow] / d;
          for (int64_t h = hb; h < he; ++h)
            for (int64_t w = wb; w < we; ++w) g[size_t(h * s.W + w)] += v;
        }
      }
      store(dx + p * s.H * s.W, g.data(), s.H * s.W, accumulate);
    }
  });
}

void adaptive_avg_pool2d_forward(ThreadPool& pool, float* y, const float* x, int64_t NC, int64_t H, int64_t W,
                                 int64_t Ho, int64_t Wo) {
  over_planes(pool, NC, H * W, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x + p * H * W;
      for (int64_t oh = 0; oh < Ho; ++oh) {
        int64_t hb, he;
        adaptive_span(oh, Ho, H, &hb, &he);
        for (int64_t ow = 0; ow < Wo; ++ow) {
          int64_t wb, we;
          adaptive_span(ow, Wo, W, &wb, &we);
          if (hb == he || wb == we) {  // an empty input (H or W is 0): 0 / 0, without looping over the other axis
            y[(p * Ho + oh) * Wo + ow] = NAN;
            continue;
          }
          double acc = 0.0;
          for (int64_t h = hb; h < he; ++h)
            for (int64_t w = wb; w < we; ++w) acc += xp[h * W + w];
          // an empty window (H or W is 0) gives 0 / 0 = NaN, as the TS kernel
          y[(p * Ho + oh) * Wo + ow] = static_cast<float>(acc / double((he - hb) * (we - wb)));
        }
      }
    }
  });
}

void adaptive_avg_pool2d_backward(ThreadPool& pool, float* dx, const float* dy, int64_t NC, int64_t H, int64_t W,
                                  int64_t Ho, int64_t Wo, bool accumulate) {
  over_planes(pool, NC, H * W, [&](int64_t p0, int64_t p1) {
    std::vector<double> g(size_t(H * W));
    for (int64_t p = p0; p < p1; ++p) {
      std::fill(g.begin(), g.end(), 0.0);
      for (int64_t oh = 0; oh < Ho; ++oh) {
        int64_t hb, he;
        adaptive_span(oh, Ho, H, &hb, &he);
        for (int64_t ow = 0; ow < Wo; ++ow) {
          int64_t wb, we;
          adaptive_span(ow, Wo, W, &wb, &we);
          if (hb == he || wb == we) continue;  // no input element to receive it
          const double v = dy[(p * Ho + oh) * Wo + ow] / double((he - hb) * (we - wb));
          for (int64_t h = hb; h < he; ++h)
            for (int64_t w = wb; w < we; ++w) g[size_t(h * W + w)] += v;
        }
      }
      store(dx + p * H * W, g.data(), H * W, accumulate);
    }
  });
}

}  // namespace ng
