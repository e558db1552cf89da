// im2col, depthwise and the reference of kernels/qconv (the GEMM itself is kernels/qgemm). Baseline x86-64 code:
// the loops over channels are written so the compiler vectorises them (contiguous, no aliasing across rows).
#include "kernels/qconv/qconv.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/qgemm/requantize_scalar.h"

namespace octet::kernels::qconv {

uint8_t requantize_u8(int32_t acc, float scale, const qgemm::Epilogue& ep, int32_t r) {
  return qgemm::requantize_u8(acc, scale, r, ep);
}

void im2col_nhwc(const Geom& g, const uint8_t* x, uint8_t za, int64_t group, int64_t r0, int64_t r1, uint8_t* out,
                 int64_t ldo) {
  const int64_t icg = g.icg(), c0 = group * icg, k = g.k();
  // With one group and no dilation along x, the taps kx..kx' of one kernel row read consecutive pixels, and in
  // NHWC consecutive pixels are consecutive bytes: the in-image run of a kernel row is ONE copy of
  // (taps in the run) * C bytes instead of one small copy per tap (conv1 of ResNet-50: 7 taps x 3 channels).
  const bool runs = icg == g.ic && g.dw == 1;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t img = r / (g.oh * g.ow), pix = r % (g.oh * g.ow), oy = pix / g.ow, ox = pix % g.ow;
    uint8_t* dst = out + (r - r0) * ldo;
    std::memset(dst + k, za, size_t(ldo - k));
    const int64_t ix0 = ox * g.sw - g.pad_l;
    for (int64_t ky = 0; ky < g.kh; ++ky, dst += g.kw * icg) {
      const int64_t iy = oy * g.sh - g.pad_t + ky * g.dh;
      if (iy < 0 || iy >= g.h) {
        std::memset(dst, za, size_t(g.kw * icg));
        continue;
      }
      const uint8_t* row = x + (img * g.h + iy) * g.w * g.ic + c0;
      if (runs) {
        // Taps [lo, hi) are inside the image: ix0 + kx in [0, w).
        const int64_t lo = std::clamp<int64_t>(-ix0, 0, g.kw), hi = std::clamp<int64_t>(g.w - ix0, lo, g.kw);
        if (lo > 0) std::memset(dst, za, size_t(lo * icg));
        if (hi > lo) std::memcpy(dst + lo * icg, row + (ix0 + lo) * g.ic, size_t((hi - lo) * icg));
        if (hi < g.kw) std::memset(dst + hi * icg, za, size_t((g.kw - hi) * icg));
        continue;
      }
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ix0 + kx * g.dw;
        if (ix < 0 || ix >= g.w)
          std::memset(dst + kx * icg, za, size_t(icg));
        else
          std::memcpy(dst + kx * icg, row + ix * g.ic, size_t(icg));
      }
    }
  }
}

// Per output pixel: acc[c] = bias[c] + sum over the taps inside the image of (q - z_a) * w[tap][c]. Taps outside
// the image are skipped, which is the same as reading z_a there. (q - z_a) * w fits int16 (|255 * 128| < 2^15),
// so the compiler may multiply in 16-bit lanes and widen once.
void depthwise_nhwc(const Geom& g, const uint8_t* x, int32_t za, const int8_t* w, const int32_t* bias,
                    const qgemm::Epilogue& ep, int64_t r0, int64_t r1, uint8_t* y) {
  const int64_t c = g.ic;
  constexpr int64_t kChunk = 512;  // accumulators on the stack, 2 KB
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t img = r / (g.oh * g.ow), pix = r % (g.oh * g.ow), oy = pix / g.ow, ox = pix % g.ow;
    const uint8_t* res = ep.residual ? ep.residual + r * ep.ld_residual : nullptr;
    for (int64_t c0 = 0; c0 < c; c0 += kChunk) {
      const int64_t len = std::min(kChunk, c - c0);
      int32_t acc[kChunk];
      for (int64_t ch = 0; ch < len; ++ch) acc[ch] = bias ? bias[c0 + ch] : 0;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.sh - g.pad_t + ky * g.dh;
        if (iy < 0 || iy >= g.h) continue;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t ix = ox * g.sw - g.pad_l + kx * g.dw;
          if (ix < 0 || ix >= g.w) continue;
          const uint8_t* __restrict src = x + ((img * g.h + iy) * g.w + ix) * c + c0;
          const int8_t* __restrict wt = w + (ky * g.kw + kx) * c + c0;
          for (int64_t ch = 0; ch < len; ++ch)
            acc[ch] += int32_t(int16_t(int16_t(src[ch]) - int16_t(za)) * int16_t(wt[ch]));
        }
      }
      uint8_t* dst = y + r * c + c0;
      for (int64_t ch = 0; ch < len; ++ch)
        dst[ch] = requantize_u8(acc[ch], ep.scale[c0 + ch], ep, res ? res[c0 + ch] : 0);
    }
  }
}

