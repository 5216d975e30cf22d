// Fused optimizer updates following PyTorch 1.13's single-tensor rules (torch.optim.SGD,
// Adam/AdamW, Adagrad, RMSprop), bit for bit.
//
// Dimensions: param, grad and every state buffer (buf, m, v, vmax, sum, sq, gavg) hold n
// contiguous elements.
//
// Every elementwise step is a float32 operation in PyTorch's order, and rounds the way
// PyTorch's CPU kernels do (checked against torch 1.13 on AVX2: SGD with momentum, dampening,
// nesterov and weight decay, Adam, AMSGrad, AdamW, Adagrad, RMSprop centered + momentum all
// match in every element over several steps):
//   x.add(y, alpha=a)          fused: fma(y, a, x)          (ATen's ufunc add uses vec::fmadd)
//   x.addcmul(t1, t2, value=v) fused: fma(v * t1, t2, x)    (the compiler contracts it)
//   x.addcdiv(t1, t2, value=v) x + (v * t1) / t2, each operation rounded
//   x.mul(a), sqrt, x + eps    one rounding each
// fma is computed as float(double(a) * b + c): the product of two floats is exact in a double,
// so this is one rounding of the exact a * b + c (up to a double rounding so rare that none
// showed in the tests), and it runs at baseline x86-64, which has no FMA instruction.
// Scalar coefficients (1 - beta1, lr / (1 - beta1^step), ...) are computed in double, as
// Python does, and cast to float once.
#include <cmath>

#include "kernels.h"

namespace {

// fma(a, b, c) for floats, rounded once (see above).
inline float F(float a, float b, float c) { return float(double(a) * double(b) + double(c)); }

}  // namespace

namespace ng {

void sgd_step(float* param, float* buf, const float* grad, int64_t n, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool first) {
  const float wd = float(weight_decay), mom = float(momentum);
  const float one_minus_damp = float(1.0 - dampening), neg_lr = float(-lr);
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (weight_decay != 0.0) g = F(param[i], wd, g);
    if (momentum != 0.0) {
      // The first step copies g into the buffer (no dampening), as torch.clone(d_p) does.
      const float b = first ? g : F(g, one_minus_damp, buf[i] * mom);
      buf[i] = b;
      g = nesterov ? F(b, mom, g) : b;
    }
    param[i] = F(g, neg_lr, param[i]);
  }
}

void adam_step(float* param, float* m, float* v, float* vmax, const float* grad, int64_t n, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool amsgrad) {
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
      g = F(p, wd, g);
    }
    const float mi = F(g, one_minus_b1, m[i] * b1);
    const float vi = F(one_minus_b2 * g, g, v[i] * b2);
    m[i] = mi;
    v[i] = vi;
    float vv = vi;
    if (amsgrad) {
      // torch.maximum, NaN aside: fmax keeps the non-NaN one, as the TS backend does.
      vv = std::fmax(vmax[i], vi);
      vmax[i] = vv;
    }
    const float denom = std::sqrt(vv) / bc2_sqrt + feps;
    param[i] = p + (neg_step_size * mi) / denom;
  }
}

void adagrad_step(float* param, float* sum, const float* grad, int64_t n, double clr, double eps, double weight_decay) {
  const float wd = float(weight_decay), neg_clr = float(-clr), feps = float(eps);
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (weight_decay != 0.0) g = F(param[i], wd, g);
    const float s = F(g, g, sum[i]);  // addcmul_(g, g, value=1)
    sum[i] = s;
    const float stdv = std::sqrt(s) + feps;
    param[i] = param[i] + (neg_clr * g) / stdv;
  }
}

void rmsprop_step(float* param, float* sq, float* gavg, float* buf, const float* grad, int64_t n, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool centered) {
  const float wd = float(weight_decay), a = float(alpha), one_minus_a = float(1.0 - alpha);
  const float feps = float(eps), mom = float(momentum), neg_lr = float(-lr);
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (weight_decay != 0.0) g = F(param[i], wd, g);
    const float s = F(one_minus_a * g, g, sq[i] * a);
    sq[i] = s;
    float avg;
    if (centered) {
      const float ga = F(g, one_minus_a, gavg[i] * a);
      gavg[i] = ga;
      avg = std::sqrt(F(-1.0f * ga, ga, s)) + feps;  // addcmul(ga, ga, value=-1)
    } else {
      avg = std::sqrt(s) + feps;
    }
    if (momentum > 0.0) {
      const float b = buf[i] * mom + g / avg;  // buf.mul_(momentum).addcdiv_(g, avg)
      buf[i] = b;
      param[i] = F(b, neg_lr, param[i]);
    } else {
      param[i] = param[i] + (neg_lr * g) / avg;
    }
  }
}

}  // namespace ng

// ---- dispatch: SIMD path and threads --------------------------------------------------------

#include <algorithm>
#include <functional>

#include "cpu.h"
#include "threadpool.h"

namespace ng {

namespace {
// Below this many elements a second thread costs more (hand-off, cache traffic) than it saves.
constexpr int64_t kParallelElems = 1 << 16;
// Chunks are multiples of 16 elements (one AVX-512 vector, two AVX2 ones), so only the last
// one has a tail.
constexpr int64_t kChunkAlign = 16;
}  // namespace

const OptimContext optim_scalar_context = {adam_step};

void adam_step_dispatch(Simd simd, ThreadPool& pool, float* param, float* m, float* v, float* vmax, const float* grad,
                        int64_t n, int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                        bool decoupled, bool amsgrad) {
  const OptimContext& cx = optim_context(simd);
  auto body = [&](int64_t i0, int64_t i1) {
    cx.adam_step(param + i0, m + i0, v + i0, vmax ? vmax + i0 : nullptr, grad + i0, i1 - i0, step, lr, beta1, beta2,
                 eps, weight_decay, decoupled, amsgrad);
  };
  const int threads = pool.size();
  if (threads <= 1 || n < kParallelElems) {
    body(0, n);
    return;
  }
  // One chunk per thread: elementwise work balances by itself, so more tasks only add hand-offs.
  const int64_t tasks = threads;
  const int64_t per = (n / tasks + kChunkAlign - 1) / kChunkAlign * kChunkAlign;
  pool.parallel_for(tasks, [&](int64_t t) {
    const int64_t i0 = std::min(n, t * per), i1 = t + 1 == tasks ? n : std::min(n, (t + 1) * per);
    if (i0 < i1) body(i0, i1);
  });
}

}  // namespace ng
