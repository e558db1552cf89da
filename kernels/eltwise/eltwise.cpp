#include "kernels/eltwise/eltwise.h"

namespace octet::kernels::eltwise {

const Table& table(Isa max) {
  // Never pick a tier the CPU lacks, even if asked (tests force tiers from the top down).
  const Isa isa = clamp_isa(max, detected_isa());
  if (int(isa) >= int(Isa::avx512)) return table_avx512();
  if (int(isa) >= int(Isa::avx2)) return table_avx2();
  return table_sse2();
}

}  // namespace octet::kernels::eltwise
