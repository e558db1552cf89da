// Quantized execution end to end and the int8 op kernels other than QConv:
//  - tests/data/qdq models (scripts/make_qdq_models.py) against ONNX Runtime 1.30's outputs: exact equality, on
//    every tier, with the passes on (fused int8 graph) and off (Q/DQ kernels around float ops);
//  - the compiled QDQ graph really is int8: every conv is a QConv, no float op is left inside the chain;
//  - QuantizeLinear / DequantizeLinear (ties to even, saturation, per-axis), QAdd, QMaxPool, QGlobalAveragePool,
//    QGemm / QLinearMatMul (u8 and float outputs) against plain formulas.
#include <doctest/doctest.h>

#include <array>

#include <cmath>

#include "engine/plan.h"
#include "engine/profile.h"
#include "engine/session.h"
#include "graph/onnx_import.h"
#include "graph/tensor_proto.h"
#include "kernels/qgemm/qgemm.h"
#include "op_test_util.h"

namespace octet::test {
namespace {

const std::string kDir = std::string(OCTET_SOURCE_DIR) + "/tests/data/qdq/";

HostTensor scalar_f32(float v) { return HostTensor::f32({}, {v}); }
HostTensor scalar_u8(uint8_t v) { return HostTensor::of<uint8_t>(DType::u8, {}, {v}); }

void check_model(const std::string& model, bool optimize, kernels::Isa isa) {
  CAPTURE(model);
  CAPTURE(optimize);
  CAPTURE(kernels::isa_name(isa));
  SessionOptions opt;
  opt.optimize = optimize;
  opt.max_isa = isa;
  opt.threads = 2;
  auto s = Session::load(kDir + model + ".onnx", opt);
  for (int i = 0; i < 2; ++i) {
    Tensor in = read_tensor_pb(kDir + "input_" + std::to_string(i) + ".pb");
    Tensor want = read_tensor_pb(kDir + "ref/" + model + "_output_" + std::to_string(i) + ".pb");
    std::vector<Tensor> out = s->run({in.view()});
    REQUIRE(out.size() == 1);
    REQUIRE(out[0].shape() == want.shape());
    for (int64_t k = 0; k < want.numel(); ++k)
      CHECK_MESSAGE(out[0].as<float>()[k] == want.as<float>()[k],
                    "element " << k << ": octet " << out[0].as<float>()[k] << ", ORT " << want.as<float>()[k]);
  }
}

}  // namespace

TEST_SUITE("qdq") {
  TEST_CASE("QDQ and QOperator models match ONNX Runtime exactly on every tier, passes on and off") {
    for (const char* m : {"qdq_net", "qop_net"})
      for (kernels::Isa isa : int8_tiers())
        for (bool optimize : {true, false}) check_model(m, optimize, isa);
  }

  TEST_CASE("the QDQ model compiles to an int8 chain: QConv/QAdd/QMaxPool/QGlobalAveragePool/QGemm, u8 between") {
    auto s = Session::load(kDir + "qdq_net.onnx");
    int qconv = 0, quantize = 0, dequantize = 0, float_ops = 0;
    for (const NodeReport& r : s->describe()) {
      qconv += r.op == "QConv";
      quantize += r.op == "QuantizeLinear";
      dequantize += r.op == "DequantizeLinear";
      if (r.precision == "float32" && r.op != "DequantizeLinear") ++float_ops;
      if (r.op == "QConv") CHECK(r.kernel.rfind("qconv", 0) == 0);
    }
    CHECK(qconv == 5);
    CHECK(quantize == 1);    // the model input
    CHECK(dequantize == 1);  // the model output
    CHECK(float_ops == 0);
    auto q = Session::load(kDir + "qop_net.onnx");
    for (const NodeReport& r : q->describe())
      CHECK_MESSAGE(r.op.rfind("QLinear", 0) != 0, r.op << " was not lowered to an internal op");
  }

  TEST_CASE("the profiler counts the MACs of the lowered int8 ops as of the float ops they replace") {
    // Passes off: DQ -> Conv/Gemm -> Q in float; passes on: QConv / QGemm. Same multiply-accumulates either way.
    auto macs = [](bool optimize, const char* conv_op, const char* gemm_op) {
      SessionOptions opt;
      opt.optimize = optimize;
      auto s = Session::load(kDir + "qdq_net.onnx", opt);
      Plan& p = *s->plan_for({s->default_input_shape(0)});
      int64_t conv = 0, gemm = 0;
      for (size_t i = 0; i < p.num_steps(); ++i) {
        const Node& n = p.graph().nodes[p.step_node(int(i))];
        if (n.op_type == conv_op) conv += node_macs(p.graph(), p.step_node(int(i)));
        if (n.op_type == gemm_op) gemm += node_macs(p.graph(), p.step_node(int(i)));
      }
      return std::make_pair(conv, gemm);
    };
    const auto f = macs(false, "Conv", "Gemm");
    const auto q = macs(true, "QConv", "QGemm");
    CHECK(f.first > 0);
    CHECK(f.second > 0);
    CHECK(q == f);
  }

  TEST_CASE("QuantizeLinear: round half to even, saturation, u8 and s8, per axis") {
    // x / 0.5: 1.25 -> 2.5 -> 2, 1.75 -> 3.5 -> 4, -0.25 -> -0.5 -> -0 ; + zp
    std::vector<float> x = {1.25f, 1.75f, -0.25f, 1000.f, -1000.f, 0.f};
    OpTest t("QuantizeLinear");
    t.input(HostTensor::f32({6}, x)).constant(scalar_f32(0.5f)).constant(scalar_u8(10)).output(DType::u8, {6});
    CHECK(t.run_on(kernels::Isa::scalar).values<uint8_t>() == std::vector<uint8_t>{12, 14, 10, 255, 0, 10});
    OpTest s("QuantizeLinear");
    s.input(HostTensor::f32({6}, x))
        .constant(scalar_f32(0.5f))
        .constant(HostTensor::of<int8_t>(DType::i8, {}, {-3}))
        .output(DType::i8, {6});
    CHECK(s.run_on(kernels::Isa::scalar).values<int8_t>() == std::vector<int8_t>{-1, 1, -3, 127, -128, -3});
    // Per axis 1 of [2, 3]: scales 1, 2, 4.
    OpTest a("QuantizeLinear");
    a.input(HostTensor::f32({2, 3}, {4, 4, 4, 8, 8, 8}))
        .constant(HostTensor::f32({3}, {1, 2, 4}))
        .constant(HostTensor::of<uint8_t>(DType::u8, {3}, {0, 1, 2}))
        .output(DType::u8, {2, 3})
        .attr_i("axis", 1);
    CHECK(a.run_on(kernels::Isa::scalar).values<uint8_t>() == std::vector<uint8_t>{4, 3, 3, 8, 5, 4});
  }

  TEST_CASE("DequantizeLinear: u8, s8, int32 (bias), per axis") {
    OpTest t("DequantizeLinear");
    t.input(HostTensor::of<uint8_t>(DType::u8, {3}, {0, 128, 255})).constant(scalar_f32(0.5f)).constant(scalar_u8(128))
        .output(DType::f32, {3});
    CHECK(t.run_on(kernels::Isa::scalar).values<float>() == std::vector<float>{-64.f, 0.f, 63.5f});
    OpTest b("DequantizeLinear");
    b.input(HostTensor::of<int32_t>(DType::i32, {2}, {-1000, 7})).constant(HostTensor::f32({2}, {0.25f, 2.f}))
        .output(DType::f32, {2}).attr_i("axis", 0);
    CHECK(b.run_on(kernels::Isa::scalar).values<float>() == std::vector<float>{-250.f, 14.f});
    OpTest s("DequantizeLinear");
    s.input(HostTensor::of<int8_t>(DType::i8, {2}, {-128, 127})).constant(scalar_f32(1.f))
        .constant(HostTensor::of<int8_t>(DType::i8, {}, {-1})).output(DType::f32, {2});
    CHECK(s.run_on(kernels::Isa::scalar).values<float>() == std::vector<float>{-127.f, 128.f});
  }

  TEST_CASE("QAdd / QLinearAdd against the float formula, threads split") {
    const int64_t n = 70000;  // above the parallel grain
    std::vector<uint8_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) a[size_t(i)] = uint8_t(i * 7 % 256), b[size_t(i)] = uint8_t(i * 13 % 256);
    const float sa = 0.02f, sb = 0.035f, sy = 0.05f;
    OpTest t("QLinearAdd", 1, "com.microsoft");
    t.input(HostTensor::of(DType::u8, {n}, a)).constant(scalar_f32(sa)).constant(scalar_u8(100))
        .input(HostTensor::of(DType::u8, {n}, b)).constant(scalar_f32(sb)).constant(scalar_u8(140))
        .constant(scalar_f32(sy)).constant(scalar_u8(120)).output(DType::u8, {n});
    SerialChunks par(3);
    std::vector<uint8_t> got = t.run_on(kernels::Isa::scalar, &par).values<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
      const float v = (sa / sy) * float(int(a[size_t(i)]) - 100) + (sb / sy) * float(int(b[size_t(i)]) - 140);
      const int q = std::clamp(int(std::nearbyint(v)) + 120, 0, 255);
      REQUIRE_MESSAGE(int(got[size_t(i)]) == q, "element " << i);
    }
  }

  TEST_CASE("QMaxPool on u8, nhwc and plain, with padding") {
    // 19 channels: one 16-byte step and a byte tail; the 9x9 window has 81 taps, more than the kernel gathers at
    // once (64).
    const int64_t c = 19, h = 11, w = 10;
    std::vector<uint8_t> x(static_cast<size_t>(c * h * w));
    for (size_t i = 0; i < x.size(); ++i) x[i] = uint8_t((i * 37 + 11) % 256);
    for (auto [k, s, p] : {std::array<int64_t, 3>{3, 2, 1}, std::array<int64_t, 3>{9, 1, 4}}) {
      CAPTURE(k);
      const int64_t oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
      std::vector<uint8_t> want(static_cast<size_t>(c * oh * ow));
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            int m = 0;
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx) {
                const int64_t iy = oy * s - p + ky, ix = ox * s - p + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) m = std::max(m, int(x[size_t((ch * h + iy) * w + ix)]));
              }
            want[size_t((ch * oh + oy) * ow + ox)] = uint8_t(m);
          }
      for (Layout l : {Layout::plain, Layout::nhwc}) {
        OpTest t("QMaxPool", 13, "octet");
        const bool nhwc = l == Layout::nhwc;
        t.input(HostTensor::of(DType::u8, {1, c, h, w}, nhwc ? to_nhwc(x, 1, c, h, w) : x, l))
            .output(DType::u8, {1, c, oh, ow}, l)
            .attr_ints("kernel_shape", {k, k}).attr_ints("strides", {s, s}).attr_ints("pads", {p, p, p, p});
        std::vector<uint8_t> got = t.run_on(kernels::Isa::scalar).values<uint8_t>();
        CHECK((nhwc ? from_nhwc(got, 1, c, oh, ow) : got) == want);
      }
    }
  }

  TEST_CASE("QGlobalAveragePool / QLinearGlobalAveragePool: ORT's requantization of the integer sum") {
    const int64_t n = 2, c = 70, hw = 49;
    std::vector<uint8_t> x(static_cast<size_t>(n * c * hw));
    for (size_t i = 0; i < x.size(); ++i) x[i] = uint8_t((i * 101 + 3) % 256);
    const float sx = 0.03f, sy = 0.02f;
    const int zx = 5, zy = 130;
    std::vector<uint8_t> want(static_cast<size_t>(n * c));
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch) {
        int64_t sum = 0;
        for (int64_t p = 0; p < hw; ++p) sum += x[size_t((b * c + ch) * hw + p)];
        const float t = float(sum - hw * zx) * (sx / (sy * float(hw)));
        want[size_t(b * c + ch)] = uint8_t(std::clamp(int(std::nearbyint(t)) + zy, 0, 255));
      }
    for (Layout l : {Layout::plain, Layout::nhwc}) {
      const bool nhwc = l == Layout::nhwc;
      OpTest t("QGlobalAveragePool", 13, "octet");
      t.input(HostTensor::of(DType::u8, {n, c, 7, 7}, nhwc ? to_nhwc(x, n, c, 7, 7) : x, l))
          .constant(scalar_f32(sx)).constant(scalar_u8(uint8_t(zx))).constant(scalar_f32(sy))
          .constant(scalar_u8(uint8_t(zy))).output(DType::u8, {n, c, 1, 1}, l);
      CHECK(t.run_on(kernels::Isa::scalar).values<uint8_t>() == want);
    }
  }

  TEST_CASE("QGemm (u8 and dequantized float output) and QLinearMatMul against qgemm_ref on every tier") {
    const int64_t m = 5, k = 37, n = 21;
    std::vector<uint8_t> a(static_cast<size_t>(m * k));
    std::vector<int8_t> bkn(static_cast<size_t>(k * n)), wnk(static_cast<size_t>(n * k));
    std::vector<int32_t> bias(static_cast<size_t>(n));
    for (size_t i = 0; i < a.size(); ++i) a[i] = uint8_t((i * 53 + 1) % 256);
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < n; ++j) {
        const int8_t v = int8_t(int((kk * 31 + j * 17) % 256) - 128);
        bkn[size_t(kk * n + j)] = v;
        wnk[size_t(j * k + kk)] = v;
      }
    for (int64_t j = 0; j < n; ++j) bias[size_t(j)] = int32_t(j * 97 - 1000);
    std::vector<float> sb(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) sb[size_t(j)] = 0.001f * float(j + 1);
    const float sa = 0.05f, sy = 0.3f;
    const int za = 77, zy = 90;
    std::vector<float> su8(static_cast<size_t>(n)), sf(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) su8[size_t(j)] = (sa * sb[size_t(j)]) / sy, sf[size_t(j)] = sa * sb[size_t(j)];
    kernels::qgemm::Epilogue eu;
    eu.scale = su8.data();
    eu.zero_point = zy;
    std::vector<uint8_t> want_u8(static_cast<size_t>(m * n));
    kernels::qgemm::qgemm_ref(size_t(m), size_t(n), size_t(k), a.data(), size_t(k), za, wnk.data(), size_t(k),
                              bias.data(), eu, want_u8.data(), size_t(n));
    kernels::qgemm::Epilogue ef;
    ef.kind = kernels::qgemm::OutKind::f32;
    ef.scale = sf.data();
    std::vector<float> want_f(static_cast<size_t>(m * n));
    kernels::qgemm::qgemm_ref(size_t(m), size_t(n), size_t(k), a.data(), size_t(k), za, wnk.data(), size_t(k),
                              bias.data(), ef, want_f.data(), size_t(n));
    for (kernels::Isa isa : cpu_tiers()) {
      CAPTURE(kernels::isa_name(isa));
      OpTest u("QGemm", 13, "octet");
      u.input(HostTensor::of(DType::u8, {m, k}, a)).constant(scalar_f32(sa)).constant(scalar_u8(uint8_t(za)))
          .constant(HostTensor::of(DType::i8, {n, k}, wnk)).constant(HostTensor::f32({n}, sb))
          .constant(HostTensor::of(DType::i8, {n}, std::vector<int8_t>(size_t(n), 0)))
          .constant(scalar_f32(sy)).constant(scalar_u8(uint8_t(zy))).constant(HostTensor::of(DType::i32, {n}, bias))
          .output(DType::u8, {m, n}).attr_i("transB", 1);
      CHECK(u.run_on(isa).values<uint8_t>() == want_u8);
      OpTest f("QGemm", 13, "octet");
      f.input(HostTensor::of(DType::u8, {m, k}, a)).constant(scalar_f32(sa)).constant(scalar_u8(uint8_t(za)))
          .constant(HostTensor::of(DType::i8, {k, n}, bkn)).constant(HostTensor::f32({n}, sb)).absent().absent()
          .absent().constant(HostTensor::of(DType::i32, {n}, bias)).output(DType::f32, {m, n});
      CHECK(f.run_on(isa).values<float>() == want_f);
      // QLinearMatMul: no bias.
      std::vector<uint8_t> want_mm(static_cast<size_t>(m * n));
      kernels::qgemm::qgemm_ref(size_t(m), size_t(n), size_t(k), a.data(), size_t(k), za, wnk.data(), size_t(k),
                                nullptr, eu, want_mm.data(), size_t(n));
      OpTest mm("QLinearMatMul");
      mm.input(HostTensor::of(DType::u8, {m, k}, a)).constant(scalar_f32(sa)).constant(scalar_u8(uint8_t(za)))
          .constant(HostTensor::of(DType::i8, {k, n}, bkn)).constant(HostTensor::f32({n}, sb))
          .constant(HostTensor::of(DType::i8, {}, std::vector<int8_t>{0}))
          .constant(scalar_f32(sy)).constant(scalar_u8(uint8_t(zy))).output(DType::u8, {m, n});
      CHECK(mm.run_on(isa).values<uint8_t>() == want_mm);
    }
  }

  TEST_CASE("an asymmetric weight zero point is refused with the node named") {
    OpTest t("QLinearMatMul");
    t.input(HostTensor::of(DType::u8, {1, 2}, std::vector<uint8_t>{1, 2})).constant(scalar_f32(1.f))
        .constant(scalar_u8(0)).constant(HostTensor::of(DType::i8, {2, 2}, std::vector<int8_t>{1, 2, 3, 4}))
        .constant(scalar_f32(1.f)).constant(HostTensor::of(DType::i8, {}, std::vector<int8_t>{3}))
        .constant(scalar_f32(1.f)).constant(scalar_u8(0)).output(DType::u8, {1, 2});
    CHECK_THROWS_WITH_AS(t.make(kernels::Isa::scalar), doctest::Contains("node 'n0' (QLinearMatMul): B zero point 3"),
                         Unsupported);
  }
}

}  // namespace octet::test
