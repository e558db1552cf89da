// Reduction and normalisation kernels on transformer / ConvNeXt sizes, 1 thread, every tier this CPU runs:
//   reduce/<tier>/mean_rows/197x768       ViT-B/16's LayerNorm statistics (197 tokens of 768 channels)
//   reduce/<tier>/mean_strided/96x3136    ConvNeXt-T's channel mean of a 1x96x56x56 activation (NCHW, axis 1)
//   reduce/<tier>/layernorm/197x768       the whole LayerNormalization row (mean, variance, scale and shift)
//   reduce/<tier>/log_softmax/26x6625     a CRNN / SVTR head (26 steps over a 6625-character alphabet)
// Memory-bound loops: the counter is bytes read and written per second. Inputs rotate past the L2.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/reduce/reduce.h"

namespace octet::bench {
namespace {

using kernels::Isa;
namespace kr = kernels::reduce;

std::vector<Isa> tiers() {
  std::vector<Isa> r;
  for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (int(i) <= int(kernels::max_isa())) r.push_back(i);
  return r;
}

struct Rotating {
  std::vector<std::vector<float>> bufs;
  size_t next = 0;
  explicit Rotating(size_t n) {
    const size_t copies = std::max<size_t>(2, (size_t(4) << 20) / (n * sizeof(float) + 1) + 1);
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> d(-2, 2);
    bufs.resize(std::min<size_t>(copies, 16), std::vector<float>(n));
    for (auto& b : bufs)
      for (auto& v : b) v = d(rng);
  }
  const float* get() {
    const float* p = bufs[next].data();
    next = (next + 1) % bufs.size();
    return p;
  }
};

enum class What { mean_rows, mean_strided, layernorm, log_softmax };

void bench(benchmark::State& st, Isa isa, What what, int64_t rows, int64_t len) {
  const kr::Table& t = kr::table(isa);
  Rotating x(size_t(rows * len));
  std::vector<float> y(size_t(rows * len)), scale(size_t(len), 1.f), bias(size_t(len), 0.f);
  int64_t bytes = 0;
  for (auto _ : st) {
    const float* in = x.get();
    switch (what) {
      case What::mean_rows:
        t.rows(kr::Op::sum, in, y.data(), rows, len);
        bytes = rows * len * 4;
        break;
      case What::mean_strided:
        t.strided(kr::Op::sum, in, y.data(), rows, len, len);
        bytes = rows * len * 4;
        break;
      case What::layernorm:
        for (int64_t r = 0; r < rows; ++r)
          t.normalize_row(in + r * len, y.data() + r * len, len, 1e-6f, scale.data(), bias.data(), true, nullptr,
                          nullptr);
        bytes = 2 * rows * len * 4;
        break;
      case What::log_softmax:
        t.log_softmax_rows(in, y.data(), rows, len);
        bytes = 2 * rows * len * 4;
        break;
    }
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * bytes);
}

[[maybe_unused]] const bool registered = [] {
  for (Isa isa : tiers()) {
    const std::string tier = kernels::isa_name(isa);
    benchmark::RegisterBenchmark(("reduce/" + tier + "/mean_rows/197x768").c_str(), bench, isa, What::mean_rows, 197,
                                 768);
    benchmark::RegisterBenchmark(("reduce/" + tier + "/mean_strided/96x3136").c_str(), bench, isa, What::mean_strided,
                                 96, 3136);
    benchmark::RegisterBenchmark(("reduce/" + tier + "/layernorm/197x768").c_str(), bench, isa, What::layernorm, 197,
                                 768);
    benchmark::RegisterBenchmark(("reduce/" + tier + "/log_softmax/26x6625").c_str(), bench, isa, What::log_softmax, 26,
                                 6625);
  }
  return true;
}();

}  // namespace
}  // namespace octet::bench
