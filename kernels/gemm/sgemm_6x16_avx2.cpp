// The AVX2 + FMA register tile: 6 rows x 16 columns = 12 ymm accumulators, 2 for the B row, 1 for the
// broadcast A element (15 of 16 registers). Per k step: 2 loads of B, 6 broadcasts, 12 FMAs - the FMA ports
// stay busy because 12 independent chains cover the FMA latency (4-5 cycles x 2 ports = 8-10 in flight).
#include <immintrin.h>

#include "kernels/gemm/sgemm.h"

namespace octet::kernels::gemm {
namespace {

constexpr int kMr = 6, kNr = 16;

template <int R>
void ukernel_6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  __m256 acc0[R], acc1[R];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      acc0[r] = _mm256_fmadd_ps(ar, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(ar, b1, acc1[r]);
    }
    a += kMr;
    b += kNr;
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      acc0[r] = _mm256_add_ps(acc0[r], _mm256_loadu_ps(cr));
      acc1[r] = _mm256_add_ps(acc1[r], _mm256_loadu_ps(cr + 8));
    }
    _mm256_storeu_ps(cr, acc0[r]);
    _mm256_storeu_ps(cr + 8, acc1[r]);
  }
}

// One row (GEMV, e.g. a batch-1 FC layer): the 6-row loop would leave only 2 FMA chains, each waiting on its
// own previous FMA (latency-bound at 2 FMAs per ~4 cycles). Four k steps per iteration into four accumulator
// pairs give 8 independent chains; their sum is the same dot product, re-associated.
template <>
void ukernel_6x16<1>(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  __m256 acc0[4], acc1[4];
  for (int u = 0; u < 4; ++u) acc0[u] = acc1[u] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const __m256 ar = _mm256_broadcast_ss(a + u * kMr);
      acc0[u] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b + u * kNr), acc0[u]);
      acc1[u] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b + u * kNr + 8), acc1[u]);
    }
    a += 4 * kMr;
    b += 4 * kNr;
  }
  for (; p < kc; ++p) {
    const __m256 ar = _mm256_broadcast_ss(a);
    acc0[0] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b), acc0[0]);
    acc1[0] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(b + 8), acc1[0]);
    a += kMr;
    b += kNr;
  }
  __m256 s0 = _mm256_add_ps(_mm256_add_ps(acc0[0], acc0[1]), _mm256_add_ps(acc0[2], acc0[3]));
  __m256 s1 = _mm256_add_ps(_mm256_add_ps(acc1[0], acc1[1]), _mm256_add_ps(acc1[2], acc1[3]));
  if (accumulate) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(c));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(c + 8));
  }
  _mm256_storeu_ps(c, s0);
  _mm256_storeu_ps(c + 8, s1);
}

}  // namespace

const SgemmKernel& sgemm_kernel_avx2() {
  static const SgemmKernel k{Isa::avx2,
                             "sgemm_6x16_avx2",
                             kMr,
                             kNr,
                             {nullptr, ukernel_6x16<1>, ukernel_6x16<2>, ukernel_6x16<3>, ukernel_6x16<4>,
                              ukernel_6x16<5>, ukernel_6x16<6>}};
  return k;
}

}  // namespace octet::kernels::gemm
