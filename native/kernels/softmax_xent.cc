// Fused softmax + cross-entropy, forward and backward.
//
// Dimensions: logits, probs, dlogits are N x C (N rows, C classes), row-major; labels has N
// entries in [0, C).
//
// exp and the per-row sums run in double: C is small (10 to ~1000), this is a sliver of a
// training step, and it keeps the loss and probabilities as close as float32 storage allows.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace ng {

namespace {
constexpr int64_t kRowBuf = 1024;  // classes whose exp values stay on the stack (8 KB)
}  // namespace

// probs = softmax(logits) per row; returns mean_n (logsumexp(logits[n]) - logits[n, label]).
double softmax_xent_forward(float* probs, const float* logits, const int32_t* labels, int64_t N, int64_t C) {
  double loss = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const float* x = logits + n * C;
    float* p = probs + n * C;
    // Subtract the row max so exp cannot overflow; the largest term is exp(0) = 1, so the
    // sum is in [1, C] and its log is finite. Differences are taken in double: in float,
    // 1e30 - (-1e30)... stays finite, but 3e38 - (-3e38) would not.
    const double mx = *std::max_element(x, x + C);
    // exp once per element: keep exp(x - max) in double for rows that fit the buffer, else
    // evaluate it again in the second loop (the same value either way).
    double e[kRowBuf];
    const bool keep = C <= kRowBuf;
    double sum = 0.0;
    for (int64_t c = 0; c < C; ++c) {
      const double ec = std::exp(double(x[c]) - mx);
      if (keep) e[c] = ec;
      sum += ec;
    }
    const double inv = 1.0 / sum;
    for (int64_t c = 0; c < C; ++c) p[c] = float((keep ? e[c] : std::exp(double(x[c]) - mx)) * inv);
    // -log p[label] = log(sum) - (x[label] - max), computed without forming p (which may
    // underflow to 0 and give an infinite loss).
    loss += std::log(sum) - (double(x[labels[n]]) - mx);
  }
  return N > 0 ? loss / double(N) : 0.0;
}

// dlogits = (probs - onehot(labels)) / N. dlogits may alias probs (each element is read once,
// before it is written).
void softmax_xent_backward(float* dlogits, const float* probs, const int32_t* labels, int64_t N, int64_t C) {
  const double scale = 1.0 / double(N);
  for (int64_t n = 0; n < N; ++n) {
    const float* p = probs + n * C;
    float* d = dlogits + n * C;
    const int64_t label = labels[n];
    for (int64_t c = 0; c < C; ++c) d[c] = float((double(p[c]) - (c == label ? 1.0 : 0.0)) * scale);
  }
}

}  // namespace ng
