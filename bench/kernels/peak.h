// Measured arithmetic peaks of this core, for the "% of peak" counters of the kernel benchmarks. Each figure is
// a tight loop of independent multiply-accumulates in registers (inline asm, so the compiler cannot reshape it),
// best of several runs. Measured once per process, on first use.
#pragma once

#include <string>

namespace octet::bench {

struct Peak {
  // int8 MAC/s (1 MAC = one u8 x s8 product accumulated), in GMAC/s.
  double int8_gmacs = 0;          // the figure "peak_pct" divides by (the best int8 path of the tier below)
  std::string int8_how;           // e.g. "vpdpbusd zmm x24" or "vpmaddwd+vpaddd ymm x6"
  double int8_gmacs_alt = 0;      // the same loop with the other accumulator count (spread)
  double int8_instr_gmacs = 0;    // AVX2: vpmaddwd alone (no accumulate) - an upper bound no kernel reaches
  // fp32 FMA peak in GMAC/s (one FMA lane = one MAC), with 12 and (AVX-512) 24 / (AVX2) 8 accumulators.
  double fma_gmacs = 0, fma_gmacs_alt = 0;
  std::string fma_how;
};

/// The peaks of the highest tier this CPU runs (clamped by OCTET_MAX_ISA). Thread-safe, measured once.
const Peak& measured_peak();

/// The same int8 / fp32 peak loop as measured_peak() picked, measured again now (best of 3 short runs, ~15 ms).
/// The clock of this machine drifts by several percent within one benchmark run (other tenants of the host):
/// a kernel's "% of peak" divides by the peak measured right after its own timed loop, not by the figure of
/// the start. Not thread-safe against measured_peak()'s first call (benchmarks run on one thread).
double int8_peak_now();
double fma_peak_now();

}  // namespace octet::bench
