// The one place that knows the CPU: CPUID/XGETBV are read once in dispatch.cpp. Operators ask for a tier and
// get the best kernel of that tier or below; OCTET_MAX_ISA clamps the tier for the whole process.
#pragma once

#include <string>

namespace octet::kernels {

/// Instruction-set tiers, in increasing order.
enum class Isa { scalar = 0, avx2 = 1, avxvnni = 2, avx512 = 3, avx512vnni = 4 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, avxvnni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false,
       avx512bf16 = false;
};

/// What this CPU (and OS, via XGETBV) supports. Read once.
const CpuFeatures& cpu_features();
/// Highest tier this CPU runs, ignoring OCTET_MAX_ISA.
Isa detected_isa();
/// detected_isa() clamped by the environment variable OCTET_MAX_ISA (read once).
Isa max_isa();
/// min(a, b).
inline Isa clamp_isa(Isa a, Isa b) { return int(a) < int(b) ? a : b; }
const char* isa_name(Isa isa);
/// Parses "scalar|avx2|avxvnni|avx512|avx512vnni"; false on anything else.
bool parse_isa(const std::string& s, Isa* out);

}  // namespace octet::kernels
