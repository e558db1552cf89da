// Measured arithmetic peaks of this core, for the "% of peak" counters of the kernel benchmarks. Each figure is
// a tight loop of independent multiply-accumulates in registers (inline asm, so the compiler cannot reshape it),
// best of several runs. Measured once per process, on first use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

/// The time-stamp counter (rdtsc): the clock of PairedInt8Peak, cheap enough to read around every call.
uint64_t ticks_now();

/// "% of peak" paired call by call: each kernel call timed on the TSC, then a short run of the int8 peak loop
/// (~6 us) on the same clock; the figure is the median over calls of (kernel MAC rate / that call's peak-loop
/// rate). What slows the core for both (the clock, a neighbour on the host's other hyperthread) cancels out of
/// each ratio, and a call or probe that lost the core to the host is an outlier the median drops: a figure one
/// run can be judged by, where int8_peak_now() after a 0.2 s loop moved a row by up to 10% between runs. What
/// slows the kernel alone (memory) stays in it, as it should. Run it outside the benchmark's timed loop: pausing
/// Google Benchmark's timer around each probe costs ~2.5 us per iteration (two CPU-time reads in this VM).
class PairedInt8Peak {
 public:
  /// One kernel call of `macs` MACs took `ticks` (ticks_now() before and after); runs one probe.
  void add(double macs, uint64_t ticks);
  /// Median ratio x 100 (0 before any add()).
  double pct();

 private:
  std::vector<double> ratios_;
};

/// `calls` calls of call() (each `macs` MACs), paired with the peak loop as PairedInt8Peak: the median % of peak.
template <class Call>
double paired_int8_pct(double macs, int64_t calls, const Call& call) {
  PairedInt8Peak paired;
  for (int64_t i = 0; i < calls; ++i) {
    const uint64_t t0 = ticks_now();
    call();
    paired.add(macs, ticks_now() - t0);
  }
  return paired.pct();
}

}  // namespace octet::bench
