#include "kernels/pool/global_max.h"

#include <cmath>

namespace octet::kernels::pool {

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
