// The 512-bit (zmm) epilogue shared by the AVX-512 and AVX-512 VNNI micro-kernels: requantize one 16-lane int32
// vector and store one 32-column row in the requested output kind. Included by each ISA file, so it is compiled
// with that file's flags; the anonymous namespace keeps each copy private to its file (no cross-ISA symbol
// merging). The arithmetic is qgemm.h's: clamp in float, round half to even, add the zero point.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {
namespace {

inline int32_t load4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// t of qgemm.h's u8 epilogue before the clamps: acc * scale, plus the residual's term when res is set.
[[gnu::always_inline]] inline __m512 scaled(__m512i acc, const float* scale, const uint8_t* res, const Epilogue& ep) {
  __m512 t = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(scale));
  if (res) {
    const __m512i r = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(res))),
                                       _mm512_set1_epi32(ep.residual_zero_point));
    if (ep.add_scale > 0.f) {
      // Two-stage: the conv's own u8 value (minus z_1), then the add's two products and one sum (qgemm.h).
      __m512 v = _mm512_max_ps(t, _mm512_set1_ps(float(-ep.mid_zero_point)));
      v = _mm512_min_ps(v, _mm512_set1_ps(float(255 - ep.mid_zero_point)));
      v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      t = _mm512_add_ps(_mm512_mul_ps(v, _mm512_set1_ps(ep.add_scale)),
                        _mm512_mul_ps(_mm512_cvtepi32_ps(r), _mm512_set1_ps(ep.residual_scale)));
    } else {
      t = _mm512_fmadd_ps(_mm512_cvtepi32_ps(r), _mm512_set1_ps(ep.residual_scale), t);
    }
  }
  return t;
}

[[gnu::always_inline]] inline __m512i requant(__m512i acc, const float* scale, const uint8_t* res, const Epilogue& ep) {
  __m512 t = scaled(acc, scale, res, ep);
  t = _mm512_max_ps(t, _mm512_set1_ps(float(ep.lo - ep.zero_point)));
  t = _mm512_min_ps(t, _mm512_set1_ps(float(ep.hi - ep.zero_point)));
  return _mm512_add_epi32(_mm512_cvtps_epi32(t), _mm512_set1_epi32(ep.zero_point));
}

// Epilogue of one row of 32 columns (see qgemm.h for the exact arithmetic).
[[gnu::always_inline]] inline void store_row(__m512i v0, __m512i v1, size_t r, void* c, size_t ldc,
                                             const Epilogue& ep) {
  if (ep.kind == OutKind::s32) {
    auto* cr = static_cast<int32_t*>(c) + r * ldc;
    _mm512_storeu_si512(cr, v0);
    _mm512_storeu_si512(cr + 16, v1);
  } else if (ep.kind == OutKind::f32) {
    auto* cr = static_cast<float*>(c) + r * ldc;
    _mm512_storeu_ps(cr, _mm512_mul_ps(_mm512_cvtepi32_ps(v0), _mm512_loadu_ps(ep.scale)));
    _mm512_storeu_ps(cr + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(v1), _mm512_loadu_ps(ep.scale + 16)));
  } else {
    const uint8_t* res = ep.residual ? ep.residual + r * ep.ld_residual : nullptr;
    const __m512i q0 = requant(v0, ep.scale, res, ep);
    const __m512i q1 = requant(v1, ep.scale + 16, res ? res + 16 : nullptr, ep);
    // Values are already in [lo, hi] within [0, 255]: the saturating narrow (vpmovusdb) just truncates.
    auto* cr = static_cast<uint8_t*>(c) + r * ldc;
    _mm512_mask_cvtusepi32_storeu_epi8(cr, __mmask16(0xffff), q0);
    _mm512_mask_cvtusepi32_storeu_epi8(cr + 16, __mmask16(0xffff), q1);
  }
}

