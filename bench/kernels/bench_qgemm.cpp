// qgemm benchmarks: qgemm/<tier>/square/<n> and qgemm/<tier>/r50/<layer> for ResNet-50's 1x1 convolutions as
// GEMMs (M = output pixels, K = input channels, N = output channels; the stride-2 projections are timed on
// their already-subsampled input). u8 output with per-channel requantization and ReLU, 1 thread. Counters:
// GMACps and peak_pct (of the int8 peak measured at start by peak.cpp for the machine's top tier).
// Weights rotate over enough copies to exceed the L2 when one copy would sit in cache between iterations.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/kernels/peak.h"
#include "bench/kernels/resnet50_shapes.h"
#include "kernels/dispatch.h"
#include "kernels/qgemm/qgemm.h"

namespace octet::bench {
namespace {

namespace qg = kernels::qgemm;

struct Problem {
  size_t m, n, k;
  std::vector<uint8_t> a, c;
  std::vector<std::unique_ptr<uint8_t[]>> packed;  // rotated copies
  std::vector<float> scale;
};

std::unique_ptr<Problem> make_problem(const qg::QGemmKernel& kernel, size_t m, size_t n, size_t k) {
  auto p = std::make_unique<Problem>();
  p->m = m, p->n = n, p->k = k;
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127);
  p->a.resize(m * k);
  for (auto& v : p->a) v = uint8_t(u8(rng));
  p->c.resize(m * n);
  p->scale.assign(n, 1.f / (128.f * 64.f * 16.f));
  std::vector<int8_t> w(n * k);
  for (auto& v : w) v = int8_t(s8(rng));
  std::vector<int32_t> bias(n, 0);
  const size_t bytes = kernel.packed_bytes(n, k);
  const size_t copies = std::max<size_t>(1, std::min<size_t>(16, (size_t(4) << 20) / bytes));
  for (size_t i = 0; i < copies; ++i) {
    p->packed.emplace_back(new (std::align_val_t(64)) uint8_t[bytes]);
    kernel.pack(n, k, w.data(), k, bias.data(), 128, p->packed.back().get());
  }
  return p;
}

void run(benchmark::State& state, kernels::Isa tier, size_t m, size_t n, size_t k) {
  const qg::QGemmKernel* kernel = qg::qgemm_kernel_for(tier);
  auto p = make_problem(*kernel, m, n, k);
  qg::Epilogue ep;
  ep.scale = p->scale.data();
  ep.zero_point = 0;
  ep.lo = 0;  // ReLU
  size_t rot = 0;
  for (auto _ : state) {
    qg::qgemm(*kernel, m, n, k, p->a.data(), k, p->packed[rot].get(), ep, p->c.data(), n);
    benchmark::DoNotOptimize(p->c.data());
    benchmark::ClobberMemory();
    rot = rot + 1 == p->packed.size() ? 0 : rot + 1;
  }
  const double gmacs = double(m) * n * k / 1e9;
  state.counters["GMACps"] = benchmark::Counter(gmacs, benchmark::Counter::kIsIterationInvariantRate);
  const double peak = int8_peak_now();  // right after the timed loop (peak.h)
  if (peak > 0) {
    state.counters["peak_pct"] = benchmark::Counter(gmacs * 100 / peak, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak_GMACps"] = peak;
  }
  state.SetLabel(kernel->name);
}

int register_all() {
  using kernels::Isa;
  for (Isa tier : {Isa::scalar, Isa::avx2, Isa::avxvnni, Isa::avx512, Isa::avx512vnni}) {
    if (int(tier) > int(kernels::max_isa())) continue;  // never run what this CPU lacks
    const std::string t = kernels::isa_name(tier);
    for (size_t sz : {64, 128, 256, 512, 1024}) {
      if (tier == Isa::scalar && sz > 256) continue;  // the scalar tier is a correctness fallback
      benchmark::RegisterBenchmark(("qgemm/" + t + "/square/" + std::to_string(sz)).c_str(),
                                   [=](benchmark::State& s) { run(s, tier, sz, sz, sz); });
    }
    if (tier == Isa::scalar) continue;
    for (const ConvShape& cs : kResnet50Convs) {
      if (cs.k != 1) continue;
      const size_t m = size_t(cs.oh()) * cs.ow(), n = size_t(cs.oc), k = size_t(cs.ic);
      benchmark::RegisterBenchmark(("qgemm/" + t + "/r50/" + cs.name).c_str(),
                                   [=](benchmark::State& s) { run(s, tier, m, n, k); });
    }
  }
  return 0;
}

const int registered = register_all();

}  // namespace
}  // namespace octet::bench
