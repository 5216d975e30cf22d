// nodegrad kernels: plain C++, no Node-API. Row-major float32 throughout.
//
// Dimensions used below:
//   gemm:     C is M x N, op(A) is M x K, op(B) is K x N (op = identity or transpose).
//   softmax:  logits, probs, dlogits are N x C (N rows, C classes); labels has N entries.
//   bias:     x, y, dy are N x C; bias, dbias have C entries.
//   elementwise and optimizer kernels work on n contiguous elements.
//   conv2d:   x is N x (G*Cg) x H x W, w is (G*Kg) x Cg x kH x kW, y is N x (G*Kg) x Ho x Wo (NCHW);
//             bias has G*Kg entries. Pooling: NC planes, x H x W, y Ho x Wo.
//
// Every kernel assumes its arguments were validated by the caller (the addon glue checks
// types, lengths and label ranges before calling in): kernels never check, never throw.
#pragma once

#include <cstdint>

namespace ng {

class ThreadPool;  // threadpool.h

// Which micro-kernels run. Chosen once at load from the CPU's features (cpu.h lists the paths).
// Avx512 has its own GEMM context (12 x 32 tiles, narrow-N kernels); every other kernel runs
// its AVX2 code there. Simd128 is WebAssembly's 128-bit SIMD (the wasm build only).
enum class Simd { Scalar, Avx2, Avx512, Neon, Simd128 };

// C = alpha * op(A) * op(B) + beta * C. With beta == 0, C is never read (it may hold NaN).
// A is M x K (K x M when transA), B is K x N (N x K when transB).
// Work is split over rows/columns of C only, never over K, so the result is bit-identical
// whatever the number of threads in the pool.
void gemm(Simd simd, ThreadPool& pool, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, const float* B, float beta, float* C);

// probs[n, :] = softmax(logits[n, :]); returns the mean over rows of -log(probs[n, labels[n]])
// (natural log), computed stably (row max subtracted, log-sum-exp), so any finite logits
// give a finite loss. Labels are in [0, C).
double softmax_xent_forward(float* probs, const float* logits, const int32_t* labels, int64_t N, int64_t C);
// dlogits = (probs - onehot(labels)) / N.
void softmax_xent_backward(float* dlogits, const float* probs, const int32_t* labels, int64_t N, int64_t C);

// y[n, c] = x[n, c] + bias[c]. y may alias x.
void bias_add(float* y, const float* x, const float* bias, int64_t N, int64_t C);
// dbias[c] = sum over n of dy[n, c] (added to dbias when accumulate). Summation order is
// fixed (n ascending), so it is reproducible.
void bias_grad(float* dbias, const float* dy, int64_t N, int64_t C, bool accumulate);

// y = max(x, 0). y may alias x.
void relu_forward(float* y, const float* x, int64_t n);
// dx = dy where y > 0, else 0 (y is the forward output). dx may alias dy.
void relu_backward(float* dx, const float* dy, const float* y, int64_t n);

// Fused in-place optimizer updates, PyTorch's rules (torch.optim, single-tensor form). Each
// elementwise step is done in float32 in PyTorch's order; coefficients arrive as doubles.
//
// SGD: g = grad + weight_decay * param;
//      if momentum != 0: buf = first ? g : momentum * buf + (1 - dampening) * g;
//                        g = nesterov ? g + momentum * buf : buf
//      param -= lr * g.            (buf may be null when momentum == 0)
void sgd_step(float* param, float* buf, const float* grad, int64_t n, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool first);

// Adam / AdamW (decoupled): step >= 1 is the step count after incrementing.
//   decoupled: param *= 1 - lr * weight_decay;   else: g = grad + weight_decay * param
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
//   amsgrad: vmax = max(vmax, v), use vmax below instead of v
//   denom = sqrt(v) / sqrt(1 - beta2^step) + eps;  param -= (lr / (1 - beta1^step)) * m / denom
// vmax may be null when !amsgrad.
void adam_step(float* param, float* m, float* v, float* vmax, const float* grad, int64_t n, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool amsgrad);

// adam_step on the chosen SIMD path (its OptimContext: the AVX2 kernel in optim_avx2.cc on
// avx2, the AVX-512 one in optim_avx512.cc on avx512, else the scalar loop above), split over the pool in fixed chunks
// when n is large. Every element is independent, so the result does not depend on the thread count; the AVX2 and
// AVX-512 paths round each step as the scalar one does (fma where it uses F), so they agree to the last bit but for
// rare double roundings.
void adam_step_dispatch(Simd simd, ThreadPool& pool, float* param, float* m, float* v, float* vmax, const float* grad,
                        int64_t n, int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
                        bool decoupled, bool amsgrad);

// The optimizer kernels that have per-ISA code, one context per ISA (as GemmContext for gemm):
// optim.cc fills the scalar one, optim_avx2.cc and optim_avx512.cc the others; cpu.cc's path
// table picks.
// adam_step has adam_step's arguments and rule.
struct OptimContext {
  void (*adam_step)(float* param, float* m, float* v, float* vmax, const float* grad, int64_t n, int64_t step,
                    double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                    bool amsgrad);
};
extern const OptimContext optim_scalar_context;  // optim.cc, every binary
extern const OptimContext optim_avx2_context;    // optim_avx2.cc, x86-64 only
extern const OptimContext optim_avx512_context;  // optim_avx512.cc, x86-64 only
extern const OptimContext optim_wasm_context;    // optim_wasm.cc, wasm32 with SIMD128 only
// The context of a path (cpu.cc); an unsupported path gets the scalar one.
const OptimContext& optim_context(Simd simd);

// Adagrad: g = grad + weight_decay * param; sum += g * g; param -= clr * g / (sqrt(sum) + eps),
// where clr = lr / (1 + (step - 1) * lr_decay) is computed by the caller.
void adagrad_step(float* param, float* sum, const float* grad, int64_t n, double clr, double eps, double weight_decay);

// RMSprop: g = grad + weight_decay * param; sq = alpha * sq + (1 - alpha) * g * g;
//   centered: gavg = alpha * gavg + (1 - alpha) * g; avg = sqrt(sq - gavg * gavg) + eps
//   else avg = sqrt(sq) + eps
//   momentum > 0: buf = momentum * buf + g / avg; param -= lr * buf
//   else param -= lr * g / avg.
// gavg may be null unless centered; buf may be null unless momentum > 0.
void rmsprop_step(float* param, float* sq, float* gavg, float* buf, const float* grad, int64_t n, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool centered);

// Fused bias + ReLU (fused.cc), the epilogue and the first backward step of a linear layer
// followed by ReLU: x, y, dy, dx are N x C; bias, dbias have C entries.
// y = max(x + bias, 0) row by row (as bias_add then relu_forward). y may alias x.
void bias_relu_forward(float* y, const float* x, const float* bias, int64_t N, int64_t C);
// dx = dy where y > 0, else 0 (as relu_backward), and dbias (+)= sum over n of dx (as
// bias_grad: double sums, n ascending, one rounding). dx may alias dy.
void bias_relu_backward(float* dx, float* dbias, const float* dy, const float* y, int64_t N, int64_t C,
                        bool accumulate);
// The same with WebAssembly SIMD128, the same bits (fused_wasm.cc, wasm32 with SIMD128 only;
// native/wasm/exports.cc picks them on the simd128 path).
void bias_relu_forward_wasm(float* y, const float* x, const float* bias, int64_t N, int64_t C);
void bias_relu_backward_wasm(float* dx, float* dbias, const float* dy, const float* y, int64_t N, int64_t C,
                             bool accumulate);

// Layer normalisation (layernorm.cc): x, y, dy, dx are N rows of D; mean, rstd have N entries;
// weight, bias, dweight, dbias have D and may be null (not affine, no bias). Rows run over the
// pool; results do not depend on the thread count.
// y = (x - mean) * rstd * weight + bias, rstd = 1 / sqrt(biased var + eps). y may alias x.
void layer_norm_forward(ThreadPool& pool, float* y, float* mean, float* rstd, const float* x, const float* weight,
                        const float* bias, int64_t N, int64_t D, double eps);
// dx from dy (PyTorch's formula); dweight (+)= sum_n dy * xhat, dbias (+)= sum_n dy when
// accumulate (else overwritten). dx may alias dy.
void layer_norm_backward(ThreadPool& pool, float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                         const float* mean, const float* rstd, const float* weight, int64_t N, int64_t D,
                         bool accumulate);

// Embedding (embedding.cc): weight, dweight are V x D; indices has N entries in [0, V); y, dy
// are N x D. y[n, :] = weight[indices[n], :].
void embedding_forward(float* y, const float* weight, const int32_t* indices, int64_t N, int64_t D);
// dweight[indices[n], :] += dy[n, :] in n order (dweight zeroed first unless accumulate),
// skipping indices equal to padding_idx (-1: none). Split over columns, so thread-count free.
void embedding_backward(ThreadPool& pool, float* dweight, const float* dy, const int32_t* indices, int64_t N, int64_t V,
                        int64_t D, int64_t padding_idx, bool accumulate);
// Batch normalisation (batchnorm.cc), torch.nn.functional.batch_norm: x, y, dy, dx are
// N x C x L (L = 1 for [N, C] input, H*W for images); every other array has C entries. Sums
// over a channel run in double in a fixed order (the file's header), so the results do not
// depend on the thread count and match the TS backend. weight and bias are null unless affine.
//
// Training: per channel the mean and biased variance over N and L; save_mean = mean,
// save_invstd = 1 / sqrt(var + eps); y = (x - mean) * save_invstd * weight + bias. Unless
// running_mean is null, running_mean and running_var move by momentum towards the mean and
// the unbiased variance (as torch). y may alias x.
void batch_norm_train(float* running_mean, float* running_var, float* y, float* save_mean, float* save_invstd,
                      const float* x, const float* weight, const float* bias, int64_t N, int64_t C, int64_t L,
                      double momentum, double eps, ThreadPool& pool);
// Eval: save_invstd = 1 / sqrt(running_var + eps); y = (x - running_mean) * save_invstd * weight
// + bias. y may alias x.
void batch_norm_eval(float* y, float* save_invstd, const float* x, const float* running_mean, const float* running_var,
                     const float* weight, const float* bias, int64_t N, int64_t C, int64_t L, double eps,
                     ThreadPool& pool);
// Backward with the statistics the forward used (mean, invstd): with xhat = (x - mean) * invstd,
// training dx = weight * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), eval dx = weight *
// invstd * dy; dweight = sum(dy * xhat), dbias = sum(dy) unless dweight is null (then both are).
// dx may alias dy.
void batch_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                         const float* mean, const float* invstd, int64_t N, int64_t C, int64_t L, bool training,
                         ThreadPool& pool);
