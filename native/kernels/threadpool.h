// A persistent pool of worker threads. One pool per addon instance (per JS thread that loads
// the addon), so workers never share it. Only the owning thread submits work.
//
// A build without threads (WebAssembly without pthreads: a standalone module has none) gets a
// pool of one, decided at compile time: size() is always 1, resize() keeps it so, and
// parallel_for runs every task on the caller in index order, which gives the results of a
// one-thread native pool.
#pragma once

#if defined(__wasm__) && !defined(__EMSCRIPTEN_PTHREADS__)
#define NG_NO_THREADS 1
#endif

#include <cstdint>
#include <functional>

namespace ng {

class ThreadPool {
 public:
  // n >= 1 threads in all, counting the caller: n - 1 background threads are started.
  explicit ThreadPool(int n);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;
  // Stops the background threads and starts n - 1 new ones (n >= 1); without threads, nothing.
  void resize(int n);
  // Runs fn(i) for every i in [0, tasks), spread over the pool (the caller works too), and
  // returns when all are done. Which thread runs which task must not change any result: the
  // caller splits its work so that each task writes a disjoint part of the output.
  void parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn);

 private:
  struct Impl;
  Impl* impl_;
};

// The machine's logical core count (>= 1).
int hardware_threads();

}  // namespace ng
