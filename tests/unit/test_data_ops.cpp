// Data-movement and spatial kernels against references: the index-map copy (fast vs element by element over a
// shape sweep), Slice (negative steps, clamping, zero-size), Pad (every mode, negative pads), Expand/Tile,
// DepthToSpace round trips, Resize (every coordinate mode and interpolation: separable and index-map paths vs the
// scalar tensor-product reference, plus hand-computed values), ConvTranspose (SGEMM + col2im vs the direct scalar
// reference over a shape sweep), TopK ties, index errors with the node named. The ONNX node tests cover the
// one-opset forms; tests/unit/test_shape_inference_data.cpp the shapes of every opset's form.
#include <doctest/doctest.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <numeric>

#include "engine/session.h"
#include "kernels/conv/conv_transpose.h"
#include "kernels/copy/index_map.h"
#include "kernels/gemm/sgemm.h"
#include "kernels/resize/resize.h"
#include "op_test_util.h"

using namespace octet;
using namespace octet::test;

namespace {

std::vector<int64_t> iota64(size_t n, int64_t start = 0) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

// Expected element of a Slice over a row-major tensor: walk the output index through start + i * step.
std::vector<int64_t> slice_ref(const std::vector<int64_t>& x, const Shape& s, const std::vector<int64_t>& start,
                               const std::vector<int64_t>& step, const Shape& out) {
  std::vector<int64_t> y;
  std::vector<int64_t> idx(out.size(), 0);
  for (int64_t e = 0; e < num_elements(out); ++e) {
    int64_t off = 0;
    for (size_t d = 0; d < s.size(); ++d) off = off * s[d] + start[d] + idx[d] * step[d];
    y.push_back(x[size_t(off)]);
    for (size_t d = out.size(); d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
  return y;
}

struct EnvGuard {
  std::string key;
  EnvGuard(const char* k, const char* v) : key(k) { setenv(k, v, 1); }
  ~EnvGuard() { unsetenv(key.c_str()); }
};

}  // namespace

TEST_SUITE("data_ops") {
  TEST_CASE("index_map_copy: fast path equals the element-by-element reference (sweep, fill, 1/2/4/8 bytes)") {
    namespace kc = kernels::copy;
    std::mt19937 rng(5);
    for (int trial = 0; trial < 60; ++trial) {
      const int rank = 1 + trial % 4;
      kc::IndexMap m;
      int64_t in_n = 1;
      std::vector<int64_t> in_dims;
      for (int d = 0; d < rank; ++d) in_dims.push_back(1 + int64_t(rng() % 6)), in_n *= in_dims.back();
      std::vector<int64_t> st(size_t(rank), 1);
      for (int d = rank - 1; d > 0; --d) st[size_t(d - 1)] = st[size_t(d)] * in_dims[size_t(d)];
      for (int d = 0; d < rank; ++d) {
        const int64_t len = int64_t(rng() % 9);  // includes 0 (an empty output)
        std::vector<int64_t> t;
        const int kind = int(rng() % 4);  // contiguous run, reversed, repeated (nearest 2x), with fill
        for (int64_t j = 0; j < len; ++j) {
          int64_t src = kind == 0   ? j % in_dims[size_t(d)]
                        : kind == 1 ? in_dims[size_t(d)] - 1 - j % in_dims[size_t(d)]
                                    : (j / 2) % in_dims[size_t(d)];
          t.push_back(kind == 3 && j % 3 == 0 ? kc::kFill : src * st[size_t(d)]);
        }
        m.out.push_back(len);
        m.tab.push_back(std::move(t));
      }
      const int64_t out_n = num_elements(m.out);
      for (size_t es : {size_t(1), size_t(2), size_t(4), size_t(8)}) {
        std::vector<unsigned char> x(size_t(in_n) * es);
        for (auto& b : x) b = static_cast<unsigned char>(rng());
        std::vector<unsigned char> fill(es, 0x5A), want(size_t(out_n) * es + 1, 0), got(size_t(out_n) * es + 1, 0);
        kc::index_map_copy_ref(m, x.data(), want.data(), es, fill.data());
        SerialChunks par(3);
        kc::index_map_copy(kc::simplify(m), x.data(), got.data(), es, fill.data(), &par);
        CHECK(got == want);
      }
    }
  }

  TEST_CASE("Slice opset 13: negative steps, negative axes, out-of-range clamping, zero-size output") {
    const Shape s = {3, 4, 5};
    const auto x = iota64(60);
    struct Case {
      std::vector<int64_t> starts, ends, axes, steps;
      Shape out;
      std::vector<int64_t> start, step;  // per dim, for the reference
    };
    const Case cases[] = {
        // reverse the last dim entirely: start -1, end INT64_MIN -> clamped to -1 (exclusive)
        {{-1}, {INT64_MIN}, {-1}, {-1}, {3, 4, 5}, {0, 0, 4}, {1, 1, -1}},
        // dim 1 from 3 down to (but excluding) 0 by -2: 3, 1
        {{3}, {0}, {1}, {-2}, {3, 2, 5}, {0, 3, 0}, {1, -2, 1}},
        // start past the end with a negative step clamps to dim - 1
        {{100, 1}, {-100, 3}, {0, 2}, {-1, 1}, {3, 4, 2}, {2, 0, 1}, {-1, 1, 1}},
        // empty: start >= end with a positive step
        {{3}, {1}, {2}, {1}, {3, 4, 0}, {0, 0, 0}, {1, 1, 1}},
        // step 3 over 5: 0, 3
        {{0}, {5}, {2}, {3}, {3, 4, 2}, {0, 0, 0}, {1, 1, 3}},
    };
    for (const Case& c : cases) {
      OpTest t("Slice", 13);
      t.input(HostTensor::of(DType::i64, s, x));
      t.constant(HostTensor::of(DType::i64, {int64_t(c.starts.size())}, c.starts));
      t.constant(HostTensor::of(DType::i64, {int64_t(c.ends.size())}, c.ends));
      t.constant(HostTensor::of(DType::i64, {int64_t(c.axes.size())}, c.axes));
      t.constant(HostTensor::of(DType::i64, {int64_t(c.steps.size())}, c.steps));
      t.output(DType::i64, c.out);
      CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == slice_ref(x, s, c.start, c.step, c.out));
    }
    // Opset 9: attributes, no steps.
    OpTest t("Slice", 9);
    t.input(HostTensor::of(DType::i64, s, x)).output(DType::i64, {3, 2, 5});
    t.attr_ints("starts", {1}).attr_ints("ends", {3}).attr_ints("axes", {1});
    CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == slice_ref(x, s, {0, 1, 0}, {1, 1, 1}, {3, 2, 5}));
    // step 0 is an error naming the node
    OpTest bad("Slice", 13);
    bad.input(HostTensor::of(DType::i64, s, x));
    for (int i = 0; i < 4; ++i) bad.constant(HostTensor::of(DType::i64, {1}, std::vector<int64_t>{i == 3 ? 0 : 1}));
    bad.output(DType::i64, s);
    try {
      bad.make();
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("node 'n0' (Slice): steps [0] must not be 0") != std::string::npos);
    }
  }

  TEST_CASE("Pad: constant / reflect / edge, negative pads (crop), opset 2 attributes and opset 11 inputs") {
    const std::vector<float> x = {1, 2, 3, 4, 5, 6};  // [2, 3]
    auto run = [&](int64_t opset, const std::string& mode, std::vector<int64_t> pads, Shape out, float value = 0) {
      OpTest t("Pad", opset);
      t.input(HostTensor::f32({2, 3}, x));
      if (opset < 11) {
        t.attr_ints("pads", pads).attr_f("value", value);
      } else {
        t.constant(HostTensor::of(DType::i64, {4}, pads));
        t.constant(HostTensor::f32({}, {value}));
      }
      t.attr_s("mode", mode).output(DType::f32, out);
      return t.run_on(kernels::detected_isa()).values<float>();
    };
    // pads = [begin0, begin1, end0, end1]
    CHECK(run(11, "constant", {0, 1, 1, 0}, {3, 4}, 9) == std::vector<float>{9, 1, 2, 3, 9, 4, 5, 6, 9, 9, 9, 9});
    CHECK(run(2, "constant", {0, 1, 1, 0}, {3, 4}, 9) == std::vector<float>{9, 1, 2, 3, 9, 4, 5, 6, 9, 9, 9, 9});
    // reflect along dim 1 by 2 on both sides: 3 2 | 1 2 3 | 2 1
    CHECK(run(11, "reflect", {0, 2, 0, 2}, {2, 7}) == std::vector<float>{3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4});
    CHECK(run(11, "edge", {1, 1, 0, 0}, {3, 4}) == std::vector<float>{1, 1, 2, 3, 1, 1, 2, 3, 4, 4, 5, 6});
    // negative: crop the first column, pad one zero row at the end
    CHECK(run(11, "constant", {0, -1, 1, 0}, {3, 2}) == std::vector<float>{2, 3, 5, 6, 0, 0});
    // reflect of a crop reads what is left: crop col 0, reflect 1 on the right -> 2 3 2
    CHECK(run(11, "reflect", {0, -1, 0, 1}, {2, 3}) == std::vector<float>{2, 3, 2, 5, 6, 5});
  }

  TEST_CASE("Expand and Tile: broadcast both ways, new leading dims, zero repeats") {
    const std::vector<int32_t> x = {1, 2, 3};
    {
      OpTest t("Expand", 13);
      t.input(HostTensor::of(DType::i32, {3, 1}, x))
          .constant(HostTensor::of(DType::i64, {3}, std::vector<int64_t>{2, 1, 2}));
      t.output(DType::i32, {2, 3, 2});
      CHECK(t.run_on(kernels::detected_isa()).values<int32_t>() ==
            std::vector<int32_t>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
    }
    {
      OpTest t("Tile", 13);
      t.input(HostTensor::of(DType::i32, {1, 3}, x))
          .constant(HostTensor::of(DType::i64, {2}, std::vector<int64_t>{2, 2}));
      t.output(DType::i32, {2, 6});
      CHECK(t.run_on(kernels::detected_isa()).values<int32_t>() ==
            std::vector<int32_t>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
    }
    {
      OpTest t("Tile", 13);
      t.input(HostTensor::of(DType::i32, {1, 3}, x))
          .constant(HostTensor::of(DType::i64, {2}, std::vector<int64_t>{0, 1}));
      t.output(DType::i32, {0, 3});
      CHECK(t.run_on(kernels::detected_isa()).values<int32_t>().empty());
    }
  }

  TEST_CASE("DepthToSpace DCR and CRD invert SpaceToDepth (and the DCR / CRD channel orders differ as specified)") {
    const Shape s = {2, 8, 3, 4};
    const auto x = random_floats(size_t(num_elements(s)), -1, 1, 11);
    OpTest s2d("SpaceToDepth", 13);
    s2d.input(HostTensor::f32({2, 2, 6, 8}, x)).attr_i("blocksize", 2).output(DType::f32, {2, 8, 3, 4});
    const std::vector<float> packed = s2d.run_on(kernels::detected_isa()).values<float>();
    OpTest d2s("DepthToSpace", 13);
    d2s.input(HostTensor::f32(s, packed)).attr_i("blocksize", 2).attr_s("mode", "DCR").output(DType::f32, {2, 2, 6, 8});
    CHECK(d2s.run_on(kernels::detected_isa()).values<float>() == x);
    // CRD: output (n, c, 2h + i, 2w + j) = input (n, 4c + 2i + j, h, w).
    OpTest crd("DepthToSpace", 13);
    crd.input(HostTensor::f32(s, x)).attr_i("blocksize", 2).attr_s("mode", "CRD").output(DType::f32, {2, 2, 6, 8});
    const std::vector<float> y = crd.run_on(kernels::detected_isa()).values<float>();
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t h = 0; h < 6; ++h)
          for (int64_t w = 0; w < 8; ++w) {
            const int64_t ic = 4 * c + 2 * (h % 2) + w % 2;
            CHECK(y[size_t(((n * 2 + c) * 6 + h) * 8 + w)] == x[size_t(((n * 8 + ic) * 3 + h / 2) * 4 + w / 2)]);
          }
  }

  TEST_CASE("Resize axes: hand-computed coordinates for each transform and nearest mode") {
    namespace kr = kernels::resize;
    kr::Params p;
    p.mode = kr::Mode::linear;
    // 2 -> 4, half_pixel: x = (j + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped taps.
    const std::vector<float> x = {1, 2};
    std::vector<float> y(4);
    std::vector<kr::Axis> axes = {kr::make_axis(p, 2, 4, 2.0)};
    kr::resize_ref(axes, 0, x.data(), y.data());
    CHECK(y == std::vector<float>{1, 1.25f, 1.75f, 2});
    // align_corners: j * (2 - 1) / (4 - 1)
    p.coord = kr::Coord::align_corners;
    axes = {kr::make_axis(p, 2, 4, 2.0)};
    kr::resize_ref(axes, 0, x.data(), y.data());
    for (int j = 0; j < 4; ++j) CHECK(y[size_t(j)] == doctest::Approx(1 + j / 3.0));
    // asymmetric: j / 2 -> 0, 0.5, 1, 1.5 (clamped)
    p.coord = kr::Coord::asymmetric;
    axes = {kr::make_axis(p, 2, 4, 2.0)};
    kr::resize_ref(axes, 0, x.data(), y.data());
    CHECK(y == std::vector<float>{1, 1.5f, 2, 2});
    // pytorch_half_pixel with one output element maps to 0; tf_half_pixel_for_nn: (j + 0.5) / scale
    CHECK(kr::original_coord(kr::Coord::pytorch_half_pixel, 0, 0.25, 4, 1.0, 0, 1) == 0);
    CHECK(kr::original_coord(kr::Coord::tf_half_pixel_for_nearest, 1, 2, 2, 4.0, 0, 1) == 0.75);
    // tf_crop_and_resize: roi [0.5, 1] of 5 elements to 3: start 0.5 * 4 = 2, step (0.5 * 4) / 2 = 1
    CHECK(kr::original_coord(kr::Coord::tf_crop_and_resize, 2, 1, 5, 3.0, 0.5, 1) == 4);
    // nearest modes on x = 0.5 and 1.5 (asymmetric 4 -> 8: j / 2)
    p.mode = kr::Mode::nearest;
    const std::pair<kr::Nearest, std::vector<int64_t>> modes[] = {
        {kr::Nearest::round_prefer_floor, {0, 0, 1, 1, 2, 2, 3, 3}},
        {kr::Nearest::round_prefer_ceil, {0, 1, 1, 2, 2, 3, 3, 3}},
        {kr::Nearest::floor, {0, 0, 1, 1, 2, 2, 3, 3}},
        {kr::Nearest::ceil, {0, 1, 1, 2, 2, 3, 3, 3}}};
    for (auto& [m, want] : modes) {
      p.nearest = m;
      CHECK(kr::make_axis(p, 4, 8, 2.0).idx == want);
    }
    // cubic weights sum to 1; exclude_outside renormalises after dropping out-of-range taps
    p.mode = kr::Mode::cubic;
    p.coord = kr::Coord::half_pixel;
    p.exclude_outside = true;
    const kr::Axis a = kr::make_axis(p, 3, 7, 7.0 / 3);
    for (int64_t j = 0; j < 7; ++j) {
      float sum = 0;
      for (int t = 0; t < 4; ++t) sum += a.w[size_t(j * 4 + t)];
      CHECK(sum == doctest::Approx(1));
    }
  }

  TEST_CASE("Resize: separable and index-map paths equal the scalar reference (every mode and transform)") {
    namespace kr = kernels::resize;
    using C = kr::Coord;
    const C coords[] = {C::half_pixel, C::pytorch_half_pixel,        C::align_corners,
                        C::asymmetric, C::tf_half_pixel_for_nearest, C::tf_crop_and_resize};
    const Shape shapes[][2] = {{{1, 3, 8, 8}, {1, 3, 16, 16}},  // the FPN 2x
                               {{2, 2, 7, 5}, {2, 2, 3, 11}},   // down one axis, up the other
                               {{1, 1, 4, 4}, {1, 1, 1, 9}},    // a single output row
                               {{2, 3, 5, 4}, {3, 2, 5, 6}}};   // N and C resampled too
    int checked = 0;
    for (kr::Mode mode : {kr::Mode::nearest, kr::Mode::linear, kr::Mode::cubic})
      for (C coord : coords)
        for (auto& sh : shapes) {
          kr::Params p;
          p.mode = mode, p.coord = coord, p.exclude_outside = checked % 2 == 1, p.extrapolation = -7;
          p.cubic_a = checked % 3 == 0 ? -0.5f : -0.75f;
          std::vector<kr::Axis> axes;
          for (size_t d = 0; d < 4; ++d)
            axes.push_back(kr::make_axis(p, sh[0][d], sh[1][d], double(sh[1][d]) / double(sh[0][d]),
                                         coord == C::tf_crop_and_resize ? -0.2 : 0,
                                         coord == C::tf_crop_and_resize ? 0.9 : 1));
          const auto x = random_floats(size_t(num_elements(sh[0])), -2, 2, uint32_t(checked));
          std::vector<float> want(size_t(num_elements(sh[1]))), got(want.size());
          kr::resize_ref(axes, p.extrapolation, x.data(), want.data());
          std::vector<float> scratch(kr::resize_separable_floats(axes));
          SerialChunks par(2);
          kr::resize_separable(axes, p.extrapolation, x.data(), got.data(), scratch.data(), &par);
          check_close(got, want, 1e-5f, 1e-5f, "separable vs reference");
          ++checked;
        }
    CHECK(checked == 72);
    // NHWC input and output give the NCHW result, transposed (every mode).
    for (const char* mode : {"nearest", "linear", "cubic"}) {
      const auto x = random_floats(2 * 3 * 6 * 5, -1, 1, 9);
      auto run = [&](Layout l) {
        OpTest t("Resize", 13);
        const auto xl = l == Layout::nhwc ? to_nhwc(x, 2, 3, 6, 5) : x;
        t.input(HostTensor::f32({2, 3, 6, 5}, xl, l)).absent().absent();
        t.constant(HostTensor::of(DType::i64, {4}, std::vector<int64_t>{2, 3, 13, 8}));
        t.attr_s("mode", mode).output(DType::f32, {2, 3, 13, 8}, l);
        return t.run_on(kernels::detected_isa()).values<float>();
      };
      check_close(from_nhwc(run(Layout::nhwc), 2, 3, 13, 8), run(Layout::plain), 1e-6f, 1e-6f,
                  std::string("Resize nhwc vs nchw ") + mode);
    }
    // The op: nearest runs as an index map, linear as separable passes; OCTET_RESIZE=ref forces the reference.
    for (const char* mode : {"nearest", "linear", "cubic"}) {
      const auto x = random_floats(2 * 3 * 6 * 5, -1, 1, 3);
      auto run = [&] {
        OpTest t("Resize", 13);
        t.input(HostTensor::f32({2, 3, 6, 5}, x)).absent().constant(HostTensor::f32({4}, {1, 1, 2, 2}));
        t.attr_s("mode", mode)
            .attr_s("coordinate_transformation_mode", "asymmetric")
            .output(DType::f32, {2, 3, 12, 10});
        return t.run_on(kernels::detected_isa()).values<float>();
      };
      const std::vector<float> fast = run();
      EnvGuard g("OCTET_RESIZE", "ref");
      check_close(fast, run(), 1e-5f, 1e-6f, std::string("Resize ") + mode + " op vs reference");
    }
  }

  TEST_CASE("Resize / Upsample opset forms: Upsample 7 attribute, Upsample 9 and Resize 10 scales input, sizes") {
    const std::vector<float> x = {1, 2, 3, 4};  // [1, 1, 2, 2]
    const std::vector<float> nearest2x = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    {
      OpTest t("Upsample", 7);
      t.input(HostTensor::f32({1, 1, 2, 2}, x)).attr_floats("scales", {1, 1, 2, 2}).output(DType::f32, {1, 1, 4, 4});
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == nearest2x);
    }
    for (auto [op, opset] : {std::pair<const char*, int64_t>{"Upsample", 9}, {"Resize", 10}}) {
      OpTest t(op, opset);
      t.input(HostTensor::f32({1, 1, 2, 2}, x))
          .constant(HostTensor::f32({4}, {1, 1, 2, 2}))
          .output(DType::f32, {1, 1, 4, 4});
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == nearest2x);
    }
    {
      // Opset 11: roi and scales inputs present (empty scales), sizes given; linear asymmetric 2 -> 3 along W.
      OpTest t("Resize", 11);
      t.input(HostTensor::f32({1, 1, 2, 2}, x)).constant(HostTensor::f32({0}, {})).constant(HostTensor::f32({0}, {}));
      t.constant(HostTensor::of(DType::i64, {4}, std::vector<int64_t>{1, 1, 2, 3}));
      t.attr_s("mode", "linear")
          .attr_s("coordinate_transformation_mode", "asymmetric")
          .output(DType::f32, {1, 1, 2, 3});
      // x = j * 2/3: 0, 0.667, 1.333 -> 1, 1.667, 2 (clamped)
      check_close(t.run_on(kernels::detected_isa()).values<float>(), {1, 5.f / 3, 2, 3, 3 + 2.f / 3, 4}, 1e-6f, 1e-6f,
                  "Resize 11 sizes");
    }
  }

  TEST_CASE("ConvTranspose: SGEMM + col2im equals the direct reference over a shape sweep") {
    namespace kcv = kernels::conv;
    int cases = 0;
    for (int64_t groups : {1, 2, 3})
      for (int64_t stride : {1, 2, 3})
        for (int64_t k : {1, 3, 4})
          for (int64_t dil : {1, 2})
            for (int64_t pad : {0, 1, 2}) {
              kcv::ConvTransposeParams p;
              p.n = 2, p.ic = 2 * groups, p.oc = 3 * groups, p.groups = groups;
              p.in[1] = 5, p.in[2] = 4 + stride;
              p.k[1] = k, p.k[2] = k == 4 ? 2 : k;
              p.stride[1] = stride, p.stride[2] = stride == 3 ? 1 : stride;
              p.dil[1] = p.dil[2] = dil;
              p.pad[1] = pad, p.pad[2] = pad == 2 ? 0 : pad;
              for (int d = 1; d < 3; ++d)
                p.out[d] = p.stride[d] * (p.in[d] - 1) + (p.k[d] - 1) * p.dil[d] + 1 - 2 * p.pad[d] + (d == 1 ? 1 : 0);
              if (p.out[1] < 1 || p.out[2] < 1) continue;
              const int64_t K = p.k[1] * p.k[2];
              const auto x = random_floats(size_t(p.n * p.ic * p.in[1] * p.in[2]), -1, 1, uint32_t(cases));
              const auto w = random_floats(size_t(p.ic * (p.oc / groups) * K), -1, 1, uint32_t(cases + 1000));
              const auto b = random_floats(size_t(p.oc), -1, 1, 7);
              std::vector<float> want(size_t(p.n * p.oc * p.out[1] * p.out[2])), got(want.size());
              kcv::conv_transpose_ref(p, x.data(), w.data(), b.data(), want.data());
              for (kernels::Isa isa : cpu_tiers()) {
                const bool w_const = cases % 2 == 0;
                kcv::ConvTransposeFp32 conv(p, w_const ? w.data() : nullptr, w_const ? b.data() : nullptr, true,
                                            kernels::gemm::sgemm_kernel(isa), 2);
                std::vector<unsigned char> ws(conv.workspace_bytes() + 64);
                void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data()) + 63) / 64 * 64);
                SerialChunks par(2);
                std::fill(got.begin(), got.end(), 1e30f);
                conv.run(x.data(), w.data(), b.data(), got.data(), aligned, &par);
                check_close(got, want, 1e-4f, 1e-5f, "conv_transpose isa " + std::to_string(int(isa)));
              }
              ++cases;
            }
    CHECK(cases > 100);
  }

  TEST_CASE("ConvTranspose op: output_shape, auto_pad SAME_UPPER / SAME_LOWER, 1-D, group; errors name the node") {
    const auto x = random_floats(1 * 4 * 3 * 3, -1, 1, 21);
    const auto w = random_floats(4 * 1 * 3 * 3, -1, 1, 22);  // group 2: C = 4, M/group = 1 -> M = 2
    auto run = [&](std::function<void(OpTest&)> attrs, Shape out) {
      OpTest t("ConvTranspose", 11);
      t.input(HostTensor::f32({1, 4, 3, 3}, x)).constant(HostTensor::f32({4, 1, 3, 3}, w)).attr_i("group", 2);
      attrs(t);
      t.output(DType::f32, out);
      return t.run_on(kernels::detected_isa()).values<float>();
    };
    const auto fast_same = run(
        [](OpTest& t) {
          t.attr_ints("strides", {2, 2}).attr_s("auto_pad", "SAME_UPPER");
        },
        {1, 2, 6, 6});
    const auto fast_shape = run(
        [](OpTest& t) {
          t.attr_ints("strides", {2, 2}).attr_ints("output_shape", {6, 6});
        },
        {1, 2, 6, 6});
    {
      EnvGuard g("OCTET_CONV_TRANSPOSE", "ref");
      check_close(fast_same,
                  run(
                      [](OpTest& t) {
                        t.attr_ints("strides", {2, 2}).attr_s("auto_pad", "SAME_UPPER");
                      },
                      {1, 2, 6, 6}),
                  1e-5f, 1e-6f, "SAME_UPPER");
      check_close(fast_shape,
                  run(
                      [](OpTest& t) {
                        t.attr_ints("strides", {2, 2}).attr_ints("output_shape", {6, 6});
                      },
                      {1, 2, 6, 6}),
                  1e-5f, 1e-6f, "output_shape");
    }
    // full size 7: SAME_UPPER drops the last row/col (pads begin 0, end 1), output_shape (NOTSET) the first
    // (begin 1, end 0), so the two outputs are the same 7x7 result cropped at opposite corners.
    const auto full = run([](OpTest& t) { t.attr_ints("strides", {2, 2}); }, {1, 2, 7, 7});
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t h = 0; h < 6; ++h)
        for (int64_t v = 0; v < 6; ++v) {
          CHECK(fast_same[size_t((c * 6 + h) * 6 + v)] == doctest::Approx(full[size_t((c * 7 + h) * 7 + v)]));
          CHECK(fast_shape[size_t((c * 6 + h) * 6 + v)] == doctest::Approx(full[size_t((c * 7 + h + 1) * 7 + v + 1)]));
        }
    OpTest bad("ConvTranspose", 11);
    bad.input(HostTensor::f32({1, 4, 3, 3}, x)).constant(HostTensor::f32({4, 1, 3, 3}, w)).attr_i("group", 3);
    bad.output(DType::f32, {1, 3, 5, 5});
    try {
      bad.make();
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("test.onnx: node 'n0' (ConvTranspose): group 3 does not divide") !=
            std::string::npos);
    }
  }

  TEST_CASE("TopK: ties keep the lower index first, smallest, k = 0; CumSum exclusive + reverse; OneHot") {
    {
      OpTest t("TopK", 11);
      t.input(HostTensor::f32({2, 4}, {3, 1, 3, 2, 0, 0, 5, 0}))
          .constant(HostTensor::of(DType::i64, {1}, std::vector<int64_t>{3}));
      t.output(DType::f32, {2, 3}).output(DType::i64, {2, 3});
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{3, 3, 2, 5, 0, 0});
      CHECK(t.out(1).values<int64_t>() == std::vector<int64_t>{0, 2, 3, 2, 0, 1});
    }
    {
      OpTest t("TopK", 1);  // opset 1: k attribute, largest only
      t.input(HostTensor::f32({4}, {3, 1, 4, 2})).attr_i("k", 2).output(DType::f32, {2}).output(DType::i64, {2});
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{4, 3});
    }
    {
      OpTest t("TopK", 11);
      t.input(HostTensor::of(DType::i32, {4}, std::vector<int32_t>{3, 1, 4, 1}))
          .constant(HostTensor::of(DType::i64, {1}, std::vector<int64_t>{2}));
      t.attr_i("largest", 0).output(DType::i32, {2}).output(DType::i64, {2});
      CHECK(t.run_on(kernels::detected_isa()).values<int32_t>() == std::vector<int32_t>{1, 1});
      CHECK(t.out(1).values<int64_t>() == std::vector<int64_t>{1, 3});
    }
    {
      OpTest t("CumSum", 14);
      t.input(HostTensor::of(DType::i64, {2, 3}, std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
      t.constant(HostTensor::of(DType::i32, {}, std::vector<int32_t>{-1}));
      t.attr_i("exclusive", 1).attr_i("reverse", 1).output(DType::i64, {2, 3});
      CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{5, 3, 0, 11, 6, 0});
    }
    {
      OpTest t("OneHot", 11);
      t.input(HostTensor::f32({3}, {0, -1, 7})).constant(HostTensor::f32({}, {3}));
      t.constant(HostTensor::of(DType::i64, {2}, std::vector<int64_t>{-2, 5}))
          .attr_i("axis", 0)
          .output(DType::i64, {3, 3});
      // axis 0: out[d][i]; index -1 -> 2, index 7 out of range -> all off
      CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() ==
            std::vector<int64_t>{5, -2, -2, -2, -2, -2, -2, 5, -2});
    }
  }

  TEST_CASE("GatherElements / GatherND / ScatterND: out-of-range indices fail with the node named; ScatterND mul") {
    {
      OpTest t("GatherElements", 13);
      t.input(HostTensor::f32({2, 2}, {1, 2, 3, 4}))
          .input(HostTensor::of(DType::i64, {2, 2}, std::vector<int64_t>{0, 2, 1, 0}));
      t.attr_i("axis", 1).output(DType::f32, {2, 2});
      auto k = t.make();
      try {
        t.run(*k);
        FAIL("expected an error");
      } catch (const Error& e) {
        CHECK(std::string(e.what()).find("node 'n0' (GatherElements): index 2 is out of range [-2, 1]") !=
              std::string::npos);
      }
    }
    {
      OpTest t("GatherND", 13);
      t.input(HostTensor::f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
      t.input(HostTensor::of(DType::i64, {2, 1}, std::vector<int64_t>{1, 0}))
          .attr_i("batch_dims", 1)
          .output(DType::f32, {2, 2});
      // batch 0 takes data[0][1] = {3, 4}, batch 1 data[1][0] = {5, 6}
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{3, 4, 5, 6});
    }
    {
      OpTest t("ScatterND", 16);
      t.input(HostTensor::f32({4}, {1, 2, 3, 4}))
          .input(HostTensor::of(DType::i64, {2, 1}, std::vector<int64_t>{-1, 1}));
      t.input(HostTensor::f32({2}, {10, 3})).attr_s("reduction", "mul").output(DType::f32, {4});
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{1, 6, 3, 40});
    }
  }

  TEST_CASE("Split: opset 2 attribute, opset 13 input, equal parts, a zero-size part; Trilu k; EyeLike k and dtype") {
    const auto x = iota64(10);
    {
      OpTest t("Split", 11);
      t.input(HostTensor::of(DType::i64, {10}, x)).attr_ints("split", {3, 0, 7});
      t.output(DType::i64, {3}).output(DType::i64, {0}).output(DType::i64, {7});
      CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{0, 1, 2});
      CHECK(t.out(2).values<int64_t>() == iota64(7, 3));
    }
    {
      OpTest t("Split", 13);
      t.input(HostTensor::of(DType::i64, {2, 5}, x))
          .constant(HostTensor::of(DType::i64, {2}, std::vector<int64_t>{4, 1}));
      t.attr_i("axis", -1).output(DType::i64, {2, 4}).output(DType::i64, {2, 1});
      CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 5, 6, 7, 8});
      CHECK(t.out(1).values<int64_t>() == std::vector<int64_t>{4, 9});
    }
    {
      OpTest t("Split", 13);  // equal parts, no split input
      t.input(HostTensor::of(DType::i64, {10}, x)).output(DType::i64, {5}).output(DType::i64, {5});
      t.run_on(kernels::detected_isa());
      CHECK(t.out(1).values<int64_t>() == iota64(5, 5));
    }
    {
      OpTest t("Trilu", 14);
      t.input(HostTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6}))
          .constant(HostTensor::of(DType::i64, {}, std::vector<int64_t>{-1}));
      t.attr_i("upper", 0).output(DType::f32, {2, 3});
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{0, 0, 0, 4, 0, 0});
    }
    {
      OpTest t("EyeLike", 13);
      t.input(HostTensor::f32({2, 4}, std::vector<float>(8, 9))).attr_i("k", 2).attr_i("dtype", int64_t(DType::i32));
      t.output(DType::i32, {2, 4});
      CHECK(t.run_on(kernels::detected_isa()).values<int32_t>() == std::vector<int32_t>{0, 0, 1, 0, 0, 0, 0, 1});
    }
  }

  TEST_CASE("LRN and GlobalMaxPool against direct formulas") {
    const auto x = random_floats(2 * 5 * 3, -2, 2, 31);
    OpTest t("LRN", 13);
    t.input(HostTensor::f32({2, 5, 3, 1}, x))
        .attr_i("size", 4)
        .attr_f("alpha", 0.01f)
        .attr_f("beta", 0.6f)
        .attr_f("bias", 2.f);
    t.output(DType::f32, {2, 5, 3, 1});
    const auto y = t.run_on(kernels::detected_isa()).values<float>();
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 5; ++c)
        for (int64_t p = 0; p < 3; ++p) {
          // size 4: window [c - 1, c + 2]
          double sum = 0;
          for (int64_t k = std::max<int64_t>(0, c - 1); k <= std::min<int64_t>(4, c + 2); ++k)
            sum += double(x[size_t((n * 5 + k) * 3 + p)]) * x[size_t((n * 5 + k) * 3 + p)];
          const double want = x[size_t((n * 5 + c) * 3 + p)] / std::pow(2.0 + 0.01 / 4 * sum, 0.6);
          CHECK(y[size_t((n * 5 + c) * 3 + p)] == doctest::Approx(want).epsilon(1e-5));
        }
    OpTest g("GlobalMaxPool", 13);
    g.input(HostTensor::f32({1, 2, 3}, {1, 5, -2, -3, -1, -4})).output(DType::f32, {1, 2, 1});
    CHECK(g.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{5, -1});
  }

}  // TEST_SUITE

