// Reduction kernels for the avx2 tier: the loops of reduce_impl.h instantiated with xsimd::fma3<xsimd::avx2>.
#include "kernels/reduce/reduce_impl.h"

#if !XSIMD_WITH_FMA3_AVX2
#error "reduce_avx2.cpp must be compiled with the avx2 flags (see kernels/CMakeLists.txt)"
#endif

namespace octet::kernels::reduce {

const Table& table_avx2() {
  static const Table t = make_table<xsimd::fma3<xsimd::avx2>>("avx2");
  return t;
}

}  // namespace octet::kernels::reduce
