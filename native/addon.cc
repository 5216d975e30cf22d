// The Node-API glue: one binding per kernel in kernels.h. Each checks its arguments (count,
// types, sizes against buffer lengths, overlaps, labels) through the struct generated for it
// from the kernel table (binding/generated.h, over binding/args.h) and then calls the kernel on
// the JS thread; the kernels spread their work over this instance's thread pool.
//
// Argument order follows lib/backend/kernel-table.ts (inputs first, outputs last); the C++
// kernels take outputs first. Nothing here is static: each JS thread that loads the addon (the main
// thread, every worker) gets its own Nodegrad instance, thread pool and SIMD choice.
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "binding/args.h"
#include "binding/generated.h"
#include "cpu.h"
#include "kernels.h"
#include "threadpool.h"
#include "workspace.h"

namespace {

using nb::Args;

// A thread count above this is a mistake, not a machine.
constexpr int kMaxThreads = 256;

// The exports are plain enumerable properties, as a JS module's would be.
constexpr napi_property_attributes kExported = static_cast<napi_property_attributes>(napi_enumerable);

std::string SupportedList() {
  std::string s;
  for (const ng::SimdPath& p : ng::kSimdPaths) {
    if (!ng::simd_supported(p.simd)) continue;
    if (!s.empty()) s += ", ";
    s += p.name;
  }
  return s;
}

// Every path this build knows, whether or not the CPU can run it ("'scalar', 'avx2', 'avx512'
// or 'neon'"), from cpu.h's kSimdPaths, so that no message lists the paths by hand.
std::string AllPaths(const char* quote) {
  std::string s;
  const size_t n = sizeof ng::kSimdPaths / sizeof ng::kSimdPaths[0];
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) s += i + 1 == n ? " or " : ", ";
    s += std::string(quote) + ng::kSimdPaths[i].name + quote;
  }
  return s;
}

// The variable as this JS thread sees it: process.env, so that a worker's `env` option and a
// `process.env.X = ...` before the require both count. Empty means unset.
std::string ReadEnv(Napi::Env env, const char* name) {
  Napi::Value process = env.Global().Get("process");
  if (process.IsObject()) {
    Napi::Value vars = process.As<Napi::Object>().Get("env");
    if (vars.IsObject()) {
      Napi::Value v = vars.As<Napi::Object>().Get(name);
      return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
    }
  }
  const char* v = std::getenv(name);
  return v ? v : "";
}

ng::Simd SimdFromEnv(Napi::Env env) {
  std::string v = ReadEnv(env, "NODEGRAD_SIMD");
  if (v.empty()) return ng::best_simd();
  ng::Simd s;
  if (!ng::parse_simd(v.c_str(), &s)) {
    throw Napi::Error::New(env, "NODEGRAD_SIMD='" + v + "' is not a SIMD path (expected " + AllPaths("") + ")");
  }
  if (!ng::simd_supported(s)) {
    throw Napi::Error::New(
        env, "NODEGRAD_SIMD='" + v + "' cannot run with this CPU and binary (supported: " + SupportedList() + ")");
  }
  return s;
}

int ThreadsFromEnv(Napi::Env env) {
  std::string v = ReadEnv(env, "NODEGRAD_THREADS");
  if (v.empty()) {
    int hw = ng::hardware_threads();
    return hw < 1 ? 1 : hw > kMaxThreads ? kMaxThreads : hw;
  }
  long n = 0;
  bool ok = v.size() <= 4;
  for (char c : v) ok = ok && c >= '0' && c <= '9';
  if (ok) n = std::strtol(v.c_str(), nullptr, 10);
  if (!ok || n < 1 || n > kMaxThreads) {
    throw Napi::Error::New(env,
                           "NODEGRAD_THREADS='" + v + "' must be an integer from 1 to " + std::to_string(kMaxThreads));
  }
  return static_cast<int>(n);
}

