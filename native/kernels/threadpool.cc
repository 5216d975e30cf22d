// A persistent fork-join pool with a cheap hand-off.
//
// Dimensions: n threads in all (the caller plus n - 1 workers); a job is `tasks` calls of
// fn(i), i in [0, tasks), claimed one at a time from a shared counter.
//
// A training step calls gemm a few times per millisecond, so waking sleeping threads (~30 us
// measured here) would cost more than the work: workers spin for a while after each job
// (kSpin), then sleep on a condition variable. The spin yields every few microseconds: a
// woken worker can land on the caller's core, and a pure spin there stalled the caller for the
// whole spin window (p90 of a fork-join 300 us instead of 6 us); yielding also leaves the core
// to other processes on a busy machine.
//
// Job protocol (all atomics seq_cst, so the Dekker-style pairs below cannot both miss):
//   gen_ odd  = a job is open, even = closed. Caller: fill job, gen_ = odd; run tasks;
//   gen_ = even; wait until active_ == 0. Worker: see an odd gen_ it has not run; active_++;
//   re-check gen_ (if the job closed meanwhile, leave); claim tasks; active_--.
//   Either the caller sees the worker's active_++ (and waits for it), or the worker sees the
//   closed gen_ (and never touches the job), so the job's fields are never read stale.
#include "threadpool.h"

#if defined(NG_NO_THREADS)

namespace ng {

// No threads to start: the pool is the caller alone.
struct ThreadPool::Impl {};

ThreadPool::ThreadPool(int) : impl_(nullptr) {}
ThreadPool::~ThreadPool() = default;
int ThreadPool::size() const { return 1; }
void ThreadPool::resize(int) {}
void ThreadPool::parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn) {
  for (int64_t i = 0; i < tasks; ++i) fn(i);
}
int hardware_threads() { return 1; }

}  // namespace ng

#else

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu.h"
#include "workspace.h"

#if defined(__linux__)
#include <sched.h>
#endif

namespace ng {

namespace {

// How long an idle worker spins before sleeping.
constexpr auto kSpin = std::chrono::microseconds(500);

}  // namespace

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::atomic<uint64_t> gen{0};
  std::atomic<int64_t> next{0};
  std::atomic<int> active{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};
  int64_t tasks = 0;
  const std::function<void(int64_t)>* fn = nullptr;
  std::mutex mu;
  std::condition_variable cv;

  void run_tasks() {
    for (;;) {
      const int64_t i = next.fetch_add(1);
      if (i >= tasks) return;
      (*fn)(i);
    }
  }

  void worker_loop() {
    uint64_t seen = gen.load();
    for (;;) {
      // Wait for a new open job (odd gen different from the last one seen) or stop.
      uint64_t g = gen.load();
      if (!((g & 1) && g != seen) && !stop.load()) {
        auto t0 = std::chrono::steady_clock::now();
        for (int spins = 0;; ++spins) {
          g = gen.load();
          if (((g & 1) && g != seen) || stop.load()) break;
          spin_pause(spins);
          if ((spins & 63) == 63 && std::chrono::steady_clock::now() - t0 > kSpin) {
            std::unique_lock<std::mutex> lock(mu);
            sleepers.fetch_add(1);
            cv.wait(lock, [&] {
              g = gen.load();
              return ((g & 1) && g != seen) || stop.load();
            });
            sleepers.fetch_sub(1);
            break;
          }
        }
      }
      if (stop.load()) {
        workspace_release_thread();  // this thread's kernel scratch (workspace.h)
        return;
      }
      seen = g;
      active.fetch_add(1);
      if (gen.load() == g) run_tasks();
      active.fetch_sub(1);
    }
  }

  void start(int n) {
    stop.store(false);
    for (int t = 1; t < n; ++t) workers.emplace_back([this] { worker_loop(); });
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop.store(true);
    }
    cv.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
  }
};

ThreadPool::ThreadPool(int n) : impl_(new Impl) { impl_->start(std::max(1, n)); }

ThreadPool::~ThreadPool() {
  impl_->shutdown();
  delete impl_;
}

int ThreadPool::size() const { return static_cast<int>(impl_->workers.size()) + 1; }

void ThreadPool::resize(int n) {
  n = std::max(1, n);
  if (n == size()) return;
  impl_->shutdown();
  impl_->start(n);
}

void ThreadPool::parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn) {
  if (tasks <= 0) return;
  Impl& p = *impl_;
  if (tasks == 1 || p.workers.empty()) {
    for (int64_t i = 0; i < tasks; ++i) fn(i);
    return;
  }
  p.fn = &fn;
  p.tasks = tasks;
  p.next.store(0);
  p.gen.fetch_add(1);  // even -> odd: open
  if (p.sleepers.load() > 0) {
    // Taking the mutex orders this notify after a worker's predicate check, so no lost wake-up.
    { std::lock_guard<std::mutex> lock(p.mu); }
    p.cv.notify_all();
  }
  p.run_tasks();
  p.gen.fetch_add(1);  // odd -> even: closed; late workers will not touch this job
  for (int spins = 0; p.active.load() != 0; ++spins) spin_pause(spins);
}

int hardware_threads() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace ng

#endif  // NG_NO_THREADS
