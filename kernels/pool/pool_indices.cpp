// MaxPool with its second output, Indices: scalar, NCHW, 1-3 spatial dims. Only models exported for unpooling
// (MaxUnpool) ask for Indices, so this path favours plainness over speed; baseline x86-64.
#include <algorithm>
#include <limits>

#include "kernels/pool/pool.h"

namespace octet::kernels::pool {
namespace {

/// Taps [*b, *e) of a window (start = o*stride - pad, dilation d, k taps) that fall inside [0, size): the same
/// rule as pool_impl.h's tap_range (t >= ceil(-start/d) and t <= (size-1-start)/d).
void taps_inside(int64_t start, int64_t d, int64_t k, int64_t size, int64_t* b, int64_t* e) {
  const int64_t lo = start < 0 ? (-start + d - 1) / d : 0;
  const int64_t hi = start >= size ? 0 : std::min(k, (size - 1 - start) / d + 1);
  *b = std::min(lo, k);
  *e = std::max(*b, hi);
}

template <class T>
void max_with_indices(const Geom& g, const T* x, T* y, int64_t* idx, int64_t plane0, int64_t planes,
                      bool column_major) {
  const int64_t in_plane = g.d * g.h * g.w, out_plane = g.od * g.oh * g.ow;
  // Flat index of spatial position (z, r, col) inside a plane:
  //   row-major    (storage_order 0): (z*H + r)*W + col = z*(H*W) + r*W + col
  //   column-major (storage_order 1): z + r*D + col*(D*H)
  const int64_t step_z = column_major ? 1 : g.h * g.w;
  const int64_t step_r = column_major ? g.d : g.w;
  const int64_t step_c = column_major ? g.d * g.h : 1;
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * in_plane;
    T* yp = y + p * out_plane;
    int64_t* ip = idx + p * out_plane;
    const int64_t base = (plane0 + p) * in_plane;
    for (int64_t od = 0; od < g.od; ++od) {
      const int64_t sd0 = od * g.sd - g.pad_f;
      int64_t kd0, kd1;
      taps_inside(sd0, g.dd, g.kd, g.d, &kd0, &kd1);
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t sh0 = oh * g.sh - g.pad_t;
        int64_t kh0, kh1;
        taps_inside(sh0, g.dh, g.kh, g.h, &kh0, &kh1);
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t sw0 = ow * g.sw - g.pad_l;
          int64_t kw0, kw1;
          taps_inside(sw0, g.dw, g.kw, g.w, &kw0, &kw1);
          // Strict '>' keeps the first maximum in row-major window order. A window with no tap inside the
          // input (possible only if a pad is at least the kernel's extent) yields the lowest value, index -1.
          T best = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                        : std::numeric_limits<T>::lowest();
          int64_t at = -1;
          for (int64_t kd = kd0; kd < kd1; ++kd)
            for (int64_t kh = kh0; kh < kh1; ++kh)
              for (int64_t kw = kw0; kw < kw1; ++kw) {
                const int64_t z = sd0 + kd * g.dd, r = sh0 + kh * g.dh, col = sw0 + kw * g.dw;
                const T v = xp[(z * g.h + r) * g.w + col];
                if (at < 0 || v > best) {
                  best = v;
                  at = z * step_z + r * step_r + col * step_c;
                }
              }
          const int64_t o = (od * g.oh + oh) * g.ow + ow;
          yp[o] = best;
          ip[o] = at < 0 ? -1 : base + at;
        }
      }
    }
  }
}

}  // namespace

void max_with_indices_f32(const Geom& g, const float* x, float* y, int64_t* idx, int64_t plane0, int64_t planes,
                          bool column_major) {
  max_with_indices(g, x, y, idx, plane0, planes, column_major);
}
void max_with_indices_u8(const Geom& g, const uint8_t* x, uint8_t* y, int64_t* idx, int64_t plane0, int64_t planes,
                         bool column_major) {
  max_with_indices(g, x, y, idx, plane0, planes, column_major);
}
void max_with_indices_s8(const Geom& g, const int8_t* x, int8_t* y, int64_t* idx, int64_t plane0, int64_t planes,
                         bool column_major) {
  max_with_indices(g, x, y, idx, plane0, planes, column_major);
}

}  // namespace octet::kernels::pool