DwSimdWeights pack_dw_simd(const Geom& g, const int8_t* w, const int32_t* bias, int32_t za, int64_t lanes) {
  DwSimdWeights p;
  const int64_t taps = g.kh * g.kw, L = lanes;
  p.c = g.oc, p.lanes = L, p.blocks = (g.oc + L - 1) / L, p.pairs = (taps + 1) / 2;
  p.w.assign(size_t(p.blocks * p.pairs * 2 * L), 0);
  p.bias.assign(size_t(p.blocks * L), 0);
  p.za_row.assign(size_t(p.blocks * L), uint8_t(za));
  for (int64_t c = 0; c < g.oc; ++c) {
    int32_t sum = 0;
    for (int64_t t = 0; t < taps; ++t) sum += w[c * taps + t];
    p.bias[size_t(c)] = (bias ? bias[c] : 0) - za * sum;
    // Lane of channel c within its block: in 128-bit lane q, madd "lo" holds channels 8q..8q+3 and "hi"
    // 8q+4..8q+7; within a lane, channel j's two taps are s16 elements 2 (j % 4) and 2 (j % 4) + 1.
    const int64_t b = c / L, j = c % L, q = j / 8, which = (j % 8) / 4, pos = q * 8 + (j % 4) * 2;
    for (int64_t t = 0; t < taps; ++t)
      p.w[size_t(((b * p.pairs + t / 2) * 2 + which) * L + pos + t % 2)] = w[c * taps + t];
  }
  return p;
}

void qconv_ref(const Geom& g, const uint8_t* x, int32_t za, const int8_t* w, const int32_t* bias,
               const qgemm::Epilogue& ep, uint8_t* y) {
  const int64_t icg = g.icg(), ocg = g.ocg();
  for (int64_t img = 0; img < g.n; ++img)
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const int64_t r = (img * g.oh + oy) * g.ow + ox;
        for (int64_t j = 0; j < g.oc; ++j) {
          const int64_t grp = j / ocg;
          int32_t acc = bias ? bias[j] : 0;
          for (int64_t c = 0; c < icg; ++c)
            for (int64_t ky = 0; ky < g.kh; ++ky)
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t iy = oy * g.sh - g.pad_t + ky * g.dh, ix = ox * g.sw - g.pad_l + kx * g.dw;
                const int32_t q = iy < 0 || iy >= g.h || ix < 0 || ix >= g.w
                                      ? za
                                      : x[((img * g.h + iy) * g.w + ix) * g.ic + grp * icg + c];
                acc += (q - za) * int32_t(w[((j * icg + c) * g.kh + ky) * g.kw + kx]);
              }
          y[r * g.oc + j] = qgemm::requantize_u8(
              acc, ep.scale[j], ep.residual ? int32_t(ep.residual[r * ep.ld_residual + j]) : 0, ep);
        }
      }
}

}  // namespace octet::kernels::qconv
