// AVX-512 VNNI tier (the product's target, Zen 4/5, Ice Lake+): 14 rows x 32 columns over the c4 packing
// ([oc/32][k/4][2][16][4]: per k-step two zmm of 16 channels x 4 inputs).
// vpdpbusd zmm: 64 u8 x s8 products, each group of 4 summed into one int32 lane, no saturation: 64 MACs.
// The 4 activation bytes of a row come as an EVEX embedded broadcast ({1to16} memory operand) so they cost no
// register. Registers: 28 accumulators + 2 weight vectors of 32 zmm. 28 independent chains cover the vpdpbusd
// latency (several cycles at 2 per cycle) with margin. MR = 14 also divides ResNet-50's M = 3136, 784, 196
// exactly (and 49 = 3*14 + 7).
//
// The accumulators are named variables (macros below), not an array: GCC 12 keeps a 28-zmm array in memory and
// spills every accumulator on every k-step.
// GCC 12 warns that the _mm512_undefined_*() placeholders inside AVX-512 intrinsics "may be used
// uninitialized" (or, for _mm512_extracti64x4_epi64, "is used uninitialized"; GCC PR 105593, fixed in GCC 13):
// a false positive that -Werror would turn into a build failure.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernels/qgemm/epilogue_zmm.h"
#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {
namespace {

constexpr size_t MR = 14, NR = 32;
// Weights are prefetched this many bytes ahead of the k-step reading them (32 k-steps, ~450 cycles: about one
// DRAM latency). A deep layer's first tile per panel streams its weights from memory at 128 bytes per 14 cycles,
// more than the hardware prefetcher keeps up with; ResNet-50 INT8, interleaved runs: 1 thread 13.6 -> 12.7 ms,
// 2 threads 7.7 -> 7.4 (medians of 5; layer 4's 3x3 convs, 2.4 MB of weights each, 0.35 -> 0.32 ms). Prefetches
// past the end of the packed buffer are harmless (they never fault).
constexpr size_t kPrefetchBytes = 4096;

#define OCTET_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define OCTET_INIT(r) [[maybe_unused]] __m512i c##r##_0 = b0, c##r##_1 = b1;
// Row r takes part when it lies in [kLo, kHi) of the enclosing scope (all rows but at an edge, see tile());
// a Half tile has no second vector.
#define OCTET_DOT(r)                                                  \
  if constexpr (r >= kLo && r < kHi) {                                \
    const __m512i x = _mm512_set1_epi32(load4(ap + r * astride));     \
    c##r##_0 = _mm512_dpbusd_epi32(c##r##_0, x, w0);                  \
    if constexpr (!Half) c##r##_1 = _mm512_dpbusd_epi32(c##r##_1, x, w1); \
  }
#define OCTET_STORE(r) \
  if constexpr (r < M) store_row(c##r##_0, c##r##_1, r, c, ldc, e);
#define OCTET_PAIRS(X) X(0, 1) X(2, 3) X(4, 5) X(6, 7) X(8, 9) X(10, 11) X(12, 13)
// Two u8 rows per call; kGuard / kPlain come from the enclosing scope (store_u8_rows' Guard / Plain).
#define OCTET_STORE_PAIR(r, s)                                                                      \
  if constexpr (s < M)                                                                              \
    store_u8_rows<true, kGuard, kPlain>(c##r##_0, c##r##_1, c##s##_0, c##s##_1, r, c, ldc, e);      \
  else if constexpr (r < M)                                                                         \
    store_u8_rows<false, kGuard, kPlain>(c##r##_0, c##r##_1, c##r##_0, c##r##_1, r, c, ldc, e);

// u8 rows r..r+3 of 16 columns (Rows of them valid, 1-4): the packs of store_u8_rows, four rows to a vector.
template <size_t Rows>
[[gnu::always_inline]] inline void store_u8_quad(__m512i v0, __m512i v1, __m512i v2, __m512i v3, size_t r, void* c,
                                                 size_t ldc, const Epilogue& ep) {
  const uint8_t* res = ep.residual ? ep.residual + r * ep.ld_residual : nullptr;
  // Rows past Rows hold no data: their residual is never read (it may end with the tensor).
  auto rs = [&](size_t i) { return res && i < Rows ? res + i * ep.ld_residual : nullptr; };
  const __m512i zp = _mm512_set1_epi16(int16_t(ep.zero_point));
  const __m512i top = _mm512_adds_epi16(
      _mm512_packs_epi32(round_scaled(v0, ep.scale, rs(0), ep), round_scaled(v1, ep.scale, rs(1), ep)), zp);
  const __m512i bottom = _mm512_adds_epi16(
      _mm512_packs_epi32(round_scaled(v2, ep.scale, rs(2), ep), round_scaled(v3, ep.scale, rs(3), ep)), zp);
  __m512i b = _mm512_packus_epi16(top, bottom);
  b = _mm512_min_epu8(_mm512_max_epu8(b, _mm512_set1_epi8(char(ep.lo))), _mm512_set1_epi8(char(ep.hi)));
  // Dword 4l + s holds columns 4l..4l+3 of row s: gather each row's four dwords.
  b = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
  auto* cr = static_cast<uint8_t*>(c) + r * ldc;
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cr), _mm512_castsi512_si128(b));
  if constexpr (Rows > 1) _mm_storeu_si128(reinterpret_cast<__m128i*>(cr + ldc), _mm512_extracti32x4_epi32(b, 1));
  if constexpr (Rows > 2)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(cr + 2 * ldc), _mm512_extracti32x4_epi32(b, 2));
  if constexpr (Rows > 3)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(cr + 3 * ldc), _mm512_extracti32x4_epi32(b, 3));
}

