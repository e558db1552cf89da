// Element-wise and pooling kernels on ResNet-50 activation sizes, 1 thread, every tier this CPU runs:
//   eltwise/<tier>/relu/<shape>, eltwise/<tier>/add/<shape>, pool/<tier>/maxpool3x3s2_<layout>/1x64x112x112,
//   pool/<tier>/gap_<layout>/1x2048x7x7.
// These loops are bound by memory, not arithmetic, so the counter is bytes moved (reads + writes) per second
// (Google Benchmark's bytes_per_second). Buffers rotate over enough copies to exceed the L2 (512 KB here) when
// one copy would stay cached between iterations, as it would not in a real network.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/eltwise/eltwise.h"
#include "kernels/pool/pool.h"

namespace octet::bench {
namespace {

using kernels::Isa;

std::vector<Isa> tiers() {
  std::vector<Isa> r;
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (int(i) <= int(kernels::max_isa())) r.push_back(i);
  return r;
}

/// `copies` buffers of n floats so consecutive iterations touch different memory.
struct Buffers {
  std::vector<std::vector<float>> bufs;
  size_t next = 0;
  Buffers(size_t n, size_t min_bytes) {
    const size_t copies = std::max<size_t>(2, std::min<size_t>(16, min_bytes / (n * sizeof(float) + 1) + 1));
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> d(-2, 2);
    bufs.resize(copies, std::vector<float>(n));
    for (auto& b : bufs)
      for (auto& v : b) v = d(rng);
  }
  float* get() {
    float* p = bufs[next].data();
    next = (next + 1) % bufs.size();
    return p;
  }
};

constexpr size_t kRotateBytes = size_t(4) << 20;

void bench_relu(benchmark::State& st, Isa isa, int64_t c, int64_t hw) {
  const auto& t = kernels::eltwise::table(isa);
  const size_t n = size_t(c * hw);
  Buffers x(n, kRotateBytes);
  std::vector<float> y(n);
  for (auto _ : st) {
    t.relu(x.get(), y.data(), int64_t(n));
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(2 * n * sizeof(float)));
}

void bench_add(benchmark::State& st, Isa isa, int64_t c, int64_t hw) {
  const auto& t = kernels::eltwise::table(isa);
  const size_t n = size_t(c * hw);
  Buffers a(n, kRotateBytes), b(n, kRotateBytes);
  std::vector<float> y(n);
  for (auto _ : st) {
    t.binary(kernels::eltwise::BinaryOp::add, a.get(), 1, b.get(), 1, y.data(), int64_t(n));
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(3 * n * sizeof(float)));
}

void bench_maxpool(benchmark::State& st, Isa isa, bool nhwc) {
  // ResNet-50's stem pool: 3x3, stride 2, pads 1 on 1x64x112x112 -> 1x64x56x56.
  const auto& t = kernels::pool::table(isa);
  kernels::pool::Geom g;
  g.c = 64, g.h = 112, g.w = 112, g.oh = 56, g.ow = 56, g.kh = 3, g.kw = 3, g.sh = 2, g.sw = 2;
  g.pad_t = g.pad_l = g.pad_b = g.pad_r = 1;
  Buffers x(size_t(g.c * g.h * g.w), kRotateBytes);
  std::vector<float> y(size_t(g.c * g.oh * g.ow));
  for (auto _ : st) {
    if (nhwc)
      t.pool_nhwc(kernels::pool::PoolKind::max, g, x.get(), y.data(), 0, g.oh);
    else
      t.pool_nchw(kernels::pool::PoolKind::max, g, x.get(), y.data(), g.c);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t((g.c * g.h * g.w + y.size()) * sizeof(float)));
}

void bench_gap(benchmark::State& st, Isa isa, bool nhwc) {
  // ResNet-50's head: 1x2048x7x7 -> 1x2048.
  const auto& t = kernels::pool::table(isa);
  const int64_t c = 2048, hw = 49;
  Buffers x(size_t(c * hw), kRotateBytes);
  std::vector<float> y(static_cast<size_t>(c));
  for (auto _ : st) {
    if (nhwc)
      t.global_avg_nhwc(x.get(), y.data(), hw, c, 0, c);
    else
      t.global_avg_nchw(x.get(), y.data(), c, hw);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t((c * hw + c) * sizeof(float)));
}

struct Sizes {
  const char* name;
  int64_t c, hw;
};
// The stem activation, the first stage's block output, the last stage's block output.
const Sizes kActivations[] = {{"1x64x112x112", 64, 112 * 112}, {"1x256x56x56", 256, 56 * 56}, {"1x2048x7x7", 2048, 49}};

[[maybe_unused]] const bool registered = [] {
  for (Isa isa : tiers()) {
    const std::string tier = kernels::isa_name(isa);
    for (const Sizes& s : kActivations) {
      benchmark::RegisterBenchmark(("eltwise/" + tier + "/relu/" + s.name).c_str(), bench_relu, isa, s.c, s.hw);
      benchmark::RegisterBenchmark(("eltwise/" + tier + "/add/" + s.name).c_str(), bench_add, isa, s.c, s.hw);
    }
    for (bool nhwc : {false, true}) {
      const std::string l = nhwc ? "nhwc" : "nchw";
      benchmark::RegisterBenchmark(("pool/" + tier + "/maxpool3x3s2_" + l + "/1x64x112x112").c_str(), bench_maxpool,
                                   isa, nhwc);
      benchmark::RegisterBenchmark(("pool/" + tier + "/gap_" + l + "/1x2048x7x7").c_str(), bench_gap, isa, nhwc);
    }
  }
  return true;
}();

}  // namespace
}  // namespace octet::bench
