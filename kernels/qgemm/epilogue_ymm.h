// The 256-bit (ymm) epilogue shared by the AVX2 and AVX-VNNI micro-kernels: requantize one 8-lane int32 vector and
// store one 16-column row in the requested output kind. Included by each ISA file, so it is compiled with that
// file's flags; the anonymous namespace keeps each copy private to its file (no cross-ISA symbol merging).
// The arithmetic is qgemm.h's (see docs/int8-kernels.md): clamp in float, round half to even, add the zero point.
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

inline __m256i requant(__m256i acc, const float* scale, const uint8_t* res, const Epilogue& ep) {
  __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(scale));
  if (res) {
    const __m256i r = _mm256_sub_epi32(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(res))),
        _mm256_set1_epi32(ep.residual_zero_point));
    if (ep.add_scale > 0.f) {
      // Two-stage: the conv's own u8 value (minus z_1), then the add's two products and one sum (qgemm.h).
      __m256 v = _mm256_max_ps(t, _mm256_set1_ps(float(-ep.mid_zero_point)));
      v = _mm256_min_ps(v, _mm256_set1_ps(float(255 - ep.mid_zero_point)));
      v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      t = _mm256_add_ps(_mm256_mul_ps(v, _mm256_set1_ps(ep.add_scale)),
                        _mm256_mul_ps(_mm256_cvtepi32_ps(r), _mm256_set1_ps(ep.residual_scale)));
    } else {
      t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(r), _mm256_set1_ps(ep.residual_scale), t);
    }
  }
  t = _mm256_max_ps(t, _mm256_set1_ps(float(ep.lo - ep.zero_point)));
  t = _mm256_min_ps(t, _mm256_set1_ps(float(ep.hi - ep.zero_point)));
  return _mm256_add_epi32(_mm256_cvtps_epi32(t), _mm256_set1_epi32(ep.zero_point));
}

// Epilogue of one row of 16 columns (see qgemm.h for the exact arithmetic).
inline void store_row(__m256i v0, __m256i v1, size_t r, void* c, size_t ldc, const Epilogue& ep) {
  if (ep.kind == OutKind::s32) {
    auto* cr = static_cast<int32_t*>(c) + r * ldc;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(cr), v0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(cr + 8), v1);
  } else if (ep.kind == OutKind::f32) {
    auto* cr = static_cast<float*>(c) + r * ldc;
    _mm256_storeu_ps(cr, _mm256_mul_ps(_mm256_cvtepi32_ps(v0), _mm256_loadu_ps(ep.scale)));
    _mm256_storeu_ps(cr + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(v1), _mm256_loadu_ps(ep.scale + 8)));
  } else {
    const uint8_t* res = ep.residual ? ep.residual + r * ep.ld_residual : nullptr;
    const __m256i q0 = requant(v0, ep.scale, res, ep);
    const __m256i q1 = requant(v1, ep.scale + 8, res ? res + 8 : nullptr, ep);
    // int32 in [0, 255] -> bytes: packs works within 128-bit lanes, so restore the order with one permute.
    const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);
    const __m128i p8 = _mm_packus_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint8_t*>(c) + r * ldc), p8);
  }
}

}  // namespace
}  // namespace octet::kernels::qgemm