// ---- whole graphs through a Session ---------------------------------------------------------------------------

namespace {

// The FCN / DeepLab head: logits = Conv1x1(features); out = Resize(logits, sizes = Concat(Shape(logits)[:2],
// Shape(image)[2:])), bilinear pytorch_half_pixel, with H / W symbolic in both inputs. The sizes are a shape
// computation the compiler folds (Shape -> Slice -> Concat), per input shape.
Graph segmentation_head(const std::vector<float>& w) {
  Graph g;
  g.path = "seg.onnx";
  g.opsets[""] = 13;
  auto input = [&](const char* name, Shape s, const char* h, const char* wd) {
    const int v = g.add_value(name, DType::f32);
    g.values[v].set_shape(s);
    g.values[v].dims[2] = Dim{-1, h};
    g.values[v].dims[3] = Dim{-1, wd};
    g.inputs.push_back(v);
    return v;
  };
  const int image = input("image", {1, 3, 8, 8}, "H", "W"), feat = input("feat", {1, 4, 2, 2}, "h", "w");
  auto ints = [&](const char* name, std::vector<int64_t> v) {
    auto t = std::make_shared<Tensor>(DType::i64, Shape{int64_t(v.size())});
    std::copy(v.begin(), v.end(), t->as<int64_t>());
    return g.add_constant(name, t);
  };
  auto wt = std::make_shared<Tensor>(DType::f32, Shape{2, 4, 1, 1});
  std::copy(w.begin(), w.end(), wt->as<float>());
  const int wc = g.add_constant("w", wt);
  auto node = [&](const char* op, std::vector<int> ins, std::map<std::string, Attribute> attrs = {}) {
    Node n;
    n.name = std::string(op) + std::to_string(g.nodes.size());
    n.op_type = op;
    n.inputs = std::move(ins);
    n.attrs = std::move(attrs);
    n.outputs = {g.add_value(n.name + "_out", DType::undefined)};
    g.add_node(n);
    return n.outputs[0];
  };
  Attribute axis0;
  axis0.kind = Attribute::Kind::i, axis0.i = 0;
  Attribute linear, pytorch;
  linear.kind = pytorch.kind = Attribute::Kind::s;
  linear.s = "linear", pytorch.s = "pytorch_half_pixel";
  const int logits = node("Conv", {feat, wc});
  const int hw = node("Slice", {node("Shape", {image}), ints("b", {2}), ints("e", {4})});
  const int nc = node("Slice", {node("Shape", {logits}), ints("b0", {0}), ints("e0", {2})});
  const int sizes = node("Concat", {nc, hw}, {{"axis", axis0}});
  const int out =
      node("Resize", {logits, -1, -1, sizes}, {{"mode", linear}, {"coordinate_transformation_mode", pytorch}});
  g.outputs.push_back(out);
  return g;
}

}  // namespace