// u8 output, two rows (four vectors) at once, bit-identical to store_row's requant():
// round(min(t, 2^20)) (the min only keeps cvtps away from its 0x80000000 overflow value; anything that large
// saturates to 255 below anyway), then the clamps as saturating packs: s32 -> s16 (vpackssdw), + z_y (vpaddsw),
// s16 -> u8 (vpackuswb), then [lo, hi] on bytes. Each step clamps to a range that contains the next one's, and
// lo - z_y, hi - z_y are integers, so this equals clamp(round(t) + z_y, lo, hi) = requant(). The packs work per
// 128-bit lane, so dword 4l + s of the packed vector holds columns 4l..4l+3 of source vector s (s = row r
// cols 0-15, row r cols 16-31, row r+1 cols 0-15, row r+1 cols 16-31); one vpermd puts each row's 32 bytes in
// order. About 6 instructions per 16 outputs instead of 9 (the K = 64 1x1 convs spend a third of a tile here);
// with a residual the float part is the same as requant()'s, and the packs also replace vpmovusdb stores (slow
// on Zen 4/5) - the residual-fused 1x1 convs of ResNet-50's bottlenecks.
// Guard = false (Epilogue::small_scale, no residual): |acc * scale| < 2^31 * 0.5 cannot overflow, and values
// past 2^20 saturate to the same 255 below - the min is left out (a tenth of a K = 64 tile's epilogue).
// Plain (z_y = 0, lo = 0, hi = 255): the zero-point add and the byte clamps are no-ops (vpackuswb already
// saturates to [0, 255]) and are left out: 4 of 23 instructions per row pair, K = 64 tile 1.5% faster.
template <bool Guard = true>
[[gnu::always_inline]] inline __m512i round_scaled(__m512i acc, const float* scale, const uint8_t* res,
                                                   const Epilogue& ep) {
  if constexpr (!Guard) return _mm512_cvtps_epi32(scaled(acc, scale, nullptr, ep));
  return _mm512_cvtps_epi32(_mm512_min_ps(scaled(acc, scale, res, ep), _mm512_set1_ps(1048576.f)));
}

// always_inline: an out-of-line call here (GCC 12 chose one for the 7 calls of the 14-row tile) makes every
// other live accumulator a spill, since the ABI has no callee-saved vector registers.
template <bool TwoRows, bool Guard = true, bool Plain = false>
[[gnu::always_inline]] inline void store_u8_rows(__m512i r0a, __m512i r0b, __m512i r1a, __m512i r1b, size_t r, void* c,
                                                 size_t ldc, const Epilogue& ep) {
  const __m512i zp = _mm512_set1_epi16(int16_t(ep.zero_point));
  const uint8_t* res0 = ep.residual ? ep.residual + r * ep.ld_residual : nullptr;
  const uint8_t* res0b = res0 ? res0 + 16 : nullptr;
  __m512i top = _mm512_packs_epi32(round_scaled<Guard>(r0a, ep.scale, res0, ep),
                                   round_scaled<Guard>(r0b, ep.scale + 16, res0b, ep));
  if constexpr (!Plain) top = _mm512_adds_epi16(top, zp);
  __m512i bottom = top;
  if constexpr (TwoRows) {
    const uint8_t* res1 = res0 ? res0 + ep.ld_residual : nullptr;
    bottom = _mm512_packs_epi32(round_scaled<Guard>(r1a, ep.scale, res1, ep),
                                round_scaled<Guard>(r1b, ep.scale + 16, res1 ? res1 + 16 : nullptr, ep));
    if constexpr (!Plain) bottom = _mm512_adds_epi16(bottom, zp);
  }
  __m512i b = _mm512_packus_epi16(top, bottom);
  if constexpr (!Plain)
    b = _mm512_min_epu8(_mm512_max_epu8(b, _mm512_set1_epi8(char(ep.lo))), _mm512_set1_epi8(char(ep.hi)));
  b = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
  auto* cr = static_cast<uint8_t*>(c) + r * ldc;
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(cr), _mm512_castsi512_si256(b));
  if constexpr (TwoRows) _mm256_storeu_si256(reinterpret_cast<__m256i*>(cr + ldc), _mm512_extracti64x4_epi64(b, 1));
}

}  // namespace
}  // namespace octet::kernels::qgemm
