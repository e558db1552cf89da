// The scalar reference of qgemm: plain loops over the unpacked weights, the activation zero point subtracted
// explicitly (no folding), the epilogue written out step by step. Every tier must match it bit for bit.
#include <cmath>

#include "kernels/qgemm/qgemm.h"
#include "kernels/qgemm/requantize_scalar.h"

namespace octet::kernels::qgemm {


void qgemm_ref(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, int32_t za, const int8_t* w,
               size_t ldw, const int32_t* bias, const Epilogue& ep, void* c, size_t ldc) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      int32_t acc = bias ? bias[j] : 0;
      for (size_t kk = 0; kk < k; ++kk) acc += (int32_t(a[i * lda + kk]) - za) * int32_t(w[j * ldw + kk]);
      switch (ep.kind) {
        case OutKind::s32:
          static_cast<int32_t*>(c)[i * ldc + j] = acc;
          break;
        case OutKind::f32:
          static_cast<float*>(c)[i * ldc + j] = float(acc) * ep.scale[j];
          break;
        case OutKind::u8:
          static_cast<uint8_t*>(c)[i * ldc + j] =
              requantize_u8(acc, ep.scale[j], ep.residual ? int32_t(ep.residual[i * ep.ld_residual + j]) : 0, ep);
          break;
      }
    }
  }
}

}  // namespace octet::kernels::qgemm
