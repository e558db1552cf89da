// AVX-VNNI tier (256-bit VEX vpdpbusd, e.g. Alder Lake / Zen 5 without using zmm): 6 rows x 16 columns over the
// c4 packing. Each vpdpbusd multiplies 32 u8 activations (one broadcast dword = 4 inputs, repeated) by 32 s8
// weights (8 channels x 4 inputs) and adds each group of 4 products into one int32 lane: 32 MACs, exact (the
// 4-product sum is formed in full precision; vpdpbusd without "s" does not saturate).
// Registers: 12 accumulators + 2 weight vectors + 1 broadcast = 15 ymm.
#include <immintrin.h>

#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {
namespace {

// One 4-product group per int32 lane, added to acc (the step tile_6x16c4_ymm.h's tile calls).
inline __attribute__((always_inline)) __m256i dot4(__m256i acc, __m256i x, __m256i w) {
  return _mm256_dpbusd_avx_epi32(acc, x, w);
}

}  // namespace
}  // namespace octet::kernels::qgemm

#include "kernels/qgemm/tile_6x16c4_ymm.h"

namespace octet::kernels::qgemm {

void qgemm_u8s8_6x16c4_avxvnni(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
    const Epilogue& ep) {
  run_tile_6x16c4(mr, k, a, lda, w, c, ldc, ep);
}

void qgemm_taps_u8s8_6x16c4_avxvnni(size_t mr, size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc,
                                    const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
                                    const Epilogue& ep) {
  run_taps_6x16c4(mr, t0, t1, tap_off, kc, a, lda, w, c, ldc, ep);
}

}  // namespace octet::kernels::qgemm
