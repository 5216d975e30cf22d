// Adam / AdamW with AVX-512F: sixteen elements at a time, the same float32 steps in the same
// order as adam_step in optim.cc and adam_step_avx2 (see kernels.h for the rule).
//
// Dimensions: param, grad, m, v (and vmax with amsgrad) hold n contiguous elements.
//
// Why a kernel of its own: per element Adam needs a sqrt and two IEEE divisions (PyTorch's
// addcdiv rounds each), and with the state in cache those bound it; Zen 5 does them on 16
// lanes in about the time AVX2 takes for 8. Rounding is the AVX2 kernel's (fma instruction
// where the scalar kernel uses F; mul, div, sqrt, add IEEE-rounded), and the n % 16 tail runs
// masked instead of on the scalar kernel, so every element gets the same instructions however
// the pool cuts n into chunks.
//
// Built alone with -mavx512f -mavx2 -mfma (the nodegrad_avx512 library); its context is used
// only when cpu.cc found AVX-512F (adam_step_dispatch in optim.cc).
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cmath>

#include "kernels.h"

namespace ng {

namespace {

void adam_step_avx512(float* param, float* m, float* v, float* vmax, const float* grad, int64_t n, int64_t step,
                      double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                      bool amsgrad) {
  // Coefficients exactly as adam_step computes them (double, cast to float once).
  const double bias_correction1 = 1.0 - std::pow(beta1, double(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, double(step));
  const __m512 neg_step_size = _mm512_set1_ps(float(-(lr / bias_correction1)));
  const __m512 bc2_sqrt = _mm512_set1_ps(float(std::sqrt(bias_correction2)));
  const __m512 b1 = _mm512_set1_ps(float(beta1)), b2 = _mm512_set1_ps(float(beta2));
  const __m512 omb1 = _mm512_set1_ps(float(1.0 - beta1)), omb2 = _mm512_set1_ps(float(1.0 - beta2));
  const __m512 wd = _mm512_set1_ps(float(weight_decay));
  const __m512 decay = _mm512_set1_ps(float(1.0 - lr * weight_decay));
  const __m512 feps = _mm512_set1_ps(float(eps));
  const bool coupled = !decoupled && weight_decay != 0.0;

  for (int64_t i = 0; i < n; i += 16) {
    // Masked lanes are neither read nor written (masked loads do not fault past the end). The
    // maskz forms of sqrt and max also keep GCC 12 from warning about their unmasked forms'
    // undefined pass-through operand.
    const __mmask16 k = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1u);
    __m512 p = _mm512_maskz_loadu_ps(k, param + i);
    __m512 g = _mm512_maskz_loadu_ps(k, grad + i);
    if (decoupled) {
      p = _mm512_mul_ps(p, decay);
    } else if (coupled) {
      g = _mm512_fmadd_ps(p, wd, g);
    }
    const __m512 mi = _mm512_fmadd_ps(g, omb1, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, m + i), b1));
    const __m512 vi = _mm512_fmadd_ps(_mm512_mul_ps(omb2, g), g, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, v + i), b2));
    _mm512_mask_storeu_ps(m + i, k, mi);
    _mm512_mask_storeu_ps(v + i, k, vi);
    __m512 vv = vi;
    if (amsgrad) {
      // std::fmax(vmax, vi), as the AVX2 kernel: max_ps(vi, old) gives old when either is NaN;
      // then take vi where old itself is NaN.
      const __m512 old = _mm512_maskz_loadu_ps(k, vmax + i);
      vv = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(old, old, _CMP_UNORD_Q), _mm512_maskz_max_ps(k, vi, old), vi);
      _mm512_mask_storeu_ps(vmax + i, k, vv);
    }
    const __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_maskz_sqrt_ps(k, vv), bc2_sqrt), feps);
    _mm512_mask_storeu_ps(param + i, k, _mm512_add_ps(p, _mm512_div_ps(_mm512_mul_ps(neg_step_size, mi), denom)));
  }
}

}  // namespace

const OptimContext optim_avx512_context = {adam_step_avx512};

}  // namespace ng
#endif
