// Scalar tier micro-kernel: 4 rows x 16 columns over the "c4" packing (int32 bias[16], then per group of 4
// inputs 16 x 4 s8). Portable C++; the tier every int8 op can fall back to. Built without ISA flags.
#include <cmath>
#include <cstring>

#include "kernels/qgemm/qgemm_ukernel.h"
#include "kernels/qgemm/requantize_scalar.h"

namespace octet::kernels::qgemm {
namespace {
constexpr size_t MR = 4, NR = 16;
}

void qgemm_u8s8_4x16c4_scalar(size_t mr, size_t k, const uint8_t* a, size_t lda, const void* w, void* c,
                              size_t ldc, const Epilogue& ep) {
  int32_t acc[MR][NR];
  const auto* bias = static_cast<const int32_t*>(w);
  const auto* wk = reinterpret_cast<const int8_t*>(bias + NR);
  for (size_t r = 0; r < mr; ++r)
    for (size_t j = 0; j < NR; ++j) acc[r][j] = bias[j];
  for (size_t g = 0; g * 4 < k; ++g, wk += NR * 4) {
    const size_t kg = k - g * 4 < 4 ? k - g * 4 : 4;  // inputs in this group; the packing is zero beyond k
    for (size_t r = 0; r < mr; ++r) {
      const uint8_t* ar = a + r * lda + g * 4;
      for (size_t j = 0; j < NR; ++j)
        for (size_t t = 0; t < kg; ++t) acc[r][j] += int32_t(ar[t]) * int32_t(wk[j * 4 + t]);
    }
  }
  for (size_t r = 0; r < mr; ++r) {
    for (size_t j = 0; j < NR; ++j) {
      const int32_t v = acc[r][j];
      if (ep.kind == OutKind::s32) {
        static_cast<int32_t*>(c)[r * ldc + j] = v;
      } else if (ep.kind == OutKind::f32) {
        static_cast<float*>(c)[r * ldc + j] = float(v) * ep.scale[j];
      } else {
        static_cast<uint8_t*>(c)[r * ldc + j] =
            requantize_u8(v, ep.scale[j], ep.residual ? int32_t(ep.residual[r * ep.ld_residual + j]) : 0, ep);
      }
    }
  }
}

}  // namespace octet::kernels::qgemm
