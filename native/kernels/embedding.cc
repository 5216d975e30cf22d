// Embedding lookup (a row gather) and its backward (a row scatter-add).
//
// Dimensions: weight, dweight are V x D (one row per index), row-major; indices has N entries,
// each in [0, V) (checked by the binding); y, dy are N x D.
//
// The scatter-add is split over column blocks, never over n: each element of dweight receives
// its rows' gradients in n-ascending order, in float as the TS specification
// (lib/backend/ts-layers.ts) adds them, so repeated indices give the same bits on any number of
// threads and on both backends, with no atomics.
#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "threadpool.h"

namespace ng {

namespace {

constexpr int64_t kParallelElems = 1 << 15;
// Columns a task takes at least: a cache line's worth, so threads do not share lines of dweight.
constexpr int64_t kColumnBlock = 16;

}  // namespace

// y[n, :] = weight[indices[n], :].
void embedding_forward(float* y, const float* weight, const int32_t* indices, int64_t N, int64_t D) {
  for (int64_t n = 0; n < N; ++n) {
    std::memcpy(y + n * D, weight + int64_t(indices[n]) * D, sizeof(float) * size_t(D));
  }
}

// dweight (zeroed first unless accumulate) [indices[n], :] += dy[n, :], n ascending, skipping
// the rows whose index is padding_idx (-1: none).
void embedding_backward(ThreadPool& pool, float* dweight, const float* dy, const int32_t* indices, int64_t N, int64_t V,
                        int64_t D, int64_t padding_idx, bool accumulate) {
  auto columns = [&](int64_t d0, int64_t d1) {
    if (!accumulate) {
      for (int64_t v = 0; v < V; ++v) std::fill(dweight + v * D + d0, dweight + v * D + d1, 0.0f);
    }
    for (int64_t n = 0; n < N; ++n) {
      const int64_t i = indices[n];
      if (i == padding_idx) continue;
      float* o = dweight + i * D;
      const float* g = dy + n * D;
      for (int64_t d = d0; d < d1; ++d) o[d] += g[d];
    }
  };
  const int64_t threads = pool.size();
  const int64_t blocks = (D + kColumnBlock - 1) / kColumnBlock;
  if (threads <= 1 || blocks < 2 || (N + V) * D < kParallelElems) {
    columns(0, D);
    return;
  }
  const int64_t tasks = std::min(threads, blocks);
  const int64_t per = (blocks + tasks - 1) / tasks * kColumnBlock;
  pool.parallel_for(tasks, [&](int64_t t) {
    const int64_t d0 = std::min(D, t * per), d1 = std::min(D, (t + 1) * per);
    if (d0 < d1) columns(d0, d1);
  });
}

}  // namespace ng
