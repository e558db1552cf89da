// Scalar references for the reduction family: plain loops, double accumulators. The tests compare the vector
// kernels against these, and the ops use them for the rare patterns without a vector loop.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reduce/reduce.h"

namespace octet::kernels::reduce {

void reduce_ref(Op op, const float* x, float* y, int64_t outer, int64_t len, int64_t inner) {
  const double inf = std::numeric_limits<double>::infinity();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* p = x + o * len * inner + i;
      double acc = op == Op::prod ? 1 : op == Op::min ? inf : op == Op::max || op == Op::log_sum_exp ? -inf : 0;
      for (int64_t l = 0; l < len; ++l) {
        const double v = p[l * inner];
        switch (op) {
          case Op::sum:
            acc += v;
            break;
          case Op::sum_abs:
            acc += std::abs(v);
            break;
          case Op::sum_sq:
            acc += v * v;
            break;
          case Op::max:
          case Op::log_sum_exp:
            acc = std::max(acc, v);
            break;
          case Op::min:
            acc = std::min(acc, v);
            break;
          case Op::prod:
            acc *= v;
            break;
        }
      }
      if (op == Op::log_sum_exp && std::isfinite(acc)) {
        double s = 0;
        for (int64_t l = 0; l < len; ++l) s += std::exp(double(p[l * inner]) - acc);
        acc += std::log(s);
      }
      y[o * inner + i] = float(acc);
    }
}

void normalize_row_ref(const float* x, float* y, int64_t len, float eps, const float* scale, const float* bias,
                       bool per_element, float* mean, float* inv_std) {
  double m = 0, v = 0;
  for (int64_t i = 0; i < len; ++i) m += x[i];
  m = len ? m / double(len) : 0;
  for (int64_t i = 0; i < len; ++i) v += (x[i] - m) * (x[i] - m);
  v = len ? v / double(len) : 0;
  const double inv = 1 / std::sqrt(v + double(eps));
  if (mean) *mean = float(m);
  if (inv_std) *inv_std = float(inv);
  for (int64_t i = 0; i < len; ++i) {
    const double s = per_element ? scale[i] : scale[0];
    const double b = bias ? (per_element ? bias[i] : bias[0]) : 0;
    y[i] = float((x[i] - m) * inv * s + b);
  }
}

void log_softmax_ref(const float* x, float* y, int64_t outer, int64_t len, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* p = x + o * len * inner + i;
      float* q = y + o * len * inner + i;
      double m = -std::numeric_limits<double>::infinity(), s = 0;
      for (int64_t l = 0; l < len; ++l) m = std::max(m, double(p[l * inner]));
      for (int64_t l = 0; l < len; ++l) s += std::exp(double(p[l * inner]) - m);
      const double c = m + std::log(s);
      for (int64_t l = 0; l < len; ++l) q[l * inner] = float(double(p[l * inner]) - c);
    }
}

}  // namespace octet::kernels::reduce

namespace octet::kernels::reduce {

void arg_reduce(bool is_max, bool last, const float* x, int64_t* y, int64_t outer, int64_t len, int64_t inner) {
  std::vector<float> best(static_cast<size_t>(inner));
  for (int64_t o = 0; o < outer; ++o, y += inner) {
    const float* p = x + o * len * inner;
    for (int64_t i = 0; i < inner; ++i) best[size_t(i)] = p[i], y[i] = 0;
    for (int64_t l = 1; l < len; ++l) {
      const float* r = p + l * inner;
      for (int64_t i = 0; i < inner; ++i) {
        const float b = best[size_t(i)], v = r[i];
        // First index of the extreme: replace only on a strict improvement; the last: also on a tie.
        const bool better = is_max ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
        if (better) best[size_t(i)] = v, y[i] = l;
      }
    }
  }
}

}  // namespace octet::kernels::reduce
