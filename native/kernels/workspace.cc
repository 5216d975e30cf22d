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

struct Cache {
  struct Entry {
    float* p = nullptr;
    size_t cap = 0;  // floats
    bool busy = false;
  } e[int(WsSlot::kCount)];
  Cache() = default;
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;
  ~Cache() {
    for (Entry& x : e) free_floats(x.p);
  }
};

Cache& cache() {
  thread_local Cache c;
  return c;
}

}  // namespace

Workspace::Workspace(WsSlot slot, size_t floats) {
  Cache::Entry& x = cache().e[int(slot)];
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

}  // namespace ng
