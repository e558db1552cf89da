// Conv through the registry (oneDNN kernel, and im2col + octet's SGEMM forced by OCTET_CONV_FP32) against the naive direct convolution kernels::conv::conv_ref.
// Tolerance (sweep): |got - want| <= 1e-4 * |want| + 1e-5 (inputs in [-1, 1], at most 7*7*12 products per output; fp32
// summation error stays near 1e-6 there).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "fused_op_test.h"
#include "kernels/conv/conv_fp32_im2col.h"
#include "kernels/conv/conv_fp32_onednn.h"
#include "kernels/gemm/sgemm.h"
#include "op_test_util.h"

namespace {

using namespace octet;
using kernels::conv::ConvParams;
using octet::test::FusedOpTest;
using octet::test::HostTensor;
using octet::test::random_floats;

struct ConvCase {
  ConvParams p;
  bool one_d = false;
  bool weights_const = true;
  bool alias_residual = false;
  std::string act;  // "", "Relu", "Clip", "LeakyRelu", "Sigmoid"
  float atol = 1e-5f;
};

Shape nchw(int64_t n, int64_t c, int64_t h, int64_t w, bool one_d) {
  return one_d ? Shape{n, c, w} : Shape{n, c, h, w};
}

// Forces the engine's FP32 conv choice for one scope (the factory reads OCTET_CONV_FP32 at kernel creation).
struct ForcePath {
  explicit ForcePath(const char* path) { setenv("OCTET_CONV_FP32", path, 1); }
  ~ForcePath() { unsetenv("OCTET_CONV_FP32"); }
};

// Whether ConvFp32Im2col takes this case (groups 1, NHWC throughout, constant weights).
bool im2col_eligible(const ConvCase& cc) {
  const ConvParams& p = cc.p;
  return p.groups == 1 && p.src_nhwc && p.dst_nhwc && (!p.has_residual || p.residual_nhwc) && cc.weights_const;
}

void run_case(const ConvCase& cc, uint32_t seed, const char* force = nullptr) {
  ForcePath fp(force ? force : "");
  ConvParams p = cc.p;
  p.oh = (p.ih + p.pad_top + p.pad_bottom - (p.kh - 1) * p.dilation_h - 1) / p.stride_h + 1;
  p.ow = (p.iw + p.pad_left + p.pad_right - (p.kw - 1) * p.dilation_w - 1) / p.stride_w + 1;
  const Layout in_l = p.src_nhwc ? Layout::nhwc : Layout::plain, out_l = p.dst_nhwc ? Layout::nhwc : Layout::plain,
               res_l = p.residual_nhwc ? Layout::nhwc : Layout::plain;
  std::vector<float> x = random_floats(size_t(p.n * p.ic * p.ih * p.iw), -1, 1, seed);
  std::vector<float> w = random_floats(size_t(p.oc * (p.ic / p.groups) * p.kh * p.kw), -1, 1, seed + 1);
  std::vector<float> b = random_floats(size_t(p.oc), -1, 1, seed + 2);
  std::vector<float> r = random_floats(size_t(p.n * p.oc * p.oh * p.ow), -1, 1, seed + 3);
  p.act = {};
  if (cc.act == "Relu") p.act.kind = kernels::gemm::Activation::relu;
  if (cc.act == "LeakyRelu") p.act = {kernels::gemm::Activation::leaky_relu, 0.1f, 0};
  if (cc.act == "Clip") p.act = {kernels::gemm::Activation::clip, -0.5f, 0.7f};
  if (cc.act == "Sigmoid") p.act.kind = kernels::gemm::Activation::sigmoid;
  if (cc.act == "HardSigmoid") p.act = {kernels::gemm::Activation::hard_sigmoid, 0.2f, 0.5f};
  if (cc.act == "HardSwish") p.act.kind = kernels::gemm::Activation::hard_swish;
  if (cc.act == "Silu") p.act.kind = kernels::gemm::Activation::silu;
  std::vector<float> want(r.size());
  kernels::conv::conv_ref(p, x.data(), w.data(), b.data(), r.data(), want.data());

  FusedOpTest op("Conv");
  op.input(HostTensor::f32(nchw(p.n, p.ic, p.ih, p.iw, cc.one_d), x, in_l));
  const Shape ws = cc.one_d ? Shape{p.oc, p.ic / p.groups, p.kw} : Shape{p.oc, p.ic / p.groups, p.kh, p.kw};
  op.input(HostTensor::f32(ws, w), cc.weights_const);
  if (p.has_bias)
    op.input(HostTensor::f32({p.oc}, b), true);
  else if (p.has_residual)
    op.absent();
  int res = -1;
  if (p.has_residual) res = op.input(HostTensor::f32(nchw(p.n, p.oc, p.oh, p.ow, cc.one_d), r, res_l));
  op.output(nchw(p.n, p.oc, p.oh, p.ow, cc.one_d), out_l);
  if (cc.one_d) {
    op.ints("strides", {p.stride_w});
    op.ints("dilations", {p.dilation_w});
    op.ints("pads", {p.pad_left, p.pad_right});
  } else {
    op.ints("strides", {p.stride_h, p.stride_w});
    op.ints("dilations", {p.dilation_h, p.dilation_w});
    op.ints("pads", {p.pad_top, p.pad_left, p.pad_bottom, p.pad_right});
  }
  op.node().attrs["group"].kind = Attribute::Kind::i;
  op.node().attrs["group"].i = p.groups;
  op.fuse(res, cc.act, p.act.alpha, p.act.beta);
  auto k = op.make(kernels::detected_isa());
  if (force && std::string(force) == "im2col" && im2col_eligible(cc))
    CHECK_MESSAGE(k->name().rfind("conv/im2col_sgemm:", 0) == 0, k->name());
  if (force && std::string(force) == "onednn") CHECK_MESSAGE(k->name().rfind("conv/onednn:", 0) == 0, k->name());
  const std::string what = k->name() + " ic=" + std::to_string(p.ic) + " oc=" + std::to_string(p.oc) + " g=" +
                           std::to_string(p.groups) + " k=" + std::to_string(p.kh) + "x" + std::to_string(p.kw) +
                           " s=" + std::to_string(p.stride_w) + " d=" + std::to_string(p.dilation_w) + " pads=" +
                           std::to_string(p.pad_top) + "," + std::to_string(p.pad_left) + "," +
                           std::to_string(p.pad_bottom) + "," + std::to_string(p.pad_right) +
                           (p.src_nhwc ? " nhwc" : " nchw") + (p.has_bias ? " bias" : "") +
                           (p.has_residual ? " residual" : "") + " act=" + cc.act;
  octet::test::check_close(op.run(*k, nullptr, cc.alias_residual), want, 1e-4f, cc.atol, what);
}

}  // namespace