// Half tiles: u8 rows in fours (store_u8_quad), s32 / f32 rows of one vector.
#define OCTET_HQUAD(r0, r1, r2, r3)                                                                 \
  if constexpr (r0 < M)                                                                             \
    store_u8_quad<(M - r0 < 4 ? M - r0 : 4)>(c##r0##_0, c##r1##_0, c##r2##_0, c##r3##_0, r0, c, ldc, e);
#define OCTET_HSTORE(r)                                                                      \
  if constexpr (r < M) {                                                                     \
    if (e.kind == OutKind::s32) {                                                            \
      _mm512_storeu_si512(static_cast<int32_t*>(c) + r * ldc, c##r##_0);                     \
    } else {                                                                                 \
      const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(c##r##_0), _mm512_loadu_ps(e.scale)); \
      _mm512_storeu_ps(static_cast<float*>(c) + r * ldc, f);                                 \
    }                                                                                        \
  }

// One k-step of rows [kLo, kHi): weights for the next steps prefetched, this step's two vectors loaded (one
// for a Half tile), one broadcast and two vpdpbusd per row.
#define OCTET_STEP(AP)                                                                                   \
  {                                                                                                      \
    const uint8_t* ap = (AP);                                                                            \
    _mm_prefetch(reinterpret_cast<const char*>(wk) + kPrefetchBytes, _MM_HINT_T0);                       \
    if constexpr (!Half) _mm_prefetch(reinterpret_cast<const char*>(wk) + kPrefetchBytes + 64, _MM_HINT_T0); \
    const __m512i w0 = _mm512_loadu_si512(wk);                                                           \
    [[maybe_unused]] const __m512i w1 = Half ? w0 : _mm512_loadu_si512(wk + 64);                         \
    OCTET_ROWS(OCTET_DOT)                                                                                \
  }

// The last, partial k-group of rows [kLo, kHi) (kHi rows copied): the `rem` bytes that exist (never read past a
// row), zero weights pad it.
#define OCTET_TAIL_STEP                                                                        \
  {                                                                                            \
    uint8_t tail[kHi][4] = {};                                                                 \
    for (size_t r = 0; r < kHi; ++r) std::memcpy(tail[r], at + r * lda + kfull * 4, rem);      \
    const uint8_t* ap = &tail[0][0];                                                           \
    const size_t astride = 4;                                                                  \
    const __m512i w0 = _mm512_loadu_si512(wk);                                                 \
    [[maybe_unused]] const __m512i w1 = Half ? w0 : _mm512_loadu_si512(wk + 64);               \
    OCTET_ROWS(OCTET_DOT)                                                                      \
    wk += NR * 4;                                                                              \
  }

// One instantiation per row count (tails m < MR included): rows unroll at compile time. A comes as segments
// t0..t1-1 of kc bytes each (segment t of row r at a + tap_off[t] + r * lda), consumed in order against the
// packed panel's depth from t0 * kc on: a plain GEMM is segment 0 alone, at offset 0; an implicit convolution
// passes one segment per kernel row, without those wholly in the vertical padding (qgemm.h, qgemm_taps).
// Lead / Trail (the edges of a convolution line over its horizontal padding, z_a = 0): row 0 skips the first
// `edge` k-groups of every segment (its first kernel column), row M - 1 the last `edge` (kc % 4 == 0 then).
// Half: the first 16 columns of the panel only - a last panel of n % 32 == 16 columns (MobileNetV2's 16- and
// 144-channel 1x1 convs), computed and stored in place: the full tile would do twice the work on zero weights
// and go through the driver's padded copy. One vector per row; each k-step's second 64 bytes (the zero
// columns) are stepped over.
template <size_t M, bool Lead = false, bool Trail = false, bool Half = false>
void tile(size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc, const uint8_t* a, size_t lda, const void* w,
          void* c, size_t ldc, const Epilogue& ep, size_t edge = 0) {
  const auto* bias = static_cast<const int32_t*>(w);
  const __m512i b0 = _mm512_loadu_si512(bias);
  const __m512i b1 = _mm512_loadu_si512(bias + 16);
  OCTET_ROWS(OCTET_INIT)
  const int8_t* wk = reinterpret_cast<const int8_t*>(bias + NR) + t0 * ((kc + 3) / 4) * NR * 4;
  const size_t kfull = kc / 4, rem = kc % 4;
  for (size_t t = t0; t < t1; ++t) {
    const uint8_t* at = a + tap_off[t];
    const size_t astride = lda;
    size_t g = 0;
    if constexpr (Lead) {
      constexpr size_t kLo = 1, kHi = M;
      for (; g < edge; ++g, wk += NR * 4) OCTET_STEP(at + g * 4)
    }
    {
      constexpr size_t kLo = 0, kHi = M;
      const size_t end = Trail ? kfull - edge : kfull;
      for (; g < end; ++g, wk += NR * 4) OCTET_STEP(at + g * 4)
    }
    if constexpr (Trail) {
      constexpr size_t kLo = 0, kHi = M - 1;
      for (; g < kfull; ++g, wk += NR * 4) OCTET_STEP(at + g * 4)
    }
    if (rem) {
      constexpr size_t kLo = 0, kHi = M;
      OCTET_TAIL_STEP
    }
  }
  // The epilogue reads a local copy of ep: the u8 stores may alias any object (char type), so with ep itself GCC
  // reloads every field and rebuilds every broadcast constant after each store; a local whose address does not
  // escape stays in registers.
  const Epilogue e = ep;
  if constexpr (Half) {
    if (e.kind == OutKind::u8) {
      OCTET_HQUAD(0, 1, 2, 3) OCTET_HQUAD(4, 5, 6, 7) OCTET_HQUAD(8, 9, 10, 11) OCTET_HQUAD(12, 13, 13, 13)
    } else {
      OCTET_ROWS(OCTET_HSTORE)
    }
  } else if (e.kind == OutKind::u8 && e.small_scale && !e.residual && e.zero_point == 0 && e.lo == 0 &&
             e.hi == 255) {
    // z_y = 0 and no clamp inside [0, 255]: a ReLU output calibrated to [0, max].
    constexpr bool kGuard = false, kPlain = true;
    OCTET_PAIRS(OCTET_STORE_PAIR)
  } else if (e.kind == OutKind::u8 && e.small_scale && !e.residual) {
    constexpr bool kGuard = false, kPlain = false;
    OCTET_PAIRS(OCTET_STORE_PAIR)
  } else if (e.kind == OutKind::u8) {
    constexpr bool kGuard = true, kPlain = false;
    OCTET_PAIRS(OCTET_STORE_PAIR)
  } else {
    OCTET_ROWS(OCTET_STORE)
  }
}

using TileFn = void (*)(size_t, size_t, const ptrdiff_t*, size_t, const uint8_t*, size_t, const void*, void*, size_t,
                        const Epilogue&, size_t);
constexpr TileFn kTiles[MR] = {tile<1>, tile<2>, tile<3>,  tile<4>,  tile<5>,  tile<6>,  tile<7>,
                               tile<8>, tile<9>, tile<10>, tile<11>, tile<12>, tile<13>, tile<14>};
// The edge variants (lead, trail, both) for the row counts a convolution line takes: whole tiles and the half
// tile of a 7-pixel line. Other counts compute the edge products (exact: they multiply z_a = 0 padding).
constexpr TileFn kEdgeTiles[2][3] = {{tile<7, true, false>, tile<7, false, true>, tile<7, true, true>},
                                     {tile<14, true, false>, tile<14, false, true>, tile<14, true, true>}};

// --- The software-pipelined strip (QGemmKernel::strip_ukernel) ----------------------------------------------
//
// A whole column of tiles of one panel (a plain GEMM's rows [0, m)), u8 output (the driver runs s32 / f32 tile by
// tile). A lone
// tile runs its ~160 epilogue instructions after its last vpdpbusd, and they do not overlap the next tile's dot
// products (measured: a K = 64 tile spends ~20% of its time there, where the pipes' share would be ~11%). Here
// tile i stores its raw int32 sums to an L1 buffer, and tile i + 1 requantizes them one row pair per k-step
// during its first SR / 2 k-steps, each pair ahead of that step's vpdpbusd in program order: the two streams
// share the cycles instead of taking turns. SR = 12 rows: 24 accumulators + 2 weight vectors + the broadcast
// leave 5 registers for the epilogue's temporaries (14 rows leave one). The last tile's sums are requantized
// after the loop; rows past the last whole SR go through the plain 14-row tile.
// Measured against 14-row tiles (one process, interleaved, min of 100; weights in cache): ResNet-50's 1x1 convs
// K = 64 1.13x faster, K = 128 1.07x, K = 256 1.035x; with a fused residual 1.08x / 1.07x / 1.04x. The pair
// after the step's dot products instead: K = 64 1.07x; the pairs spread over all k-steps (an inner loop): 0.94x
// (GCC then spills accumulators).
constexpr size_t SR = 12;

// Requantize rows 2q, 2q + 1 of the previous strip tile from its int32 sums (buf: SR rows x NR) into out.
template <bool Guard, bool Plain>
[[gnu::always_inline]] inline void pending_pair(const int32_t* buf, size_t q, uint8_t* out, size_t ldc,
                                                const Epilogue& e) {
  const int32_t* p = buf + q * 2 * NR;
  store_u8_rows<true, Guard, Plain>(_mm512_load_si512(p), _mm512_load_si512(p + 16), _mm512_load_si512(p + NR),
                                    _mm512_load_si512(p + NR + 16), 2 * q, out, ldc, e);
}

#define OCTET_SPILL(r)                               \
  if constexpr (r < SR) {                            \
    _mm512_store_si512(buf + r * NR, c##r##_0);      \
    _mm512_store_si512(buf + r * NR + 16, c##r##_1); \
  }

template <bool Guard, bool Plain>
void strip(size_t m, size_t k, const uint8_t* a, size_t lda, const void* w, uint8_t* c, size_t ldc,
           const Epilogue& ep) {
  const Epilogue e = ep;  // a local copy, as in tile()
  const auto* bias = static_cast<const int32_t*>(w);
  const int8_t* w_first = reinterpret_cast<const int8_t*>(bias + NR);
  const size_t kfull = k / 4, rem = k % 4, lead = std::min(kfull, SR / 2);
  alignas(64) int32_t buf[SR * NR];
  uint8_t* pending = nullptr;  // the previous tile's output rows, whose sums are in buf
  Epilogue pe = e;             // and its epilogue (the residual from that tile's first row on)
  constexpr size_t kLo = 0, kHi = SR;
  constexpr bool Half = false;
  // The rows left after the strip tiles go through tile(): 1-4 of them would leave a tile of 2-8 dependency
  // chains (short of the vpdpbusd latency), so then the last strip tile joins them: SR + r rows as one 13- or
  // 14-row tile, or two of 7-8.
  const size_t left = m % SR, strip_end = m - (left > 0 && left < 5 && m > SR ? SR + left : left);
  size_t i = 0;
  for (; i < strip_end; i += SR) {
    const __m512i b0 = _mm512_loadu_si512(bias);
    const __m512i b1 = _mm512_loadu_si512(bias + 16);
    OCTET_ROWS(OCTET_INIT)
    const int8_t* wk = w_first;
    const uint8_t* at = a + i * lda;
    const size_t astride = lda;
    size_t g = 0;
    if (pending) {
      for (; g < lead; ++g, wk += NR * 4) {
        pending_pair<Guard, Plain>(buf, g, pending, ldc, pe);
        OCTET_STEP(at + g * 4)
      }
      for (size_t q = lead; q < SR / 2; ++q) pending_pair<Guard, Plain>(buf, q, pending, ldc, pe);
    }
    for (; g < kfull; ++g, wk += NR * 4) OCTET_STEP(at + g * 4)
    if (rem) OCTET_TAIL_STEP
    OCTET_ROWS(OCTET_SPILL)
    pending = c + i * ldc;
    if (e.residual) pe.residual = e.residual + i * e.ld_residual;
  }
  if (pending)
    for (size_t q = 0; q < SR / 2; ++q) pending_pair<Guard, Plain>(buf, q, pending, ldc, pe);
  static constexpr ptrdiff_t kNoOffset[1] = {0};
  while (i < m) {
    const size_t rows = m - i <= MR ? m - i : (m - i) / 2;
    if (e.residual) pe.residual = e.residual + i * e.ld_residual;
    kTiles[rows - 1](0, 1, kNoOffset, k, a + i * lda, lda, w, c + i * ldc, ldc, pe, 0);
    i += rows;
  }
}
#undef OCTET_SPILL

#define OCTET_HALF(m) tile<m, false, false, true>
constexpr TileFn kHalfTiles[MR] = {OCTET_HALF(1),  OCTET_HALF(2),  OCTET_HALF(3),  OCTET_HALF(4),  OCTET_HALF(5),
                                   OCTET_HALF(6),  OCTET_HALF(7),  OCTET_HALF(8),  OCTET_HALF(9),  OCTET_HALF(10),
                                   OCTET_HALF(11), OCTET_HALF(12), OCTET_HALF(13), OCTET_HALF(14)};
#undef OCTET_HALF

#undef OCTET_HQUAD
#undef OCTET_HSTORE
#undef OCTET_ROWS
#undef OCTET_INIT
#undef OCTET_DOT
#undef OCTET_STORE
#undef OCTET_PAIRS
#undef OCTET_STORE_PAIR
#undef OCTET_STEP
#undef OCTET_TAIL_STEP

}  // namespace

void qgemm_u8s8_14x32c4_avx512vnni(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c,
                                   size_t ldc, const Epilogue& ep) {
  static constexpr ptrdiff_t kNoOffset[1] = {0};
  kTiles[mr - 1](0, 1, kNoOffset, k, a, lda, w, c, ldc, ep, 0);
}

void qgemm_strip_u8s8_14x32c4_avx512vnni(size_t m, size_t k, const uint8_t* a, size_t lda, const void* w, void* c,
                                         size_t ldc, const Epilogue& ep) {
  auto* out = static_cast<uint8_t*>(c);
  if (!ep.small_scale || ep.residual)
    strip<true, false>(m, k, a, lda, w, out, ldc, ep);
  else if (ep.zero_point == 0 && ep.lo == 0 && ep.hi == 255)
    strip<false, true>(m, k, a, lda, w, out, ldc, ep);
  else
    strip<false, false>(m, k, a, lda, w, out, ldc, ep);
}

void qgemm_half_u8s8_14x32c4_avx512vnni(size_t mr, size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc,
                                        const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
                                        const Epilogue& ep) {
  kHalfTiles[mr - 1](t0, t1, tap_off, kc, a, lda, w, c, ldc, ep, 0);
}

void qgemm_taps_u8s8_14x32c4_avx512vnni(size_t mr, size_t t0, size_t t1, const ptrdiff_t* tap_off, size_t kc,
                                        const uint8_t* a, size_t lda, const void* w, void* c, size_t ldc,
                                        const Epilogue& ep) {
  kTiles[mr - 1](t0, t1, tap_off, kc, a, lda, w, c, ldc, ep, 0);
}

void qgemm_taps_edges_u8s8_14x32c4_avx512vnni(size_t mr, size_t t0, size_t t1, size_t lead, size_t trail,
                                              const ptrdiff_t* tap_off, size_t kc, const uint8_t* a, size_t lda,
                                              const void* w, void* c, size_t ldc, const Epilogue& ep) {
  const size_t edge = lead ? lead : trail;
  if ((mr == 7 || mr == MR) && edge && (!lead || !trail || lead == trail) && kc % 4 == 0 && 2 * edge <= kc / 4) {
    kEdgeTiles[mr == MR][lead && trail ? 2 : trail ? 1 : 0](t0, t1, tap_off, kc, a, lda, w, c, ldc, ep, edge);
    return;
  }
  kTiles[mr - 1](t0, t1, tap_off, kc, a, lda, w, c, ldc, ep, 0);
}

}  // namespace octet::kernels::qgemm
