// Adam / AdamW with WebAssembly SIMD128: four elements at a time, the same float32 steps in the
// same order as adam_step in optim.cc (see kernels.h for the rule), so the two give the same bits.
//
// Dimensions: param, grad, m, v hold n contiguous elements.
//
// Rounding: where the scalar kernel computes fma as F(a, b, c) = float(double(a) * b + c), this
// does the same in two f64x2 halves (the product of two floats is exact in a double, then one
// add rounded to double, one demotion to float: the scalar's very roundings); mul, div, sqrt
// and add are IEEE-rounded in both. AMSGrad (its NaN-aware max) and the n % 4 tail run the
// scalar kernel itself. Measured on the MLP step: the scalar loop was 12% of a wasm training
// step (3.5 ms for 200k parameters), the largest kernel after GEMM.
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include <cmath>

#include "kernels.h"

namespace ng {

namespace {

// Lanes 2 and 3 moved to 0 and 1, so that promote_low reaches them.
inline v128_t high(v128_t x) { return wasm_i32x4_shuffle(x, x, 2, 3, 0, 1); }

// F(a, b, c) on four lanes.
inline v128_t F4(v128_t a, v128_t b, v128_t c) {
  auto f = [](v128_t x, v128_t y, v128_t z) {
    return wasm_f32x4_demote_f64x2_zero(
        wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(x), wasm_f64x2_promote_low_f32x4(y)),
                       wasm_f64x2_promote_low_f32x4(z)));
  };
  return wasm_i32x4_shuffle(f(a, b, c), f(high(a), high(b), high(c)), 0, 1, 4, 5);
}

void adam_step_wasm(float* param, float* m, float* v, float* vmax, const float* grad, int64_t n, int64_t step,
                    double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                    bool amsgrad) {
  if (amsgrad) {
    adam_step(param, m, v, vmax, grad, n, step, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad);
    return;
  }
  // Coefficients exactly as adam_step computes them (double, cast to float once).
  const double bias_correction1 = 1.0 - std::pow(beta1, double(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, double(step));
  const v128_t neg_step_size = wasm_f32x4_splat(float(-(lr / bias_correction1)));
  const v128_t bc2_sqrt = wasm_f32x4_splat(float(std::sqrt(bias_correction2)));
  const v128_t b1 = wasm_f32x4_splat(float(beta1)), b2 = wasm_f32x4_splat(float(beta2));
  const v128_t omb1 = wasm_f32x4_splat(float(1.0 - beta1)), omb2 = wasm_f32x4_splat(float(1.0 - beta2));
  const v128_t wd = wasm_f32x4_splat(float(weight_decay));
  const v128_t decay = wasm_f32x4_splat(float(1.0 - lr * weight_decay));
  const v128_t feps = wasm_f32x4_splat(float(eps));
  const bool coupled = !decoupled && weight_decay != 0.0;

  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t p = wasm_v128_load(param + i);
    v128_t g = wasm_v128_load(grad + i);
    if (decoupled) {
      p = wasm_f32x4_mul(p, decay);
    } else if (coupled) {
      g = F4(p, wd, g);
    }
    const v128_t mi = F4(g, omb1, wasm_f32x4_mul(wasm_v128_load(m + i), b1));
    const v128_t vi = F4(wasm_f32x4_mul(omb2, g), g, wasm_f32x4_mul(wasm_v128_load(v + i), b2));
    wasm_v128_store(m + i, mi);
    wasm_v128_store(v + i, vi);
    const v128_t denom = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(vi), bc2_sqrt), feps);
    wasm_v128_store(param + i, wasm_f32x4_add(p, wasm_f32x4_div(wasm_f32x4_mul(neg_step_size, mi), denom)));
  }
  if (i < n) {
    adam_step(param + i, m + i, v + i, nullptr, grad + i, n - i, step, lr, beta1, beta2, eps, weight_decay, decoupled,
              false);
  }
}

}  // namespace

const OptimContext optim_wasm_context = {adam_step_wasm};

}  // namespace ng
#endif
