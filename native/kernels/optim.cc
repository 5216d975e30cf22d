// Fused optimizer updates following PyTorch 1.13's single-tensor rules (torch.optim.SGD,
// Adam/AdamW, Adagrad, RMSprop).
//
// Dimensions: param, grad and every state buffer (buf, m, v, vmax, sum, sq, gavg) hold n
// contiguous elements.
//
// To match PyTorch bit for bit where possible, every elementwise step is a float32 operation
// in PyTorch's order (x.mul_(a).add_(g, alpha=b) is (x * a) + (b * g), rounded after each
// operation; addcmul(t1, t2, value=v) is x + (v * t1) * t2; addcdiv is x + (v * t1) / t2),
// while scalar coefficients (1 - beta1, lr / (1 - beta1^step), ...) are computed in double,
// as Python does, and cast to float once. (PyTorch's AVX2 build fuses add(alpha=...) into an
// FMA in its vector loop; this file rounds the product, so the last bit may differ there.)
#include <cmath>

#include "kernels.h"

namespace ng {

void sgd_step(float* param, float* buf, const float* grad, int64_t n, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first) {
  const float wd = float(weight_decay), mom = float(momentum);
  const float one_minus_damp = float(1.0 - dampening), neg_lr = float(-lr);
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (weight_decay != 0.0) g = g + wd * param[i];
    if (momentum != 0.0) {
      // The first step copies g into the buffer (no dampening), as torch.clone(d_p) does.
      const float b = first ? g : buf[i] * mom + one_minus_damp * g;
      buf[i] = b;
      g = nesterov ? g + mom * b : b;
    }
    param[i] = param[i] + neg_lr * g;
  }
}

void adam_step(float* param, float* m, float* v, float* vmax, const float* grad, int64_t n,
               int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
               bool decoupled, bool amsgrad) {
  const double bias_correction1 = 1.0 - std::pow(beta1, double(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, double(step));
  const float neg_step_size = float(-(lr / bias_correction1));
  const float bc2_sqrt = float(std::sqrt(bias_correction2));
  const float b1 = float(beta1), b2 = float(beta2);
  const float one_minus_b1 = float(1.0 - beta1), one_minus_b2 = float(1.0 - beta2);
  const float wd = float(weight_decay), decay = float(1.0 - lr * weight_decay);
  const float feps = float(eps);
  for (int64_t i = 0; i < n; ++i) {
    float p = param[i];
    float g = grad[i];
    if (decoupled) {
      p = p * decay;  // AdamW: param.mul_(1 - lr * weight_decay)
    } else if (weight_decay != 0.0) {
      g = g + wd * p;
    }
    const float mi = m[i] * b1 + one_minus_b1 * g;
    const float vi = v[i] * b2 + (one_minus_b2 * g) * g;
    m[i] = mi;
    v[i] = vi;
    float vv = vi;
    if (amsgrad) {
      const float vm = vmax[i];
      vv = std::isnan(vm) ? vm : (vm > vi ? vm : vi);  // torch.maximum propagates NaN
      vmax[i] = vv;
    }
    const float denom = std::sqrt(vv) / bc2_sqrt + feps;
    param[i] = p + (neg_step_size * mi) / denom;
  }
}

void adagrad_step(float* param, float* sum, const float* grad, int64_t n, double clr, double eps,
                  double weight_decay) {
  const float wd = float(weight_decay), neg_clr = float(-clr), feps = float(eps);
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (weight_decay != 0.0) g = g + wd * param[i];
    const float s = sum[i] + g * g;  // addcmul_(g, g, value=1)
    sum[i] = s;
    const float stdv = std::sqrt(s) + feps;
    param[i] = param[i] + (neg_clr * g) / stdv;
  }
}

void rmsprop_step(float* param, float* sq, float* gavg, float* buf, const float* grad, int64_t n,
                  double lr, double alpha, double eps, double weight_decay, double momentum,
                  bool centered) {
  const float wd = float(weight_decay), a = float(alpha), one_minus_a = float(1.0 - alpha);
  const float feps = float(eps), mom = float(momentum), neg_lr = float(-lr);
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (weight_decay != 0.0) g = g + wd * param[i];
    const float s = sq[i] * a + (one_minus_a * g) * g;
    sq[i] = s;
    float avg;
    if (centered) {
      const float ga = gavg[i] * a + one_minus_a * g;
      gavg[i] = ga;
      avg = std::sqrt(s + (-1.0f * ga) * ga) + feps;  // addcmul(ga, ga, value=-1)
    } else {
      avg = std::sqrt(s) + feps;
    }
    if (momentum > 0.0) {
      const float b = buf[i] * mom + g / avg;  // buf.mul_(momentum).addcdiv_(g, avg)
      buf[i] = b;
      param[i] = param[i] + neg_lr * b;
    } else {
      param[i] = param[i] + (neg_lr * g) / avg;
    }
  }
}

}  // namespace ng
