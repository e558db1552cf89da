// Reduction kernels for the avx512 tier: the loops of reduce_impl.h instantiated with xsimd::avx512bw.
// xsimd's avx512 reductions (_mm512_undefined_ps in a horizontal fold) trip GCC 12's uninitialised-use checks.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "kernels/reduce/reduce_impl.h"

#if !XSIMD_WITH_AVX512BW
#error "reduce_avx512.cpp must be compiled with the avx512 flags (see kernels/CMakeLists.txt)"
#endif

namespace octet::kernels::reduce {

const Table& table_avx512() {
  static const Table t = make_table<xsimd::avx512bw>("avx512");
  return t;
}

}  // namespace octet::kernels::reduce
