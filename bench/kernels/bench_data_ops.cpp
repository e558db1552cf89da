// Spatial data-movement kernels on segmentation / detection shapes, 1 thread:
//   resize/nearest2x_index_map/1x256x32x32, resize/bilinear2x_separable/1x256x32x32 (the FPN / DeepLab upsampling
//   hot paths) and resize/bilinear2x_ref/1x32x32x32 (the scalar reference, for scale), counted in bytes moved;
//   conv_transpose/sgemm_col2im/<shape> (FCN-style 2x learned upsampling, k4 s2 p1) in GMAC/s.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/conv/conv_transpose.h"
#include "kernels/copy/index_map.h"
#include "kernels/dispatch.h"
#include "kernels/gemm/sgemm.h"
#include "kernels/resize/resize.h"

namespace octet::bench {
namespace {

namespace kr = kernels::resize;

std::vector<float> random_vec(size_t n) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<kr::Axis> axes_2x(kr::Mode mode, int64_t c, int64_t h, int64_t w) {
  kr::Params p;
  p.mode = mode;
  p.coord = mode == kr::Mode::nearest ? kr::Coord::asymmetric : kr::Coord::pytorch_half_pixel;
  p.nearest = kr::Nearest::floor;
  return {kr::make_axis(p, 1, 1, 1), kr::make_axis(p, c, c, 1), kr::make_axis(p, h, 2 * h, 2),
          kr::make_axis(p, w, 2 * w, 2)};
}

void bench_nearest(benchmark::State& st, int64_t c, int64_t h, int64_t w) {
  const auto axes = axes_2x(kr::Mode::nearest, c, h, w);
  // The op's nearest path: per-dim offset tables into the input (kernels/copy/index_map.h).
  kernels::copy::IndexMap m;
  const int64_t st_[4] = {c * h * w, h * w, w, 1};
  for (int d = 0; d < 4; ++d) {
    m.out.push_back(axes[size_t(d)].out);
    std::vector<int64_t> t;
    for (int64_t j = 0; j < axes[size_t(d)].out; ++j) t.push_back(axes[size_t(d)].idx[size_t(j)] * st_[d]);
    m.tab.push_back(t);
  }
  m = kernels::copy::simplify(m);
  const auto x = random_vec(size_t(c * h * w));
  std::vector<float> y(size_t(4 * c * h * w));
  for (auto _ : st) {
    kernels::copy::index_map_copy(m, x.data(), y.data(), 4, nullptr, nullptr);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t((x.size() + y.size()) * sizeof(float)));
}

void bench_bilinear(benchmark::State& st, int64_t c, int64_t h, int64_t w, bool ref) {
  const auto axes = axes_2x(kr::Mode::linear, c, h, w);
  const auto x = random_vec(size_t(c * h * w));
  std::vector<float> y(size_t(4 * c * h * w)), scratch(kr::resize_separable_floats(axes));
  for (auto _ : st) {
    if (ref)
      kr::resize_ref(axes, 0, x.data(), y.data());
    else
      kr::resize_separable(axes, 0, x.data(), y.data(), scratch.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t((x.size() + y.size()) * sizeof(float)));
}

void bench_conv_transpose(benchmark::State& st, int64_t c, int64_t m, int64_t h) {
  kernels::conv::ConvTransposeParams p;
  p.ic = c, p.oc = m;
  p.in[1] = p.in[2] = h;
  p.k[1] = p.k[2] = 4;
  p.stride[1] = p.stride[2] = 2;
  p.pad[1] = p.pad[2] = 1;
  p.out[1] = p.out[2] = 2 * h;
  const auto x = random_vec(size_t(c * h * h)), w = random_vec(size_t(c * m * 16)), b = random_vec(size_t(m));
  kernels::conv::ConvTransposeFp32 conv(p, w.data(), b.data(), true, kernels::gemm::sgemm_kernel(kernels::max_isa()),
                                        1);
  std::vector<char> ws(conv.workspace_bytes() + 64);
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
  std::vector<float> y(size_t(m * 4 * h * h));
  for (auto _ : st) {
    conv.run(x.data(), nullptr, nullptr, y.data(), aligned, nullptr);
    benchmark::DoNotOptimize(y.data());
  }
  // MACs: every input pixel times every (m, k) tap.
  const double macs = double(c) * double(m) * 16.0 * double(h * h);
  st.counters["GMACps"] = benchmark::Counter(macs * 1e-9 * double(st.iterations()), benchmark::Counter::kIsRate);
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("resize/nearest2x_index_map/1x256x32x32", bench_nearest, 256, 32, 32);
  benchmark::RegisterBenchmark("resize/bilinear2x_separable/1x256x32x32", bench_bilinear, 256, 32, 32, false);
  benchmark::RegisterBenchmark("resize/bilinear2x_ref/1x32x32x32", bench_bilinear, 32, 32, 32, true);
  benchmark::RegisterBenchmark("conv_transpose/sgemm_col2im/1x64x32x32_k4s2_to_64", bench_conv_transpose, 64, 64, 32);
  benchmark::RegisterBenchmark("conv_transpose/sgemm_col2im/1x21x64x64_k4s2_to_21", bench_conv_transpose, 21, 21, 64);
  return true;
}();

}  // namespace
}  // namespace octet::bench
