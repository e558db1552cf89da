// Depthwise convolution with AVX2 (qconv_dw/avx2): channels in the vector lanes, 16 per step, two taps per
// vpmaddwd. The weight layout and the zero-point fold are described at DwAvx2Weights (qconv.h).
//
// Per output pixel and block of 16 channels, for each pair of taps (t0, t1):
//   a0, a1 = u8 activations of the two taps widened to s16 (vpmovzxbw)
//   lo = unpacklo_epi16(a0, a1) = (a0[ch], a1[ch]) for ch 0-3 | 8-11,  hi = the same for ch 4-7 | 12-15
//   acc_lo += madd(lo, w_lo), acc_hi += madd(hi, w_hi)      (s16 x s16 pairs -> s32, never saturates)
// then acc[0..7] = (acc_lo.half0, acc_hi.half0), acc[8..15] = (acc_lo.half1, acc_hi.half1) (two vperm2i128),
// plus the folded bias, and the requantization of qgemm's ymm epilogue (the exact arithmetic of qgemm.h).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/qconv/qconv.h"
#include "kernels/qgemm/epilogue_ymm.h"

namespace octet::kernels::qconv {
namespace {

// acc[0..15] of one block: `tp` the 2 * pairs tap pointers (already at this block's first channel), `wb` the
// block's weights [pairs][2][16].
template <int kPairs>
inline void dot_block(const uint8_t* const* tp, int64_t off, const int16_t* wb, int64_t pairs, __m256i* acc0,
                      __m256i* acc1) {
  const int64_t np = kPairs > 0 ? kPairs : pairs;
  __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
  for (int64_t p = 0; p < np; ++p) {
    const __m256i a0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tp[2 * p] + off)));
    const __m256i a1 =
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tp[2 * p + 1] + off)));
    const __m256i* w = reinterpret_cast<const __m256i*>(wb + p * 32);
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a0, a1), _mm256_loadu_si256(w)));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a0, a1), _mm256_loadu_si256(w + 1)));
  }
  *acc0 = _mm256_permute2x128_si256(lo, hi, 0x20);
  *acc1 = _mm256_permute2x128_si256(lo, hi, 0x31);
}

// Requantize 16 channels and store them as bytes (as qgemm's store_row; res may be null).
inline void store16(__m256i acc0, __m256i acc1, const int32_t* bias, const float* scale, const uint8_t* res,
                    const qgemm::Epilogue& ep, uint8_t* dst) {
  acc0 = _mm256_add_epi32(acc0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias)));
  acc1 = _mm256_add_epi32(acc1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + 8)));
  const __m256i q0 = qgemm::requant(acc0, scale, res, ep);
  const __m256i q1 = qgemm::requant(acc1, scale + 8, res ? res + 8 : nullptr, ep);
  // int32 in [0, 255] -> bytes: packs works within 128-bit lanes, so restore the order with one permute.
  const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst),
                   _mm_packus_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1)));
}

