// kernels::qconv::QConvOnednn (oneDNN's int8 convolution with octet's QConv semantics) against qconv_ref over a
// shape sweep: 1x1 (folded zero point), strided 1x1, 3x3 s1/s2, 7x7 s2 (stem), dilation, groups, depthwise,
// fused ReLU/Clip, fused residual with its own scale and zero point, zero points 0 and non-zero, 1 and 2 threads.
//
// The bound asserted: every output within 1 LSB of the reference, and at most 1% of them off by one. oneDNN adds
// the bias and the residual in its own order of float operations, so an exact tie to octet's rounding is not
// guaranteed. Weights are drawn from [-63, 63] here: oneDNN 2.6 on AVX2 without VNNI multiplies u8 x s8 with
// vpmaddubsw, whose int16 pair sum saturates for 255 * 127 * 2; with |w| <= 63 (255 * 63 * 2 = 32130) it cannot,
// so the test measures the requantization and not that known saturation. A separate case shows the saturation
// on full-range weights is real on such CPUs (and absent on VNNI ones), so the limit stays documented.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/backend.h"
#include "engine/session.h"
#include "graph/onnx_import.h"
#include "graph/tensor_proto.h"
#include "kernels/dispatch.h"
#include "kernels/qconv/qconv.h"
#include "kernels/qconv/qconv_onednn.h"
#include "kernels/qgemm/qgemm.h"
#include "kernels/qgemm/qgemm_onednn.h"

