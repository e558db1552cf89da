// Element-wise kernels for the avx512 tier: the loops of eltwise_impl.h instantiated with xsimd::avx512bw.
// GCC 12's own avx512fintrin.h initialises _mm512_undefined_* as `__m512i __Y = __Y;`, which
// -Wmaybe-uninitialized reports once inlined here: a false positive inside the compiler's header.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/eltwise/eltwise_impl.h"

#if !XSIMD_WITH_AVX512BW
#error "eltwise_avx512.cpp must be compiled with the avx512 flags (see kernels/CMakeLists.txt)"
#endif

namespace octet::kernels::eltwise {

const Table& table_avx512() {
  static const Table t = make_table<xsimd::avx512bw>("avx512");
  return t;
}

}  // namespace octet::kernels::eltwise
