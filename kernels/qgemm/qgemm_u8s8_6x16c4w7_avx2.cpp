// AVX2 tier for weights within 7 bits (|w| <= 64): 6 rows x 16 columns over the c4 packing (the AVX-VNNI
// kernel's layout), vpdpbusd emulated by vpmaddubsw + vpmaddwd.
//
// vpmaddubsw multiplies 32 u8 activations by 32 s8 weights and adds adjacent pairs into 16 SATURATING int16
// lanes. In general that is not exact (255 * 127 * 2 = 64770 > 32767: the trap in INT8-NOTES and the reason the
// general AVX2 kernel widens to s16 instead). But when every weight of the layer satisfies |w| <= 64, a pair is
// at most 255 * 64 * 2 = 32640 <= 32767 and at least -32640 >= -32768: no lane can saturate, and the int16 pair
// sum is exact. vpmaddwd with a vector of ones then adds adjacent int16 pairs into int32 (exact), giving the
// same 4-product group sums vpdpbusd would, and vpaddd accumulates them. 32 MACs in 3 instructions instead of
// the widening kernel's 4 per 32, and half its weight bytes (s8, not s16).
// The engine picks this kernel only for layers whose weights all fit (qgemm_kernel(limit, max_abs_weight)):
// models quantized with 7-bit weights (`octet quantize --weight-bits 7`, ONNX Runtime's reduce_range), whatever
// produced them. A layer with one weight of magnitude 65..128 takes the general exact kernel.
//
// Registers: 12 accumulators + 2 weight vectors + 1 broadcast + 1 product = 16 ymm; the ones vector is a memory
// operand of vpmaddwd (GCC keeps it in L1 as a constant).
#include <immintrin.h>

#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {
namespace {

// One 4-product group per int32 lane, added to acc (the step tile_6x16c4_ymm.h's tile calls).
inline __attribute__((always_inline)) __m256i dot4(__m256i acc, __m256i x, __m256i w) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), _mm256_set1_epi16(1)));
}

}  // namespace
}  // namespace octet::kernels::qgemm

#include "kernels/qgemm/tile_6x16c4_ymm.h"

namespace octet::kernels::qgemm {

void qgemm_u8s8_6x16c4w7_avx2(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
    const Epilogue& ep) {
  run_tile_6x16c4(mr, k, a, lda, w, c, ldc, ep);
}

void qgemm_taps_u8s8_6x16c4w7_avx2(size_t mr, size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc,
                                   const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
                                   const Epilogue& ep) {
  run_taps_6x16c4(mr, t0, t1, tap_off, kc, a, lda, w, c, ldc, ep);
}

}  // namespace octet::kernels::qgemm
