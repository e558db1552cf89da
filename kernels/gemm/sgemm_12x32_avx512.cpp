// The AVX-512 register tile: 12 rows x 32 columns = 24 zmm accumulators, 2 for the B row, 1 for the broadcast
// A element (27 of 32 registers). Same scheme as sgemm_6x16_avx2.cpp at twice the width and rows; 24
// independent FMA chains cover two 512-bit FMA ports at 4-cycle latency.
#include <immintrin.h>

#include "kernels/gemm/sgemm.h"

namespace octet::kernels::gemm {
namespace {

constexpr int kMr = 12, kNr = 32;

template <int R>
void ukernel_12x32(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  __m512 acc0[R], acc1[R];
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
    }
    a += kMr;
    b += kNr;
  }
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      acc0[r] = _mm512_add_ps(acc0[r], _mm512_loadu_ps(cr));
      acc1[r] = _mm512_add_ps(acc1[r], _mm512_loadu_ps(cr + 16));
    }
    _mm512_storeu_ps(cr, acc0[r]);
    _mm512_storeu_ps(cr + 16, acc1[r]);
  }
}

}  // namespace

const SgemmKernel& sgemm_kernel_avx512() {
  static const SgemmKernel k{Isa::avx512,
                             "sgemm_12x32_avx512",
                             kMr,
                             kNr,
                             {nullptr, ukernel_12x32<1>, ukernel_12x32<2>, ukernel_12x32<3>, ukernel_12x32<4>,
                              ukernel_12x32<5>, ukernel_12x32<6>, ukernel_12x32<7>, ukernel_12x32<8>,
                              ukernel_12x32<9>, ukernel_12x32<10>, ukernel_12x32<11>, ukernel_12x32<12>}};
  return k;
}

}  // namespace octet::kernels::gemm
