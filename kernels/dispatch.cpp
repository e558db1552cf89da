#include "kernels/dispatch.h"

#include <cpuid.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace octet::kernels {
namespace {

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  const bool has_fma = c & (1u << 12), has_f16c = c & (1u << 29), has_avx = c & (1u << 28);
  if (!osxsave || !has_avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_ok = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
  const bool zmm_ok = (xcr0 & 0xe6) == 0xe6;          // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!ymm_ok) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = b & (1u << 5);
  f.fma = has_fma;
  f.f16c = has_f16c;
  if (zmm_ok) {
    f.avx512f = b & (1u << 16);
    f.avx512dq = b & (1u << 17);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
    f.avx512vnni = c & (1u << 11);
  }
  unsigned a1, b1, c1, d1;
  __cpuid_count(7, 1, a1, b1, c1, d1);
  f.avxvnni = a1 & (1u << 4);
  f.avx512bf16 = zmm_ok && (a1 & (1u << 5));
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

Isa detected_isa() {
  const CpuFeatures& f = cpu_features();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  if (avx512 && f.avx512vnni) return Isa::avx512vnni;
  if (avx512) return Isa::avx512;
  if (avx2 && f.avxvnni) return Isa::avxvnni;
  if (avx2) return Isa::avx2;
  return Isa::scalar;
}

Isa max_isa() {
  static const Isa isa = [] {
    Isa d = detected_isa();
    if (const char* env = std::getenv("OCTET_MAX_ISA")) {
      Isa want;
      if (!parse_isa(env, &want)) {
        std::fprintf(stderr, "octet: ignoring OCTET_MAX_ISA=%s (expected scalar|avx2|avxvnni|avx512|avx512vnni)\n", env);
        return d;
      }
      return clamp_isa(d, want);
    }
    return d;
  }();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avxvnni: return "avxvnni";
    case Isa::avx512: return "avx512";
    case Isa::avx512vnni: return "avx512vnni";
  }
  return "?";
}

bool parse_isa(const std::string& s, Isa* out) {
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avxvnni, Isa::avx512, Isa::avx512vnni})
    if (s == isa_name(i)) {
      *out = i;
      return true;
    }
  return false;
}

}  // namespace octet::kernels
