// Element-wise kernels for the avx2 tier: the loops of eltwise_impl.h instantiated with xsimd::fma3<xsimd::avx2>.
#include "kernels/eltwise/eltwise_impl.h"

#if !XSIMD_WITH_FMA3_AVX2
#error "eltwise_avx2.cpp must be compiled with the avx2 flags (see kernels/CMakeLists.txt)"
#endif

namespace octet::kernels::eltwise {

const Table& table_avx2() {
  static const Table t = make_table<xsimd::fma3<xsimd::avx2>>("avx2");
  return t;
}

}  // namespace octet::kernels::eltwise
