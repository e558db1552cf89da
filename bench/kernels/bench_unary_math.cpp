// The hot float32 unary math kernels (EfficientNet's SiLU / Sigmoid, ViT's GELU via Erf, Tanh, Exp) and the
// scalar reference they replace, 1 thread, every tier this CPU runs:
//   unary/<tier>/<op>/1x96x112x112  (EfficientNet-B0's widest activation, 1.2 M floats)
//   unary/ref/<op>/1x96x112x112     (the <cmath> reference in double: what a plain loop would cost)
// Counter: elements per second (items_per_second); these ops are bound by arithmetic, not memory.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/eltwise/unary_math.h"

namespace octet::bench {
namespace {

namespace ek = kernels::eltwise;
using kernels::Isa;

constexpr int64_t kN = 96 * 112 * 112;

std::vector<float> inputs() {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-6, 6);
  std::vector<float> x(static_cast<size_t>(kN));
  for (auto& v : x) v = d(rng);
  return x;
}

void bench_unary(benchmark::State& st, const ek::UnaryTable* t, ek::UnaryOp op) {
  const std::vector<float> x = inputs();
  std::vector<float> y(x.size());
  const ek::UnaryParams p{1.f, 0.5f, 1.f};
  for (auto _ : st) {
    if (t)
      t->run(op, p, x.data(), y.data(), kN);
    else
      ek::unary_ref(op, p, x.data(), y.data(), kN);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetItemsProcessed(int64_t(st.iterations()) * kN);
}

[[maybe_unused]] const bool registered = [] {
  const ek::UnaryOp ops[] = {ek::UnaryOp::exp, ek::UnaryOp::tanh, ek::UnaryOp::erf, ek::UnaryOp::log,
                             ek::UnaryOp::hard_swish};
  for (ek::UnaryOp op : ops) {
    const std::string name = std::string("/") + ek::unary_op_name(op) + "/1x96x112x112";
    for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
      if (int(isa) <= int(kernels::max_isa()))
        benchmark::RegisterBenchmark(("unary/" + std::string(kernels::isa_name(isa)) + name).c_str(), bench_unary,
                                     &ek::unary_table(isa), op);
    benchmark::RegisterBenchmark(("unary/ref" + name).c_str(), bench_unary, nullptr, op);
  }
  return true;
}();

}  // namespace
}  // namespace octet::bench
