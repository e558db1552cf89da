// FP32 convolution and SGEMM benchmarks, 1 thread:
//   conv/onednn_fp32/resnet50/<layer>       every distinct ResNet-50 conv, NHWC (the engine's layout), bias+ReLU
//   conv/onednn_fp32_nchw/resnet50/<layer>  the same in plain NCHW, for the layout decision
//   conv/im2col_sgemm/resnet50/<layer>      the same NHWC convs through conv_fp32_im2col as the engine builds it
//                                           (indirect SGEMM over the image for all but 1x1 s1 convs)
//   conv/im2col_copy/resnet50/<layer>       the same with the patches copied (im2col) before a plain SGEMM
//   conv/onednn_fp32/resnet50/network       all 53 convs one after another (one ResNet-50's worth of conv work)
//   sgemm/<tier>/square/<n>, sgemm/<tier>/fc/1x2048x1000 (ResNet-50's FC layer, B packed at load)
//   sgemm/onednn/...                        oneDNN's dnnl_sgemm on the same sizes, for comparison
// Counters: GMACps, and peak_pct of the FMA peak measured at start by peak.cpp.
#include <benchmark/benchmark.h>

#include <omp.h>

#include <memory>
#include <oneapi/dnnl/dnnl.h>
#include <random>
#include <string>
#include <vector>

#include "bench/kernels/peak.h"
#include "bench/kernels/resnet50_shapes.h"
#include "kernels/conv/conv_fp32_im2col.h"
#include "kernels/conv/conv_fp32_onednn.h"
#include "kernels/dispatch.h"
#include "kernels/gemm/sgemm.h"

namespace octet::bench {
namespace {

namespace kc = kernels::conv;
namespace kg = kernels::gemm;

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// 64-byte aligned scratch.
struct Buffer {
  explicit Buffer(size_t bytes) : p(new (std::align_val_t(64)) unsigned char[bytes + 64]) {}
  std::unique_ptr<unsigned char[]> p;
  void* get() const { return p.get(); }
};

// One ResNet-50 conv ready to run: weights reordered, buffers allocated.
struct ConvRun {
  kc::ConvParams p;
  std::unique_ptr<kc::ConvFp32Onednn> conv;
  std::vector<float> src, dst;
  std::unique_ptr<Buffer> ws;

  ConvRun(const ConvShape& s, bool nhwc) {
    p.ic = s.ic, p.oc = s.oc, p.ih = s.h, p.iw = s.w, p.oh = s.oh(), p.ow = s.ow(), p.kh = p.kw = s.k;
    p.stride_h = p.stride_w = s.stride;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.pad;
    p.src_nhwc = p.dst_nhwc = nhwc;
    p.has_bias = true;
    p.act.kind = kg::Activation::relu;
    const std::vector<float> w = random_vec(size_t(s.oc) * s.ic * s.k * s.k, 1), b = random_vec(size_t(s.oc), 2);
    conv = std::make_unique<kc::ConvFp32Onednn>(p, w.data(), b.data(), 1);
    src = random_vec(size_t(s.ic) * s.h * s.w, 3);
    dst.resize(size_t(s.oc) * s.oh() * s.ow());
    ws = std::make_unique<Buffer>(conv->workspace_bytes());
  }
  void run() { conv->run(src.data(), dst.data(), nullptr, ws->get(), 1); }
};

// The same conv through im2col + octet's SGEMM (NHWC only).
struct Im2colRun {
  kc::ConvParams p;
  std::unique_ptr<kc::ConvFp32Im2col> conv;
  std::vector<float> src, dst;
  std::unique_ptr<Buffer> ws;

