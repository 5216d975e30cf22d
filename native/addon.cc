// The Node-API glue: one binding per kernel in kernels.h. Each checks its arguments (count,
// types, sizes against buffer lengths, overlaps, labels; see binding/args.h) and then calls the
// kernel on the JS thread; the kernels spread their work over this instance's thread pool.
//
// Argument order follows lib/backend/types.ts (inputs first, outputs last); the C++ kernels
// take outputs first. Nothing here is static: each JS thread that loads the addon (the main
// thread, every worker) gets its own Nodegrad instance, thread pool and SIMD choice.
#include "binding/args.h"

#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "cpu.h"
#include "kernels.h"
#include "threadpool.h"

namespace {

using nb::Args;
using nb::F32;
using nb::I32;

// A thread count above this is a mistake, not a machine.
constexpr int kMaxThreads = 256;

// The exports are plain enumerable properties, as a JS module's would be.
constexpr napi_property_attributes kExported = static_cast<napi_property_attributes>(napi_enumerable);

const ng::Simd kAllSimd[] = {ng::Simd::Scalar, ng::Simd::Avx2, ng::Simd::Avx512, ng::Simd::Neon};

std::string SupportedList() {
  std::string s;
  for (ng::Simd p : kAllSimd) {
    if (!ng::simd_supported(p)) continue;
    if (!s.empty()) s += ", ";
    s += ng::simd_name(p);
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
    throw Napi::Error::New(env, "NODEGRAD_SIMD='" + v + "' is not a SIMD path (expected scalar, avx2, avx512 or neon)");
  }
  if (!ng::simd_supported(s)) {
    throw Napi::Error::New(env, "NODEGRAD_SIMD='" + v + "' cannot run with this CPU and binary (supported: " +
                                    SupportedList() + ")");
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
    throw Napi::Error::New(env, "NODEGRAD_THREADS='" + v + "' must be an integer from 1 to " +
                                    std::to_string(kMaxThreads));
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
      throw Napi::Error::New(env, "nodegrad: could not start " + std::to_string(threads) + " threads (" + e.what() + ")");
    }
    DefineAddon(exports, {
        InstanceMethod("gemm", &Nodegrad::Gemm, kExported),
        InstanceMethod("softmaxCrossEntropy", &Nodegrad::SoftmaxCrossEntropy, kExported),
        InstanceMethod("softmaxCrossEntropyBackward", &Nodegrad::SoftmaxCrossEntropyBackward, kExported),
        InstanceMethod("biasAdd", &Nodegrad::BiasAdd, kExported),
        InstanceMethod("biasGrad", &Nodegrad::BiasGrad, kExported),
        InstanceMethod("biasRelu", &Nodegrad::BiasRelu, kExported),
        InstanceMethod("biasReluBackward", &Nodegrad::BiasReluBackward, kExported),
        InstanceMethod("relu", &Nodegrad::Relu, kExported),
        InstanceMethod("reluBackward", &Nodegrad::ReluBackward, kExported),
        InstanceMethod("sgdStep", &Nodegrad::SgdStep, kExported),
        InstanceMethod("adamStep", &Nodegrad::AdamStep, kExported),
        InstanceMethod("adagradStep", &Nodegrad::AdagradStep, kExported),
        InstanceMethod("rmspropStep", &Nodegrad::RmspropStep, kExported),
        InstanceMethod("getNumThreads", &Nodegrad::GetNumThreads, kExported),
        InstanceMethod("setNumThreads", &Nodegrad::SetNumThreads, kExported),
        InstanceMethod("simd", &Nodegrad::GetSimd, kExported),
        InstanceMethod("supportedSimd", &Nodegrad::SupportedSimd, kExported),
        InstanceMethod("setSimd", &Nodegrad::SetSimd, kExported),
    });
  }

