// Node-API glue of the Gloo module: checks every argument (TypeError for types, RangeError for
// values, each naming the function and the parameter), then calls ProcessGroup. The collectives
// exist twice: as promises, run on libuv's thread pool by a Napi::AsyncWorker so the event loop
// stays free (and rank 0 can serve the rendezvous store from it while it connects), and as
// synchronous calls for synchronous training loops such as fit(), which hold the thread anyway.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "process_group.h"

namespace {

using nodegrad::ProcessGroup;
using nodegrad::ReduceOp;

int intArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int min, int max) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsNumber())
    throw Napi::TypeError::New(env, std::string(fn) + ": " + name + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= min && v <= max) || v != static_cast<double>(static_cast<long long>(v)))
    throw Napi::RangeError::New(env, std::string(fn) + ": " + name + " must be an integer in [" + std::to_string(min) +
                                         ", " + std::to_string(max) + "], got " + info[i].ToString().Utf8Value());
  return static_cast<int>(v);
}

Napi::Float32Array floatsArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": data must be a Float32Array");
  return info[i].As<Napi::Float32Array>();
}

std::string stringField(Napi::Object o, const char* key, const char* fn) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return "";
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(fn) + ": " + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

ReduceOp opArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (i >= info.Length() || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": op must be a string");
  std::string op = info[i].As<Napi::String>().Utf8Value();
  if (op == "sum") return ReduceOp::Sum;
  if (op == "mean") return ReduceOp::Mean;
  if (op == "product") return ReduceOp::Product;
  if (op == "min") return ReduceOp::Min;
  if (op == "max") return ReduceOp::Max;
  throw Napi::RangeError::New(
      info.Env(), std::string(fn) + ": op must be 'sum', 'mean', 'product', 'min' or 'max', got '" + op + "'");
}

// Runs `work` on the thread pool and settles a promise; holds the buffer and the group alive meanwhile.
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, std::function<void()> work, std::atomic<bool>& busy, Napi::Object group, Napi::Value buffer)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), busy_(busy) {
    group_ = Napi::Persistent(group);
    if (buffer.IsObject()) buffer_ = Napi::Persistent(buffer.As<Napi::Object>());
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    busy_ = false;
    std::string error = finish_ ? finish_() : "";
    if (error.empty()) {
      deferred_.Resolve(Env().Undefined());
    } else {
      deferred_.Reject(Napi::Error::New(Env(), error).Value());
    }
  }
  // Runs on the JS thread once `work` is done; returns an error message, or "" for success.
  void Finish(std::function<std::string()> finish) { finish_ = std::move(finish); }
  void OnError(const Napi::Error& e) override {
    busy_ = false;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<std::string()> finish_;
  std::atomic<bool>& busy_;
  Napi::ObjectReference group_;
  Napi::ObjectReference buffer_;
};

