// Int8 convolution, octet vs oneDNN side by side, batch 1, 1 thread, NHWC u8 activations, s8 per-channel weights,
// the requantization to u8 (per-channel scale, output zero point) and a ReLU fused in both:
//   qconv/<tier>/<model>/<layer>   octet's QConv path of that tier (kernels/qconv/qconv_octet: the engine's code -
//                                  pointwise qgemm, im2col + qgemm, or the depthwise loop; the label says which)
//   qconv/onednn/<model>/<layer>   oneDNN 2.6's int8 convolution with the same semantics (qconv_onednn)
//   qconv/<impl>/<model>/network   every conv of the model in order, each shape `count` times (its own weights
//                                  per occurrence, streaming from memory as in a real run): the total-time ratio
// over every distinct conv of ResNet-50 (bench/kernels/resnet50_shapes.h) and MobileNetV2 (mobilenet_v2_shapes.h).
//   qconv/avx2_w7/<model>/...      octet's AVX2 tier on weights with |w| <= 64 (quantize --weight-bits 7), where
//                                  its exact vpmaddubsw kernel runs (oneDNN's AVX2 kernel is that instruction too)
// Tiers: every one this CPU runs (OCTET_MAX_ISA clamps); scalar only on shapes up to 3 MMAC (it is the
// correctness fallback). Counters: GMACps and peak_pct (percent of the int8 peak of the CPU's top tier, peak.h).
//
// Zero points as in a quantized network: activations after a ReLU have z_x = 0, so z_x = 0 except on each
// model's first conv, which reads the normalised image (z_x = 128 there; oneDNN then needs its source zero point,
// the padding compensation). Output zero point 0 (a ReLU follows), so ReLU is the clamp at z_y.
// Weights rotate over copies (as bench_qgemm.cpp: up to 16, about 4 MB in all) so one copy does not sit in
// cache from one iteration to the next.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/kernels/mobilenet_v2_shapes.h"
#include "bench/kernels/peak.h"
#include "bench/kernels/resnet50_shapes.h"
#include "kernels/dispatch.h"
#include "kernels/qconv/qconv_octet.h"
#include "kernels/qconv/qconv_onednn.h"
#include "kernels/qgemm/qgemm.h"

namespace octet::bench {
namespace {

namespace kc = kernels::qconv;
namespace kq = kernels::qgemm;
using kernels::Isa;

constexpr int kOnednn = -1;  // "tier" of the oneDNN rows
constexpr int kAvx2W7 = -2;  // octet's AVX2 tier on 7-bit weights (|w| <= 64): its vpmaddubsw kernel is exact there

kc::Geom geom_of(const ConvShape& s) {
  kc::Geom g;
  g.ic = s.ic, g.oc = s.oc, g.h = s.h, g.w = s.w, g.kh = g.kw = s.k, g.sh = g.sw = s.stride;
  g.pad_t = g.pad_l = s.pad, g.oh = s.oh(), g.ow = s.ow(), g.groups = s.groups;
  return g;
}

// 64-byte aligned scratch.
struct Buffer {
  explicit Buffer(size_t bytes) : p(new (std::align_val_t(64)) unsigned char[bytes + 64]) {}
  std::unique_ptr<unsigned char[]> p;
  void* get() const { return p.get(); }
};

// One conv's constant data and the quantization parameters of the benchmark.
struct ConvData {
  kc::Geom g;
  int32_t za = 0;
  std::vector<int8_t> w;
  std::vector<int32_t> bias;
  std::vector<float> scale;
  kq::Epilogue ep;  // u8, z_y = 0, ReLU (lo = z_y)

  ConvData(const ConvShape& s, bool first, uint32_t seed, int wmax = 127) : g(geom_of(s)), za(first ? 128 : 0) {
    std::mt19937 rng(seed);
    w.resize(size_t(g.oc * g.icg() * g.kh * g.kw));
    for (auto& v : w) v = int8_t(int(rng() % uint32_t(2 * wmax + 1)) - wmax);
    bias.resize(size_t(g.oc));
    for (auto& v : bias) v = int32_t(rng() % 2001) - 1000;
    scale.assign(size_t(g.oc), 1.f / (64.f * 128.f));
    ep.scale = scale.data();
    ep.zero_point = 0;
    ep.lo = 0;
  }
};

// One implementation of one conv, built once (weights packed / reordered): octet's of a tier, or oneDNN's.
struct ConvImpl {
  std::unique_ptr<kc::QConvOctet> octet;
  std::unique_ptr<kc::QConvOnednn> onednn;
  const ConvData* d = nullptr;

