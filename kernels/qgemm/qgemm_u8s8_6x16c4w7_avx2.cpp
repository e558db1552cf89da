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

#include <cstring>

#include "kernels/qgemm/epilogue_ymm.h"
#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {
namespace {

constexpr size_t MR = 6, NR = 16;

#define OCTET_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define OCTET_INIT(r) [[maybe_unused]] __m256i c##r##_0 = b0, c##r##_1 = b1;
#define OCTET_DOT(r)                                                                          \
  if constexpr (r < M) {                                                                      \
    const __m256i x = _mm256_set1_epi32(load4(ap + r * astride));                             \
    c##r##_0 = _mm256_add_epi32(c##r##_0, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones)); \
    c##r##_1 = _mm256_add_epi32(c##r##_1, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones)); \
  }
#define OCTET_STORE(r) \
  if constexpr (r < M) store_row(c##r##_0, c##r##_1, r, c, ldc, e);

template <size_t M>
void tile(size_t k, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc, const Epilogue& ep) {
  const auto* bias = static_cast<const int32_t*>(w);
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias));
  const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + 8));
  OCTET_ROWS(OCTET_INIT)
  const auto* wk = reinterpret_cast<const int8_t*>(bias + NR);
  const size_t kfull = k / 4;
  size_t astride = lda;
  for (size_t g = 0; g < kfull; ++g, wk += NR * 4) {
    const uint8_t* ap = a + g * 4;
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 32));
    OCTET_ROWS(OCTET_DOT)
  }
  if (const size_t rem = k % 4) {
    // The last, partial group: copy the `rem` bytes that exist (never read past a row); zero weights pad it.
    uint8_t tail[MR][4] = {};
    for (size_t r = 0; r < M; ++r) std::memcpy(tail[r], a + r * lda + kfull * 4, rem);
    const uint8_t* ap = &tail[0][0];
    astride = 4;
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 32));
    OCTET_ROWS(OCTET_DOT)
  }
  // The epilogue reads a local copy of ep: the u8 stores may alias any object (char type), so with ep itself GCC
  // reloads every field and rebuilds every broadcast constant after each row's store (~40 instructions per
  // 8-lane vector, as many as 3 k-steps); a local whose address does not escape stays in registers.
  const Epilogue e = ep;
  OCTET_ROWS(OCTET_STORE)
}

#undef OCTET_ROWS
#undef OCTET_INIT
#undef OCTET_DOT
#undef OCTET_STORE

}  // namespace

void qgemm_u8s8_6x16c4w7_avx2(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c,
                              size_t ldc, const Epilogue& ep) {
  using Fn = void (*)(size_t, const uint8_t*, size_t, const void*, void*, size_t, const Epilogue&);
  static constexpr Fn kTiles[MR] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};
  kTiles[mr - 1](k, a, lda, w, c, ldc, ep);
}

}  // namespace octet::kernels::qgemm
