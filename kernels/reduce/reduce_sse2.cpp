// Reduction kernels for the sse2 tier: the loops of reduce_impl.h instantiated with xsimd::sse2.
#include "kernels/reduce/reduce_impl.h"

#if !XSIMD_WITH_SSE2
#error "reduce_sse2.cpp must be compiled with the sse2 flags (see kernels/CMakeLists.txt)"
#endif

namespace octet::kernels::reduce {

const Table& table_sse2() {
  static const Table t = make_table<xsimd::sse2>("sse2");
  return t;
}

}  // namespace octet::kernels::reduce