class Nodegrad : public Napi::Addon<Nodegrad> {
 public:
  Nodegrad(Napi::Env env, Napi::Object exports) : simd_(SimdFromEnv(env)) {
    int threads = ThreadsFromEnv(env);
    try {
      pool_ = std::make_unique<ng::ThreadPool>(threads);
    } catch (const std::exception& e) {  // e.g. the OS refused to start a thread
      throw Napi::Error::New(env,
                             "nodegrad: could not start " + std::to_string(threads) + " threads (" + e.what() + ")");
    }
    DefineAddon(exports, {
                             NB_KERNEL_METHODS(Nodegrad, kExported),
                             InstanceMethod("getNumThreads", &Nodegrad::GetNumThreads, kExported),
                             InstanceMethod("setNumThreads", &Nodegrad::SetNumThreads, kExported),
                             InstanceMethod("simd", &Nodegrad::GetSimd, kExported),
                             InstanceMethod("supportedSimd", &Nodegrad::SupportedSimd, kExported),
                             InstanceMethod("setSimd", &Nodegrad::SetSimd, kExported),
                         });
  }
  // The instance goes with its JS thread's environment (a worker ending): the pool's threads
  // stop (each freeing its kernel scratch), then this thread's scratch is freed.
  ~Nodegrad() {
    pool_.reset();
    ng::workspace_release_thread();
  }