class Group : public Napi::ObjectWrap<Group> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ProcessGroup",
                       {
                           InstanceMethod<&Group::Connect>("connect"),
                           InstanceMethod<&Group::AllReduce>("allReduce"),
                           InstanceMethod<&Group::AllReduceSync>("allReduceSync"),
                           InstanceMethod<&Group::Broadcast>("broadcast"),
                           InstanceMethod<&Group::BroadcastSync>("broadcastSync"),
                           InstanceMethod<&Group::Barrier>("barrier"),
                           InstanceMethod<&Group::BarrierSync>("barrierSync"),
                           InstanceMethod<&Group::Close>("close"),
                       });
  }

  // new ProcessGroup(rank, worldSize, timeoutMs)
  explicit Group(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Group>(info) {
    const char* fn = "ProcessGroup";
    if (info.Length() != 3)
      throw Napi::TypeError::New(info.Env(), "ProcessGroup: expected (rank, worldSize, timeoutMs)");
    int size = intArg(info, 1, fn, "worldSize", 1, 1 << 20);
    int rank = intArg(info, 0, fn, "rank", 0, size - 1);
    int timeout = intArg(info, 2, fn, "timeoutMs", 1, 1 << 30);
    group_ = std::make_unique<ProcessGroup>(rank, size, std::chrono::milliseconds(timeout));
  }

 private:
  // A second call while a promise is pending would race on Gloo's context from two threads.
  void claim(Napi::Env env, const char* fn) {
    if (busy_)
      throw Napi::Error::New(env, std::string(fn) + ": another collective of this process group is still running");
    if (closed_) throw Napi::Error::New(env, std::string(fn) + ": the process group was destroyed");
  }

  Napi::Value Run(const Napi::CallbackInfo& info, const char* fn, std::function<void()> work, Napi::Value buffer,
                  bool sync, std::function<std::string()> finish = nullptr) {
    claim(info.Env(), fn);
    if (sync) {
      try {
        work();
      } catch (const std::exception& e) {
        throw Napi::Error::New(info.Env(), e.what());
      }
      return info.Env().Undefined();
    }
    busy_ = true;
    auto* job = new Job(info.Env(), std::move(work), busy_, info.This().As<Napi::Object>(), buffer);
    job->Finish(std::move(finish));
    Napi::Promise p = job->Promise();
    job->Queue();
    return p;
  }

  // connect({ host, port } | { path }, plus optional hostname / iface) -> Promise
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    const char* fn = "connect";
    if (info.Length() != 1 || !info[0].IsObject())
      throw Napi::TypeError::New(info.Env(), "connect: expected an object { host, port } or { path }");
    Napi::Object o = info[0].As<Napi::Object>();
    nodegrad::Rendezvous how;
    how.path = stringField(o, "path", fn);
    how.host = stringField(o, "host", fn);
    how.hostname = stringField(o, "hostname", fn);
    how.iface = stringField(o, "iface", fn);
    if (how.path.empty()) {
      if (how.host.empty()) throw Napi::TypeError::New(info.Env(), "connect: host must be a non-empty string");
      Napi::Value port = o.Get("port");
      double p = port.IsNumber() ? port.As<Napi::Number>().DoubleValue() : -1;
      if (!(p >= 1 && p <= 65535) || p != static_cast<double>(static_cast<int>(p)))
        throw Napi::RangeError::New(info.Env(), "connect: port must be an integer in [1, 65535]");
      how.port = static_cast<int>(p);
    }
    ProcessGroup* g = group_.get();
    return Run(
        info, fn, [g, how] { g->connect(how); }, info.Env().Undefined(), false);
  }

  // A collective on `data`. The synchronous form works in place. The promise form works on a
  // private copy and writes the result back on the JS thread when it is done: while it runs, JS
  // may transfer (detach) or drop the array's buffer, and a thread-pool thread must never write
  // into memory that is no longer the array's. A buffer that lost its elements meanwhile gets
  // nothing written and the promise rejects, naming the function.
  Napi::Value OnData(const Napi::CallbackInfo& info, const char* fn, Napi::Float32Array data, bool sync,
                     std::function<void(float*, size_t)> collective) {
    size_t n = data.ElementLength();
    if (sync) {
      float* p = data.Data();
      return Run(
          info, fn, [collective, p, n] { collective(p, n); }, data, true);
    }
    auto copy = std::make_shared<std::vector<float>>(data.Data(), data.Data() + n);
    Napi::Env env = info.Env();
    auto ref = std::make_shared<Napi::Reference<Napi::Float32Array>>(Napi::Persistent(data));
    std::string name = fn;
    return Run(
        info, fn, [collective, copy] { collective(copy->data(), copy->size()); }, data, false,
        [copy, ref, name, env]() -> std::string {
          Napi::HandleScope scope(env);
          Napi::Float32Array out = ref->Value();
          if (out.ElementLength() != copy->size())
            return name + ": data was detached or resized while the collective ran; the result was not written";
          std::copy(copy->begin(), copy->end(), out.Data());
          return "";
        });
  }

  Napi::Value AllReduceImpl(const Napi::CallbackInfo& info, bool sync) {
    const char* fn = sync ? "allReduceSync" : "allReduce";
    if (info.Length() != 2) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": expected (data, op)");
    Napi::Float32Array data = floatsArg(info, 0, fn);
    ReduceOp op = opArg(info, 1, fn);
    ProcessGroup* g = group_.get();
    return OnData(info, fn, data, sync, [g, op](float* p, size_t n) { g->allReduce(p, n, op); });
  }
  Napi::Value AllReduce(const Napi::CallbackInfo& info) { return AllReduceImpl(info, false); }
  Napi::Value AllReduceSync(const Napi::CallbackInfo& info) { return AllReduceImpl(info, true); }

  Napi::Value BroadcastImpl(const Napi::CallbackInfo& info, bool sync) {
    const char* fn = sync ? "broadcastSync" : "broadcast";
    if (info.Length() != 2) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": expected (data, root)");
    Napi::Float32Array data = floatsArg(info, 0, fn);
    int root = intArg(info, 1, fn, "root", 0, group_->size() - 1);
    ProcessGroup* g = group_.get();
    return OnData(info, fn, data, sync, [g, root](float* p, size_t n) { g->broadcast(p, n, root); });
  }
  Napi::Value Broadcast(const Napi::CallbackInfo& info) { return BroadcastImpl(info, false); }
  Napi::Value BroadcastSync(const Napi::CallbackInfo& info) { return BroadcastImpl(info, true); }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    ProcessGroup* g = group_.get();
    return Run(
        info, "barrier", [g] { g->barrier(); }, info.Env().Undefined(), false);
  }
  Napi::Value BarrierSync(const Napi::CallbackInfo& info) {
    ProcessGroup* g = group_.get();
    return Run(
        info, "barrierSync", [g] { g->barrier(); }, info.Env().Undefined(), true);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    claim(info.Env(), "destroy");
    closed_ = true;
    group_->close();
    return info.Env().Undefined();
  }

  std::unique_ptr<ProcessGroup> group_;
  std::atomic<bool> busy_{false};
  bool closed_ = false;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("ProcessGroup", Group::Init(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(nodegrad_gloo, Init)