 private:
  // gemm(transA, transB, M, N, K, alpha, A, B, beta, C): C = alpha * op(A) * op(B) + beta * C.
  Napi::Value Gemm(const Napi::CallbackInfo& info) {
    Args a(info, "gemm", 10);
    bool transA = a.Bool(0, "transA"), transB = a.Bool(1, "transB");
    int64_t M = a.Size(2, "M"), N = a.Size(3, "N"), K = a.Size(4, "K");
    double alpha = a.Number(5, "alpha");
    F32 A = a.Float32(6, "A"), B = a.Float32(7, "B");
    double beta = a.Number(8, "beta");
    F32 C = a.Float32(9, "C");
    a.Need(A, "M*K", Args::Mul(M, K), M, K);
    a.Need(B, "K*N", Args::Mul(K, N), K, N);
    a.Need(C, "M*N", Args::Mul(M, N), M, N);
    a.Disjoint(C, A);
    a.Disjoint(C, B);
    if (M == 0 || N == 0) return info.Env().Undefined();  // C is empty: nothing to compute
    ng::gemm(simd_, *pool_, transA, transB, M, N, K, static_cast<float>(alpha), A.data, B.data,
             static_cast<float>(beta), C.data);
    return info.Env().Undefined();
  }

  // softmaxCrossEntropy(logits, labels, N, C, probs) -> mean cross-entropy loss.
  Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
    Args a(info, "softmaxCrossEntropy", 5);
    F32 logits = a.Float32(0, "logits");
    I32 labels = a.Int32(1, "labels");
    int64_t N = a.Size(2, "N"), C = a.Size(3, "C");
    F32 probs = a.Float32(4, "probs");
    a.Need(logits, "N*C", Args::Mul(N, C), N, C);
    a.Need(labels, "N", N);
    a.Need(probs, "N*C", Args::Mul(N, C), N, C);
    a.Disjoint(probs, logits);
    a.Disjoint(probs, labels);
    a.Labels(labels, N, C);
    double loss = ng::softmax_xent_forward(probs.data, logits.data, labels.data, N, C);
    return Napi::Number::New(info.Env(), loss);
  }

  // softmaxCrossEntropyBackward(probs, labels, N, C, dlogits); dlogits may be probs.
  Napi::Value SoftmaxCrossEntropyBackward(const Napi::CallbackInfo& info) {
    Args a(info, "softmaxCrossEntropyBackward", 5);
    F32 probs = a.Float32(0, "probs");
    I32 labels = a.Int32(1, "labels");
    int64_t N = a.Size(2, "N"), C = a.Size(3, "C");
    F32 dlogits = a.Float32(4, "dlogits");
    a.Need(probs, "N*C", Args::Mul(N, C), N, C);
    a.Need(labels, "N", N);
    a.Need(dlogits, "N*C", Args::Mul(N, C), N, C);
    a.SameOrDisjoint(dlogits, probs);
    a.Disjoint(dlogits, labels);
    a.Labels(labels, N, C);
    ng::softmax_xent_backward(dlogits.data, probs.data, labels.data, N, C);
    return info.Env().Undefined();
  }

  // fn(x, bias, N, C, y) with y = f(x + bias) row by row (biasAdd, biasRelu); y may be x.
  using BiasKernel = void (*)(float*, const float*, const float*, int64_t, int64_t);
  Napi::Value BiasForward(const Napi::CallbackInfo& info, const char* fn, BiasKernel kernel) {
    Args a(info, fn, 5);
    F32 x = a.Float32(0, "x"), bias = a.Float32(1, "bias");
    int64_t N = a.Size(2, "N"), C = a.Size(3, "C");
    F32 y = a.Float32(4, "y");
    int64_t NC = Args::Mul(N, C);
    a.Need(x, "N*C", NC, N, C);
    a.Need(bias, "C", C);
    a.Need(y, "N*C", NC, N, C);
    a.SameOrDisjoint(y, x);
    a.Disjoint(y, bias);
    if (NC > 0) kernel(y.data, x.data, bias.data, N, C);  // NC == 0: y is empty
    return info.Env().Undefined();
  }

  // biasAdd(x, bias, N, C, y); y may be x.
  Napi::Value BiasAdd(const Napi::CallbackInfo& info) { return BiasForward(info, "biasAdd", ng::bias_add); }

  // biasGrad(dy, N, C, dbias, accumulate).
  Napi::Value BiasGrad(const Napi::CallbackInfo& info) {
    Args a(info, "biasGrad", 5);
    F32 dy = a.Float32(0, "dy");
    int64_t N = a.Size(1, "N"), C = a.Size(2, "C");
    F32 dbias = a.Float32(3, "dbias");
    bool accumulate = a.Bool(4, "accumulate");
    a.Need(dy, "N*C", Args::Mul(N, C), N, C);
    a.Need(dbias, "C", C);
    a.Disjoint(dbias, dy);
    if (C > 0) ng::bias_grad(dbias.data, dy.data, N, C, accumulate);  // C == 0: dbias is empty
    return info.Env().Undefined();
  }

  // biasRelu(x, bias, N, C, y) = relu(x + bias); y may be x.
  Napi::Value BiasRelu(const Napi::CallbackInfo& info) {
    return BiasForward(info, "biasRelu", ng::bias_relu_forward);
  }

  // biasReluBackward(dy, y, N, C, dx, dbias, accumulate); dx may be dy.
  Napi::Value BiasReluBackward(const Napi::CallbackInfo& info) {
    Args a(info, "biasReluBackward", 7);
    F32 dy = a.Float32(0, "dy"), y = a.Float32(1, "y");
    int64_t N = a.Size(2, "N"), C = a.Size(3, "C");
    F32 dx = a.Float32(4, "dx"), dbias = a.Float32(5, "dbias");
    bool accumulate = a.Bool(6, "accumulate");
    int64_t NC = Args::Mul(N, C);
    a.Need(dy, "N*C", NC, N, C);
    a.Need(y, "N*C", NC, N, C);
    a.Need(dx, "N*C", NC, N, C);
    a.Need(dbias, "C", C);
    a.SameOrDisjoint(dx, dy);
    a.Disjoint(dx, y);
    a.Disjoint(dbias, dy), a.Disjoint(dbias, y), a.Disjoint(dbias, dx);
    if (C > 0) ng::bias_relu_backward(dx.data, dbias.data, dy.data, y.data, N, C, accumulate);
    return info.Env().Undefined();
  }

  // relu(x, n, y); y may be x.
  Napi::Value Relu(const Napi::CallbackInfo& info) {
    Args a(info, "relu", 3);
    F32 x = a.Float32(0, "x");
    int64_t n = a.Size(1, "n");
    F32 y = a.Float32(2, "y");
    a.Need(x, "n", n);
    a.Need(y, "n", n);
    a.SameOrDisjoint(y, x);
    ng::relu_forward(y.data, x.data, n);
    return info.Env().Undefined();
  }

  // reluBackward(dy, y, n, dx); dx may be dy.
  Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
    Args a(info, "reluBackward", 4);
    F32 dy = a.Float32(0, "dy"), y = a.Float32(1, "y");
    int64_t n = a.Size(2, "n");
    F32 dx = a.Float32(3, "dx");
    a.Need(dy, "n", n);
    a.Need(y, "n", n);
    a.Need(dx, "n", n);
    a.SameOrDisjoint(dx, dy);
    a.Disjoint(dx, y);
    ng::relu_backward(dx.data, dy.data, y.data, n);
    return info.Env().Undefined();
  }

  // sgdStep(param, grad, buf, n, lr, momentum, dampening, weightDecay, nesterov, first).
  Napi::Value SgdStep(const Napi::CallbackInfo& info) {
    Args a(info, "sgdStep", 10);
    F32 param = a.Float32(0, "param"), grad = a.Float32(1, "grad");
    int64_t n = a.Size(3, "n");
    double lr = a.Number(4, "lr"), momentum = a.Number(5, "momentum");
    double dampening = a.Number(6, "dampening"), wd = a.Number(7, "weightDecay");
    bool nesterov = a.Bool(8, "nesterov"), first = a.Bool(9, "first");
    bool useBuf = momentum != 0;  // the kernel's own test
    F32 buf = a.OptionalFloat32(2, "buf", useBuf, "momentum != 0");
    a.Need(param, "n", n);
    a.Need(grad, "n", n);
    if (useBuf) a.Need(buf, "n", n);
    a.Disjoint(param, grad);
    a.Disjoint(buf, param);
    a.Disjoint(buf, grad);
    ng::sgd_step(param.data, buf.data, grad.data, n, lr, momentum, dampening, wd, nesterov, first);
    return info.Env().Undefined();
  }

  // adamStep(param, grad, m, v, vmax, n, step, lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad).
  Napi::Value AdamStep(const Napi::CallbackInfo& info) {
    Args a(info, "adamStep", 14);
    F32 param = a.Float32(0, "param"), grad = a.Float32(1, "grad");
    F32 m = a.Float32(2, "m"), v = a.Float32(3, "v");
    int64_t n = a.Size(5, "n");
    int64_t step = a.Integer(6, "step", 1, nb::kMaxSafe);
    double lr = a.Number(7, "lr"), beta1 = a.Number(8, "beta1"), beta2 = a.Number(9, "beta2");
    double eps = a.Number(10, "eps"), wd = a.Number(11, "weightDecay");
    bool decoupled = a.Bool(12, "decoupled"), amsgrad = a.Bool(13, "amsgrad");
    F32 vmax = a.OptionalFloat32(4, "vmax", amsgrad, "amsgrad is true");
    a.Need(param, "n", n);
    a.Need(grad, "n", n);
    a.Need(m, "n", n);
    a.Need(v, "n", n);
    if (amsgrad) a.Need(vmax, "n", n);
    a.Disjoint(param, grad);
    a.Disjoint(m, param), a.Disjoint(m, grad);
    a.Disjoint(v, param), a.Disjoint(v, grad), a.Disjoint(v, m);
    a.Disjoint(vmax, param), a.Disjoint(vmax, grad), a.Disjoint(vmax, m), a.Disjoint(vmax, v);
    ng::adam_step_dispatch(simd_, *pool_, param.data, m.data, v.data, vmax.data, grad.data, n, step, lr,
                           beta1, beta2, eps, wd, decoupled, amsgrad);
    return info.Env().Undefined();
  }

  // adagradStep(param, grad, sum, n, clr, eps, weightDecay).
  Napi::Value AdagradStep(const Napi::CallbackInfo& info) {
    Args a(info, "adagradStep", 7);
    F32 param = a.Float32(0, "param"), grad = a.Float32(1, "grad"), sum = a.Float32(2, "sum");
    int64_t n = a.Size(3, "n");
    double clr = a.Number(4, "clr"), eps = a.Number(5, "eps"), wd = a.Number(6, "weightDecay");
    a.Need(param, "n", n);
    a.Need(grad, "n", n);
    a.Need(sum, "n", n);
    a.Disjoint(param, grad);
    a.Disjoint(sum, param), a.Disjoint(sum, grad);
    ng::adagrad_step(param.data, sum.data, grad.data, n, clr, eps, wd);
    return info.Env().Undefined();
  }

  // rmspropStep(param, grad, sq, gavg, buf, n, lr, alpha, eps, weightDecay, momentum, centered).
  Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
    Args a(info, "rmspropStep", 12);
    F32 param = a.Float32(0, "param"), grad = a.Float32(1, "grad"), sq = a.Float32(2, "sq");
    int64_t n = a.Size(5, "n");
    double lr = a.Number(6, "lr"), alpha = a.Number(7, "alpha"), eps = a.Number(8, "eps");
    double wd = a.Number(9, "weightDecay"), momentum = a.Number(10, "momentum");
    bool centered = a.Bool(11, "centered");
    F32 gavg = a.OptionalFloat32(3, "gavg", centered, "centered is true");
    bool useBuf = momentum > 0;  // the kernel's own test
    F32 buf = a.OptionalFloat32(4, "buf", useBuf, "momentum > 0");
    a.Need(param, "n", n);
    a.Need(grad, "n", n);
    a.Need(sq, "n", n);
    if (centered) a.Need(gavg, "n", n);
    if (useBuf) a.Need(buf, "n", n);
    a.Disjoint(param, grad);
    a.Disjoint(sq, param), a.Disjoint(sq, grad);
    a.Disjoint(gavg, param), a.Disjoint(gavg, grad), a.Disjoint(gavg, sq);
    a.Disjoint(buf, param), a.Disjoint(buf, grad), a.Disjoint(buf, sq), a.Disjoint(buf, gavg);
    ng::rmsprop_step(param.data, sq.data, gavg.data, buf.data, grad.data, n, lr, alpha, eps, wd, momentum,
                     centered);
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
        throw Napi::Error::New(info.Env(), "setNumThreads: could not start " + std::to_string(n) + " threads (" +
                                               e.what() + ")");
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
    for (ng::Simd p : kAllSimd) {
      if (ng::simd_supported(p)) out.Set(i++, Napi::String::New(info.Env(), ng::simd_name(p)));
    }
    return out;
  }

  Napi::Value SetSimd(const Napi::CallbackInfo& info) {
    Args a(info, "setSimd", 1);
    if (!info[0].IsString()) a.TypeErr("path must be a string, got " + nb::Describe(info.Env(), info[0]));
    std::string name = info[0].As<Napi::String>().Utf8Value();
    ng::Simd s;
    if (!ng::parse_simd(name.c_str(), &s)) {
      a.RangeErr("path must be 'scalar', 'avx2' or 'neon', got '" + name + "'");
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
