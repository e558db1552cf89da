#include "kernels/pool/lrn.h"

#include <algorithm>
#include <cmath>

namespace octet::kernels::pool {

void lrn_nchw(const float* x, float* y, int64_t n0, int64_t n1, int64_t c, int64_t hw, int64_t size, float alpha,
              float beta, float bias) {
  const int64_t lo = (size - 1) / 2, hi = size - 1 - lo;  // window [ch - lo, ch + hi]
  const float a = alpha / float(size);
  for (int64_t n = n0; n < n1; ++n) {
    const float* xn = x + n * c * hw;
    float* yn = y + n * c * hw;
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t k0 = std::max<int64_t>(0, ch - lo), k1 = std::min<int64_t>(c - 1, ch + hi);
      for (int64_t p = 0; p < hw; ++p) {
        float sum = 0;
        for (int64_t k = k0; k <= k1; ++k) sum += xn[k * hw + p] * xn[k * hw + p];
        yn[ch * hw + p] = xn[ch * hw + p] / std::pow(bias + a * sum, beta);
      }
    }
  }
}

void global_max_nchw(const float* x, float* y, int64_t planes, int64_t hw) {
  for (int64_t p = 0; p < planes; ++p) {
    const float* s = x + p * hw;
    float m = s[0];
    for (int64_t i = 1; i < hw; ++i)
      if (s[i] > m || std::isnan(s[i])) m = s[i];
    y[p] = m;
  }
}

}  // namespace octet::kernels::pool
