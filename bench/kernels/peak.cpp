// Peak loops. Every loop body is a fixed sequence of independent register-to-register multiply-accumulates;
// the counter register is the only dependency besides the accumulators, so the loop runs at the issue rate of
// the instruction (given enough chains to hide its latency - hence two accumulator counts, whose spread says
// whether the latency is covered).
#include "bench/kernels/peak.h"

#include <x86intrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include "kernels/dispatch.h"

namespace octet::bench {
namespace {

#define OCTET_R6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define OCTET_R8(X) OCTET_R6(X) X(6) X(7)
#define OCTET_R12(X) OCTET_R8(X) X(8) X(9) X(10) X(11)
#define OCTET_R24(X) \
  OCTET_R12(X) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

#define OCTET_YMM_CLOBBER                                                                                   \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
      "xmm13", "xmm14", "xmm15"
#define OCTET_ZMM_CLOBBER                                                                                        \
  OCTET_YMM_CLOBBER, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", \
      "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31"

// Each function runs `n` iterations; the caller knows the MACs per iteration.
// AVX2 exact int8: vpmaddwd (16 s16 x s16 products -> 8 int32 pair sums) then vpaddd into the accumulator.
// 6 chains use ymm0-5 (accumulators) and ymm6-11 (products); sources ymm14/15.
#define MADD_Y(i) "vpmaddwd %%ymm14, %%ymm15, %%ymm" #i "\n\t"
__attribute__((target("avx2"))) void loop_madd_add_x6(int64_t n) {
  // ymm(i+6) = madd(...); ymm(i) += ymm(i+6)
  asm volatile(
      "vpxor %%xmm14, %%xmm14, %%xmm14\n\tvpxor %%xmm15, %%xmm15, %%xmm15\n\t"
      "1:\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm6\n\tvpmaddwd %%ymm14, %%ymm15, %%ymm7\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm8\n\tvpmaddwd %%ymm14, %%ymm15, %%ymm9\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm10\n\tvpmaddwd %%ymm14, %%ymm15, %%ymm11\n\t"
      "vpaddd %%ymm6, %%ymm0, %%ymm0\n\tvpaddd %%ymm7, %%ymm1, %%ymm1\n\t"
      "vpaddd %%ymm8, %%ymm2, %%ymm2\n\tvpaddd %%ymm9, %%ymm3, %%ymm3\n\t"
      "vpaddd %%ymm10, %%ymm4, %%ymm4\n\tvpaddd %%ymm11, %%ymm5, %%ymm5\n\t"
      "dec %0\n\tjnz 1b\n\tvzeroupper"
      : "+r"(n)
      :
      : OCTET_YMM_CLOBBER, "cc");
}
__attribute__((target("avx2"))) void loop_madd_add_x4(int64_t n) {
  asm volatile(
      "vpxor %%xmm14, %%xmm14, %%xmm14\n\tvpxor %%xmm15, %%xmm15, %%xmm15\n\t"
      "1:\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm6\n\tvpmaddwd %%ymm14, %%ymm15, %%ymm7\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm8\n\tvpmaddwd %%ymm14, %%ymm15, %%ymm9\n\t"
      "vpaddd %%ymm6, %%ymm0, %%ymm0\n\tvpaddd %%ymm7, %%ymm1, %%ymm1\n\t"
      "vpaddd %%ymm8, %%ymm2, %%ymm2\n\tvpaddd %%ymm9, %%ymm3, %%ymm3\n\t"
      "dec %0\n\tjnz 1b\n\tvzeroupper"
      : "+r"(n)
      :
      : OCTET_YMM_CLOBBER, "cc");
}
// vpmaddwd alone, 12 independent destinations: the instruction's own rate.
__attribute__((target("avx2"))) void loop_madd_x12(int64_t n) {
  asm volatile("vpxor %%xmm14, %%xmm14, %%xmm14\n\tvpxor %%xmm15, %%xmm15, %%xmm15\n\t"
               "1:\n\t" OCTET_R12(MADD_Y) "dec %0\n\tjnz 1b\n\tvzeroupper"
               : "+r"(n)
               :
               : OCTET_YMM_CLOBBER, "cc");
}
#define FMA_Y(i) "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #i "\n\t"
__attribute__((target("avx2,fma"))) void loop_fma_y12(int64_t n) {
  asm volatile("vxorps %%xmm14, %%xmm14, %%xmm14\n\tvxorps %%xmm15, %%xmm15, %%xmm15\n\t"
               "1:\n\t" OCTET_R12(FMA_Y) "dec %0\n\tjnz 1b\n\tvzeroupper"
               : "+r"(n)
               :
               : OCTET_YMM_CLOBBER, "cc");
}
__attribute__((target("avx2,fma"))) void loop_fma_y8(int64_t n) {
  asm volatile("vxorps %%xmm14, %%xmm14, %%xmm14\n\tvxorps %%xmm15, %%xmm15, %%xmm15\n\t"
               "1:\n\t" OCTET_R8(FMA_Y) "dec %0\n\tjnz 1b\n\tvzeroupper"
               : "+r"(n)
               :
               : OCTET_YMM_CLOBBER, "cc");
}
// AVX-VNNI: {vex} vpdpbusd ymm, 32 MACs each.
#define VNNI_Y(i) "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm" #i "\n\t"
__attribute__((target("avx2,avxvnni"))) void loop_vnni_y12(int64_t n) {
  asm volatile("vpxor %%xmm14, %%xmm14, %%xmm14\n\tvpxor %%xmm15, %%xmm15, %%xmm15\n\t"
               "1:\n\t" OCTET_R12(VNNI_Y) "dec %0\n\tjnz 1b\n\tvzeroupper"
               : "+r"(n)
               :
               : OCTET_YMM_CLOBBER, "cc");
}
__attribute__((target("avx2,avxvnni"))) void loop_vnni_y8(int64_t n) {
  asm volatile("vpxor %%xmm14, %%xmm14, %%xmm14\n\tvpxor %%xmm15, %%xmm15, %%xmm15\n\t"
               "1:\n\t" OCTET_R8(VNNI_Y) "dec %0\n\tjnz 1b\n\tvzeroupper"
               : "+r"(n)
               :
               : OCTET_YMM_CLOBBER, "cc");
}
// AVX-512: vpdpbusd zmm (64 MACs) / vfmadd231ps zmm (16), sources zmm30/31.
#define VNNI_Z(i) "vpdpbusd %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define FMA_Z(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define MADD_Z(i) "vpmaddwd %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define OCTET_ZLOOP(name, tgt, body)                                                                    \
  __attribute__((target(tgt))) void name(int64_t n) {                                                  \
    asm volatile("vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31\n\t"               \
                 "1:\n\t" body "dec %0\n\tjnz 1b\n\tvzeroupper"                                           \
                 : "+r"(n)                                                                                \
                 :                                                                                        \
                 : OCTET_ZMM_CLOBBER, "cc");                                                              \
  }
OCTET_ZLOOP(loop_vnni_z12, "avx512f,avx512vnni", OCTET_R12(VNNI_Z))
OCTET_ZLOOP(loop_vnni_z24, "avx512f,avx512vnni", OCTET_R24(VNNI_Z))
OCTET_ZLOOP(loop_fma_z12, "avx512f", OCTET_R12(FMA_Z))
OCTET_ZLOOP(loop_fma_z24, "avx512f", OCTET_R24(FMA_Z))
OCTET_ZLOOP(loop_madd_z12, "avx512f,avx512bw", OCTET_R12(MADD_Z))
OCTET_ZLOOP(loop_madd_z24, "avx512f,avx512bw", OCTET_R24(MADD_Z))

/// This thread's CPU time in seconds: on a shared machine, wall time would count the time other processes
/// hold the core (Google Benchmark's rates use CPU time too, so the two figures compare).
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

/// GMAC/s of `loop`, doing macs_per_iter MACs per iteration: best of `reps` runs of at least `seconds` CPU time.
double rate(void (*loop)(int64_t), double macs_per_iter, double seconds = 0.02, int reps = 8) {
  int64_t n = 1 << 14;
  double best = 0;
  for (;;) {  // grow n until one run takes >= seconds
    const double t0 = cpu_seconds();
    loop(n);
    const double s = cpu_seconds() - t0;
    if (s >= seconds) break;
    n *= 2;
  }
  for (int rep = 0; rep < reps; ++rep) {
    const double t0 = cpu_seconds();
    loop(n);
    const double s = cpu_seconds() - t0;
    best = std::max(best, double(n) * macs_per_iter / s / 1e9);
  }
  return best;
}

// The loops whose rates are Peak::int8_gmacs and Peak::fma_gmacs (set by measure()), for the re-measures.
struct Loop {
  void (*fn)(int64_t) = nullptr;
  double macs_per_iter = 0;
};
Loop g_int8, g_fma;

double rate(const Loop& l, double seconds = 0.02, int reps = 8) {
  return l.fn ? rate(l.fn, l.macs_per_iter, seconds, reps) : 0;
}

Peak measure() {
  using kernels::Isa;
  Peak p;
  const Isa isa = kernels::max_isa();
  if (isa >= Isa::avx512) {
    g_fma = {loop_fma_z24, 24 * 16};
    p.fma_gmacs = rate(g_fma);
    p.fma_gmacs_alt = rate(loop_fma_z12, 12 * 16);
    p.fma_how = "vfmadd231ps zmm x24 (alt x12)";
  } else if (isa >= Isa::avx2) {
    g_fma = {loop_fma_y12, 12 * 8};
    p.fma_gmacs = rate(g_fma);
    p.fma_gmacs_alt = rate(loop_fma_y8, 8 * 8);
    p.fma_how = "vfmadd231ps ymm x12 (alt x8)";
  }
  if (isa == Isa::avx512vnni) {
    g_int8 = {loop_vnni_z24, 24 * 64};
    p.int8_gmacs = rate(g_int8);
    p.int8_gmacs_alt = rate(loop_vnni_z12, 12 * 64);
    p.int8_how = "vpdpbusd zmm x24 (alt x12)";
  } else if (isa == Isa::avx512) {
    // vpmaddwd zmm: 32 s16 products per instruction; the exact kernel also needs an add per madd.
    g_int8 = {loop_madd_z24, 24 * 32};
    p.int8_gmacs = rate(g_int8);
    p.int8_gmacs_alt = rate(loop_madd_z12, 12 * 32);
    p.int8_how = "vpmaddwd zmm x24 (alt x12), no accumulate";
  } else if (isa == Isa::avxvnni) {
    g_int8 = {loop_vnni_y12, 12 * 32};
    p.int8_gmacs = rate(g_int8);
    p.int8_gmacs_alt = rate(loop_vnni_y8, 8 * 32);
    p.int8_how = "{vex} vpdpbusd ymm x12 (alt x8)";
  } else if (isa == Isa::avx2) {
    // The exact AVX2 int8 step is vpmaddwd + vpaddd (16 MACs); 16 ymm registers allow 6 chains.
    // Both counts reach the same rate on a quiet core; on a shared one the better of the two is the peak.
    const double x6 = rate(loop_madd_add_x6, 6 * 16), x4 = rate(loop_madd_add_x4, 4 * 16);
    g_int8 = x6 >= x4 ? Loop{loop_madd_add_x6, 6 * 16} : Loop{loop_madd_add_x4, 4 * 16};
    p.int8_gmacs = std::max(x6, x4);
    p.int8_gmacs_alt = std::min(x6, x4);
    p.int8_instr_gmacs = rate(loop_madd_x12, 12 * 16);
    p.int8_how = "vpmaddwd+vpaddd ymm, best of x6/x4";
  }
  std::fprintf(stderr,
               "octet peak (%s): int8 %.1f GMAC/s [%s; alt %.1f%s], fp32 FMA %.1f GMAC/s [%s; alt %.1f]\n",
               kernels::isa_name(isa), p.int8_gmacs, p.int8_how.c_str(), p.int8_gmacs_alt,
               p.int8_instr_gmacs > 0
                   ? (", vpmaddwd alone " + std::to_string(p.int8_instr_gmacs).substr(0, 6)).c_str()
                   : "",
               p.fma_gmacs, p.fma_how.c_str(), p.fma_gmacs_alt);
  return p;
}

}  // namespace

const Peak& measured_peak() {
  static const Peak p = measure();
  return p;
}

// Best of 3 runs of >= 4 ms: ~15 ms, next to a benchmark's timed loop.
double int8_peak_now() {
  measured_peak();  // picks the loop
  return rate(g_int8, 0.004, 3);
}

double fma_peak_now() {
  measured_peak();
  return rate(g_fma, 0.004, 3);
}

uint64_t ticks_now() { return __rdtsc(); }

void PairedInt8Peak::add(double macs, uint64_t ticks) {
  measured_peak();  // picks the loop
  if (!g_int8.fn || ticks == 0) return;
  constexpr int64_t kIters = 2048;  // ~6 us of vpdpbusd zmm x24 here: long next to the loop's start-up
  const uint64_t t0 = ticks_now();
  g_int8.fn(kIters);
  const uint64_t probe = ticks_now() - t0;
  if (probe == 0) return;
  ratios_.push_back((macs / double(ticks)) / (double(kIters) * g_int8.macs_per_iter / double(probe)));
}

double PairedInt8Peak::pct() {
  if (ratios_.empty()) return 0;
  auto mid = ratios_.begin() + ptrdiff_t(ratios_.size() / 2);
  std::nth_element(ratios_.begin(), mid, ratios_.end());
  return *mid * 100;
}

}  // namespace octet::bench
