// Adam / AdamW with AVX2 + FMA: eight elements at a time, the same float32 steps in the same
// order as adam_step in optim.cc (see kernels.h for the rule).
//
// Dimensions: param, grad, m, v (and vmax with amsgrad) hold n contiguous elements.
//
// Rounding matches the scalar kernel: where it computes fma as F(a, b, c) (one rounding of the
// exact a * b + c, via double), this uses the fma instruction (one rounding by definition);
// mul, div, sqrt and add are IEEE-rounded in both. The scalar path can differ only by a double
// rounding in F, which the tests never met. The n % 8 tail runs the scalar kernel itself.
//
// Built alone with -mavx2 -mfma (the nodegrad_avx2 library); its context is used only when
// cpu.cc found AVX2 and FMA (adam_step_dispatch in optim.cc).
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cmath>

#include "kernels.h"

namespace ng {

namespace {

void adam_step_avx2(float* param, float* m, float* v, float* vmax, const float* grad, int64_t n, int64_t step,
                    double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                    bool amsgrad) {
  // Coefficients exactly as adam_step computes them (double, cast to float once).
  const double bias_correction1 = 1.0 - std::pow(beta1, double(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, double(step));
  const __m256 neg_step_size = _mm256_set1_ps(float(-(lr / bias_correction1)));
  const __m256 bc2_sqrt = _mm256_set1_ps(float(std::sqrt(bias_correction2)));
  const __m256 b1 = _mm256_set1_ps(float(beta1)), b2 = _mm256_set1_ps(float(beta2));
  const __m256 omb1 = _mm256_set1_ps(float(1.0 - beta1)), omb2 = _mm256_set1_ps(float(1.0 - beta2));
  const __m256 wd = _mm256_set1_ps(float(weight_decay));
  const __m256 decay = _mm256_set1_ps(float(1.0 - lr * weight_decay));
  const __m256 feps = _mm256_set1_ps(float(eps));
  const bool coupled = !decoupled && weight_decay != 0.0;

  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 p = _mm256_loadu_ps(param + i);
    __m256 g = _mm256_loadu_ps(grad + i);
    if (decoupled) {
      p = _mm256_mul_ps(p, decay);
    } else if (coupled) {
      g = _mm256_fmadd_ps(p, wd, g);
    }
    const __m256 mi = _mm256_fmadd_ps(g, omb1, _mm256_mul_ps(_mm256_loadu_ps(m + i), b1));
    const __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(omb2, g), g, _mm256_mul_ps(_mm256_loadu_ps(v + i), b2));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    __m256 vv = vi;
    if (amsgrad) {
      // std::fmax(vmax, vi): the non-NaN one when one is NaN. max_ps(vi, old) gives old when
      // either is NaN; then take vi where old itself is NaN.
      const __m256 old = _mm256_loadu_ps(vmax + i);
      vv = _mm256_max_ps(vi, old);
      vv = _mm256_blendv_ps(vv, vi, _mm256_cmp_ps(old, old, _CMP_UNORD_Q));
      _mm256_storeu_ps(vmax + i, vv);
    }
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), bc2_sqrt), feps);
    _mm256_storeu_ps(param + i, _mm256_add_ps(p, _mm256_div_ps(_mm256_mul_ps(neg_step_size, mi), denom)));
  }
  if (i < n) {
    adam_step(param + i, m + i, v + i, vmax ? vmax + i : nullptr, grad + i, n - i, step, lr, beta1, beta2, eps,
              weight_decay, decoupled, amsgrad);
  }
}

}  // namespace

const OptimContext optim_avx2_context = {adam_step_avx2};

}  // namespace ng
#endif
