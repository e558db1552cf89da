// The 6 x 16 register tile over the c4 packing, shared by the AVX-VNNI kernel and the AVX2 7-bit kernel: they
// differ only in the instruction(s) that add one 4-product group per int32 lane. The including file defines,
// before including this header, in namespace octet::kernels::qgemm's anonymous namespace:
//   inline __m256i dot4(__m256i acc, __m256i x, __m256i w)   // acc + sum over each lane's 4 u8 x s8 products
// Compiled with the including file's ISA flags; the anonymous namespace keeps each copy private to its file.
//
// The accumulators are named variables (macros below), not an array: GCC 12 keeps a large accumulator array in
// memory and spills it on every k-step.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "kernels/qgemm/epilogue_ymm.h"
#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {
namespace {

constexpr size_t kTileMr = 6, kTileNr = 16;

#define OCTET_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define OCTET_INIT(r) [[maybe_unused]] __m256i c##r##_0 = b0, c##r##_1 = b1;
#define OCTET_DOT(r)                                              \
  if constexpr (r < M) {                                          \
    const __m256i x = _mm256_set1_epi32(load4(ap + r * astride)); \
    c##r##_0 = dot4(c##r##_0, x, w0);                             \
    c##r##_1 = dot4(c##r##_1, x, w1);                             \
  }
#define OCTET_STORE(r) \
  if constexpr (r < M) store_row(c##r##_0, c##r##_1, r, c, ldc, e);

// One instantiation per row count (tails m < MR included): rows unroll at compile time. A comes as segments
// t0..t1-1 of kc bytes (segment t of row r at a + tap_off[t] + r * lda; a GEMM is segment 0 alone, at offset 0),
// read in order against the packed depth from t0 * kc on (TapsUkernelFn in qgemm_ukernel.h).
template <size_t M>
void tile_6x16c4(size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc, const uint8_t* a, size_t lda, const void* w,
                 void* c, size_t ldc, const Epilogue& ep) {
  constexpr size_t NR = kTileNr;
  const auto* bias = static_cast<const int32_t*>(w);
  const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias));
  const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + 8));
  OCTET_ROWS(OCTET_INIT)
  const auto* wk = reinterpret_cast<const int8_t*>(bias + NR) + t0 * ((kc + 3) / 4) * NR * 4;
  const size_t kfull = kc / 4, rem = kc % 4;
  for (size_t t = t0; t < t1; ++t) {
    const uint8_t* at = a + tap_off[t];
    size_t astride = lda;
    for (size_t g = 0; g < kfull; ++g, wk += NR * 4) {
      const uint8_t* ap = at + g * 4;
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 32));
      OCTET_ROWS(OCTET_DOT)
    }
    if (rem) {
      // The last, partial group: copy the `rem` bytes that exist (never read past a row); zero weights pad it.
      uint8_t tail[kTileMr][4] = {};
      for (size_t r = 0; r < M; ++r) std::memcpy(tail[r], at + r * lda + kfull * 4, rem);
      const uint8_t* ap = &tail[0][0];
      astride = 4;
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 32));
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

using Tile6x16Fn = void (*)(size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t, const void*, void*,
                            size_t, const Epilogue&);
inline constexpr Tile6x16Fn kTiles6x16[kTileMr] = {tile_6x16c4<1>, tile_6x16c4<2>, tile_6x16c4<3>,
                                                   tile_6x16c4<4>, tile_6x16c4<5>, tile_6x16c4<6>};

/// The micro-kernel entries: mr rows (1..6) through the matching instantiation; the GEMM is one segment.
inline void run_tile_6x16c4(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
                            const Epilogue& ep) {
  static constexpr ptrdiff_t kNoOffset[1] = {0};
  kTiles6x16[mr - 1](0, 1, kNoOffset, k, a, lda, w, c, ldc, ep);
}
inline void run_taps_6x16c4(size_t mr, size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc, const uint8_t* a,
                            size_t lda, const void* w, void* c, size_t ldc, const Epilogue& ep) {
  kTiles6x16[mr - 1](t0, t1, tap_off, kc, a, lda, w, c, ldc, ep);
}

}  // namespace
}  // namespace octet::kernels::qgemm
