// Depthwise convolution with AVX-512 (qconv_dw/avx512; F + BW): the AVX2 kernel's scheme at twice the width -
// 32 channels per block, two taps per vpmaddwd - with the row loop of dw_rows.h and qgemm's zmm epilogue.
//
// Per output pixel and block of 32 channels, for each pair of taps (t0, t1):
//   a0, a1 = the two taps' u8 activations widened to s16 (vpmovzxbw, 32 lanes)
//   lo = unpacklo_epi16(a0, a1): in each 128-bit lane q (0-3) the (a0, a1) pairs of channels 8q..8q+3,
//   hi = unpackhi_epi16(a0, a1): those of channels 8q+4..8q+7
//   acc_lo += madd(lo, w_lo), acc_hi += madd(hi, w_hi)      (s16 x s16 pairs -> s32, exact)
// then channels 0-15 = (lo.q0, hi.q0, lo.q1, hi.q1) and 16-31 = (lo.q2, hi.q2, lo.q3, hi.q3), two vpermt2q.
// The weights are laid out to match by pack_dw_simd(..., 32) (qconv.h): the same formula as the AVX2 layout, with
// four 128-bit lanes instead of two.
// GCC 12 warns that the _mm512_undefined_*() placeholders inside AVX-512 intrinsics "may be used
// uninitialized" (GCC PR 105593, fixed in GCC 13): a false positive that -Werror would turn into a failure.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/qconv/qconv.h"
#include "kernels/qgemm/epilogue_zmm.h"

namespace octet::kernels::qconv {
namespace {

struct BlockZmm {
  static constexpr int64_t kLanes = 32;
  struct Acc {
    __m512i v0, v1;  // channels 0-15, 16-31
  };

  // `mask`: the channels to read (all 32 but in the C % 32 tail; masked-off bytes are not touched, so the tail
  // reads in place, never past the pixel).
  template <int kPairs>
  static inline Acc dot_impl(const uint8_t* const* tp, int64_t off, const int16_t* wb, int64_t pairs, __mmask32 mask) {
    const int64_t np = kPairs > 0 ? kPairs : pairs;
    __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
    for (int64_t p = 0; p < np; ++p) {
      const __m512i a0 = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(mask, tp[2 * p] + off));
      const __m512i a1 = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(mask, tp[2 * p + 1] + off));
      const int16_t* w = wb + p * 64;
      lo = _mm512_add_epi32(lo, _mm512_madd_epi16(_mm512_unpacklo_epi16(a0, a1), _mm512_loadu_si512(w)));
      hi = _mm512_add_epi32(hi, _mm512_madd_epi16(_mm512_unpackhi_epi16(a0, a1), _mm512_loadu_si512(w + 32)));
    }
    const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    return Acc{_mm512_permutex2var_epi64(lo, first, hi), _mm512_permutex2var_epi64(lo, second, hi)};
  }
  template <int kPairs>
  static inline Acc dot(const uint8_t* const* tp, int64_t off, const int16_t* wb, int64_t pairs) {
    return dot_impl<kPairs>(tp, off, wb, pairs, __mmask32(~0u));
  }
  template <int kPairs>
  static inline Acc dot_masked(const uint8_t* const* tp, int64_t off, const int16_t* wb, int64_t pairs,
                               int64_t len) {
    return dot_impl<kPairs>(tp, off, wb, pairs, __mmask32((uint64_t(1) << len) - 1));
  }

  // + bias, then qgemm's two-row u8 store with the 32 channels as one "row" (store_u8_rows<false>: round,
  // saturating packs, clamp; bit-identical to requant()).
  static inline void store(const Acc& acc, const int32_t* bias, const float* scale, const uint8_t* res,
                           const qgemm::Epilogue& ep, uint8_t* dst) {
    const __m512i a0 = _mm512_add_epi32(acc.v0, _mm512_loadu_si512(bias));
    const __m512i a1 = _mm512_add_epi32(acc.v1, _mm512_loadu_si512(bias + 16));
    qgemm::Epilogue e = ep;
    e.scale = scale;
    e.residual = res;
    qgemm::store_u8_rows<false>(a0, a1, a0, a1, 0, dst, 0, e);
  }
};

}  // namespace
}  // namespace octet::kernels::qconv

#include "kernels/qconv/dw_rows.h"

namespace octet::kernels::qconv {

void depthwise_nhwc_avx512(const Geom& g, const uint8_t* x, const DwSimdWeights& pw, const qgemm::Epilogue& ep,
                           int64_t r0, int64_t r1, uint8_t* y) {
  depthwise_nhwc_simd<BlockZmm>(g, x, pw, ep, r0, r1, y);
}

}  // namespace octet::kernels::qconv
