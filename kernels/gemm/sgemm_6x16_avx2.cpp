// The AVX2 + FMA register tile: 6 rows x 16 columns = 12 ymm accumulators, 2 for the B row, 1 for the
// broadcast A element (15 of 16 registers). Per k step: 2 loads of B, 6 broadcasts, 12 FMAs - the FMA ports
// stay busy because 12 independent chains cover the FMA latency (4-5 cycles x 2 ports = 8-10 in flight).
#include <immintrin.h>

#include "kernels/gemm/sgemm.h"

namespace octet::kernels::gemm {
namespace {

constexpr int kMr = 6, kNr = 16;

// C rows = [C +] acc, then (ep) + bias and the clamp, while the sums are still in registers.
template <int R>
inline void store_tile(__m256* acc0, __m256* acc1, float* c, int64_t ldc, bool accumulate, const TileEpilogue* ep) {
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      acc0[r] = _mm256_add_ps(acc0[r], _mm256_loadu_ps(cr));
      acc1[r] = _mm256_add_ps(acc1[r], _mm256_loadu_ps(cr + 8));
    }
  }
  if (ep) {
    if (ep->bias) {
      const __m256 bias0 = _mm256_loadu_ps(ep->bias), bias1 = _mm256_loadu_ps(ep->bias + 8);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) acc0[r] = _mm256_add_ps(acc0[r], bias0), acc1[r] = _mm256_add_ps(acc1[r], bias1);
    }
    // maxps/minps return their second operand when either is NaN: max(x, 0) sends NaN to 0 like the scalar
    // relu (x > 0 ? x : 0); min(hi, max(lo, x)) keeps it like std::min(std::max(x, lo), hi).
    if (ep->relu) {
      const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) acc0[r] = _mm256_max_ps(acc0[r], zero), acc1[r] = _mm256_max_ps(acc1[r], zero);
    } else if (ep->clip) {
      const __m256 lo = _mm256_set1_ps(ep->lo), hi = _mm256_set1_ps(ep->hi);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        acc0[r] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc0[r]));
        acc1[r] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc1[r]));
      }
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc0[r]);
    _mm256_storeu_ps(c + r * ldc + 8, acc1[r]);
  }
}

// The tile, for A packed ([kc][6]: element (r, p) at a[p*6 + r]) or read in place from a row-major A (element
// (r, p) at a[r*a_rs + p], e.g. im2col patches or an NHWC image for a 1x1 conv): the same 12 FMAs per k step,
// only the address of the 6 broadcasts differs. In place skips the pack of A, which for the N = 64..256 of a
// conv costs ~1-2 cycles per element against N/16 = 4..16 cycles of FMAs using it.
template <int R, bool Packed>
void tile_6x16(int64_t kc, const float* a, int64_t a_rs, const float* b, float* c, int64_t ldc, bool accumulate,
               const TileEpilogue* ep) {
  const int64_t rs = Packed ? 1 : a_rs, ks = Packed ? kMr : 1;  // A(r, p) = a[r*rs + p*ks]
  __m256 acc0[R], acc1[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r * rs);
      acc0[r] = _mm256_fmadd_ps(ar, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(ar, b1, acc1[r]);
    }
    a += ks;
    b += kNr;
  }
  store_tile<R>(acc0, acc1, c, ldc, accumulate, ep);
}

// One row (GEMV, e.g. a batch-1 FC layer): the 6-row loop would leave only 2 FMA chains, each waiting on its
// own previous FMA (latency-bound at 2 FMAs per ~4 cycles). Four k steps per iteration into four accumulator
// pairs give 8 independent chains; their sum is the same dot product, re-associated.
template <bool Packed>
void tile_1x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate,
               const TileEpilogue* ep) {
  constexpr int64_t ks = Packed ? kMr : 1;
  __m256 acc0[4], acc1[4];
  for (int u = 0; u < 4; ++u) acc0[u] = acc1[u] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const __m256 ar = _mm256_broadcast_ss(a + u * ks);
      acc0[u] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b + u * kNr), acc0[u]);
      acc1[u] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b + u * kNr + 8), acc1[u]);
    }
    a += 4 * ks;
    b += 4 * kNr;
  }
  for (; p < kc; ++p) {
    const __m256 ar = _mm256_broadcast_ss(a);
    acc0[0] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b), acc0[0]);
    acc1[0] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b + 8), acc1[0]);
    a += ks;
    b += kNr;
  }
  __m256 s0 = _mm256_add_ps(_mm256_add_ps(acc0[0], acc0[1]), _mm256_add_ps(acc0[2], acc0[3]));
  __m256 s1 = _mm256_add_ps(_mm256_add_ps(acc1[0], acc1[1]), _mm256_add_ps(acc1[2], acc1[3]));
  store_tile<1>(&s0, &s1, c, ldc, accumulate, ep);
}