 private:
  // Each kernel's binding: the generated struct checks the arguments (binding/generated.h, from
  // lib/backend/kernel-table.ts), then the kernel is called. The C++ kernels take outputs first.
  // A call whose table entry says it is empty returns before the kernel sees its other sizes.
  Napi::Value Gemm(const Napi::CallbackInfo& info) {
    nb::GemmArgs a(info);
    if (a.empty) return info.Env().Undefined();
    ng::gemm(simd_, *pool_, a.transA, a.transB, a.M, a.N, a.K, static_cast<float>(a.alpha), a.A.data, a.B.data,
             static_cast<float>(a.beta), a.C.data);
    return info.Env().Undefined();
  }

  Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
    nb::SoftmaxCrossEntropyArgs a(info);
    double loss = ng::softmax_xent_forward(a.probs.data, a.logits.data, a.labels.data, a.N, a.C);
    return Napi::Number::New(info.Env(), loss);
  }

  Napi::Value SoftmaxCrossEntropyBackward(const Napi::CallbackInfo& info) {
    nb::SoftmaxCrossEntropyBackwardArgs a(info);
    ng::softmax_xent_backward(a.dlogits.data, a.probs.data, a.labels.data, a.N, a.C);
    return info.Env().Undefined();
  }

  Napi::Value BiasAdd(const Napi::CallbackInfo& info) {
    nb::BiasAddArgs a(info);
    if (!a.empty) ng::bias_add(a.y.data, a.x.data, a.bias.data, a.N, a.C);
    return info.Env().Undefined();
  }

  Napi::Value BiasGrad(const Napi::CallbackInfo& info) {
    nb::BiasGradArgs a(info);
    if (!a.empty) ng::bias_grad(a.dbias.data, a.dy.data, a.N, a.C, a.accumulate);
    return info.Env().Undefined();
  }

  Napi::Value BiasRelu(const Napi::CallbackInfo& info) {
    nb::BiasReluArgs a(info);
    if (!a.empty) ng::bias_relu_forward(a.y.data, a.x.data, a.bias.data, a.N, a.C);
    return info.Env().Undefined();
  }

  Napi::Value BiasReluBackward(const Napi::CallbackInfo& info) {
    nb::BiasReluBackwardArgs a(info);
    if (!a.empty) ng::bias_relu_backward(a.dx.data, a.dbias.data, a.dy.data, a.y.data, a.N, a.C, a.accumulate);
    return info.Env().Undefined();
  }

  Napi::Value Relu(const Napi::CallbackInfo& info) {
    nb::ReluArgs a(info);
    ng::relu_forward(a.y.data, a.x.data, a.n);
    return info.Env().Undefined();
  }

  Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
    nb::ReluBackwardArgs a(info);
    ng::relu_backward(a.dx.data, a.dy.data, a.y.data, a.n);
    return info.Env().Undefined();
  }

  // The shapes of the convolution and pooling kernels, from their checked arguments.
  template <class A>
  static ng::ConvShape ConvOf(const A& a) {
    return {a.N,  a.G,  a.Cg,      a.H,       a.W,    a.Kg,   a.Ho,        a.Wo,
            a.kH, a.kW, a.strideH, a.strideW, a.padH, a.padW, a.dilationH, a.dilationW};
  }
  template <class A>
  static ng::PoolShape PoolOf(const A& a, int64_t dH, int64_t dW, bool count_include_pad, int64_t divisor) {
    return {a.NC,   a.H, a.W, a.Ho, a.Wo, a.kH, a.kW, a.strideH, a.strideW, a.padH, a.padW, dH, dW, count_include_pad,
            divisor};
  }

  Napi::Value Conv2d(const Napi::CallbackInfo& info) {
    nb::Conv2dArgs a(info);
    if (!a.empty) ng::conv2d_forward(simd_, *pool_, a.y.data, a.x.data, a.weight.data, a.bias.data, ConvOf(a), a.relu);
    return info.Env().Undefined();
  }

  Napi::Value Conv2dBackwardInput(const Napi::CallbackInfo& info) {
    nb::Conv2dBackwardInputArgs a(info);
    if (!a.empty)
      ng::conv2d_backward_input(simd_, *pool_, a.dx.data, a.dy.data, a.weight.data, ConvOf(a), a.accumulate);
    return info.Env().Undefined();
  }

  Napi::Value Conv2dBackwardParams(const Napi::CallbackInfo& info) {
    nb::Conv2dBackwardParamsArgs a(info);
    ng::conv2d_backward_params(simd_, *pool_, a.dweight.data, a.dbias.data, a.dy.data, a.x.data, ConvOf(a),
                               a.accumulate, a.accumulateBias);
    return info.Env().Undefined();
  }

  Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
    nb::MaxPool2dArgs a(info);
    if (!a.empty) ng::max_pool2d_forward(*pool_, a.y.data, a.x.data, PoolOf(a, a.dilationH, a.dilationW, false, 0));
    return info.Env().Undefined();
  }

  Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
    nb::MaxPool2dBackwardArgs a(info);
    if (!a.empty)
      ng::max_pool2d_backward(*pool_, a.dx.data, a.dy.data, a.x.data, PoolOf(a, a.dilationH, a.dilationW, false, 0),
                              a.accumulate);
    return info.Env().Undefined();
  }

  Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
    nb::AvgPool2dArgs a(info);
    if (!a.empty) ng::avg_pool2d_forward(*pool_, a.y.data, a.x.data, PoolOf(a, 1, 1, a.countIncludePad, a.divisor));
    return info.Env().Undefined();
  }

  Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
    nb::AvgPool2dBackwardArgs a(info);
    if (!a.empty)
      ng::avg_pool2d_backward(*pool_, a.dx.data, a.dy.data, PoolOf(a, 1, 1, a.countIncludePad, a.divisor),
                              a.accumulate);
    return info.Env().Undefined();
  }

  Napi::Value AdaptiveAvgPool2d(const Napi::CallbackInfo& info) {
    nb::AdaptiveAvgPool2dArgs a(info);
    if (!a.empty) ng::adaptive_avg_pool2d_forward(*pool_, a.y.data, a.x.data, a.NC, a.H, a.W, a.Ho, a.Wo);
    return info.Env().Undefined();
  }

  Napi::Value AdaptiveAvgPool2dBackward(const Napi::CallbackInfo& info) {
    nb::AdaptiveAvgPool2dBackwardArgs a(info);
    if (!a.empty)
      ng::adaptive_avg_pool2d_backward(*pool_, a.dx.data, a.dy.data, a.NC, a.H, a.W, a.Ho, a.Wo, a.accumulate);
    return info.Env().Undefined();
  }

  Napi::Value SgdStep(const Napi::CallbackInfo& info) {
    nb::SgdStepArgs a(info);
    ng::sgd_step(a.param.data, a.buf.data, a.grad.data, a.n, a.lr, a.momentum, a.dampening, a.weightDecay, a.nesterov,
                 a.first);
    return info.Env().Undefined();
  }

  Napi::Value AdamStep(const Napi::CallbackInfo& info) {
    nb::AdamStepArgs a(info);
    ng::adam_step_dispatch(simd_, *pool_, a.param.data, a.m.data, a.v.data, a.vmax.data, a.grad.data, a.n, a.step, a.lr,
                           a.beta1, a.beta2, a.eps, a.weightDecay, a.decoupled, a.amsgrad);
    return info.Env().Undefined();
  }

  Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
    nb::AdagradStepArgs a(info);
    ng::adagrad_step(a.param.data, a.sum.data, a.grad.data, a.n, a.clr, a.eps, a.weightDecay);
    return info.Env().Undefined();
  }

  Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
    nb::RmspropStepArgs a(info);
    ng::rmsprop_step(a.param.data, a.sq.data, a.gavg.data, a.buf.data, a.grad.data, a.n, a.lr, a.alpha, a.eps,
                     a.weightDecay, a.momentum, a.centered);
    return info.Env().Undefined();
  }

  Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
    nb::LayerNormArgs a(info);
    ng::layer_norm_forward(*pool_, a.y.data, a.mean.data, a.rstd.data, a.x.data, a.weight.data, a.bias.data, a.N, a.D,
                           a.eps);
    return info.Env().Undefined();
  }

  Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
    nb::LayerNormBackwardArgs a(info);
    ng::layer_norm_backward(*pool_, a.dx.data, a.dweight.data, a.dbias.data, a.dy.data, a.x.data, a.mean.data,
                            a.rstd.data, a.weight.data, a.N, a.D, a.accumulate);
    return info.Env().Undefined();
  }

  Napi::Value Embedding(const Napi::CallbackInfo& info) {
    nb::EmbeddingArgs a(info);
    if (!a.empty) ng::embedding_forward(a.y.data, a.weight.data, a.indices.data, a.N, a.D);
    return info.Env().Undefined();
  }

  Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
    nb::EmbeddingBackwardArgs a(info);
    if (!a.empty)
      ng::embedding_backward(*pool_, a.dweight.data, a.dy.data, a.indices.data, a.N, a.V, a.D, a.paddingIdx,
                             a.accumulate);
    return info.Env().Undefined();
  }

  Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
    nb::BatchNormTrainArgs a(info);
    if (!a.empty)
      ng::batch_norm_train(a.runningMean.data, a.runningVar.data, a.y.data, a.saveMean.data, a.saveInvstd.data,
                           a.x.data, a.weight.data, a.bias.data, a.N, a.C, a.L, a.momentum, a.eps, *pool_);
    return info.Env().Undefined();
  }

  Napi::Value BatchNormEval(const Napi::CallbackInfo& info) {
    nb::BatchNormEvalArgs a(info);
    if (!a.empty)
      ng::batch_norm_eval(a.y.data, a.saveInvstd.data, a.x.data, a.runningMean.data, a.runningVar.data, a.weight.data,
                          a.bias.data, a.N, a.C, a.L, a.eps, *pool_);
    return info.Env().Undefined();
  }

  Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
    nb::BatchNormBackwardArgs a(info);
    if (!a.empty)
      ng::batch_norm_backward(a.dx.data, a.dweight.data, a.dbias.data, a.dy.data, a.x.data, a.weight.data, a.mean.data,
                              a.invstd.data, a.N, a.C, a.L, a.training, *pool_);
    return info.Env().Undefined();
  }

  Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
    Args a(info, "getNumThreads", 0);
    return Napi::Number::New(info.Env(), pool_->size());
  }

  Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
    Args a(info, "setNumThreads", 1);
    int n = static_cast<int>(a.Integer(0, "threads", 1, kMaxThreads));
    if (n != pool_->size()) {
      try {
        pool_->resize(n);
      } catch (const std::exception& e) {  // e.g. the OS refused to start a thread
        throw Napi::Error::New(info.Env(),
                               "setNumThreads: could not start " + std::to_string(n) + " threads (" + e.what() + ")");
      }
    }
    return info.Env().Undefined();
  }

  Napi::Value GetSimd(const Napi::CallbackInfo& info) {
    Args a(info, "simd", 0);
    return Napi::String::New(info.Env(), ng::simd_name(simd_));
  }

  Napi::Value SupportedSimd(const Napi::CallbackInfo& info) {
    Args a(info, "supportedSimd", 0);
    Napi::Array out = Napi::Array::New(info.Env());
    uint32_t i = 0;
    for (const ng::SimdPath& p : ng::kSimdPaths) {
      if (ng::simd_supported(p.simd)) out.Set(i++, Napi::String::New(info.Env(), p.name));
    }
    return out;
  }

  Napi::Value SetSimd(const Napi::CallbackInfo& info) {
    Args a(info, "setSimd", 1);
    if (!info[0].IsString()) a.TypeErr("path must be a string, got " + nb::Describe(info.Env(), info[0]));
    std::string name = info[0].As<Napi::String>().Utf8Value();
    ng::Simd s;
    if (!ng::parse_simd(name.c_str(), &s)) {
      a.RangeErr("path must be " + AllPaths("'") + ", got '" + name + "'");
    }
    if (!ng::simd_supported(s)) {
      a.RangeErr("path '" + name + "' cannot run with this CPU and binary (supported: " + SupportedList() + ")");
    }
    simd_ = s;
    return info.Env().Undefined();
  }

  ng::Simd simd_;
  std::unique_ptr<ng::ThreadPool> pool_;
};

}  // namespace

NODE_API_ADDON(Nodegrad)
