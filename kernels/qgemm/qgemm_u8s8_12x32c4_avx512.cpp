// AVX-512 tier without VNNI (Skylake-SP/Cascade Lake without DL Boost): 12 rows x 32 columns, exact through 16-bit
// widening and vpmaddwd, the zmm twin of qgemm_u8s8_4x16c4_avx2.cpp (see there for why not vpmaddubsw and the
// derivation). Packing: pack_s16<32, 16> - per k-step, per 16-channel vector, E = (w0, w2) and O = (w1, w3) s16.
//   aE = x & 0x00ff = (a0, a2), aO = x >> 8 = (a1, a3);  madd(aE, E) + madd(aO, O) = sum of the 4 products.
// Registers: 24 accumulators + 4 weight vectors + mask + 2 activation temporaries = 31 zmm.
//
// The accumulators are named variables (macros below), not an array: GCC 12 keeps a large accumulator array in
// memory and spills it on every k-step.
// GCC 12 warns that the _mm512_undefined_*() placeholders inside AVX-512 intrinsics "may be used
// uninitialized" (GCC PR 105593, fixed in GCC 13): a false positive that -Werror would turn into a build failure.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "kernels/qgemm/epilogue_zmm.h"
#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {
namespace {

constexpr size_t MR = 12, NR = 32;

#define OCTET_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define OCTET_INIT(r) [[maybe_unused]] __m512i c##r##_0 = b0, c##r##_1 = b1;
#define OCTET_DOT(r)                                              \
  if constexpr (r < M) {                                          \
    const __m512i x = _mm512_set1_epi32(load4(ap + r * astride));                                       \
    const __m512i ae = _mm512_and_si512(x, mask);                                                      \
    const __m512i ao = _mm512_srli_epi16(x, 8);                                                        \
    c##r##_0 = _mm512_add_epi32(c##r##_0, _mm512_add_epi32(_mm512_madd_epi16(ae, w0e), _mm512_madd_epi16(ao, w0o))); \
    c##r##_1 = _mm512_add_epi32(c##r##_1, _mm512_add_epi32(_mm512_madd_epi16(ae, w1e), _mm512_madd_epi16(ao, w1o))); \
  }
#define OCTET_STORE(r) \
  if constexpr (r < M) store_row(c##r##_0, c##r##_1, r, c, ldc, e);
#define OCTET_PAIRS(X) X(0, 1) X(2, 3) X(4, 5) X(6, 7) X(8, 9) X(10, 11)
#define OCTET_STORE_PAIR(r, s)                                                        \
  if constexpr (s < M)                                                                \
    store_u8_rows<true>(c##r##_0, c##r##_1, c##s##_0, c##s##_1, r, c, ldc, e);        \
  else if constexpr (r < M)                                                           \
    store_u8_rows<false>(c##r##_0, c##r##_1, c##r##_0, c##r##_1, r, c, ldc, e);

// One instantiation per row count (tails m < MR included): rows unroll at compile time. A comes as segments
// t0..t1-1 of kc bytes (segment t of row r at a + tap_off[t] + r * lda; a GEMM is segment 0 alone, at offset 0),
// read in order against the packed depth from t0 * kc on (TapsUkernelFn in qgemm_ukernel.h).
template <size_t M>
void tile(size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc, const uint8_t* a, size_t lda, const void* w,
          void* c, size_t ldc, const Epilogue& ep) {
  const auto* bias = static_cast<const int32_t*>(w);
  using WType = int16_t;
  const __m512i mask = _mm512_set1_epi16(0x00ff);
  const __m512i b0 = _mm512_loadu_si512(bias);
  const __m512i b1 = _mm512_loadu_si512(bias + 16);
  OCTET_ROWS(OCTET_INIT)
  const auto* wk = reinterpret_cast<const WType*>(bias + NR) + t0 * ((kc + 3) / 4) * NR * 4;
  const size_t kfull = kc / 4, rem = kc % 4;
  for (size_t t = t0; t < t1; ++t) {
    const uint8_t* at = a + tap_off[t];
    size_t astride = lda;
    for (size_t g = 0; g < kfull; ++g, wk += NR * 4) {
      const uint8_t* ap = at + g * 4;
      const __m512i w0e = _mm512_loadu_si512(wk);
      const __m512i w0o = _mm512_loadu_si512(wk + 32);
      const __m512i w1e = _mm512_loadu_si512(wk + 64);
      const __m512i w1o = _mm512_loadu_si512(wk + 96);
      OCTET_ROWS(OCTET_DOT)
    }
    if (rem) {
      // The last, partial group: copy the `rem` bytes that exist (never read past a row); zero weights pad it.
      uint8_t tail[MR][4] = {};
      for (size_t r = 0; r < M; ++r) std::memcpy(tail[r], at + r * lda + kfull * 4, rem);
      const uint8_t* ap = &tail[0][0];
      astride = 4;
      const __m512i w0e = _mm512_loadu_si512(wk);
      const __m512i w0o = _mm512_loadu_si512(wk + 32);
      const __m512i w1e = _mm512_loadu_si512(wk + 64);
      const __m512i w1o = _mm512_loadu_si512(wk + 96);
      OCTET_ROWS(OCTET_DOT)
      wk += NR * 4;
    }
  }
  // The epilogue reads a local copy of ep: the u8 stores may alias any object (char type), so with ep itself GCC
  // reloads every field and rebuilds every broadcast constant after each store.
  const Epilogue e = ep;
  if (e.kind == OutKind::u8) {
    OCTET_PAIRS(OCTET_STORE_PAIR)
  } else {
    OCTET_ROWS(OCTET_STORE)
  }
}

#undef OCTET_ROWS
#undef OCTET_INIT
#undef OCTET_DOT
#undef OCTET_STORE
#undef OCTET_PAIRS
#undef OCTET_STORE_PAIR

using TileFn = void (*)(size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t, const void*, void*, size_t,
                        const Epilogue&);
constexpr TileFn kTiles[MR] = {tile<1>, tile<2>, tile<3>, tile<4>,  tile<5>,  tile<6>,
                               tile<7>, tile<8>, tile<9>, tile<10>, tile<11>, tile<12>};

}  // namespace

void qgemm_u8s8_12x32c4_avx512(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
    const Epilogue& ep) {
  static constexpr ptrdiff_t kNoOffset[1] = {0};
  kTiles[mr - 1](0, 1, kNoOffset, k, a, lda, w, c, ldc, ep);
}

void qgemm_taps_u8s8_12x32c4_avx512(size_t mr, size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc,
                                    const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
                                    const Epilogue& ep) {
  kTiles[mr - 1](t0, t1, tap_off, kc, a, lda, w, c, ldc, ep);
}

}  // namespace octet::kernels::qgemm
