#include "kernels/reduce/reduce.h"

namespace octet::kernels::reduce {

const Table& table(Isa max) {
  const Isa isa = clamp_isa(max, detected_isa());
  if (int(isa) >= int(Isa::avx512)) return table_avx512();
  if (int(isa) >= int(Isa::avx2)) return table_avx2();
  return table_sse2();
}

}  // namespace octet::kernels::reduce
