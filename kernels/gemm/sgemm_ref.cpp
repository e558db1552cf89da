// The scalar tier of SGEMM and the reference every tier is tested against.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/gemm/sgemm.h"

namespace octet::kernels::gemm {
namespace {

// The portable tile: 4 x 16 plain floats. Baseline x86-64 has SSE2, so the compiler turns the j loops into
// 4-wide vector code; this tier exists so every CPU runs the same driver, not for speed.
constexpr int kMr = 4, kNr = 16;

template <int R>
void ukernel_4x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  float acc[R][kNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int r = 0; r < R; ++r) {
      const float ar = a[r];
      for (int j = 0; j < kNr; ++j) acc[r][j] += ar * b[j];
    }
    a += kMr;
    b += kNr;
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < kNr; ++j) c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

// The indirect tile (sgemm_indirect) on this tier: row r's depth steps of tap t are a[t*kMr + r][a_off ..]. The
// prefetch hint (pf, pf_lines) is ignored: this tier is the portable reference, not a speed path.
template <int R>
void ukernel_4x16_indirect(int64_t taps, int64_t kc, const float* const* a, int64_t a_off, const float* b, float* c,
                           int64_t ldc, bool accumulate, const TileEpilogue* ep, const float* /*pf*/,
                           int64_t /*pf_lines*/) {
  float acc[R][kNr] = {};
  for (int64_t t = 0; t < taps; ++t, a += kMr)
    for (int64_t p = 0; p < kc; ++p, b += kNr)
      for (int r = 0; r < R; ++r) {
        const float ar = a[r][a_off + p];
        for (int j = 0; j < kNr; ++j) acc[r][j] += ar * b[j];
      }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < kNr; ++j) {
      float v = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
      if (ep) {
        if (ep->bias) v += ep->bias[j];
        if (ep->relu) v = v > 0.f ? v : 0.f;
        if (ep->clip) v = std::min(std::max(v, ep->lo), ep->hi);
      }
      c[r * ldc + j] = v;
    }
}

}  // namespace

const SgemmKernel& sgemm_kernel_scalar() {
  static const SgemmKernel k{Isa::scalar,
                             "sgemm_4x16_scalar",
                             kMr,
                             kNr,
                             {nullptr, ukernel_4x16<1>, ukernel_4x16<2>, ukernel_4x16<3>, ukernel_4x16<4>},
                             {},
                             {nullptr, ukernel_4x16_indirect<1>, ukernel_4x16_indirect<2>, ukernel_4x16_indirect<3>,
                              ukernel_4x16_indirect<4>}};
  return k;
}

void sgemm_ref(const SgemmArgs& g) {
  // Accumulate in double so the reference's own rounding is far below the tolerance tests allow the kernels.
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < g.k; ++p) s += double(g.a[i * g.a_rs + p * g.a_cs]) * g.b[p * g.b_rs + j * g.b_cs];
      float& out = g.c[i * g.ldc + j];
      out = float(g.alpha * s) + (g.accumulate ? out : 0.f);
    }
  sgemm_epilogue(g, 0, 0, g.m, g.n, g.c, g.ldc);
}

}  // namespace octet::kernels::gemm
