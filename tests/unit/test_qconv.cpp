// QConv (octet's int8 convolution) through the kernel registry, every tier this CPU runs, against
// kernels::qconv::qconv_ref (plain loops, exact integers): pointwise, strided 1x1, KxK with padding, dilation,
// groups, depthwise, multi-block im2col, fused ReLU/Clip, fused residual, zero points 0/128/255, nhwc and plain
// layouts, one and three thread chunks.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <random>

#include "engine/kernel.h"
#include "kernels/qconv/qconv.h"
#include "op_test_util.h"

namespace octet::test {
namespace {

namespace kc = kernels::qconv;

struct Case {
  int64_t n, ic, h, w, oc, k, stride, pad, dil, groups;
  int32_t za = 128, zy = 128, zr = 100;
  bool residual = false;
  std::string act;  // "", "Relu", "Clip"
  Layout layout = Layout::nhwc;
  std::string path;  // if set, the kernel's name() must contain it (the path the case is meant to take)

  Case(int64_t n_, int64_t ic_, int64_t h_, int64_t w_, int64_t oc_, int64_t k_, int64_t s_, int64_t p_, int64_t d_,
       int64_t g_)
      : n(n_), ic(ic_), h(h_), w(w_), oc(oc_), k(k_), stride(s_), pad(p_), dil(d_), groups(g_) {}
};

std::string describe(const Case& c) {
  return "n" + std::to_string(c.n) + " ic" + std::to_string(c.ic) + " " + std::to_string(c.h) + "x" +
         std::to_string(c.w) + " oc" + std::to_string(c.oc) + " k" + std::to_string(c.k) + " s" +
         std::to_string(c.stride) + " p" + std::to_string(c.pad) + " d" + std::to_string(c.dil) + " g" +
         std::to_string(c.groups) + " za" + std::to_string(c.za) + " zy" + std::to_string(c.zy) +
         (c.residual ? " +res" : "") + (c.act.empty() ? "" : " " + c.act) +
         (c.layout == Layout::plain ? " plain" : " nhwc");
}

template <class T>
std::shared_ptr<Tensor> tensor(DType t, Shape s, const std::vector<T>& v) {
  auto r = std::make_shared<Tensor>(t, s);
  std::memcpy(r->data(), v.data(), v.size() * sizeof(T));
  return r;
}

/// A case as given, then with zero points 0/10, ReLU and a fused residual (z_a = 0: what follows a ReLU, where
/// the taps path skips kernel rows over the padding), then 255/0, Clip and plain layout, then output zero point
/// 255 (ReLU must not go with it: its clamp [255, 255] would hide every error).
std::vector<Case> epilogue_variants(const Case& c) {
  std::vector<Case> r{c, c, c, c};
  r[1].za = 0, r[1].zy = 10, r[1].act = "Relu", r[1].residual = true;
  r[2].za = 255, r[2].zy = 0, r[2].act = "Clip", r[2].layout = Layout::plain;
  r[3].zy = 255;
  return r;
}

/// Runs one case against qconv_ref; returns the kernel name (which tells the path taken).
std::string run_case(const Case& c, kernels::Isa isa, int chunks) {
  CAPTURE(describe(c));
  const std::string tier = kernels::isa_name(isa);
  CAPTURE(tier);
  CAPTURE(chunks);
  std::mt19937 rng(uint32_t(c.ic * 131 + c.oc * 7 + c.k + c.za));
  kc::Geom g;
  g.n = c.n, g.ic = c.ic, g.h = c.h, g.w = c.w, g.oc = c.oc, g.kh = c.k, g.kw = c.k;
  g.sh = g.sw = c.stride, g.dh = g.dw = c.dil, g.pad_t = g.pad_l = c.pad, g.groups = c.groups;
  g.oh = (c.h + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
  g.ow = (c.w + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
  const int64_t icg = c.ic / c.groups;
  std::vector<uint8_t> x(size_t(c.n * c.ic * c.h * c.w)), r(size_t(g.rows() * c.oc));
  std::vector<int8_t> w(size_t(c.oc * icg * c.k * c.k));
  std::vector<int32_t> bias(size_t(c.oc));
  std::vector<float> sw(size_t(c.oc));
  // Full ranges, including the extremes that overflow a saturating int16 pair sum (255 * 127 * 2).
  for (auto& v : x) v = uint8_t(rng() % 256);
  for (auto& v : r) v = uint8_t(rng() % 256);
  for (auto& v : w) v = int8_t(int(rng() % 256) - 128);
  for (size_t i = 0; i < 8 && i < x.size(); ++i) x[i] = 255;
  for (auto& v : bias) v = int32_t(rng() % 20001) - 10000;
  for (auto& v : sw) v = 0.002f + float(rng() % 1000) * 1e-5f;
  const float sx = 0.02f, sy = 0.5f * std::sqrt(float(icg * c.k * c.k)) * 0.02f, sr = 0.03f;

  Graph gr;
  gr.path = "test.onnx";
  Node node;
  node.name = "qc";
  node.op_type = "QConv";
  node.domain = "octet";
  node.attrs["kernel_shape"].kind = Attribute::Kind::ints, node.attrs["kernel_shape"].ints = {c.k, c.k};
  node.attrs["strides"].kind = Attribute::Kind::ints, node.attrs["strides"].ints = {c.stride, c.stride};
  node.attrs["dilations"].kind = Attribute::Kind::ints, node.attrs["dilations"].ints = {c.dil, c.dil};
  node.attrs["pads"].kind = Attribute::Kind::ints, node.attrs["pads"].ints = {c.pad, c.pad, c.pad, c.pad};
  node.attrs["group"].kind = Attribute::Kind::i, node.attrs["group"].i = c.groups;
  const Shape xs{c.n, c.ic, c.h, c.w}, ys{c.n, c.oc, g.oh, g.ow};
  auto value = [&](const char* name, DType t, Shape s) {
    const int v = gr.add_value(name, t);
    gr.values[v].set_shape(s);
    gr.values[v].layout = c.layout;
    return v;
  };
  auto cst = [&](const std::string& name, std::shared_ptr<Tensor> t) { return gr.add_constant(name, t); };
  node.inputs = {value("x", DType::u8, xs),
                 cst("sx", tensor(DType::f32, {}, std::vector<float>{sx})),
                 cst("zx", tensor(DType::u8, {}, std::vector<uint8_t>{uint8_t(c.za)})),
                 cst("w", tensor(DType::i8, {c.oc, icg, c.k, c.k}, w)),
                 cst("sw", tensor(DType::f32, {c.oc}, sw)),
                 cst("zw", tensor(DType::i8, {c.oc}, std::vector<int8_t>(size_t(c.oc), 0))),
                 cst("sy", tensor(DType::f32, {}, std::vector<float>{sy})),
                 cst("zy", tensor(DType::u8, {}, std::vector<uint8_t>{uint8_t(c.zy)})),
                 cst("b", tensor(DType::i32, {c.oc}, bias))};
  if (c.residual) {
    node.fusion.residual_input = 9;
    node.inputs.push_back(value("r", DType::u8, ys));
    node.inputs.push_back(cst("sr", tensor(DType::f32, {}, std::vector<float>{sr})));
    node.inputs.push_back(cst("zr", tensor(DType::u8, {}, std::vector<uint8_t>{uint8_t(c.zr)})));
  }
  node.fusion.activation = c.act;
  node.fusion.alpha = -0.5f, node.fusion.beta = 2.0f;  // Clip bounds (unused otherwise)
  node.outputs = {value("y", DType::u8, ys)};
  gr.add_node(node);

  KernelInfo info{gr, 0, isa, chunks};
  auto kernel = KernelRegistry::instance().find("octet", "QConv")(info);

  // Reference (NHWC in and out).
  kernels::qgemm::Epilogue ep;
  std::vector<float> scale(size_t(c.oc));
  for (int64_t j = 0; j < c.oc; ++j) scale[size_t(j)] = (sx * sw[size_t(j)]) / sy;
  ep.scale = scale.data();
  ep.zero_point = c.zy;
  if (c.act == "Relu") ep.lo = c.zy;
  if (c.act == "Clip") {
    ep.lo = std::max(0, int32_t(std::nearbyint(-0.5 / sy)) + c.zy);
    ep.hi = std::min(255, int32_t(std::nearbyint(2.0 / sy)) + c.zy);
  }
  const bool plain = c.layout == Layout::plain;
  std::vector<uint8_t> x_nhwc = plain ? to_nhwc(x, c.n, c.ic, c.h, c.w) : x;
  std::vector<uint8_t> r_nhwc = plain ? to_nhwc(r, c.n, c.oc, g.oh, g.ow) : r;
  if (c.residual) {
    ep.residual = r_nhwc.data();
    ep.ld_residual = size_t(c.oc);
    ep.residual_scale = sr / sy;
    ep.residual_zero_point = c.zr;
  }
  std::vector<uint8_t> want(size_t(g.rows() * c.oc));
  kc::qconv_ref(g, x_nhwc.data(), c.za, w.data(), bias.data(), ep, want.data());
  if (plain) want = from_nhwc(want, c.n, c.oc, g.oh, g.ow);

  std::vector<uint8_t> got(want.size() + 64, 0xCD);
  std::vector<unsigned char> ws(kernel->workspace_bytes() + 64);
  ExecContext ctx;
  SerialChunks par(chunks);
  ctx.parallel = chunks > 1 ? &par : nullptr;
  ctx.workspace = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
  std::vector<TensorView> in(node.inputs.size());
  in[0] = TensorView{DType::u8, xs, c.layout, x.data()};
  for (size_t i = 1; i < node.inputs.size(); ++i)
    if (gr.values[node.inputs[i]].constant) in[i] = gr.values[node.inputs[i]].constant->view();
  if (c.residual) in[9] = TensorView{DType::u8, ys, c.layout, r.data()};
  std::vector<TensorView> out{TensorView{DType::u8, ys, c.layout, got.data()}};
  kernel->run(ctx, in, out);
  if (!c.path.empty()) CHECK_MESSAGE(kernel->name().find(c.path) != std::string::npos, kernel->name());
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (got[i] != want[i] && bad++ == 0) first = i;
  CHECK_MESSAGE(bad == 0, bad << " of " << want.size() << " differ; first at " << first << ": got "
                              << int(got[first]) << " want " << int(want[first]) << " (" << kernel->name() << ")");
  CHECK(got[want.size()] == 0xCD);  // nothing written past the output
  return kernel->name();
}

// One depthwise case straight on the kernels (no engine): the baseline loop and, on an AVX2 CPU, the AVX2 kernel
// against qconv_ref, with the epilogue built by hand so the two-stage residual is covered too. Rows are split in
// three uneven ranges (as threads would); the output has a guard after it.
struct DwCase {
  int64_t n, c, h, w, kh, kw, stride, pad, dil;
  int32_t za = 128;
  int residual = 0;  // 0 none, 1 one-stage, 2 two-stage
  int act = 0;       // 0 none, 1 ReLU (lo = z_y), 2 clip to [z_y - 20, z_y + 60]
};

void run_dw_case(const DwCase& d) {
  const std::string what = "n" + std::to_string(d.n) + " c" + std::to_string(d.c) + " " + std::to_string(d.h) +
                           "x" + std::to_string(d.w) + " k" + std::to_string(d.kh) + "x" + std::to_string(d.kw) +
                           " s" + std::to_string(d.stride) + " p" + std::to_string(d.pad) + " d" +
                           std::to_string(d.dil) + " za" + std::to_string(d.za) + " res" +
                           std::to_string(d.residual) + " act" + std::to_string(d.act);
  CAPTURE(what);
  std::mt19937 rng(uint32_t(d.c * 977 + d.kh * 31 + d.h + d.residual * 7 + d.act));
  kc::Geom g;
  g.n = d.n, g.ic = g.oc = g.groups = d.c, g.h = d.h, g.w = d.w, g.kh = d.kh, g.kw = d.kw;
  g.sh = g.sw = d.stride, g.dh = g.dw = d.dil, g.pad_t = g.pad_l = d.pad;
  g.oh = (d.h + 2 * d.pad - d.dil * (d.kh - 1) - 1) / d.stride + 1;
  g.ow = (d.w + 2 * d.pad - d.dil * (d.kw - 1) - 1) / d.stride + 1;
  const int64_t taps = d.kh * d.kw, rows = g.rows();
  std::vector<uint8_t> x(size_t(d.n * d.h * d.w * d.c)), res(size_t(rows * d.c));
  std::vector<int8_t> w(size_t(d.c * taps));
  std::vector<int32_t> bias(size_t(d.c));
  std::vector<float> scale(size_t(d.c));
  for (auto& v : x) v = uint8_t(rng() % 256);
  for (auto& v : res) v = uint8_t(rng() % 256);
  for (auto& v : w) v = int8_t(int(rng() % 256) - 128);
  // The extremes: |(q - z_a) * w| up to 255 * 128 in every tap of the first pixel's channels.
  for (size_t i = 0; i < size_t(d.c) && i < x.size(); ++i) x[i] = d.za >= 128 ? 0 : 255;
  for (size_t i = 0; i < size_t(d.c) && i < w.size(); ++i) w[i * size_t(taps)] = -128;
  for (auto& v : bias) v = int32_t(rng() % 20001) - 10000;
  for (auto& v : scale) v = (0.002f + float(rng() % 1000) * 1e-5f) * 0.02f / (0.3f * float(taps) * 0.02f);
  kernels::qgemm::Epilogue ep;
  ep.scale = scale.data();
  ep.zero_point = 100;
  if (d.act == 1) ep.lo = 100;
  if (d.act == 2) ep.lo = 80, ep.hi = 160;
  if (d.residual > 0) {
    ep.residual = res.data(), ep.ld_residual = size_t(d.c), ep.residual_scale = 0.7f, ep.residual_zero_point = 90;
    if (d.residual == 2) ep.add_scale = 1.3f, ep.mid_zero_point = 120;
  }
  std::vector<uint8_t> want(size_t(rows * d.c));
  kc::qconv_ref(g, x.data(), d.za, w.data(), bias.data(), ep, want.data());
  const int64_t cuts[] = {0, rows / 3, rows / 3 + 1, rows};

  auto check = [&](const char* name, const std::function<void(int64_t, int64_t, uint8_t*)>& fn) {
    CAPTURE(name);
    std::vector<uint8_t> got(want.size() + 64, 0xCD);
    for (int i = 0; i < 3; ++i) fn(cuts[i], cuts[i + 1], got.data());
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < want.size(); ++i)
      if (got[i] != want[i] && bad++ == 0) first = i;
    CHECK_MESSAGE(bad == 0, bad << " of " << want.size() << " differ; first at " << first << ": got "
                                << int(got[first]) << " want " << int(want[first]));
    CHECK(got[want.size()] == 0xCD);
  };
  // The baseline loop reads [taps][C] weights (the layout QConvOctet builds for it).
  std::vector<int8_t> wt(w.size());
  for (int64_t ch = 0; ch < d.c; ++ch)
    for (int64_t t = 0; t < taps; ++t) wt[size_t(t * d.c + ch)] = w[size_t(ch * taps + t)];
  check("baseline", [&](int64_t a, int64_t b, uint8_t* y) {
    kc::depthwise_nhwc(g, x.data(), d.za, wt.data(), bias.data(), ep, a, b, y);
  });
  if (int(kernels::detected_isa()) >= int(kernels::Isa::avx2)) {
    const kc::DwSimdWeights pw = kc::pack_dw_simd(g, w.data(), bias.data(), d.za, 16);
    check("avx2", [&](int64_t a, int64_t b, uint8_t* y) { kc::depthwise_nhwc_avx2(g, x.data(), pw, ep, a, b, y); });
  }
  if (int(kernels::detected_isa()) >= int(kernels::Isa::avx512)) {
    const kc::DwSimdWeights pw = kc::pack_dw_simd(g, w.data(), bias.data(), d.za, 32);
    check("avx512", [&](int64_t a, int64_t b, uint8_t* y) {
      kc::depthwise_nhwc_avx512(g, x.data(), pw, ep, a, b, y);
    });
  }
}

}  // namespace

TEST_SUITE("qconv") {
  TEST_CASE("Depthwise kernels (baseline, AVX2, AVX-512) match qconv_ref exactly over a shape and epilogue sweep") {
    const std::vector<DwCase> shapes = {
        // n c h w kh kw s p d
        DwCase{1, 32, 9, 9, 3, 3, 1, 1, 1},   // 3x3 s1 (MobileNetV2), whole 16-channel blocks
        DwCase{1, 48, 10, 11, 3, 3, 2, 1, 1},  // 3x3 s2, odd width
        DwCase{2, 20, 7, 7, 3, 3, 1, 1, 1},   // C % 16 = 4 (a tail block after a full one), batch 2
        DwCase{1, 7, 6, 5, 3, 3, 2, 1, 1},    // C < 16: the tail only
        DwCase{1, 33, 8, 8, 3, 3, 1, 0, 1},   // no padding, C % 16 = 1
        DwCase{1, 40, 9, 9, 5, 5, 1, 2, 1},   // 5x5 pad 2 (13 pairs)
        DwCase{1, 24, 9, 9, 5, 5, 2, 2, 1},   // 5x5 s2
        DwCase{1, 17, 9, 9, 3, 3, 1, 2, 2},   // dilation 2
        DwCase{1, 16, 5, 8, 1, 3, 1, 1, 1},   // 1x3 (odd taps, generic pair loop), pad larger than the kernel row
        DwCase{1, 16, 6, 6, 2, 2, 1, 0, 1},   // 2x2 (even taps)
        DwCase{1, 18, 3, 3, 3, 3, 1, 3, 1},   // pad 3 > kernel reach: pixels with every tap outside
        DwCase{1, 64, 7, 7, 3, 3, 1, 1, 1},   // whole 32-channel blocks (AVX-512)
        DwCase{1, 144, 6, 6, 3, 3, 2, 1, 1},  // MobileNetV2's 144: 4 blocks of 32 and a 16-channel tail
        DwCase{1, 200, 5, 7, 3, 3, 1, 1, 1},  // 6 blocks of 32 and an 8-channel tail
        DwCase{1, 128, 4, 4, 7, 7, 1, 3, 1},  // 7x7: 49 taps (25 pairs, the runtime pair loop)
    };
    for (DwCase d : shapes)
      for (int32_t za : {0, 128, 255})
        for (int residual : {0, 1, 2})
          for (int act : {0, 1, 2}) {
            d.za = za, d.residual = residual, d.act = act;
            run_dw_case(d);
          }
  }


  TEST_CASE("QConv matches the scalar reference exactly over a shape sweep on every tier") {
    const std::vector<Case> cases = {
        // n ic h w oc k s p d g
        Case{1, 16, 8, 8, 32, 1, 1, 0, 1, 1},   // pointwise: direct qgemm
        Case{2, 5, 7, 9, 17, 1, 1, 0, 1, 1},    // odd sizes, batch 2
        Case{1, 16, 9, 9, 24, 1, 2, 0, 1, 1},   // strided 1x1: im2col
        Case{1, 3, 13, 11, 8, 3, 1, 1, 1, 1},   // 3x3 pad 1
        Case{1, 8, 10, 10, 33, 3, 2, 1, 1, 1},  // 3x3 stride 2
        Case{1, 3, 23, 23, 16, 7, 2, 3, 1, 1},  // 7x7 stride 2 pad 3 (ResNet stem)
        Case{1, 8, 9, 9, 8, 3, 1, 2, 2, 1},     // dilation 2
        Case{1, 8, 6, 6, 12, 3, 1, 1, 1, 2},    // 2 groups
        Case{1, 32, 7, 7, 32, 3, 1, 1, 1, 32},  // depthwise
        Case{1, 20, 8, 8, 20, 3, 2, 1, 1, 20},  // depthwise stride 2, channels not a multiple of 16
        Case{1, 40, 9, 9, 40, 5, 1, 2, 1, 40},  // depthwise 5x5, C % 16 = 8
        Case{1, 24, 9, 9, 24, 3, 1, 2, 2, 24},  // depthwise dilation 2
        Case{1, 1, 4, 4, 1, 1, 1, 0, 1, 1},     // 1 channel, M = 16
    };
    std::vector<Case> all;
    for (const Case& c : cases)
      for (const Case& v : epilogue_variants(c)) all.push_back(v);
    for (kernels::Isa isa : int8_tiers())
      for (const Case& c : all)
        for (int chunks : {1, 3}) run_case(c, isa, chunks);
  }

  TEST_CASE("QConv im2col over several row blocks (rows x K above the 1 MB block)") {
    Case c{1, 64, 40, 40, 64, 3, 1, 1, 1, 1};  // K = 576, 1600 rows -> 2 blocks
    c.residual = true;
    c.act = "Relu";
    for (kernels::Isa isa : int8_tiers()) run_case(c, isa, 2);
  }

  // The implicit convolution (QConvOctet's taps path: qgemm_taps over a zero-point-padded copy of X, one A
  // segment per kernel row) on the tiers that have it - every one but scalar - with `path` checking the
  // avx512vnni cases really took it. Whether a tier takes it depends on how its MR tiles the output width
  // (use_taps); each tier with a taps kernel must take it for some of these cases, the rest run im2col.
  TEST_CASE("QConv taps path (no im2col) matches the scalar reference exactly") {
    struct Tc {
      Case c;
      const char* why;
      bool taps_needs_za0 = false;  // avx512vnni takes taps only when z_a = 0 (half-height tiles, use_taps)
    };
    const std::vector<Tc> cases = {
        {Case{1, 16, 14, 14, 32, 3, 1, 1, 1, 1}, "3x3 pad 1, one whole tile per line"},
        {Case{2, 8, 28, 28, 40, 3, 1, 1, 1, 1}, "batch 2, two tiles per line, a partial N panel"},
        {Case{1, 8, 13, 13, 16, 3, 1, 1, 1, 1}, "a line of 13: one short tile"},
        {Case{1, 12, 40, 40, 32, 3, 1, 1, 1, 1}, "lines of 14 + 14 + 12"},
        {Case{1, 12, 55, 55, 32, 3, 2, 1, 1, 1}, "3x3 stride 2"},
        {Case{1, 8, 16, 16, 32, 3, 1, 0, 1, 1}, "no padding: reads X itself, no copy"},
        {Case{1, 16, 28, 28, 32, 1, 2, 0, 1, 1}, "1x1 stride 2 (a downsample): X itself"},
        {Case{2, 3, 55, 55, 16, 7, 2, 3, 1, 1}, "ResNet stem: 7x7 stride 2 on 3 channels (rows of 21 read as 24)"},
        {Case{1, 3, 28, 28, 32, 3, 2, 1, 1, 1}, "MobileNet stem: 3x3 stride 2 on 3 channels (rows of 9 as 12)"},
        {Case{1, 5, 14, 14, 8, 3, 1, 1, 1, 1}, "5 channels: rows of 15 read as 16"},
        {Case{1, 4, 14, 14, 16, 5, 1, 2, 1, 1}, "5x5 pad 2"},
        {Case{1, 5, 16, 16, 16, 3, 1, 0, 1, 1}, "no padding but rows rounded up: a copy all the same"},
        {Case{1, 8, 24, 24, 40, 3, 1, 1, 1, 1}, "a width of 24: whole tiles for MR 4, 6 and 12"},
        {Case{1, 8, 3, 10, 16, 3, 1, 3, 1, 1}, "pad 3 > kernel reach: lines whose kernel rows are all padding"},
        {Case{1, 8, 9, 27, 32, 5, 2, 2, 1, 1}, "5x5 stride 2 pad 2: border lines skip 1 or 2 kernel rows (z_a 0)"},
        {Case{1, 16, 7, 7, 32, 3, 1, 1, 1, 1}, "7x7 output (ResNet-50's layer 4): half tiles, taps with z_a = 0", true},
        {Case{1, 16, 14, 14, 32, 3, 2, 1, 1, 1}, "3x3 stride 2 to 7x7: only the top line skips", true},
    };
    std::map<kernels::Isa, int> taps_taken;
    for (const Tc& t : cases) {
      const std::string why = t.why;
      CAPTURE(why);
      const std::vector<Case> all = epilogue_variants(t.c);
      for (kernels::Isa isa : int8_tiers())
        for (Case c : all) {
          if (isa == kernels::Isa::avx512vnni && t.c.w != 24)
            c.path = t.taps_needs_za0 && c.za != 0 ? "+im2col" : "+taps";
          for (int chunks : {1, 3}) taps_taken[isa] += run_case(c, isa, chunks).find("+taps") != std::string::npos;
        }
    }
    for (kernels::Isa isa : int8_tiers()) {
      const std::string tier = kernels::isa_name(isa);
      CAPTURE(tier);
      if (isa == kernels::Isa::scalar)
        CHECK(taps_taken[isa] == 0);  // no segmented-A tile: always im2col
      else
        CHECK(taps_taken[isa] > 0);
    }
  }

  TEST_CASE("QConv rejects what it cannot run with a message naming the node") {
    Graph gr;
    gr.path = "m.onnx";
    Node node;
    node.name = "qc";
    node.op_type = "QConv";
    node.domain = "octet";
    const int x = gr.add_value("x", DType::i8);
    gr.values[x].set_shape({1, 4, 4, 4});
    node.inputs = {x, x, x, x, x, x, x, x};  // the activation type is checked first
    const int y = gr.add_value("y", DType::u8);
    gr.values[y].set_shape({1, 4, 4, 4});
    node.outputs = {y};
    gr.add_node(node);
    KernelInfo info{gr, 0, kernels::Isa::scalar, 1};
    CHECK_THROWS_WITH_AS(KernelRegistry::instance().find("octet", "QConv")(info),
                         doctest::Contains("m.onnx: node 'qc' (QConv): input 'x' is int8"), Unsupported);
  }
}

}  // namespace octet::test