namespace octet::test {
namespace {

namespace kc = kernels::qconv;

struct Case {
  int64_t n, ic, h, w, oc, k, stride, pad, dil, groups;
  int32_t za = 128, zy = 128, zr = 100;
  bool residual = false;
  int act = 0;  // 0 none, 1 ReLU (lo = z_y), 2 Clip (lo and hi inside [0, 255])
};

std::string describe(const Case& c) {
  return "n" + std::to_string(c.n) + " ic" + std::to_string(c.ic) + " " + std::to_string(c.h) + "x" +
         std::to_string(c.w) + " oc" + std::to_string(c.oc) + " k" + std::to_string(c.k) + " s" +
         std::to_string(c.stride) + " p" + std::to_string(c.pad) + " d" + std::to_string(c.dil) + " g" +
         std::to_string(c.groups) + " za" + std::to_string(c.za) + " zy" + std::to_string(c.zy) + " zr" +
         std::to_string(c.zr) + (c.residual ? " +res" : "") + (c.act == 1 ? " relu" : c.act == 2 ? " clip" : "");
}

struct Outcome {
  size_t n = 0, off_by_one = 0, worse = 0;
  int max_diff = 0;
  std::string impl;
  bool folded = false;
};

Outcome run_case(const Case& c, int wmax, int threads) {
  std::mt19937 rng(uint32_t(c.ic * 131 + c.oc * 7 + c.k * 3 + c.za + c.groups));
  kc::Geom g;
  g.n = c.n, g.ic = c.ic, g.h = c.h, g.w = c.w, g.oc = c.oc, g.kh = g.kw = c.k;
  g.sh = g.sw = c.stride, g.dh = g.dw = c.dil, g.pad_t = g.pad_l = c.pad, g.groups = c.groups;
  g.oh = (c.h + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
  g.ow = (c.w + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
  const int64_t icg = c.ic / c.groups;
  std::vector<uint8_t> x(size_t(g.n * g.h * g.w * g.ic)), r(size_t(g.rows() * g.oc));
  std::vector<int8_t> w(size_t(c.oc * icg * c.k * c.k));
  std::vector<int32_t> bias(size_t(c.oc));
  std::vector<float> scale(size_t(c.oc));
  for (auto& v : x) v = uint8_t(rng() % 256);
  for (auto& v : r) v = uint8_t(rng() % 256);
  for (auto& v : w) v = int8_t(int(rng() % uint32_t(2 * wmax + 1)) - wmax);
  for (auto& v : bias) v = int32_t(rng() % 20001) - 10000;
  // s_x * s_w[j] / s_y with s_y set so the outputs spread over the u8 range (about 2 sigma of the accumulator).
  const float spread = float(wmax) * 128.f * std::sqrt(float(icg * c.k * c.k)) / 3.f;
  for (auto& v : scale) v = (0.5f + float(rng() % 1000) * 1e-3f) * 128.f / spread;

  kernels::qgemm::Epilogue ep;
  ep.zero_point = c.zy;
  if (c.act == 1) ep.lo = c.zy;
  if (c.act == 2) ep.lo = std::max(0, c.zy - 40), ep.hi = std::min(255, c.zy + 60);
  ep.residual_scale = 0.75f;
  ep.residual_zero_point = c.zr;

  kc::QConvOnednn conv(g, w.data(), bias.data(), scale.data(), c.za, ep, c.residual, threads);
  Outcome o;
  o.impl = conv.impl();
  o.folded = conv.zero_point_folded();

  kernels::qgemm::Epilogue ref_ep = ep;
  ref_ep.scale = scale.data();
  if (c.residual) ref_ep.residual = r.data(), ref_ep.ld_residual = size_t(c.oc);
  std::vector<uint8_t> want(r.size());
  kc::qconv_ref(g, x.data(), c.za, w.data(), bias.data(), ref_ep, want.data());

  // Residual in a separate buffer (copied into y by run) and in place (y holds it already): same result.
  std::vector<unsigned char> ws(conv.workspace_bytes() + 64);
  void* wsp = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
  std::vector<uint8_t> got(want.size() + 64, 0xCD);
  conv.run(x.data(), c.residual ? r.data() : nullptr, got.data(), wsp, threads);
  CHECK(got[want.size()] == 0xCD);  // nothing written past the output
  if (c.residual) {
    std::vector<uint8_t> inplace = r;
    conv.run(x.data(), inplace.data(), inplace.data(), wsp, threads);
    CHECK(std::equal(inplace.begin(), inplace.end(), got.begin()));
  }
  for (size_t i = 0; i < want.size(); ++i) {
    const int d = std::abs(int(got[i]) - int(want[i]));
    o.max_diff = std::max(o.max_diff, d);
    o.off_by_one += d == 1;
    o.worse += d > 1;
  }
  o.n = want.size();
  return o;
}

std::vector<Case> sweep() {
  // n ic h w oc k s p d g
  const std::vector<Case> shapes = {
      {1, 64, 14, 14, 64, 1, 1, 0, 1, 1},     // pointwise (z_x folded into the bias)
      {2, 24, 7, 9, 40, 1, 1, 0, 1, 1},       // odd sizes, batch 2
      {1, 64, 14, 14, 128, 1, 2, 0, 1, 1},    // 1x1 stride 2 (ResNet projection: negative end padding)
      {1, 32, 13, 11, 48, 3, 1, 1, 1, 1},     // 3x3 pad 1: source zero point
      {1, 32, 14, 14, 64, 3, 2, 1, 1, 1},     // 3x3 stride 2
      {1, 16, 12, 12, 32, 3, 1, 0, 1, 1},     // 3x3 without padding: folded
      {1, 3, 32, 32, 64, 7, 2, 3, 1, 1},      // 7x7 stride 2 pad 3, 3 channels (ResNet stem)
      {1, 16, 11, 11, 16, 3, 1, 2, 2, 1},     // dilation 2
      {1, 32, 10, 10, 48, 3, 1, 1, 1, 4},     // 4 groups
      {1, 64, 14, 14, 64, 3, 1, 1, 1, 64},    // depthwise
      {1, 96, 15, 15, 96, 3, 2, 1, 1, 96},    // depthwise stride 2 (MobileNetV2)
      {1, 20, 8, 8, 20, 3, 1, 1, 1, 20},      // depthwise, channels not a multiple of 8
  };
  std::vector<Case> all;
  for (const Case& s : shapes) {
    Case c = s;
    all.push_back(c);  // z_x 128, z_y 128, no activation
    c.za = 0, c.zy = 0, c.act = 1;
    all.push_back(c);  // zero points 0, ReLU
    c = s;
    c.za = 37, c.zy = 90, c.zr = 140, c.residual = true, c.act = 1;
    all.push_back(c);  // residual with its own zero point, ReLU
    c = s;
    c.za = 255, c.zy = 70, c.zr = 0, c.residual = true, c.act = 2;
    all.push_back(c);  // clip, extreme z_x
  }
  return all;
}

// The scale of the DequantizeLinear that produces graph output 0 (through Identity nodes): one LSB of the
// model's float output.
float output_lsb(const std::string& model) {
  const Graph g = load_onnx(model);
  int v = g.outputs.at(0);
  while (g.values[size_t(v)].producer >= 0 && g.nodes[size_t(g.values[size_t(v)].producer)].op_type == "Identity")
    v = g.nodes[size_t(g.values[size_t(v)].producer)].inputs.at(0);
  REQUIRE(g.values[size_t(v)].producer >= 0);
  const Node& dq = g.nodes[size_t(g.values[size_t(v)].producer)];
  REQUIRE(dq.op_type == "DequantizeLinear");
  const Value& scale = g.values[size_t(dq.inputs.at(1))];
  REQUIRE(scale.constant);
  return scale.constant->as<float>()[0];
}

}  // namespace

TEST_SUITE("qconv_onednn") {
  TEST_CASE("QDQ test models: OCTET_BACKEND=onednn gives octet's outputs within 1 LSB, every QConv/QGemm on oneDNN") {
    const std::string dir = std::string(OCTET_SOURCE_DIR) + "/tests/data/qdq/";
    for (const std::string m : {"qdq_net", "qop_net"}) {
      CAPTURE(m);
      const std::string path = dir + m + ".onnx";
      const float lsb = output_lsb(path);
      // Plans compile on first use, so each backend's session is loaded, compiled and run inside its scope.
      auto outputs = [&](ops::QuantBackend backend, int* onednn_convs) {
        ops::ScopedQuantBackend scope(backend);
        SessionOptions opt;
        opt.threads = 2;
        auto s = Session::load(path, opt);
        int convs = 0;
        for (const NodeReport& r : s->describe())
          if (r.op == "QConv") {
            ++convs;
            const bool dnn = r.kernel.rfind("qconv/onednn:", 0) == 0;
            // A QConv with a QAdd fused in its epilogue ("+add", two-stage) always runs on octet's path.
            const bool two_stage = r.kernel.size() > 4 && r.kernel.compare(r.kernel.size() - 4, 4, "+add") == 0;
            CHECK_MESSAGE(dnn == (backend == ops::QuantBackend::onednn && !two_stage), r.name << " runs " << r.kernel);
          } else if (r.op == "QGemm") {
            const bool dnn = r.kernel.rfind("qgemm/onednn:", 0) == 0;
            CHECK_MESSAGE(dnn == (backend == ops::QuantBackend::onednn), r.name << " runs " << r.kernel);
          }
        *onednn_convs = convs;
        std::vector<Tensor> outs;
        for (int i = 0; i < 2; ++i) {
          const Tensor in = read_tensor_pb(dir + "input_" + std::to_string(i) + ".pb");
          outs.push_back(std::move(s->run({in.view()}).at(0)));
        }
        return outs;
      };
      int convs_octet = 0, convs_onednn = 0;
      const std::vector<Tensor> a = outputs(ops::QuantBackend::octet, &convs_octet);
      const std::vector<Tensor> b = outputs(ops::QuantBackend::onednn, &convs_onednn);
      CHECK(convs_onednn >= 2);
      CHECK(convs_onednn == convs_octet);
      size_t n = 0, off = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        REQUIRE(a[i].shape() == b[i].shape());
        for (int64_t k = 0; k < a[i].numel(); ++k) {
          const float d = std::fabs(a[i].as<float>()[k] - b[i].as<float>()[k]);
          CHECK_MESSAGE(d <= lsb * 1.001f, "element " << k << ": octet " << a[i].as<float>()[k] << ", oneDNN "
                                                      << b[i].as<float>()[k] << ", 1 LSB = " << lsb);
          off += d > 0;
          ++n;
        }
      }
      MESSAGE(m << ": " << off << " of " << n << " outputs differ (by 1 LSB)");
    }
  }

  TEST_CASE("oneDNN int8 conv equals qconv_ref within 1 LSB (at most 1% off by one) over a shape sweep") {
    size_t total = 0, off = 0;
    for (const Case& c : sweep())
      for (int threads : {1, 2}) {
        CAPTURE(describe(c));
        CAPTURE(threads);
        const Outcome o = run_case(c, 63, threads);
        CAPTURE(o.impl);
        CHECK(o.max_diff <= 1);
        CHECK(o.off_by_one * 100 <= o.n);
        total += o.n, off += o.off_by_one;
        const std::string how = o.impl + (o.folded ? " (z_x folded)" : " (source zero point)");
        if (threads == 1) MESSAGE(describe(c) << ": " << how << ", off by one " << o.off_by_one << "/" << o.n);
      }
    MESSAGE("off by one overall: " << off << " of " << total);
  }

  TEST_CASE("full-range weights: exact where oneDNN has VNNI, vpmaddubsw saturation documented where not") {
    const Case c{1, 64, 14, 14, 64, 1, 1, 0, 1, 1};
    const Outcome o = run_case(c, 127, 1);
    MESSAGE(o.impl << ": max diff " << o.max_diff << ", " << o.worse << " of " << o.n << " off by more than 1");
    const auto& f = kernels::cpu_features();
    if (f.avx512vnni || f.avxvnni)
      CHECK(o.max_diff <= 1);
    else  // measured and reported above, not bounded: the cause is oneDNN's choice of a non-VNNI kernel
      CHECK((o.impl.find("avx2") != std::string::npos || o.impl.find("sse41") != std::string::npos));
  }

  TEST_CASE("oneDNN int8 matmul (QGemm under OCTET_BACKEND=onednn) equals qgemm_ref within 1 LSB, u8 and f32") {
    namespace kq = kernels::qgemm;
    struct G { size_t m, n, k; int32_t za, zy; bool relu; kq::OutKind kind; };
    const G cases[] = {{1, 1000, 2048, 0, 60, false, kq::OutKind::u8},  // ResNet-50's FC
                       {7, 33, 100, 128, 128, true, kq::OutKind::u8},   {64, 16, 3, 255, 0, false, kq::OutKind::u8},
                       {1, 1000, 2048, 0, 0, false, kq::OutKind::f32},  {5, 24, 40, 77, 0, false, kq::OutKind::f32}};
    for (const G& c : cases) {
      CAPTURE(c.m);
      CAPTURE(c.n);
      CAPTURE(c.k);
      CAPTURE(c.za);
      std::mt19937 rng(uint32_t(c.m * 7 + c.n + c.k));
      std::vector<uint8_t> a(c.m * c.k);
      std::vector<int8_t> w(c.n * c.k);
      std::vector<int32_t> bias(c.n);
      std::vector<float> scale(c.n);
      for (auto& v : a) v = uint8_t(rng() % 256);
      for (auto& v : w) v = int8_t(int(rng() % 127) - 63);  // no vpmaddubsw saturation (see the file comment)
      for (auto& v : bias) v = int32_t(rng() % 2001) - 1000;
      const float spread = 63.f * 128.f * std::sqrt(float(c.k)) / 3.f;
      for (auto& v : scale) v = (0.5f + float(rng() % 1000) * 1e-3f) * 128.f / spread;
      kq::Epilogue ep;
      ep.kind = c.kind;
      ep.zero_point = c.zy;
      if (c.relu) ep.lo = c.zy;
      auto g = kq::QGemmOnednn::try_create(c.m, c.n, c.k, w.data(), bias.data(), c.za, scale.data(), ep, 1);
      REQUIRE(g);
      ep.scale = scale.data();
      std::vector<unsigned char> ws(g->workspace_bytes() + 64);
      void* wsp = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
      if (c.kind == kq::OutKind::u8) {
        std::vector<uint8_t> want(c.m * c.n), got(c.m * c.n);
        kq::qgemm_ref(c.m, c.n, c.k, a.data(), c.k, c.za, w.data(), c.k, bias.data(), ep, want.data(), c.n);
        g->run(a.data(), got.data(), wsp, 1);
        size_t off = 0;
        for (size_t i = 0; i < want.size(); ++i) {
          CHECK(std::abs(int(got[i]) - int(want[i])) <= 1);
          off += got[i] != want[i];
        }
        CHECK(off * 100 <= want.size());
      } else {
        // f32: octet's float(acc) * scale[j] against oneDNN's; one rounding each, so a relative 1e-6.
        std::vector<float> want(c.m * c.n), got(c.m * c.n);
        kq::qgemm_ref(c.m, c.n, c.k, a.data(), c.k, c.za, w.data(), c.k, bias.data(), ep, want.data(), c.n);
        g->run(a.data(), got.data(), wsp, 1);
        for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-6));
      }
      MESSAGE(g->impl());
    }
  }
}

}  // namespace octet::test
