// AVX2 tier (no VNNI): 4 rows x 16 columns, exact u8 x s8 products through 16-bit widening and vpmaddwd.
//
// Why not vpmaddubsw: it adds two u8 x s8 products into a *saturating* int16, and 255*127 + 255*127 = 64770
// does not fit (ONNX Runtime loses ~3 points of ResNet-50 top-1 on such CPUs for this reason). Here no 16-bit
// sum ever exists: both operands are widened to s16 and vpmaddwd adds two s16 x s16 products into an int32.
//
// Per group of 4 inputs the broadcast activation dword x = [a0 a1 a2 a3] splits, per 16-bit word, into
//   aE = x & 0x00ff      -> words (a0, a2)      aO = x >> 8 (logical) -> words (a1, a3)
// and the packing (pack_s16 in qgemm.cpp) stores per 8-channel vector E = (w0, w2) and O = (w1, w3) as s16, so
//   madd(aE, E) + madd(aO, O) = a0*w0 + a1*w1 + a2*w2 + a3*w3      (each term |.| <= 255*128: exact in int32)
// Registers: 8 accumulators + 4 weight vectors + mask + activation temporaries = 16 ymm.
//
// The accumulators are named variables (macros below), not an array: GCC 12 keeps a large accumulator array in
// memory and spills it on every k-step.
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "kernels/qgemm/epilogue_ymm.h"
#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {
namespace {

constexpr size_t MR = 4, NR = 16;

#define OCTET_ROWS(X) X(0) X(1) X(2) X(3)
#define OCTET_INIT(r) [[maybe_unused]] __m256i c##r##_0 = b0, c##r##_1 = b1;
#define OCTET_DOT(r)                                              \
  if constexpr (r < M) {                                          \
    const __m256i x = _mm256_set1_epi32(load4(ap + r * astride));                                       \
    const __m256i ae = _mm256_and_si256(x, mask);                                                      \
    const __m256i ao = _mm256_srli_epi16(x, 8);                                                        \
    c##r##_0 = _mm256_add_epi32(c##r##_0, _mm256_add_epi32(_mm256_madd_epi16(ae, w0e), _mm256_madd_epi16(ao, w0o))); \
    c##r##_1 = _mm256_add_epi32(c##r##_1, _mm256_add_epi32(_mm256_madd_epi16(ae, w1e), _mm256_madd_epi16(ao, w1o))); \
  }
#define OCTET_STORE(r) \
  if constexpr (r < M) store_row(c##r##_0, c##r##_1, r, c, ldc, e);

// One instantiation per row count (tails m < MR included): rows unroll at compile time. A comes as segments
// t0..t1-1 of kc bytes (segment t of row r at a + tap_off[t] + r * lda; a GEMM is segment 0 alone, at offset 0),
// read in order against the packed depth from t0 * kc on (TapsUkernelFn in qgemm_ukernel.h).
template <size_t M>
void tile(size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc, const uint8_t* a, size_t lda, const void* w,
          void* c, size_t ldc, const Epilogue& ep) {
  const auto* bias = static_cast<const int32_t*>(w);
  using WType = int16_t;
  const __m256i mask = _mm256_set1_epi16(0x00ff);
  const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias));
  const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + 8));
  OCTET_ROWS(OCTET_INIT)
  const auto* wk = reinterpret_cast<const WType*>(bias + NR) + t0 * ((kc + 3) / 4) * NR * 4;
  const size_t kfull = kc / 4, rem = kc % 4;
  for (size_t t = t0; t < t1; ++t) {
    const uint8_t* at = a + tap_off[t];
    size_t astride = lda;
    for (size_t g = 0; g < kfull; ++g, wk += NR * 4) {
      const uint8_t* ap = at + g * 4;
      const __m256i w0e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk));
      const __m256i w0o = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 16));
      const __m256i w1e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 32));
      const __m256i w1o = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 48));
      OCTET_ROWS(OCTET_DOT)
    }
    if (rem) {
      // The last, partial group: copy the `rem` bytes that exist (never read past a row); zero weights pad it.
      uint8_t tail[MR][4] = {};
      for (size_t r = 0; r < M; ++r) std::memcpy(tail[r], at + r * lda + kfull * 4, rem);
      const uint8_t* ap = &tail[0][0];
      astride = 4;
      const __m256i w0e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk));
      const __m256i w0o = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 16));
      const __m256i w1e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 32));
      const __m256i w1o = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 48));
      OCTET_ROWS(OCTET_DOT)
      wk += NR * 4;
    }
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

using TileFn = void (*)(size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t, const void*, void*, size_t,
                        const Epilogue&);
constexpr TileFn kTiles[MR] = {tile<1>, tile<2>, tile<3>, tile<4>};

}  // namespace

void qgemm_u8s8_4x16c4_avx2(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
    const Epilogue& ep) {
  static constexpr ptrdiff_t kNoOffset[1] = {0};
  kTiles[mr - 1](0, 1, kNoOffset, k, a, lda, w, c, ldc, ep);
}

void qgemm_taps_u8s8_4x16c4_avx2(size_t mr, size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc, const uint8_t* a,
                                 size_t lda, const void* w, void* c, size_t ldc, const Epilogue& ep) {
  kTiles[mr - 1](t0, t1, tap_off, kc, a, lda, w, c, ldc, ep);
}

}  // namespace octet::kernels::qgemm
