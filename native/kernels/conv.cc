// 2-D convolution, NCHW, as im2col + the GEMM driver (gemm.cc, on the chosen ISA's context);
// stride-1 convolutions take the shifted-rows path below instead, which computes the same
// products without building col (the forward and weight gradient with the same bits).
//
// Dimensions (ConvShape, kernels.h):
//   x   N x (G*Cg) x H x W        input, zero-padded by pH / pW on each side
//   w   (G*Kg) x Cg x kH x kW     PyTorch's layout: group g's Kg filters see its Cg channels
//   y   N x (G*Kg) x Ho x Wo      output (oh, ow) reads input row oh*sH - pH + i*dH, col likewise
//   col R x P per (sample, group), R = Cg*kH*kW rows (c, i, j), P = Ho*Wo columns (oh, ow):
//       col[(c*kH + i)*kW + j][oh*Wo + ow] = the x that tap (c, i, j) meets at (oh, ow), or 0
// so that, per sample n and group g, as row-major matrices:
//   forward    y[n, g]  (Kg x P) = w[g] (Kg x R) * col                  then bias, ReLU
//   input grad dcol     (R x P)  = w[g]^T * dy[n, g], scattered back into dx (col2im)
//   weight grad dw[g]   (Kg x R) = sum over n of dy[n, g] * col^T
//
// Threads: the (sample, group) pairs are independent in the forward and input-gradient passes:
// the pool's tasks each take a contiguous run of them, with their own column buffer, and call a
// single-threaded gemm. The weight gradient sums over samples: samples are taken in fixed chunks
// of kChunk (a chunk's columns side by side, one gemm with K = kChunk*P), each chunk's partial
// sum in its own buffer, and the partials are added in chunk order, so the result is the same
// for any thread count. Scratch comes from per-thread workspaces (workspace.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm_internal.h"
#include "kernels.h"
#include "threadpool.h"
#include "workspace.h"

