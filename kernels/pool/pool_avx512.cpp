// Pooling kernels for the avx512 tier: the loops of pool_impl.h instantiated with xsimd::avx512bw.
// GCC 12 avx512fintrin.h false positive (`__m512i __Y = __Y;` in _mm512_undefined_*), see eltwise_avx512.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/pool/pool_impl.h"

#if !XSIMD_WITH_AVX512BW
#error "pool_avx512.cpp must be compiled with the avx512 flags (see kernels/CMakeLists.txt)"
#endif

namespace octet::kernels::pool {

const Table& table_avx512() {
  static const Table t = make_table<xsimd::avx512bw>("avx512");
  return t;
}

}  // namespace octet::kernels::pool