// The indirect tile (sgemm_indirect): per tap, R row pointers into the image, then the same 12 FMAs per depth
// step as tile_6x16 - only the base address of each row's broadcast changes at a tap boundary. One row keeps
// tile_1x16's four accumulator pairs (8 independent chains) over p mod 4.
//
// Prefetch: the tile also touches pf_lines cache lines from pf, one per depth step (the driver points it at
// the next B strip slice, spread over the tiles that share the current one). A strip slice is 16 KB of B that
// the first of its tiles reads from L3/DRAM; strips sit k*16 floats apart (295 KB for ResNet-50 layer4's
// K = 4608), so every slice starts a fresh stream that the hardware prefetcher has to detect again. One
// prefetch per 6-cycle step costs 1 load-queue slot next to 2 loads + 6 broadcasts.
template <int R>
void tile_6x16_indirect(int64_t taps, int64_t kc, const float* const* a, int64_t a_off, const float* b, float* c,
                        int64_t ldc, bool accumulate, const TileEpilogue* ep, const float* pf, int64_t pf_lines) {
  constexpr int U = R == 1 ? 4 : 1;  // accumulator sets over p mod U
  __m256 acc0[R * U], acc1[R * U];
#pragma GCC unroll 6
  for (int r = 0; r < R * U; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
  for (int64_t t = 0; t < taps; ++t, a += kMr) {
    const float* ap[R];
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) ap[r] = a[r] + a_off;
    int64_t p = 0;
    if constexpr (R == 1) {
      for (; p + 4 <= kc; p += 4, b += 4 * kNr) {
        if (pf_lines > 0) _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T0), pf += 16, --pf_lines;
#pragma GCC unroll 4
        for (int u = 0; u < 4; ++u) {
          const __m256 ar = _mm256_broadcast_ss(ap[0] + p + u);
          acc0[u] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b + u * kNr), acc0[u]);
          acc1[u] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b + u * kNr + 8), acc1[u]);
        }
      }
    }
    for (; p < kc; ++p, b += kNr) {
      if (pf_lines > 0) _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T0), pf += 16, --pf_lines;
      const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const __m256 ar = _mm256_broadcast_ss(ap[r] + p);
        acc0[r] = _mm256_fmadd_ps(ar, b0, acc0[r]);
        acc1[r] = _mm256_fmadd_ps(ar, b1, acc1[r]);
      }
    }
  }
  if constexpr (R == 1) {
    acc0[0] = _mm256_add_ps(_mm256_add_ps(acc0[0], acc0[1]), _mm256_add_ps(acc0[2], acc0[3]));
    acc1[0] = _mm256_add_ps(_mm256_add_ps(acc1[0], acc1[1]), _mm256_add_ps(acc1[2], acc1[3]));
  }
  store_tile<R>(acc0, acc1, c, ldc, accumulate, ep);
}

template <int R>
void ukernel_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  if constexpr (R == 1)
    tile_1x16<true>(kc, a, b, c, ldc, accumulate, nullptr);
  else
    tile_6x16<R, true>(kc, a, 0, b, c, ldc, accumulate, nullptr);
}

template <int R>
void ukernel_6x16_strided(int64_t kc, const float* a, int64_t a_rs, const float* b, float* c, int64_t ldc,
                          bool accumulate, const TileEpilogue* ep) {
  if constexpr (R == 1)
    tile_1x16<false>(kc, a, b, c, ldc, accumulate, ep);
  else
    tile_6x16<R, false>(kc, a, a_rs, b, c, ldc, accumulate, ep);
}

}  // namespace

const SgemmKernel& sgemm_kernel_avx2() {
  static const SgemmKernel k{Isa::avx2,
                             "sgemm_6x16_avx2",
                             kMr,
                             kNr,
                             {nullptr, ukernel_6x16<1>, ukernel_6x16<2>, ukernel_6x16<3>, ukernel_6x16<4>,
                              ukernel_6x16<5>, ukernel_6x16<6>},
                             {nullptr, ukernel_6x16_strided<1>, ukernel_6x16_strided<2>, ukernel_6x16_strided<3>,
                              ukernel_6x16_strided<4>, ukernel_6x16_strided<5>, ukernel_6x16_strided<6>},
                             {nullptr, tile_6x16_indirect<1>, tile_6x16_indirect<2>, tile_6x16_indirect<3>,
                              tile_6x16_indirect<4>, tile_6x16_indirect<5>, tile_6x16_indirect<6>}};
  return k;
}

}  // namespace octet::kernels::gemm