  explicit Im2colRun(const ConvShape& s, bool indirect = true) {
    p.ic = s.ic, p.oc = s.oc, p.ih = s.h, p.iw = s.w, p.oh = s.oh(), p.ow = s.ow(), p.kh = p.kw = s.k;
    p.stride_h = p.stride_w = s.stride;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.pad;
    p.src_nhwc = p.dst_nhwc = true;
    p.has_bias = true;
    p.act.kind = kg::Activation::relu;
    const std::vector<float> w = random_vec(size_t(s.oc) * s.ic * s.k * s.k, 1), b = random_vec(size_t(s.oc), 2);
    conv = std::make_unique<kc::ConvFp32Im2col>(p, w.data(), b.data(), kg::sgemm_kernel(), 1, indirect);
    src = random_vec(size_t(s.ic) * s.h * s.w, 3);
    dst.resize(size_t(s.oc) * s.oh() * s.ow());
    ws = std::make_unique<Buffer>(conv->workspace_bytes());
  }
  void run() { conv->run(src.data(), dst.data(), nullptr, ws->get(), nullptr); }
};

void set_counters(benchmark::State& state, double macs) {
  const double g = macs / 1e9;
  state.counters["GMACps"] = benchmark::Counter(g, benchmark::Counter::kIsIterationInvariantRate);
  const double peak = fma_peak_now();  // right after the timed loop (peak.h)
  if (peak > 0) {
    state.counters["peak_pct"] = benchmark::Counter(g * 100 / peak, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak_GMACps"] = peak;
  }
}

void bench_conv(benchmark::State& state, const ConvShape& s, bool nhwc) {
  ConvRun r(s, nhwc);
  for (auto _ : state) {
    r.run();
    benchmark::DoNotOptimize(r.dst.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, double(s.macs()));
  state.SetLabel(r.conv->impl());
}

void bench_im2col(benchmark::State& state, const ConvShape& s, bool indirect) {
  Im2colRun r(s, indirect);
  for (auto _ : state) {
    r.run();
    benchmark::DoNotOptimize(r.dst.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, double(s.macs()));
  state.SetLabel("im2col_sgemm:" + r.conv->impl());
}

void bench_network(benchmark::State& state, bool nhwc) {
  std::vector<std::unique_ptr<ConvRun>> runs;
  double macs = 0;
  for (const ConvShape& s : kResnet50Convs)
    for (int i = 0; i < s.count; ++i) {  // a copy per occurrence: weights stream from memory as in the model
      runs.push_back(std::make_unique<ConvRun>(s, nhwc));
      macs += double(s.macs());
    }
  for (auto _ : state)
    for (auto& r : runs) {
      r->run();
      benchmark::DoNotOptimize(r->dst.data());
    }
  set_counters(state, macs);
}

void bench_sgemm(benchmark::State& state, const kg::SgemmKernel& uk, int64_t m, int64_t n, int64_t k) {
  const std::vector<float> a = random_vec(size_t(m * k), 4), b = random_vec(size_t(k * n), 5);
  std::vector<float> c(size_t(m * n)), packed(kg::sgemm_packed_b_floats(uk, k, n));
  kg::sgemm_pack_b(uk, k, n, b.data(), n, 1, packed.data());
  Buffer ws(kg::sgemm_workspace_bytes(uk, m, n, k, 1, true));
  kg::SgemmArgs g;
  g.m = m, g.n = n, g.k = k, g.a = a.data(), g.a_rs = k, g.packed_b = packed.data(), g.c = c.data(), g.ldc = n;
  for (auto _ : state) {
    kg::sgemm(uk, g, ws.get());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, double(m) * n * k);
  state.SetLabel(uk.name);
}

// oneDNN's own sgemm (row-major, packs both operands every call), as the yardstick for octet's tile.
void bench_onednn_sgemm(benchmark::State& state, int64_t m, int64_t n, int64_t k) {
  omp_set_num_threads(1);
  const std::vector<float> a = random_vec(size_t(m * k), 4), b = random_vec(size_t(k * n), 5);
  std::vector<float> c(size_t(m * n));
  for (auto _ : state) {
    dnnl_sgemm('N', 'N', m, n, k, 1.f, a.data(), k, b.data(), n, 0.f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, double(m) * n * k);
}

int register_all() {
  for (const ConvShape& s : kResnet50Convs) {
    benchmark::RegisterBenchmark((std::string("conv/onednn_fp32/resnet50/") + s.name).c_str(),
                                 [&s](benchmark::State& st) { bench_conv(st, s, true); });
    benchmark::RegisterBenchmark((std::string("conv/im2col_sgemm/resnet50/") + s.name).c_str(),
                                 [&s](benchmark::State& st) { bench_im2col(st, s, true); });
    benchmark::RegisterBenchmark((std::string("conv/im2col_copy/resnet50/") + s.name).c_str(),
                                 [&s](benchmark::State& st) { bench_im2col(st, s, false); });
    benchmark::RegisterBenchmark((std::string("conv/onednn_fp32_nchw/resnet50/") + s.name).c_str(),
                                 [&s](benchmark::State& st) { bench_conv(st, s, false); });
  }
  benchmark::RegisterBenchmark("conv/onednn_fp32/resnet50/network", [](benchmark::State& st) { bench_network(st, true); })
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("conv/onednn_fp32_nchw/resnet50/network",
                               [](benchmark::State& st) { bench_network(st, false); })
      ->Unit(benchmark::kMillisecond);
  for (int64_t n : {64, 256, 1024})
    benchmark::RegisterBenchmark(("sgemm/onednn/square/" + std::to_string(n)).c_str(),
                                 [=](benchmark::State& st) { bench_onednn_sgemm(st, n, n, n); });
  benchmark::RegisterBenchmark("sgemm/onednn/fc/1x2048x1000",
                               [](benchmark::State& st) { bench_onednn_sgemm(st, 1, 1000, 2048); });
  using kernels::Isa;
  for (Isa tier : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    const kg::SgemmKernel* uk = kg::sgemm_kernel_for(tier);
    if (!uk || int(tier) > int(kernels::max_isa())) continue;  // never run what this CPU lacks
    const std::string t = kernels::isa_name(tier);
    for (int64_t n : {64, 128, 256, 512, 1024}) {
      if (tier == Isa::scalar && n > 256) continue;  // the scalar tier is a correctness fallback
      benchmark::RegisterBenchmark(("sgemm/" + t + "/square/" + std::to_string(n)).c_str(),
                                   [=](benchmark::State& st) { bench_sgemm(st, *uk, n, n, n); });
    }
    benchmark::RegisterBenchmark(("sgemm/" + t + "/fc/1x2048x1000").c_str(),
                                 [=](benchmark::State& st) { bench_sgemm(st, *uk, 1, 1000, 2048); });
  }
  return 0;
}

const int registered = register_all();

}  // namespace
}  // namespace octet::bench
