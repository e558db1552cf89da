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
