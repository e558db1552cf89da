// Float32 unary math kernels for the avx512 tier: unary_math_impl.h instantiated with xsimd::avx512bw.
// GCC 12's avx512fintrin.h initialises _mm512_undefined_* from itself, which -W(maybe-)uninitialized reports
// once inlined into xsimd's math (see eltwise_avx512.cpp): a false positive inside the compiler's header.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "kernels/eltwise/unary_math_impl.h"

#if !XSIMD_WITH_AVX512BW
#error "unary_math_avx512.cpp must be compiled with the avx512 flags (see kernels/CMakeLists.txt)"
#endif

namespace octet::kernels::eltwise {

const UnaryTable& unary_table_avx512() {
  static const UnaryTable t = make_unary_table<xsimd::avx512bw>("avx512");
  return t;
}

}  // namespace octet::kernels::eltwise