// ---- convolution (conv.cc) and pooling (pool.cc), NCHW. Output (oh, ow) of a window reads
// input row oh*sH - pH + i*dH (i < kH), column ow*sW - pW + j*dW (j < kW); outside: 0 (conv)
// or not part of the window (pooling). The caller has checked Ho and Wo against the rest
// (kernel-table.ts's window rules).
struct ConvShape {
  int64_t N, G, Cg, H, W, Kg, Ho, Wo, kH, kW, sH, sW, pH, pW, dH, dW;
};

// y = w * x over each window (+ bias when bias is not null), then max(., 0) when relu (NaN
// stays NaN, as relu_forward). Bit-identical for any thread count.
void conv2d_forward(Simd simd, ThreadPool& pool, float* y, const float* x, const float* w, const float* bias,
                    const ConvShape& s, bool relu);
// dx = (or += when accumulate) the transposed convolution of dy with w.
void conv2d_backward_input(Simd simd, ThreadPool& pool, float* dx, const float* dy, const float* w, const ConvShape& s,
                           bool accumulate);
// dw (+)= sum over samples of dy * x per tap, in a fixed order (chunks of samples, added in
// order); dbias (+)= sum of dy per output channel in double, rounded once (dbias may be null).
void conv2d_backward_params(Simd simd, ThreadPool& pool, float* dw, float* dbias, const float* dy, const float* x,
                            const ConvShape& s, bool accumulate, bool accumulate_bias);

