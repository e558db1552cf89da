#include "kernels/qeltwise/qeltwise.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>

namespace octet::kernels::qeltwise {

namespace {

// QuantizeLinear with saturation to [lo, hi]. Clamping before rounding is the same as after: the bounds are
// integers and rounding is monotonic, and it keeps t small enough for round_even_small.
template <class T>
void quantize(const float* x, size_t n, float scale, int32_t zp, int32_t lo, int32_t hi, T* y) {
  const float tlo = float(lo - zp), thi = float(hi - zp);
  for (size_t i = 0; i < n; ++i) {
    float t = x[i] / scale;  // division, as the spec (and ORT's MLAS) writes it: x * (1/scale) may differ by an ulp
    t = std::min(std::max(t, tlo), thi);
    y[i] = T(round_even_small(t) + zp);
  }
}

template <class T>
void dequantize(const T* x, size_t n, float scale, int32_t zp, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = float(int32_t(x[i]) - zp) * scale;
}

}  // namespace

void quantize_u8(const float* x, size_t n, float scale, int32_t zp, uint8_t* y) { quantize(x, n, scale, zp, 0, 255, y); }
void quantize_s8(const float* x, size_t n, float scale, int32_t zp, int8_t* y) {
  quantize(x, n, scale, zp, -128, 127, y);
}
void dequantize_u8(const uint8_t* x, size_t n, float scale, int32_t zp, float* y) { dequantize(x, n, scale, zp, y); }
void dequantize_s8(const int8_t* x, size_t n, float scale, int32_t zp, float* y) { dequantize(x, n, scale, zp, y); }
void dequantize_s32(const int32_t* x, size_t n, float scale, int32_t zp, float* y) { dequantize(x, n, scale, zp, y); }

void add_u8(const uint8_t* a, const uint8_t* b, size_t n, float ra, int32_t za, float rb, int32_t zb, int32_t zy,
            int32_t lo, int32_t hi, uint8_t* y) {
  const float tlo = float(lo - zy), thi = float(hi - zy);
  for (size_t i = 0; i < n; ++i) {
    const float va = ra * float(int32_t(a[i]) - za);
    const float vb = rb * float(int32_t(b[i]) - zb);
    const float t = std::min(std::max(va + vb, tlo), thi);
    y[i] = uint8_t(round_even_small(t) + zy);
  }
}

namespace {

// dst[ch] = max over the n tap rows (and over dst itself when `with_dst`) of src[ch], 0 when there is nothing:
// 0 is the smallest u8, the identity of max.
void fold_max(const uint8_t* const* taps, int n, int64_t c, uint8_t* dst, bool with_dst) {
  int64_t ch = 0;
#if defined(__SSE2__)
  for (; ch + 16 <= c; ch += 16) {
    __m128i m = with_dst ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(dst + ch)) : _mm_setzero_si128();
    for (int t = 0; t < n; ++t) m = _mm_max_epu8(m, _mm_loadu_si128(reinterpret_cast<const __m128i*>(taps[t] + ch)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + ch), m);
  }
#endif
  for (; ch < c; ++ch) {
    uint8_t m = with_dst ? dst[ch] : 0;
    for (int t = 0; t < n; ++t) m = std::max(m, taps[t][ch]);
    dst[ch] = m;
  }
}

}  // namespace

void maxpool_u8_nhwc(const PoolGeom& g, const uint8_t* x, uint8_t* y, int64_t oy0, int64_t oy1) {
  const int64_t c = g.c;
  for (int64_t oy = oy0; oy < oy1; ++oy)
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      uint8_t* __restrict dst = y + (oy * g.ow + ox) * c;
      // The taps inside the image, then per 16 channels the max over them in a register (SSE2 pmaxub: the
      // baseline build; ResNet-50's 3x3 stem pool on 64 channels, ~5x the byte loop), the rest byte by byte.
      const uint8_t* taps[64];
      int n = 0;
      bool started = false;  // dst already holds the max over earlier taps (windows of more than 64 taps)
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.sh - g.pad_t + ky * g.dh;
        if (iy < 0 || iy >= g.h) continue;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t ix = ox * g.sw - g.pad_l + kx * g.dw;
          if (ix < 0 || ix >= g.w) continue;
          if (n == 64) {  // a huge window: fold what is gathered so far into dst and go on
            fold_max(taps, n, c, dst, started);
            started = true;
            n = 0;
          }
          taps[n++] = x + (iy * g.w + ix) * c;
        }
      }
      fold_max(taps, n, c, dst, started);
    }
}

void maxpool_u8_nchw(const PoolGeom& g, const uint8_t* x, uint8_t* y, int64_t c0, int64_t c1) {
  for (int64_t ch = c0; ch < c1; ++ch) {
    const uint8_t* src = x + ch * g.h * g.w;
    uint8_t* dst = y + ch * g.oh * g.ow;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        uint8_t m = 0;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.sh - g.pad_t + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = ox * g.sw - g.pad_l + kx * g.dw;
            if (ix >= 0 && ix < g.w) m = std::max(m, src[iy * g.w + ix]);
          }
        }
        dst[oy * g.ow + ox] = m;
      }
  }
}

namespace {
uint8_t requantize_sum(int64_t sum, int64_t hw, float scale, int32_t zx, int32_t zy) {
  const float t = std::min(std::max(float(sum - hw * zx) * scale, float(-zy)), float(255 - zy));
  return uint8_t(round_even_small(t) + zy);
}
}  // namespace

void global_avg_u8_nhwc(const uint8_t* x, int64_t hw, int64_t c, int64_t c0, int64_t c1, float scale, int32_t zx,
                        int32_t zy, uint8_t* y) {
  // Sums in int32 lanes over the pixels (hw * 255 < 2^31 for any image below 8 M pixels), in chunks of 256
  // channels so the accumulators live on the stack (kernels/ does not allocate).
  constexpr int64_t kChunk = 256;
  for (int64_t b0 = c0; b0 < c1; b0 += kChunk) {
    const int64_t len = std::min(kChunk, c1 - b0);
    int32_t acc[kChunk] = {};
    for (int64_t p = 0; p < hw; ++p) {
      const uint8_t* __restrict src = x + p * c + b0;
      for (int64_t ch = 0; ch < len; ++ch) acc[ch] += src[ch];
    }
    for (int64_t ch = 0; ch < len; ++ch) y[b0 + ch] = requantize_sum(acc[ch], hw, scale, zx, zy);
  }
}

void global_avg_u8_nchw(const uint8_t* x, int64_t hw, int64_t c0, int64_t c1, float scale, int32_t zx, int32_t zy,
                        uint8_t* y) {
  for (int64_t ch = c0; ch < c1; ++ch) {
    const uint8_t* src = x + ch * hw;
    int64_t s = 0;
    for (int64_t p = 0; p < hw; ++p) s += src[p];
    y[ch] = requantize_sum(s, hw, scale, zx, zy);
  }
}

}  // namespace octet::kernels::qeltwise
