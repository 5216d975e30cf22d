// Scratch memory kept per thread from one kernel call to the next.
//
// Kernels need scratch: packed GEMM panels, convolution columns, partial sums. Allocated and
// freed on every call, blocks that large come fresh from mmap each time (glibc serves them
// so), and every call then pays a page fault per 4 KB page on first touch: on this project's
// virtual machines a fault costs microseconds, and the 800 KB packed B of the MLP's 256x256x784
// product cost ~40% of the product's time. A Workspace borrows the calling thread's cached
// buffer for its slot instead (growing it when needed): buffers up to kWorkspaceKeepBytes stay
// cached for the thread's life, larger ones are freed when the Workspace ends. A slot already
// borrowed on this thread (a nested call) gets a private buffer, so nesting is safe; buffers
// are per thread, so several JS threads and pool threads never share one.
//
// Contents are undefined (whatever the last user left); 64-byte aligned. Allocation failure
// throws std::bad_alloc, as operator new. A thread's cached buffers are freed by
// workspace_release_thread(), which every thread that runs kernels calls before it ends: the
// thread pool's workers as they stop, the addon's JS thread when its instance goes.
#pragma once

#include <cstddef>

namespace ng {

// One slot per buffer that may be alive at the same time on one thread.
enum class WsSlot : int {
  GemmA,
  GemmB,
  GemmT,
  ConvCols,
  ConvDy,
  ConvPartial,
  ConvWeights,  // packed (and, for the input gradient, flipped) weights of one call
  ConvPad,      // a task's padded input rows
  ConvOut,      // a task's output block before compaction
  ConvPanel,    // a task's packed B panels
  kCount
};

// Cached per slot and thread at most this many bytes; a larger request is allocated for the
// call alone.
constexpr size_t kWorkspaceKeepBytes = size_t(64) << 20;

class Workspace {
 public:
  Workspace(WsSlot slot, size_t floats);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  float* data() const { return p_; }

 private:
  float* p_ = nullptr;
  int slot_ = -1;     // the slot borrowed, or -1 for a private buffer
  bool own_ = false;  // p_ is private: freed by the destructor
};

// Frees the calling thread's cached buffers (a later Workspace allocates afresh).
void workspace_release_thread();

}  // namespace ng