  ConvImpl(const ConvData& data, int tier) : d(&data) {
    if (tier == kOnednn)
      onednn = std::make_unique<kc::QConvOnednn>(data.g, data.w.data(), data.bias.data(), data.scale.data(), data.za,
                                                 data.ep, false, 1);
    else
      octet = std::make_unique<kc::QConvOctet>(data.g, data.w.data(), data.bias.data(), data.za,
                                               tier == kAvx2W7 ? Isa::avx2 : Isa(tier));
  }
  size_t workspace_bytes() const { return onednn ? onednn->workspace_bytes() : octet->workspace_bytes(); }
  std::string name() const { return onednn ? onednn->impl() : octet->name(); }
  void run(const uint8_t* x, uint8_t* y, void* ws) const {
    if (onednn)
      onednn->run(x, nullptr, y, ws, 1);
    else
      octet->run(x, y, d->ep, ws, nullptr);
  }
};

size_t weight_bytes(const ConvShape& s) { return size_t(s.oc) * (s.ic / s.groups) * s.k * s.k; }

// peak_pct: the median over calls of the kernel's rate against a short run of the peak loop right after each
// call (paired_int8_pct, peak.h), in a phase after the timed loop with half its call count (>= 10);
// peak_GMACps is the peak measured right after the timed loop and peak_pct_after the percentage against it (the
// method before: one figure per row, which the host's interference moved by up to 10% between runs).
template <class Call>
void set_counters(benchmark::State& state, double macs, const Call& call) {
  const double peak = int8_peak_now();
  const double g = macs / 1e9;
  state.counters["GMACps"] = benchmark::Counter(g, benchmark::Counter::kIsIterationInvariantRate);
  if (peak > 0) {
    state.counters["peak_pct"] = paired_int8_pct(macs, std::max<int64_t>(10, state.iterations() / 2), call);
    state.counters["peak_pct_after"] =
        benchmark::Counter(g * 100 / peak, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak_GMACps"] = peak;
  }
}

void bench_layer(benchmark::State& state, const ConvShape& s, bool first, int tier) {
  const ConvData data(s, first, 7, tier == kAvx2W7 ? 64 : 127);
  const size_t copies = std::clamp<size_t>((size_t(4) << 20) / std::max<size_t>(1, weight_bytes(s)), 1, 16);
  std::vector<std::unique_ptr<ConvImpl>> impls;
  size_t ws_bytes = 0;
  for (size_t i = 0; i < copies; ++i) {
    impls.push_back(std::make_unique<ConvImpl>(data, tier));
    ws_bytes = std::max(ws_bytes, impls.back()->workspace_bytes());
  }
  std::mt19937 rng(3);
  std::vector<uint8_t> x(size_t(s.h) * s.w * s.ic), y(size_t(s.oh()) * s.ow() * s.oc);
  for (auto& v : x) v = uint8_t(rng() % 256);
  Buffer ws(ws_bytes);
  size_t rot = 0;
  auto call = [&] {
    impls[rot]->run(x.data(), y.data(), ws.get());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    rot = rot + 1 == impls.size() ? 0 : rot + 1;
  };
  for (auto _ : state) call();
  set_counters(state, double(s.macs()), call);
  state.counters["occurrences"] = s.count;  // in the network: bench/kernel_table.py weighs the layers by it
  state.SetLabel(impls[0]->name());
}

template <size_t N>
void bench_network(benchmark::State& state, const ConvShape (&convs)[N], int tier) {
  struct Layer {
    std::unique_ptr<ConvData> data;
    std::unique_ptr<ConvImpl> impl;
    std::vector<uint8_t> x, y;
  };
  std::vector<Layer> layers;
  double macs = 0;
  size_t ws_bytes = 0;
  uint32_t seed = 1;
  std::mt19937 rng(3);
  for (size_t i = 0; i < N; ++i)
    for (int c = 0; c < convs[i].count; ++c) {
      const ConvShape& s = convs[i];
      Layer l;
      l.data = std::make_unique<ConvData>(s, i == 0, seed++, tier == kAvx2W7 ? 64 : 127);
      l.impl = std::make_unique<ConvImpl>(*l.data, tier);
      l.x.resize(size_t(s.h) * s.w * s.ic);
      for (auto& v : l.x) v = uint8_t(rng() % 256);
      l.y.resize(size_t(s.oh()) * s.ow() * s.oc);
      ws_bytes = std::max(ws_bytes, l.impl->workspace_bytes());
      macs += double(s.macs());
      layers.push_back(std::move(l));
    }
  Buffer ws(ws_bytes);
  auto call = [&] {
    for (Layer& l : layers) {
      l.impl->run(l.x.data(), l.y.data(), ws.get());
      benchmark::DoNotOptimize(l.y.data());
    }
  };
  for (auto _ : state) call();
  set_counters(state, macs, call);
  state.SetLabel(std::to_string(layers.size()) + " convs");
}

template <size_t N>
void register_model(const char* model, const ConvShape (&convs)[N]) {
  std::vector<int> tiers;
  for (Isa t : {Isa::scalar, Isa::avx2, Isa::avxvnni, Isa::avx512, Isa::avx512vnni})
    if (int(t) <= int(kernels::max_isa()) && kq::qgemm_kernel_for(t)) tiers.push_back(int(t));
  if (int(kernels::max_isa()) >= int(Isa::avx2)) tiers.push_back(kAvx2W7);
  tiers.push_back(kOnednn);
  for (int tier : tiers) {
    const std::string impl =
        tier == kOnednn ? "onednn" : tier == kAvx2W7 ? "avx2_w7" : kernels::isa_name(Isa(tier));
    for (size_t i = 0; i < N; ++i) {
      const ConvShape& s = convs[i];
      if (tier == int(Isa::scalar) && s.macs() > 3'000'000) continue;
      const bool first = i == 0;
      benchmark::RegisterBenchmark(("qconv/" + impl + "/" + model + "/" + s.name).c_str(),
                                   [&s, first, tier](benchmark::State& st) { bench_layer(st, s, first, tier); })
          ->Unit(benchmark::kMicrosecond);
    }
    if (tier != int(Isa::scalar))
      benchmark::RegisterBenchmark(("qconv/" + impl + "/" + model + "/network").c_str(),
                                   [&convs, tier](benchmark::State& st) { bench_network(st, convs, tier); })
          ->Unit(benchmark::kMillisecond);
  }
}

int register_all() {
  register_model("resnet50", kResnet50Convs);
  register_model("mobilenet_v2", kMobilenetV2Convs);
  return 0;
}

const int registered = register_all();

}  // namespace
}  // namespace octet::bench