TEST_SUITE("conv") {
  TEST_CASE("conv sweep: kernels 1/3/5/7, strides, pads, dilation, groups, layouts, bias, activations, residual") {
    const char* acts[] = {"", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Silu"};
    uint32_t seed = 1;
    int i = 0;
    for (int64_t k : {1, 3, 5, 7})
      for (int64_t s : {1, 2})
        for (int gk = 0; gk < 3; ++gk)
          for (bool nhwc : {false, true}) {
            ConvCase c;
            ConvParams& p = c.p;
            // Channel counts off multiples of 8 except in the depthwise case's 16.
            p.ic = gk == 2 ? 16 : (gk == 1 ? 6 : 5);
            p.oc = gk == 2 ? 16 : (gk == 1 ? 10 : 12);
            p.groups = gk == 0 ? 1 : (gk == 1 ? 2 : p.ic);
            p.n = i % 7 == 0 ? 2 : 1;
            p.ih = 11;
            p.iw = 9 + i % 3;
            p.kh = p.kw = k;
            p.stride_h = p.stride_w = s;
            p.dilation_h = p.dilation_w = i % 3 == 0 && k > 1 ? 2 : 1;
            if (i % 2) {  // asymmetric pads
              p.pad_top = k / 2, p.pad_left = 0, p.pad_bottom = 1, p.pad_right = k / 2 + 1;
            } else {
              p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = k / 2;
            }
            p.src_nhwc = p.dst_nhwc = p.residual_nhwc = nhwc;
            p.has_bias = i % 4 != 3;
            p.has_residual = i % 3 == 1;
            c.act = acts[(i + i / 2) % 8];  // every activation with both layouts
            ++i;
            for (const char* path : {"onednn", "im2col"}) run_case(c, seed, path);
            seed += 4;
          }
  }

  TEST_CASE("conv: 1-D, runtime weights, aliased and re-laid residual, mixed layouts") {
    ConvCase c;
    c.p = ConvParams{};
    c.p.ic = 7, c.p.oc = 9, c.p.iw = 20, c.p.kw = 3, c.p.stride_w = 2, c.p.dilation_w = 2, c.p.pad_left = 1,
    c.p.pad_right = 2, c.p.has_bias = true;
    c.one_d = true;
    c.act = "Relu";
    run_case(c, 900);

    ConvCase r;
    r.p.ic = 8, r.p.oc = 24, r.p.ih = 14, r.p.iw = 14, r.p.kh = r.p.kw = 3, r.p.pad_top = r.p.pad_left = 1,
    r.p.pad_bottom = r.p.pad_right = 1, r.p.has_bias = true, r.p.has_residual = true;
    r.act = "Relu";
    for (bool nhwc : {false, true}) {
      r.p.src_nhwc = r.p.dst_nhwc = r.p.residual_nhwc = nhwc;
      r.alias_residual = true;  // residual and output share the buffer (the planner's in-place choice)
      run_case(r, 910);
      run_case(r, 910, "im2col");
      r.alias_residual = false;
      r.weights_const = false;  // weights as a graph input (ONNX backend tests): reordered on every run
      run_case(r, 920);
      r.weights_const = true;
      r.p.residual_nhwc = !nhwc;  // residual in the other layout: reordered into dst before the sum post-op
      run_case(r, 930);
      r.p.dst_nhwc = !nhwc;  // src and dst in different layouts
      r.p.residual_nhwc = !nhwc;
      run_case(r, 940);
    }
  }

  TEST_CASE("conv im2col_sgemm: ResNet-like channels, multi-block im2col, partial tiles, batch 2, in-place residual") {
    // K = 9*C large enough for several K blocks of the SGEMM (KC = 256) and, at C = 256, an im2col block
    // (2 MB / (K*4) = 227 rows) smaller than the 20*20 = 400 output pixels; oc off multiples of 16.
    struct S {
      int64_t ic, oc, hw, k, s;
    };
    const S shapes[] = {{64, 40, 20, 3, 1}, {256, 72, 40, 3, 2}, {256, 24, 20, 3, 1}, {96, 50, 15, 1, 2},
                        {96, 50, 15, 1, 1}, {3, 16, 23, 7, 2}};
    uint32_t seed = 500;
    int i = 0;
    for (const S& s : shapes) {
      ConvCase c;
      ConvParams& p = c.p;
      p.n = i % 2 ? 2 : 1;
      p.ic = s.ic, p.oc = s.oc, p.ih = s.hw, p.iw = s.hw + 1, p.kh = p.kw = s.k, p.stride_h = p.stride_w = s.s;
      p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = s.k / 2;
      p.src_nhwc = p.dst_nhwc = p.residual_nhwc = true;
      p.has_bias = i != 2;
      p.has_residual = i % 3 != 1;
      c.alias_residual = p.has_residual && i % 2 == 0;
      c.act = i % 2 ? "Relu" : "Clip";
      // Up to K = 9*256 = 2304 products of magnitude <= 1: fp32 summation error grows with K (seen 2e-5 at
      // K = 2304, both paths), so outputs near 0 get an absolute margin of 2e-7 * K.
      c.atol = std::max(1e-5f, 2e-7f * float(p.kh * p.kw * p.ic));
      for (const char* path : {"onednn", "im2col"}) run_case(c, seed, path);
      seed += 4;
      ++i;
    }
  }

  TEST_CASE("conv im2col_sgemm: indirect and copied patches, every tier, pads, strides, dilation, tail tiles") {
    // ConvFp32Im2col directly, both A paths (the pointer table of sgemm_indirect, the im2col copy), on each tier
    // with an SGEMM tile, against conv_ref. Output sizes 1..30 pixels cover every tail tile of mr = 4 and 6;
    // asymmetric pads put whole tap rows and columns in the padding (the zero row).
    struct S {
      int64_t ic, oc, ih, iw, k, s, d, pt, pl, pb, pr;
    };
    const S shapes[] = {{8, 16, 5, 6, 3, 1, 1, 1, 1, 1, 1},   {5, 19, 7, 4, 3, 2, 1, 0, 2, 1, 0},
                        {16, 33, 6, 6, 3, 1, 2, 2, 2, 2, 2},  {3, 7, 1, 1, 3, 1, 1, 1, 1, 1, 1},
                        {300, 20, 4, 5, 3, 1, 1, 1, 1, 1, 1}, {24, 40, 9, 9, 1, 2, 1, 0, 0, 0, 0},
                        {4, 16, 11, 9, 5, 2, 1, 2, 1, 2, 2}};
    uint32_t seed = 900;
    int i = 0;
    for (kernels::Isa tier : octet::test::cpu_tiers()) {
      const kernels::gemm::SgemmKernel* uk = kernels::gemm::sgemm_kernel_for(tier);
      if (!uk) continue;
      for (const S& s : shapes)
        for (bool indirect : {true, false}) {
          ConvParams p;
          p.n = i % 3 == 1 ? 2 : 1;
          p.ic = s.ic, p.oc = s.oc, p.ih = s.ih, p.iw = s.iw, p.kh = p.kw = s.k, p.stride_h = p.stride_w = s.s;
          p.dilation_h = p.dilation_w = s.d;
          p.pad_top = s.pt, p.pad_left = s.pl, p.pad_bottom = s.pb, p.pad_right = s.pr;
          p.oh = (p.ih + p.pad_top + p.pad_bottom - (p.kh - 1) * p.dilation_h - 1) / p.stride_h + 1;
          p.ow = (p.iw + p.pad_left + p.pad_right - (p.kw - 1) * p.dilation_w - 1) / p.stride_w + 1;
          p.src_nhwc = p.dst_nhwc = p.residual_nhwc = true;
          p.has_bias = i % 4 != 3;
          p.has_residual = i % 3 != 0;
          p.act.kind = i % 2 ? kernels::gemm::Activation::relu : kernels::gemm::Activation::none;
          ++i;
          const size_t out = size_t(p.n * p.oh * p.ow * p.oc);
          // conv_ref reads and writes NHWC here as the flags say.
          std::vector<float> x = random_floats(size_t(p.n * p.ih * p.iw * p.ic), -1, 1, seed);
          std::vector<float> w = random_floats(size_t(p.oc * p.ic * p.kh * p.kw), -1, 1, seed + 1);
          std::vector<float> b = random_floats(size_t(p.oc), -1, 1, seed + 2), r = random_floats(out, -1, 1, seed + 3);
          seed += 4;
          std::vector<float> want(out);
          kernels::conv::conv_ref(p, x.data(), w.data(), b.data(), r.data(), want.data());
          kernels::conv::ConvFp32Im2col conv(p, w.data(), b.data(), *uk, 2, indirect);
          CHECK(conv.indirect() == (indirect && uk->rows_indirect[1] != nullptr));
          std::vector<unsigned char> ws(conv.workspace_bytes() + 64);
          void* wsa = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
          // The residual passed separately, or already in dst (the planner's in-place case).
          std::vector<float> got(out + 16, 777.f);
          const bool in_place = p.has_residual && i % 2 == 0;
          if (in_place) std::copy(r.begin(), r.end(), got.begin());
          octet::test::SerialChunks par(2);
          conv.run(x.data(), got.data(), p.has_residual ? (in_place ? got.data() : r.data()) : nullptr, wsa,
                   i % 2 ? &par : nullptr);
          for (size_t j = out; j < got.size(); ++j) CHECK(got[j] == 777.f);  // nothing written past dst
          got.resize(out);
          const std::string what = std::string(uk->name) + " " + conv.impl() + " ic=" + std::to_string(p.ic) +
                                   " oc=" + std::to_string(p.oc) + " k=" + std::to_string(p.kh) +
                                   " s=" + std::to_string(p.stride_w) + " d=" + std::to_string(p.dilation_w);
          octet::test::check_close(got, want, 1e-4f, std::max(1e-5f, 2e-7f * float(p.kh * p.kw * p.ic)), what);
        }
    }
  }

  TEST_CASE("conv: auto_pad SAME_UPPER and bad shapes give clear errors") {
    std::vector<float> x = random_floats(1 * 3 * 8 * 8, -1, 1, 7), w = random_floats(4 * 3 * 3 * 3, -1, 1, 8);
    FusedOpTest op("Conv");
    op.input(HostTensor::f32({1, 3, 8, 8}, x));
    op.input(HostTensor::f32({4, 3, 3, 3}, w), true);
    op.output({1, 4, 4, 4});
    op.ints("strides", {2, 2});
    op.node().attrs["auto_pad"].kind = Attribute::Kind::s;
    op.node().attrs["auto_pad"].s = "SAME_UPPER";
    auto k = op.make(kernels::detected_isa());
    // SAME_UPPER, in 8, stride 2, kernel 3: out 4, total pad (4-1)*2+3-8 = 1, all at the end.
    ConvParams p;
    p.ic = 3, p.oc = 4, p.ih = p.iw = 8, p.kh = p.kw = 3, p.stride_h = p.stride_w = 2, p.pad_bottom = p.pad_right = 1,
    p.oh = p.ow = 4;
    std::vector<float> want(64);
    kernels::conv::conv_ref(p, x.data(), w.data(), nullptr, nullptr, want.data());
    octet::test::check_close(op.run(*k), want, 1e-4f, 1e-5f, "SAME_UPPER");

    FusedOpTest bad("Conv");
    bad.input(HostTensor::f32({1, 3, 8, 8}, x));
    bad.input(HostTensor::f32({4, 2, 3, 3}, std::vector<float>(72)), true);
    bad.output({1, 4, 6, 6});
    CHECK_THROWS_WITH_AS(bad.make(kernels::detected_isa()), doctest::Contains("node 'n0' (Conv)"), Error);
  }
}