namespace ng {

namespace {

// Samples per partial sum of the weight gradient: fixed, so that the summation order depends
// on N alone. 4 samples of the anchor CNN's second layer are a gemm with K = 784.
constexpr int64_t kChunk = 4;

// The valid output columns [lo, hi) of tap offset `off` = j*dW - pW: those whose input column
// ow*sW + off lies in [0, W).
inline void valid_range(int64_t off, int64_t stride, int64_t W, int64_t Wo, int64_t* lo, int64_t* hi) {
  // ow >= ceil(-off / stride) and ow*stride + off <= W - 1
  int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t h = W - 1 - off < 0 ? 0 : (W - 1 - off) / stride + 1;
  *lo = std::min(l, Wo);
  *hi = std::max(*lo, std::min(h, Wo));
}

// col (R x P) from one sample's group of channels xg (Cg x H x W); ld is col's row stride.
void im2col(float* col, int64_t ld, const float* xg, const ConvShape& s) {
  const int64_t P = s.Ho * s.Wo;
  (void)P;
  for (int64_t c = 0; c < s.Cg; ++c) {
    const float* xc = xg + c * s.H * s.W;
    for (int64_t i = 0; i < s.kH; ++i) {
      for (int64_t j = 0; j < s.kW; ++j) {
        float* row = col + ((c * s.kH + i) * s.kW + j) * ld;
        const int64_t off = j * s.dW - s.pW;
        int64_t lo, hi;
        valid_range(off, s.sW, s.W, s.Wo, &lo, &hi);
        for (int64_t oh = 0; oh < s.Ho; ++oh) {
          float* r = row + oh * s.Wo;
          const int64_t h = oh * s.sH - s.pH + i * s.dH;
          if (h < 0 || h >= s.H) {
            std::fill(r, r + s.Wo, 0.0f);
            continue;
          }
          std::fill(r, r + lo, 0.0f);
          if (lo < hi) {
            // Only then: with W = 0 (x may be empty, its pointer null) there is nothing to point at.
            const float* xr = xc + h * s.W + off;
            if (s.sW == 1) {
              std::memcpy(r + lo, xr + lo, size_t(hi - lo) * sizeof(float));
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) r[ow] = xr[ow * s.sW];
            }
          }
          std::fill(r + hi, r + s.Wo, 0.0f);
        }
      }
    }
  }
}

// dxg (Cg x H x W) += col (R x P) scattered back: the adjoint of im2col.
void col2im_add(float* dxg, const float* col, const ConvShape& s) {
  for (int64_t c = 0; c < s.Cg; ++c) {
    float* dc = dxg + c * s.H * s.W;
    for (int64_t i = 0; i < s.kH; ++i) {
      for (int64_t j = 0; j < s.kW; ++j) {
        const float* row = col + ((c * s.kH + i) * s.kW + j) * s.Ho * s.Wo;
        const int64_t off = j * s.dW - s.pW;
        int64_t lo, hi;
        valid_range(off, s.sW, s.W, s.Wo, &lo, &hi);
        for (int64_t oh = 0; oh < s.Ho; ++oh) {
          const int64_t h = oh * s.sH - s.pH + i * s.dH;
          if (h < 0 || h >= s.H || lo >= hi) continue;  // (no pointer into an empty dx)
          const float* r = row + oh * s.Wo;
          float* dr = dc + h * s.W + off;
          for (int64_t ow = lo; ow < hi; ++ow) dr[ow * s.sW] += r[ow];
        }
      }
    }
  }
}

// Splits [0, n) into `tasks` contiguous runs and calls fn(task, begin, end) for each, on the pool.
template <class F>
void split(ThreadPool& pool, int64_t n, int64_t tasks, const F& fn) {
  tasks = std::max<int64_t>(1, std::min(tasks, n));
  pool.parallel_for(tasks, [&](int64_t t) { fn(t, n * t / tasks, n * (t + 1) / tasks); });
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// NODEGRAD_CONV_IM2COL (any value) keeps every convolution on the im2col + gemm path: tests
// compare the two paths with it. Read once.
// The WebAssembly module has no environment (and must import nothing for it): never there.
bool force_im2col() {
#if defined(__wasm__)
  return false;
#else
  static const bool force = std::getenv("NODEGRAD_CONV_IM2COL") != nullptr;
  return force;
#endif
}

// ---------------------------------------------------------------------------------------------
// The shifted-rows path: stride 1, no im2col matrix.
//
// One sample's group of channels is copied into a padded buffer whose rows are the W input
// values followed by z zeros (z >= the padding on either side, so one run of zeros is the right
// padding of a row and the left padding of the next), with pH zero rows above and below each
// channel. The output is then computed on a grid of Ho rows of S = W + z columns (the last
// S - Wo of each row are no outputs: computed and dropped), and on that grid the im2col row of
// tap (c, i, j) is a contiguous run of the buffer:
//   col'[(c * kH + i) * kW + j][oh * S + ow] = pad[c * CB + z - pW + (i * dH + oh) * S + j * dW + ow]
// so a B panel is 16 contiguous floats per tap (pack_b_rows), the weights are packed once per
// call, and the product is the GEMM micro-kernel on those panels. Each output element is the
// same chain of multiply-adds over the same k-blocks as im2col + gemm (the micro-kernels'
// per-element arithmetic does not depend on the tile), so both paths give the same bits; the
// price is S / Wo - 1 more columns (14% for the anchor CNN's second layer, 7% for its first).
// The tiny copies of im2col (one per tap and output row) cost as much as the product there.
struct Shifted {
  int64_t z, S, CB, Pp, pad_floats;
};

Shifted shifted_layout(const ConvShape& s) {
  Shifted L{};
  L.z = std::max({s.pW, s.dW * (s.kW - 1) - s.pW, s.Wo - s.W, int64_t(0)});
  L.S = s.W + L.z;
  L.CB = L.z + (s.H + 2 * s.pH) * L.S;  // Ho + dH * (kH - 1) = H + 2 pH rows are read
  L.Pp = s.Ho * L.S;
  // The highest index read is Cg * CB - 1 + dW * (kW - 1) - pW <= Cg * CB - 1 + z.
  L.pad_floats = s.Cg * L.CB + L.z;
  return L;
}

// The k-blocks gemm uses for an inner dimension K on this context (equal blocks of <= kc), so
// the shifted-rows products sum in gemm's order.
int64_t kc_of(const gemm_detail::GemmContext& cx, int64_t K) { return ceil_div(K, ceil_div(K, cx.kc)); }

// Each tap's offset in the padded buffer: tap (c, i, j) of output position p' = oh * S + ow
// (the shifted grid) reads pad[offset + p'].
std::vector<int64_t> tap_offsets(const ConvShape& s, const Shifted& L) {
  std::vector<int64_t> base(static_cast<size_t>(s.Cg * s.kH * s.kW));
  for (int64_t c = 0; c < s.Cg; ++c)
    for (int64_t i = 0; i < s.kH; ++i)
      for (int64_t j = 0; j < s.kW; ++j)
        base[size_t((c * s.kH + i) * s.kW + j)] = c * L.CB + L.z - s.pW + i * s.dH * L.S + j * s.dW;
  return base;
}

// One sample's group of channels xg (Cg x H x W) into its padded buffer's data runs (the zeros
// around them were written once and stay).
void fill_pad(float* pad, const float* xg, const ConvShape& s, const Shifted& L) {
  for (int64_t c = 0; c < s.Cg; ++c)
    for (int64_t h = 0; h < s.H; ++h)
      std::memcpy(pad + c * L.CB + L.z + (h + s.pH) * L.S, xg + (c * s.H + h) * s.W, size_t(s.W) * sizeof(float));
}

// Whether the shifted-rows path takes this convolution: stride 1, something to compute, at
// most twice the columns of im2col, and a padded copy of bounded size.
bool shifted_applies(const ConvShape& s) {
  if (s.sH != 1 || s.sW != 1 || s.N == 0 || s.Kg == 0 || s.Cg == 0 || s.Ho <= 0 || s.Wo <= 0) return false;
  const Shifted L = shifted_layout(s);
  // The padded copy stays within a few times the input and output (huge padding or dilation
  // around a small input would make it arbitrarily large: im2col is bounded differently).
  const int64_t io = s.Cg * s.H * s.W + s.Kg * s.Ho * s.Wo;
  return L.S <= 2 * s.Wo && L.pad_floats <= 4 * io + (int64_t(1) << 16);
}

// Packs G groups of M x R row-major weights for the micro-kernel, k-blocks of kcs: group g's
// block starting at tap p0 lands at ap + g * Mpad * R + p0 * Mpad (Mpad = M rounded up to MR).
void pack_weights(float* ap, const float* wts, int64_t G, int64_t M, int64_t R, int64_t kcs) {
  const int64_t Mpad = ceil_div(M, gemm_detail::MR) * gemm_detail::MR;
  for (int64_t g = 0; g < G; ++g)
    for (int64_t p0 = 0; p0 < R; p0 += kcs)
      gemm_detail::pack_a(ap + g * Mpad * R + p0 * Mpad, wts + g * M * R, R, false, 0, M, p0, std::min(kcs, R - p0));
}

// out[n, g] (Kg x Ho x Wo) = (or, when accumulate, +=) the stride-1 convolution of
// in[n, g] (Cg x H x W) with the weights packed by pack_weights (kcs = kc_of(cx, R)); then bias and
// ReLU as conv2d_forward's epilogue (never when accumulating). Tasks over (sample, group).
void conv_shifted(Simd simd, ThreadPool& pool, float* out, const float* in, const float* ap, const float* bias,
                  const ConvShape& s, bool relu, bool accumulate) {
  using gemm_detail::MR;
  using gemm_detail::NR;
  const gemm_detail::GemmContext& cx = gemm_detail::gemm_context(simd);
  const Shifted L = shifted_layout(s);
  const int64_t R = s.Cg * s.kH * s.kW, P = s.Ho * s.Wo, C = s.G * s.Cg, K = s.G * s.Kg;
  const int64_t kcs = kc_of(cx, R);
  const std::vector<int64_t> base = tap_offsets(s, L);
  const int64_t Mpad = ceil_div(s.Kg, MR) * MR;
  split(pool, s.N * s.G, pool.size(), [&](int64_t, int64_t b, int64_t e) {
    Workspace padw(WsSlot::ConvPad, size_t(L.pad_floats)), outw(WsSlot::ConvOut, size_t(s.Kg * L.Pp)),
        panw(WsSlot::ConvPanel, size_t(kcs * cx.nr));
    float* const pad = padw.data();
    float* const cb = outw.data();
    float* const bp = panw.data();
    std::fill(pad, pad + L.pad_floats, 0.0f);  // only the data runs are written below
    std::vector<const float*> rows(static_cast<size_t>(R));
    for (int64_t t = 0; t < R; ++t) rows[size_t(t)] = pad + base[size_t(t)];
    for (int64_t u = b; u < e; ++u) {
      const int64_t n = u / s.G, g = u % s.G;
      fill_pad(pad, in + (n * C + g * s.Cg) * s.H * s.W, s, L);
      const float* apg = ap + g * Mpad * R;
      for (int64_t jc = 0; jc < L.Pp; jc += cx.nr) {
        const int64_t nrc = std::min(cx.nr, L.Pp - jc);
        for (int64_t p0 = 0; p0 < R; p0 += kcs) {
          const int64_t kc = std::min(kcs, R - p0);
          const float b_eff = p0 == 0 ? 0.0f : 1.0f;
          if (cx.ukernel_rows != nullptr) {
            // B read in place: each k's row is 32 contiguous floats of the padded buffer.
            for (int64_t ir = 0; ir < s.Kg; ir += cx.mr)
              cx.ukernel_rows(kc, apg + p0 * Mpad + ir * kc, rows.data() + p0, jc, cb + ir * L.Pp + jc, L.Pp,
                              std::min(cx.mr, s.Kg - ir), nrc, 1.0f, b_eff);
            continue;
          }
          for (int64_t q = 0; q * NR < nrc; ++q)
            gemm_detail::pack_b_rows(bp + q * kc * NR, rows.data() + p0, kc, jc + q * NR, std::min(NR, nrc - q * NR));
          for (int64_t ir = 0; ir < s.Kg; ir += cx.mr)
            cx.ukernel(kc, apg + p0 * Mpad + ir * kc, 1, MR, bp, cb + ir * L.Pp + jc, L.Pp, std::min(cx.mr, s.Kg - ir),
                       nrc, 1.0f, b_eff);
        }
      }
      // The valid columns into out, with the epilogue.
      float* yg = out + (n * K + g * s.Kg) * P;
      for (int64_t k = 0; k < s.Kg; ++k) {
        const float bk = bias != nullptr ? bias[g * s.Kg + k] : 0.0f;
        for (int64_t oh = 0; oh < s.Ho; ++oh) {
          const float* src = cb + k * L.Pp + oh * L.S;
          float* dst = yg + k * P + oh * s.Wo;
          if (accumulate) {
            for (int64_t ow = 0; ow < s.Wo; ++ow) dst[ow] += src[ow];
          } else {
            for (int64_t ow = 0; ow < s.Wo; ++ow) {
              float v = src[ow];
              if (bias != nullptr) v += bk;
              if (relu) v = v <= 0.0f ? 0.0f : v;
              dst[ow] = v;
            }
          }
        }
      }
    }
  });
}

// The input gradient as a stride-1 convolution: dx[n, g] = dy[n, g] padded by dH * (kH - 1) - pH
// (and likewise across), convolved with w flipped in both spatial axes and with its in and out
// channels swapped. Needs that padding >= 0.
bool backward_input_shifted(Simd simd, ThreadPool& pool, float* dx, const float* dy, const float* w, const ConvShape& s,
                            bool accumulate) {
  ConvShape t{
      s.N,  s.G, s.Kg, s.Ho, s.Wo, s.Cg, s.H, s.W, s.kH, s.kW, 1, 1, s.dH * (s.kH - 1) - s.pH, s.dW * (s.kW - 1) - s.pW,
      s.dH, s.dW};
  // Its product has Cg rows (im2col's has Cg * kH * kW): with few input channels the
  // micro-kernel's 12-row tiles run mostly empty and each packed panel feeds few rows
  // (the anchor CNN's first layer, Cg = 1: 7.9 ms here against 0.75 on im2col; at Cg = 32 the
  // two are even).
  if (s.Cg < 16) return false;
  if (s.sH != 1 || s.sW != 1 || t.pH < 0 || t.pW < 0 || !shifted_applies(t)) return false;
  const int64_t R = s.Cg * s.kH * s.kW, Rt = s.Kg * s.kH * s.kW, taps = s.kH * s.kW;
  // wt[g] is Cg x (Kg * kH * kW): wt[g][c][(k, i, j)] = w[g * Kg + k][c][kH - 1 - i][kW - 1 - j].
  Workspace wtw(WsSlot::ConvCols, size_t(s.G * s.Kg * R));
  float* wt = wtw.data();
  for (int64_t g = 0; g < s.G; ++g)
    for (int64_t k = 0; k < s.Kg; ++k)
      for (int64_t c = 0; c < s.Cg; ++c)
        for (int64_t q = 0; q < taps; ++q)
          wt[(g * s.Cg + c) * Rt + k * taps + q] = w[(g * s.Kg + k) * R + c * taps + (taps - 1 - q)];
  const gemm_detail::GemmContext& cx = gemm_detail::gemm_context(simd);
  const int64_t kcs = kc_of(cx, Rt);
  Workspace apw(WsSlot::ConvWeights, size_t(s.G * ceil_div(s.Cg, gemm_detail::MR) * gemm_detail::MR * Rt));
  pack_weights(apw.data(), wt, s.G, s.Cg, Rt, kcs);
  conv_shifted(simd, pool, dx, dy, apw.data(), nullptr, t, false, accumulate);
  return true;
}

// The weight gradient of one chunk of samples [n0, n1) and group g on the shifted-rows layout,
// stride 1: part (Kg x R, row stride R) = dy chunk (Kg x L) * im2col^T (L x R), L = (n1 - n0) *
// Ho * Wo positions, with the chunk's samples side by side as im2col + gemm has them. Both
// operands are packed straight from their sources: dy's rows per sample (pack_a), and the taps'
// runs of the padded input per output row (pack_b_cols_t); same k-blocks (they depend on L) and
// micro-kernel as gemm, so the same bits as im2col + gemm. pads holds (n1 - n0) padded buffers.
void backward_params_chunk(const gemm_detail::GemmContext& cx, float* part, const float* dy, const float* x,
                           const ConvShape& s, const Shifted& Ls, int64_t n0, int64_t n1, int64_t g, float* pads,
                           float* ap, float* bp, const int64_t* base) {
  using gemm_detail::MR;
  using gemm_detail::NR;
  const int64_t R = s.Cg * s.kH * s.kW, P = s.Ho * s.Wo, C = s.G * s.Cg, K = s.G * s.Kg;
  const int64_t L = (n1 - n0) * P;
  const int64_t kcs = kc_of(cx, L);
  for (int64_t n = n0; n < n1; ++n)
    fill_pad(pads + (n - n0) * Ls.pad_floats, x + (n * C + g * s.Cg) * s.H * s.W, s, Ls);
  const float* rows[NR];
  for (int64_t p0 = 0; p0 < L; p0 += kcs) {
    const int64_t kc = std::min(kcs, L - p0);
    // A: Kg x kc of dy, panels of MR rows, one sample's run of positions at a time.
    for (int64_t i0 = 0; i0 < s.Kg; i0 += MR)
      for (int64_t q = p0; q < p0 + kc;) {
        const int64_t n = n0 + q / P, p = q % P, len = std::min(P - p, p0 + kc - q);
        gemm_detail::pack_a(ap + i0 * kc + (q - p0) * MR, dy + (n * K + g * s.Kg) * P, P, false, i0,
                            std::min(MR, s.Kg - i0), p, len);
        q += len;
      }
    for (int64_t tb = 0; tb < R; tb += cx.nr) {
      const int64_t nrc = std::min(cx.nr, R - tb);
      // B: kc x nrc of im2col^T, NR taps a panel, one output row's run of positions at a time.
      for (int64_t jp = 0; jp * NR < nrc; ++jp) {
        const int64_t t0 = tb + jp * NR, nr = std::min(NR, nrc - jp * NR);
        float* panel = bp + jp * kc * NR;
        for (int64_t q = p0; q < p0 + kc;) {
          const int64_t nl = q / P, p = q % P, oh = p / s.Wo, ow = p % s.Wo;
          const int64_t len = std::min(s.Wo - ow, p0 + kc - q);
          const float* src = pads + nl * Ls.pad_floats + oh * Ls.S + ow;
          for (int64_t j = 0; j < nr; ++j) rows[j] = src + base[t0 + j];
          gemm_detail::pack_b_cols_t(panel + (q - p0) * NR, rows, nr, len);
          q += len;
        }
      }
      for (int64_t ir = 0; ir < s.Kg; ir += cx.mr)
        cx.ukernel(kc, ap + ir * kc, 1, MR, bp, part + ir * R + tb, R, std::min(cx.mr, s.Kg - ir), nrc, 1.0f,
                   p0 == 0 ? 0.0f : 1.0f);
    }
  }
}

}  // namespace

void conv2d_forward(Simd simd, ThreadPool& pool, float* y, const float* x, const float* w, const float* bias,
                    const ConvShape& s, bool relu) {
  const int64_t R = s.Cg * s.kH * s.kW, P = s.Ho * s.Wo, C = s.G * s.Cg, K = s.G * s.Kg;
  if (shifted_applies(s) && R > 0 && !force_im2col()) {
    const gemm_detail::GemmContext& cx = gemm_detail::gemm_context(simd);
    const int64_t kcs = kc_of(cx, R);
    Workspace apw(WsSlot::ConvWeights, size_t(s.G * ceil_div(s.Kg, gemm_detail::MR) * gemm_detail::MR * R));
    pack_weights(apw.data(), w, s.G, s.Kg, R, kcs);
    conv_shifted(simd, pool, y, x, apw.data(), bias, s, relu, false);
    return;
  }
  const int64_t tasks = std::min<int64_t>(pool.size(), s.N * s.G);
  Workspace cols(WsSlot::ConvCols, size_t(std::max<int64_t>(tasks, 1)) * size_t(R * P));
  split(pool, s.N * s.G, tasks, [&](int64_t t, int64_t b, int64_t e) {
    ThreadPool serial(1);  // no threads of its own: the gemm runs on this task's thread
    float* col = cols.data() + t * R * P;
    for (int64_t ng_ = b; ng_ < e; ++ng_) {
      const int64_t n = ng_ / s.G, g = ng_ % s.G;
      float* yg = y + (n * K + g * s.Kg) * P;
      im2col(col, P, x + (n * C + g * s.Cg) * s.H * s.W, s);
      gemm(simd, serial, false, false, s.Kg, P, R, 1.0f, w + g * s.Kg * R, col, 0.0f, yg);
      // The epilogue while the block is in cache: bias, then ReLU as relu_forward (NaN stays).
      for (int64_t k = 0; k < s.Kg; ++k) {
        float* yr = yg + k * P;
        const float bk = bias != nullptr ? bias[g * s.Kg + k] : 0.0f;
        if (bias != nullptr)
          for (int64_t p = 0; p < P; ++p) yr[p] += bk;
        if (relu)
          for (int64_t p = 0; p < P; ++p) yr[p] = yr[p] <= 0.0f ? 0.0f : yr[p];
      }
    }
  });
}

void conv2d_backward_input(Simd simd, ThreadPool& pool, float* dx, const float* dy, const float* w, const ConvShape& s,
                           bool accumulate) {
  const int64_t R = s.Cg * s.kH * s.kW, P = s.Ho * s.Wo, C = s.G * s.Cg, K = s.G * s.Kg;
  if (s.Kg == 0) {
    // no filters: dx is 0. Ho x Wo is then bounded by no buffer (dy is empty): no columns.
    if (!accumulate) std::fill(dx, dx + s.N * C * s.H * s.W, 0.0f);
    return;
  }
  if (!force_im2col() && backward_input_shifted(simd, pool, dx, dy, w, s, accumulate)) return;
  const int64_t tasks = std::min<int64_t>(pool.size(), s.N * s.G);
  Workspace cols(WsSlot::ConvCols, size_t(std::max<int64_t>(tasks, 1)) * size_t(R * P));
  split(pool, s.N * s.G, tasks, [&](int64_t t, int64_t b, int64_t e) {
    ThreadPool serial(1);
    float* col = cols.data() + t * R * P;
    for (int64_t ng_ = b; ng_ < e; ++ng_) {
      const int64_t n = ng_ / s.G, g = ng_ % s.G;
      float* dxg = dx + (n * C + g * s.Cg) * s.H * s.W;
      if (!accumulate) std::fill(dxg, dxg + s.Cg * s.H * s.W, 0.0f);
      gemm(simd, serial, true, false, R, P, s.Kg, 1.0f, w + g * s.Kg * R, dy + (n * K + g * s.Kg) * P, 0.0f, col);
      col2im_add(dxg, col, s);
    }
  });
}

void conv2d_backward_params(Simd simd, ThreadPool& pool, float* dw, float* dbias, const float* dy, const float* x,
                            const ConvShape& s, bool accumulate, bool accumulate_bias) {
  const int64_t R = s.Cg * s.kH * s.kW, P = s.Ho * s.Wo, C = s.G * s.Cg, K = s.G * s.Kg;
  const int64_t chunks = (s.N + kChunk - 1) / kChunk;
  const int64_t wsize = s.G * s.Kg * R;
  // nothing to sum (also: with no filters, Ho x Wo is bounded by no buffer: no columns)
  if (chunks == 0 || P == 0 || wsize == 0) {
    if (!accumulate) std::fill(dw, dw + wsize, 0.0f);
  } else {
    // One task per (chunk, group): its partial sum, its columns and its rows of dy.
    Workspace partial(WsSlot::ConvPartial, size_t(chunks) * size_t(wsize));
    const int64_t units = chunks * s.G;
    const int64_t tasks = std::min<int64_t>(pool.size(), units);
    if (shifted_applies(s) && !force_im2col()) {
      // Stride 1: no columns; each task packs its chunk's operands straight from dy and x.
      const gemm_detail::GemmContext& cx = gemm_detail::gemm_context(simd);
      const Shifted Ls = shifted_layout(s);
      const std::vector<int64_t> base = tap_offsets(s, Ls);
      const int64_t kcmax = std::min(cx.kc, kChunk * P);
      split(pool, units, tasks, [&](int64_t, int64_t b, int64_t e) {
        Workspace padw(WsSlot::ConvPad, size_t(kChunk * Ls.pad_floats)),
            apw(WsSlot::ConvOut, size_t(ceil_div(s.Kg, gemm_detail::MR) * gemm_detail::MR * kcmax)),
            bpw(WsSlot::ConvPanel, size_t(kcmax * cx.nr));
        std::fill(padw.data(), padw.data() + kChunk * Ls.pad_floats, 0.0f);  // data runs are written per chunk
        for (int64_t u = b; u < e; ++u) {
          const int64_t chunk = u / s.G, g = u % s.G;
          const int64_t n0 = chunk * kChunk, n1 = std::min(s.N, n0 + kChunk);
          backward_params_chunk(cx, partial.data() + chunk * wsize + g * s.Kg * R, dy, x, s, Ls, n0, n1, g, padw.data(),
                                apw.data(), bpw.data(), base.data());
        }
      });
    } else {
      const size_t cols_each = size_t(R) * size_t(kChunk * P), dys_each = size_t(s.Kg) * size_t(kChunk * P);
      Workspace cols(WsSlot::ConvCols, size_t(tasks) * cols_each), dys(WsSlot::ConvDy, size_t(tasks) * dys_each);
      split(pool, units, tasks, [&](int64_t t, int64_t b, int64_t e) {
        ThreadPool serial(1);
        float* col = cols.data() + t * cols_each;
        float* dyc = dys.data() + t * dys_each;
        for (int64_t u = b; u < e; ++u) {
          const int64_t chunk = u / s.G, g = u % s.G;
          const int64_t n0 = chunk * kChunk, n1 = std::min(s.N, n0 + kChunk), L = (n1 - n0) * P;
          // The chunk's samples side by side: col is R x L, dyc is Kg x L.
          for (int64_t n = n0; n < n1; ++n) {
            im2col(col + (n - n0) * P, L, x + (n * C + g * s.Cg) * s.H * s.W, s);
            for (int64_t k = 0; k < s.Kg; ++k)
              std::memcpy(dyc + k * L + (n - n0) * P, dy + (n * K + g * s.Kg + k) * P, size_t(P) * sizeof(float));
          }
          gemm(simd, serial, false, true, s.Kg, R, L, 1.0f, dyc, col, 0.0f,
               partial.data() + chunk * wsize + g * s.Kg * R);
        }
      });
    }
    // The partials in chunk order, for every element: independent of the thread count. Blocks
    // of elements with the chunk loop outside, so the adds run across elements (vectorised);
    // each element still sums its chunks in order.
    split(pool, wsize, pool.size(), [&](int64_t, int64_t b, int64_t e) {
      constexpr int64_t kBlock = 1024;
      float acc[kBlock];
      const float* part = partial.data();
      for (int64_t i0 = b; i0 < e; i0 += kBlock) {
        const int64_t n = std::min(kBlock, e - i0);
        for (int64_t i = 0; i < n; ++i) acc[i] = part[i0 + i];
        for (int64_t c = 1; c < chunks; ++c) {
          const float* pc = part + c * wsize + i0;
          for (int64_t i = 0; i < n; ++i) acc[i] += pc[i];
        }
        float* d = dw + i0;
        if (accumulate) {
          for (int64_t i = 0; i < n; ++i) d[i] += acc[i];
        } else {
          for (int64_t i = 0; i < n; ++i) d[i] = acc[i];
        }
      }
    });
  }
  if (dbias == nullptr) return;
  // Bias: per channel a double sum over samples and positions in order, rounded once (as
  // bias_grad); channels are independent, so the split does not matter. One channel's sum is a
  // chain of dependent adds (~4 cycles each: 0.6 ms for the anchor CNN's first layer), so
  // kBiasLanes channels are summed side by side, each still in its own order.
  constexpr int64_t kBiasLanes = 8;
  split(pool, ceil_div(K, kBiasLanes), pool.size(), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t k0 = b * kBiasLanes; k0 < std::min(K, e * kBiasLanes); k0 += kBiasLanes) {
      const int64_t lanes = std::min(kBiasLanes, K - k0);
      double acc[kBiasLanes] = {};
      for (int64_t n = 0; n < s.N; ++n) {
        const float* r = dy + (n * K + k0) * P;
        if (lanes == kBiasLanes) {
          for (int64_t p = 0; p < P; ++p)
            for (int64_t l = 0; l < kBiasLanes; ++l) acc[l] += r[l * P + p];
        } else {
          for (int64_t l = 0; l < lanes; ++l)
            for (int64_t p = 0; p < P; ++p) acc[l] += r[l * P + p];
        }
      }
      for (int64_t l = 0; l < lanes; ++l)
        dbias[k0 + l] = accumulate_bias ? static_cast<float>(dbias[k0 + l] + acc[l]) : static_cast<float>(acc[l]);
    }
  });
}

}  // namespace ng
