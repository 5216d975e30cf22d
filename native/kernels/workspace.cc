// Per-thread scratch buffers (workspace.h). Baseline code only: no ISA-specific instructions,
// so every translation unit may use it.
#include "workspace.h"

#include <algorithm>
#include <new>

namespace ng {

namespace {

float* alloc_floats(size_t n) {
  return static_cast<float*>(::operator new(std::max<size_t>(n, 16) * sizeof(float), std::align_val_t(64)));
}
void free_floats(float* p) {
  if (p != nullptr) ::operator delete(p, std::align_val_t(64));
}

// Trivially destructible on purpose: a thread_local with a destructor in a DLL registers a
// per-thread exit callback, and on Windows (mingw) that hung the join of the pool's threads
// when a worker thread's addon instance went away (the win32 prebuild test). Threads free
// their buffers explicitly instead (workspace_release_thread).
struct Entry {
  float* p;
  size_t cap;  // floats
  bool busy;
};
struct Cache {
  Entry e[int(WsSlot::kCount)];
};
thread_local Cache tl_cache{};

Cache& cache() { return tl_cache; }

}  // namespace

Workspace::Workspace(WsSlot slot, size_t floats) {
  Entry& x = cache().e[int(slot)];
  if (x.busy || floats > kWorkspaceKeepBytes / sizeof(float)) {
    p_ = alloc_floats(floats);
    own_ = true;
    return;
  }
  if (x.cap < floats) {
    // Grow by at least half again, so a slowly growing request does not reallocate each call.
    const size_t want = std::min(std::max(floats, x.cap + x.cap / 2), kWorkspaceKeepBytes / sizeof(float));
    free_floats(x.p);
    x.p = nullptr;
    x.cap = 0;
    x.p = alloc_floats(want);  // throws, leaving the entry empty
    x.cap = want;
  }
  x.busy = true;
  p_ = x.p;
  slot_ = int(slot);
}

Workspace::~Workspace() {
  if (own_) {
    free_floats(p_);
  } else if (slot_ >= 0) {
    cache().e[slot_].busy = false;
  }
}

void workspace_release_thread() {
  for (Entry& x : cache().e) {
    if (x.busy) continue;  // still borrowed (cannot happen at a thread's end): left alone
    free_floats(x.p);
    x.p = nullptr;
    x.cap = 0;
  }
}

}  // namespace ng
