// Float32 unary math kernels for the sse2 tier: unary_math_impl.h instantiated with xsimd::sse2.
#include "kernels/eltwise/unary_math_impl.h"

#if !XSIMD_WITH_SSE2
#error "unary_math_sse2.cpp must be compiled with the sse2 flags (see kernels/CMakeLists.txt)"
#endif

namespace octet::kernels::eltwise {

const UnaryTable& unary_table_sse2() {
  static const UnaryTable t = make_unary_table<xsimd::sse2>("sse2");
  return t;
}

}  // namespace octet::kernels::eltwise