template <int kPairs>
void depthwise_rows(const Geom& g, const uint8_t* x, const DwAvx2Weights& pw, const qgemm::Epilogue& epr,
                    int64_t r0, int64_t r1, uint8_t* y) {
  // A local copy: the u8 stores could alias the Epilogue's fields (char type), which would make the compiler
  // reload them and rebuild the broadcast constants after every store.
  const qgemm::Epilogue ep = epr;
  const int64_t c = g.ic, taps = g.kh * g.kw, pairs = pw.pairs, full = c / 16;
  const uint8_t* tp[kDwAvx2MaxTaps + 1];
  for (int64_t t = taps; t < 2 * pairs; ++t) tp[t] = pw.za_row.data();  // the odd tap's zero weights
  // Output columns [ox_lo, ox_hi) have every tap column inside the image: ix = ox*sw - pad_l + kx*dw in [0, W).
  // There, the next pixel's taps are this pixel's moved by sw pixels (or stay on za_row for rows outside the
  // image), so the pointers are stepped instead of rebuilt with their bounds checks (about 100 instructions
  // per pixel for 3x3, as much as the arithmetic of two 16-channel blocks: MobileNetV2's C = 32 layer).
  const int64_t ox_lo = std::min(g.ow, (g.pad_l + g.sw - 1) / g.sw);
  const int64_t reach = g.w - 1 + g.pad_l - (g.kw - 1) * g.dw;  // ox*sw <= reach
  const int64_t ox_hi = std::max(ox_lo, reach < 0 ? int64_t(0) : std::min(g.ow, reach / g.sw + 1));
  int64_t step[kDwAvx2MaxTaps + 1] = {};
  int64_t img = r0 / (g.oh * g.ow), oy = r0 % (g.oh * g.ow) / g.ow, ox = r0 % g.ow;
  bool fresh = true;  // tp must be rebuilt (first pixel, new output row, or a border column)
  for (int64_t r = r0; r < r1; ++r) {
    if (fresh || ox <= ox_lo || ox >= ox_hi) {
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.sh - g.pad_t + ky * g.dh;
        const bool row_in = iy >= 0 && iy < g.h;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t ix = ox * g.sw - g.pad_l + kx * g.dw;
          const bool in = row_in && ix >= 0 && ix < g.w;
          tp[ky * g.kw + kx] = in ? x + ((img * g.h + iy) * g.w + ix) * c : pw.za_row.data();
          step[ky * g.kw + kx] = row_in ? g.sw * c : 0;
        }
      }
      fresh = false;
    } else {
      for (int64_t t = 0; t < taps; ++t) tp[t] += step[t];
    }
    const uint8_t* res = ep.residual ? ep.residual + r * ep.ld_residual : nullptr;
    uint8_t* dst = y + r * c;
    for (int64_t b = 0; b < full; ++b) {
      __m256i a0, a1;
      dot_block<kPairs>(tp, b * 16, pw.w.data() + b * pairs * 32, pairs, &a0, &a1);
      store16(a0, a1, pw.bias.data() + b * 16, ep.scale + b * 16, res ? res + b * 16 : nullptr, ep, dst + b * 16);
    }
    if (full * 16 < c) {
      // The last C % 16 channels: every 16-byte access would run past the pixel (past the tensor for the last
      // one), so the inputs, scales and residual go through zero-padded stack copies and the output through one.
      const int64_t c0 = full * 16, len = c - c0;
      alignas(32) uint8_t in[kDwAvx2MaxTaps + 1][16] = {};
      const uint8_t* tt[kDwAvx2MaxTaps + 1];
      for (int64_t t = 0; t < 2 * pairs; ++t) {
        std::memcpy(in[t], tp[t] + c0, size_t(len));
        tt[t] = in[t];
      }
      alignas(32) float sc[16] = {};
      alignas(32) uint8_t rs[16] = {}, out[16];
      std::memcpy(sc, ep.scale + c0, size_t(len) * sizeof(float));
      if (res) std::memcpy(rs, res + c0, size_t(len));
      __m256i a0, a1;
      dot_block<kPairs>(tt, 0, pw.w.data() + full * pairs * 32, pairs, &a0, &a1);
      store16(a0, a1, pw.bias.data() + c0, sc, res ? rs : nullptr, ep, out);
      std::memcpy(dst + c0, out, size_t(len));
    }
    if (++ox == g.ow) {
      ox = 0, fresh = true;
      if (++oy == g.oh) oy = 0, ++img;
    }
  }
}

}  // namespace

void depthwise_nhwc_avx2(const Geom& g, const uint8_t* x, const DwAvx2Weights& pw, const qgemm::Epilogue& ep,
                         int64_t r0, int64_t r1, uint8_t* y) {
  // The common kernels (3x3: 5 pairs, 5x5: 13) with the pair loop unrolled at compile time.
  if (pw.pairs == 5)
    depthwise_rows<5>(g, x, pw, ep, r0, r1, y);
  else if (pw.pairs == 13)
    depthwise_rows<13>(g, x, pw, ep, r0, r1, y);
  else
    depthwise_rows<0>(g, x, pw, ep, r0, r1, y);
}

}  // namespace octet::kernels::qconv