struct PoolShape {
  int64_t NC, H, W, Ho, Wo, kH, kW, sH, sW, pH, pW, dH, dW;
  bool count_include_pad;  // avg only
  int64_t divisor;         // avg only: 0 = none
};
// Max over each window's input elements (-inf when none; the first maximum, or the last NaN).
void max_pool2d_forward(ThreadPool& pool, float* y, const float* x, const PoolShape& s);
// dx (+)= each dy at the element max_pool2d_forward picks (recomputed from x).
void max_pool2d_backward(ThreadPool& pool, float* dx, const float* dy, const float* x, const PoolShape& s,
                         bool accumulate);
// PyTorch's avg_pool2d (count_include_pad, divisor_override); a window with divisor 0 gives 0.
void avg_pool2d_forward(ThreadPool& pool, float* y, const float* x, const PoolShape& s);
void avg_pool2d_backward(ThreadPool& pool, float* dx, const float* dy, const PoolShape& s, bool accumulate);
// PyTorch's adaptive_avg_pool2d windows: [floor(o*H/Ho), ceil((o+1)*H/Ho)).
void adaptive_avg_pool2d_forward(ThreadPool& pool, float* y, const float* x, int64_t NC, int64_t H, int64_t W,
                                 int64_t Ho, int64_t Wo);
void adaptive_avg_pool2d_backward(ThreadPool& pool, float* dx, const float* dy, int64_t NC, int64_t H, int64_t W,
                                  int64_t Ho, int64_t Wo, bool accumulate);

}  // namespace ng