TEST_SUITE("data_ops") {
  TEST_CASE("a segmentation head with symbolic H/W folds Resize's sizes per shape and matches the reference") {
    namespace kr = kernels::resize;
    const auto w = random_floats(8, -1, 1, 41);
    Session s(segmentation_head(w), SessionOptions{});
    // The conv writes NHWC (graph/passes/assign_layout.cpp) and the resize reads it in place: no reorder between.
    std::string kernels_run;
    for (const NodeReport& r : s.describe({{1, 3, 16, 12}, {1, 4, 3, 5}})) kernels_run += r.kernel + " ";
    CHECK(kernels_run.find("resize/linear_separable_nhwc") != std::string::npos);
    for (auto [H, W, h, wd] : {std::array<int64_t, 4>{16, 12, 3, 5}, {9, 21, 4, 4}, {16, 12, 3, 5}}) {
      Tensor image(DType::f32, {1, 3, H, W}), feat(DType::f32, {1, 4, h, wd});
      const auto f = random_floats(size_t(feat.numel()), -1, 1, uint32_t(H * W));
      std::copy(f.begin(), f.end(), feat.as<float>());
      const auto out = s.run({image.view(), feat.view()});
      REQUIRE(out[0].shape() == Shape{1, 2, H, W});
      // Reference: the 1x1 conv by hand, then the tensor-product resize.
      std::vector<float> logits(size_t(2 * h * wd));
      for (int64_t m = 0; m < 2; ++m)
        for (int64_t p = 0; p < h * wd; ++p) {
          double acc = 0;
          for (int64_t c = 0; c < 4; ++c) acc += double(w[size_t(m * 4 + c)]) * f[size_t(c * h * wd + p)];
          logits[size_t(m * h * wd + p)] = float(acc);
        }
      kr::Params p;
      p.mode = kr::Mode::linear, p.coord = kr::Coord::pytorch_half_pixel;
      const std::vector<kr::Axis> axes = {kr::make_axis(p, 1, 1, 1.0), kr::make_axis(p, 2, 2, 1.0),
                                          kr::make_axis(p, h, H, double(H) / double(h)),
                                          kr::make_axis(p, wd, W, double(W) / double(wd))};
      std::vector<float> want(size_t(2 * H * W));
      kr::resize_ref(axes, 0, logits.data(), want.data());
      check_close(std::vector<float>(out[0].as<float>(), out[0].as<float>() + out[0].numel()), want, 1e-4f, 1e-5f,
                  "segmentation head " + std::to_string(H) + "x" + std::to_string(W));
    }
  }
}  // TEST_SUITE
