// AVX-VNNI tier (256-bit VEX vpdpbusd, e.g. Alder Lake / Zen 5 without using zmm): 6 rows x 16 columns over the
// c4 packing. Each vpdpbusd multiplies 32 u8 activations (one broadcast dword = 4 inputs, repeated) by 32 s8
// weights (8 channels x 4 inputs) and adds each group of 4 products into one int32 lane: 32 MACs, exact (the
// 4-product sum is formed in full precision; vpdpbusd without "s" does not saturate).
// Registers: 12 accumulators + 2 weight vectors + 1 broadcast = 15 ymm.
//
// The accumulators are named variables (macros below), not an array: GCC 12 keeps a large accumulator array in
// memory and spills it on every k-step.
#include <immintrin.h>

#include <cstring>

#include "kernels/qgemm/epilogue_ymm.h"
#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {
namespace {

constexpr size_t MR = 6, NR = 16;

#define OCTET_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define OCTET_INIT(r) [[maybe_unused]] __m256i c##r##_0 = b0, c##r##_1 = b1;
#define OCTET_DOT(r)                                              \
  if constexpr (r < M) {                                          \
    const __m256i x = _mm256_set1_epi32(load4(ap + r * astride));                                       \
    c##r##_0 = _mm256_dpbusd_avx_epi32(c##r##_0, x, w0);                                               \
    c##r##_1 = _mm256_dpbusd_avx_epi32(c##r##_1, x, w1);                                               \
  }
#define OCTET_STORE(r) \
  if constexpr (r < M) store_row(c##r##_0, c##r##_1, r, c, ldc, ep);

// One instantiation per row count (tails m < MR included): rows unroll at compile time.
template <size_t M>
void tile(size_t k, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc, const Epilogue& ep) {
  const auto* bias = static_cast<const int32_t*>(w);
  using WType = int8_t;
  const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias));
  const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + 8));
  OCTET_ROWS(OCTET_INIT)
  const auto* wk = reinterpret_cast<const WType*>(bias + NR);
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
  OCTET_ROWS(OCTET_STORE)
}

#undef OCTET_ROWS
#undef OCTET_INIT
#undef OCTET_DOT
#undef OCTET_STORE

}  // namespace

void qgemm_u8s8_6x16c4_avxvnni(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
    const Epilogue& ep) {
  using Fn = void (*)(size_t, const uint8_t*, size_t, const void*, void*, size_t, const Epilogue&);
  static constexpr Fn kTiles[MR] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};
  kTiles[mr - 1](k, a, lda, w, c, ldc, ep);
}

}  // namespace octet::kernels::qgemm
