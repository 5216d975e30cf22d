// The WebAssembly module's exports: one line per kernel of lib/backend/kernel-table.ts, each
// calling the plain C++ kernel (outputs first) with the arguments of its generated export
// (exports.h). Adding a kernel to the table adds its macro there; its line goes here, in table
// order. scripts/build-wasm.sh fails when the module lacks an export for a table kernel.
//
// Nothing is checked here: lib/backend/wasm.ts runs the TS backend's table-driven checks
// (check.ts) before it copies the arrays into this module's memory, and an array the call
// does not need arrives as 0 (null).
//
// The module's globals are per instance (each JS thread that loads the backend instantiates
// the module itself), so the SIMD choice and the pool below are not shared between threads.
#include "exports.h"

#include "cpu.h"
#include "kernels.h"
#include "threadpool.h"

namespace {

ng::Simd g_simd = ng::best_simd();
// One thread: a standalone module has no pthreads (threadpool.h's NG_NO_THREADS).
ng::ThreadPool g_pool(1);

}  // namespace

// clang-format off
NGW_EXPORT_gemm(ng::gemm(g_simd, g_pool, transA, transB, M, N, K, float(alpha), A, B, float(beta), C))
NGW_EXPORT_softmaxCrossEntropy(ng::softmax_xent_forward(probs, logits, labels, N, C))
NGW_EXPORT_softmaxCrossEntropyBackward(ng::softmax_xent_backward(dlogits, probs, labels, N, C))
NGW_EXPORT_biasAdd(ng::bias_add(y, x, bias, N, C))
NGW_EXPORT_biasGrad(ng::bias_grad(dbias, dy, N, C, accumulate))
NGW_EXPORT_biasRelu((g_simd == ng::Simd::Simd128 ? ng::bias_relu_forward_wasm : ng::bias_relu_forward)(y, x, bias, N, C))
NGW_EXPORT_biasReluBackward((g_simd == ng::Simd::Simd128 ? ng::bias_relu_backward_wasm : ng::bias_relu_backward)(dx, dbias, dy, y, N, C, accumulate))
NGW_EXPORT_relu(ng::relu_forward(y, x, n))
NGW_EXPORT_reluBackward(ng::relu_backward(dx, dy, y, n))
NGW_EXPORT_sgdStep(ng::sgd_step(param, buf, grad, n, lr, momentum, dampening, weightDecay, nesterov, first))
NGW_EXPORT_adamStep(ng::adam_step_dispatch(g_simd, g_pool, param, m, v, vmax, grad, n, step, lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad))
NGW_EXPORT_adagradStep(ng::adagrad_step(param, sum, grad, n, clr, eps, weightDecay))
NGW_EXPORT_rmspropStep(ng::rmsprop_step(param, sq, gavg, buf, grad, n, lr, alpha, eps, weightDecay, momentum, centered))
NGW_EXPORT_layerNorm(ng::layer_norm_forward(g_pool, y, mean, rstd, x, weight, bias, N, D, eps))
NGW_EXPORT_layerNormBackward(ng::layer_norm_backward(g_pool, dx, dweight, dbias, dy, x, mean, rstd, weight, N, D, accumulate))
NGW_EXPORT_embedding(ng::embedding_forward(y, weight, indices, N, D))
NGW_EXPORT_embeddingBackward(ng::embedding_backward(g_pool, dweight, dy, indices, N, V, D, paddingIdx, accumulate))
NGW_EXPORT_batchNormTrain(ng::batch_norm_train(runningMean, runningVar, y, saveMean, saveInvstd, x, weight, bias, N, C, L, momentum, eps, g_pool))
NGW_EXPORT_batchNormEval(ng::batch_norm_eval(y, saveInvstd, x, runningMean, runningVar, weight, bias, N, C, L, eps, g_pool))
NGW_EXPORT_batchNormBackward(ng::batch_norm_backward(dx, dweight, dbias, dy, x, weight, mean, invstd, N, C, L, training, g_pool))
// The sliding-window kernels take their geometry as one struct (as the addon's ConvOf/PoolOf build it).
#define NGW_CONV ng::ConvShape{N, G, Cg, H, W, Kg, Ho, Wo, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW}
#define NGW_POOL(dH, dW, include_pad, div) ng::PoolShape{NC, H, W, Ho, Wo, kH, kW, strideH, strideW, padH, padW, dH, dW, include_pad, div}
NGW_EXPORT_conv2d(ng::conv2d_forward(g_simd, g_pool, y, x, weight, bias, NGW_CONV, relu))
NGW_EXPORT_conv2dBackwardInput(ng::conv2d_backward_input(g_simd, g_pool, dx, dy, weight, NGW_CONV, accumulate))
NGW_EXPORT_conv2dBackwardParams(ng::conv2d_backward_params(g_simd, g_pool, dweight, dbias, dy, x, NGW_CONV, accumulate, accumulateBias))
NGW_EXPORT_maxPool2d(ng::max_pool2d_forward(g_pool, y, x, NGW_POOL(dilationH, dilationW, false, 0)))
NGW_EXPORT_maxPool2dBackward(ng::max_pool2d_backward(g_pool, dx, dy, x, NGW_POOL(dilationH, dilationW, false, 0), accumulate))
NGW_EXPORT_avgPool2d(ng::avg_pool2d_forward(g_pool, y, x, NGW_POOL(1, 1, countIncludePad, divisor)))
NGW_EXPORT_avgPool2dBackward(ng::avg_pool2d_backward(g_pool, dx, dy, NGW_POOL(1, 1, countIncludePad, divisor), accumulate))
NGW_EXPORT_adaptiveAvgPool2d(ng::adaptive_avg_pool2d_forward(g_pool, y, x, NC, H, W, Ho, Wo))
NGW_EXPORT_adaptiveAvgPool2dBackward(ng::adaptive_avg_pool2d_backward(g_pool, dx, dy, NC, H, W, Ho, Wo, accumulate))
    // clang-format on

    // ---- controls: the SIMD path (the JS side maps indices to kSimdPaths' names) ----

    // The path in use, as its index in kSimdPaths.
    extern "C" EMSCRIPTEN_KEEPALIVE int32_t ngw_simd() {
  return static_cast<int32_t>(g_simd);
}

// Bit i set: kSimdPaths[i] runs in this module.
extern "C" EMSCRIPTEN_KEEPALIVE int32_t ngw_supported_simd() {
  int32_t mask = 0;
  for (const ng::SimdPath& p : ng::kSimdPaths)
    if (ng::simd_supported(p.simd)) mask |= 1 << static_cast<int>(p.simd);
  return mask;
}

// Switches to path i (an index in kSimdPaths); returns 0 when this module cannot run it.
extern "C" EMSCRIPTEN_KEEPALIVE int32_t ngw_set_simd(int32_t i) {
  for (const ng::SimdPath& p : ng::kSimdPaths) {
    if (static_cast<int32_t>(p.simd) == i && ng::simd_supported(p.simd)) {
      g_simd = p.simd;
      return 1;
    }
  }
  return 0;
}
