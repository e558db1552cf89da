// Depthwise convolution with AVX2 (qconv_dw/avx2): channels in the vector lanes, 16 per block, two taps per
// vpmaddwd. The weight layout and the zero-point fold are described at DwSimdWeights (qconv.h); the row loop is
// dw_rows.h's.
//
// Per output pixel and block of 16 channels, for each pair of taps (t0, t1):
//   a0, a1 = u8 activations of the two taps widened to s16 (vpmovzxbw)
//   lo = unpacklo_epi16(a0, a1) = (a0[ch], a1[ch]) for ch 0-3 | 8-11,  hi = the same for ch 4-7 | 12-15
//   acc_lo += madd(lo, w_lo), acc_hi += madd(hi, w_hi)      (s16 x s16 pairs -> s32, never saturates)
// then acc[0..7] = (acc_lo.half0, acc_hi.half0), acc[8..15] = (acc_lo.half1, acc_hi.half1) (two vperm2i128),
// plus the folded bias, and the requantization of qgemm's ymm epilogue (the exact arithmetic of qgemm.h).
#include <immintrin.h>

#include "kernels/qconv/qconv.h"
#include "kernels/qgemm/epilogue_ymm.h"

namespace octet::kernels::qconv {
namespace {

struct BlockYmm {
  static constexpr int64_t kLanes = 16;
  struct Acc {
    __m256i v0, v1;  // channels 0-7, 8-15
  };

  // `tp` the 2 * pairs tap pointers, `off` this block's first channel, `wb` the block's weights [pairs][2][16].
  template <int kPairs>
  static inline Acc dot(const uint8_t* const* tp, int64_t off, const int16_t* wb, int64_t pairs) {
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
    return Acc{_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31)};
  }

  // Requantize 16 channels and store them as bytes (as qgemm's store_row; res may be null).
  static inline void store(const Acc& acc, const int32_t* bias, const float* scale, const uint8_t* res,
                           const qgemm::Epilogue& ep, uint8_t* dst) {
    const __m256i acc0 = _mm256_add_epi32(acc.v0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias)));
    const __m256i acc1 = _mm256_add_epi32(acc.v1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + 8)));
    const __m256i q0 = qgemm::requant(acc0, scale, res, ep);
    const __m256i q1 = qgemm::requant(acc1, scale + 8, res ? res + 8 : nullptr, ep);
    // int32 in [0, 255] -> bytes: packs works within 128-bit lanes, so restore the order with one permute.
    const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst),
                     _mm_packus_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1)));
  }
};

}  // namespace
}  // namespace octet::kernels::qconv

#include "kernels/qconv/dw_rows.h"

namespace octet::kernels::qconv {

void depthwise_nhwc_avx2(const Geom& g, const uint8_t* x, const DwSimdWeights& pw, const qgemm::Epilogue& ep,
                         int64_t r0, int64_t r1, uint8_t* y) {
  depthwise_nhwc_simd<BlockYmm>(g, x, pw, ep, r0, r1, y);
}

}  // namespace octet::kernels::qconv
