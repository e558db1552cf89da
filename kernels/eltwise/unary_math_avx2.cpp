// Float32 unary math kernels for the avx2 tier: unary_math_impl.h instantiated with xsimd::fma3<xsimd::avx2>.
#include "kernels/eltwise/unary_math_impl.h"

#if !XSIMD_WITH_FMA3_AVX2
#error "unary_math_avx2.cpp must be compiled with the avx2 flags (see kernels/CMakeLists.txt)"
#endif

namespace octet::kernels::eltwise {

const UnaryTable& unary_table_avx2() {
  static const UnaryTable t = make_unary_table<xsimd::fma3<xsimd::avx2>>("avx2");
  return t;
}

}  // namespace octet::kernels::eltwise
