// Element-wise ops against naive scalar references, on every ISA tier this CPU has: activations, exp accuracy,
// broadcasting binary ops (f32, i32, i64), Softmax (both opset semantics), BatchNormalization (plain and NHWC,
// constant and run-time parameters), Identity, Dropout.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "engine/thread_pool.h"
#include "kernels/eltwise/eltwise.h"
#include "op_test_util.h"

using namespace octet;
using namespace octet::test;
using kernels::Isa;

namespace {

// Sizes around every vector width (4, 8, 16 floats) and their multiples, plus one above the parallel grain.
const std::vector<int64_t> kSizes = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 40000};

std::string tier(Isa i) { return std::string(" on ") + kernels::isa_name(i); }

}  // namespace

TEST_SUITE("eltwise") {

TEST_CASE("exp approximation: max relative error below 2e-7 over [-87, 88]") {
  // Dense sweep over the whole range where exp is a normal float, compared with double-precision exp.
  std::vector<float> x;
  for (double v = -87.0; v <= 88.0; v += 0.000731) x.push_back(float(v));
  for (float v : {0.f, -0.f, 1e-30f, -1e-30f, 0.34657359f, -0.34657359f, 88.f, -87.f}) x.push_back(v);
  for (Isa isa : cpu_tiers()) {
    const auto& t = kernels::eltwise::table(isa);
    std::vector<float> y(x.size());
    t.exp(x.data(), y.data(), int64_t(x.size()));
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double want = std::exp(double(x[i]));
      worst = std::max(worst, std::abs(double(y[i]) - want) / want);
    }
    INFO("exp max rel error " << worst << tier(isa));
    CHECK(worst < 2e-7);
    // Saturation and underflow behave as documented.
    float big[3] = {100.f, -100.f, -std::numeric_limits<float>::infinity()}, out[3];
    t.exp(big, out, 3);
    CHECK(out[0] == doctest::Approx(std::exp(88.0)).epsilon(1e-6));
    CHECK(out[1] == 0.f);
    CHECK(out[2] == 0.f);
  }
}

TEST_CASE("unary activations match the scalar reference for every size and tier") {
  for (Isa isa : cpu_tiers())
    for (int64_t n : kSizes) {
      const auto x = random_floats(size_t(n), -10.f, 10.f, uint32_t(n));
      struct Case {
        const char* op;
        std::function<float(float)> ref;
        float tol;
      };
      const std::vector<Case> cases = {
          {"Relu", [](float v) { return v > 0 ? v : 0.f; }, 0.f},
          {"LeakyRelu", [](float v) { return v >= 0 ? v : 0.1f * v; }, 0.f},
          {"Sigmoid", [](float v) { return float(1.0 / (1.0 + std::exp(-double(v)))); }, 3e-7f},
          {"Clip", [](float v) { return std::min(std::max(v, -1.5f), 2.5f); }, 0.f},
      };
      for (const Case& c : cases) {
        OpTest t(c.op, 13);
        t.input(HostTensor::f32({n}, x)).output(DType::f32, {n});
        if (std::string(c.op) == "LeakyRelu") t.attr_f("alpha", 0.1f);
        if (std::string(c.op) == "Clip") t.constant(HostTensor::f32({}, {-1.5f})).constant(HostTensor::f32({}, {2.5f}));
        SerialChunks par(3);
        auto got = t.run_on(isa, &par).values<float>();
        std::vector<float> want(x.size());
        for (size_t i = 0; i < x.size(); ++i) want[i] = c.ref(x[i]);
        check_close(got, want, c.tol, 0.f, std::string(c.op) + " n=" + std::to_string(n) + tier(isa));
      }
    }
}

TEST_CASE("sigmoid saturates cleanly at the extremes") {
  for (Isa isa : cpu_tiers()) {
    OpTest t("Sigmoid");
    t.input(HostTensor::f32({4}, {-200.f, 200.f, -std::numeric_limits<float>::infinity(), 0.f})).output(DType::f32, {4});
    auto y = t.run_on(isa).values<float>();
    CHECK(y[0] >= 0.f);
    CHECK(y[0] < 1e-37f);
    CHECK(y[1] == 1.f);
    CHECK(y[2] >= 0.f);
    CHECK(y[2] < 1e-37f);
    CHECK(y[3] == 0.5f);
  }
}

TEST_CASE("Clip: opset 6 attributes, opset 11 absent / constant / run-time bounds") {
  const std::vector<float> x = {-5, -1, 0, 0.5f, 3, 7};
  {
    OpTest t("Clip", 6);
    t.input(HostTensor::f32({6}, x)).output(DType::f32, {6}).attr_f("min", -1.f).attr_f("max", 1.f);
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{-1, -1, 0, 0.5f, 1, 1});
  }
  {
    OpTest t("Clip", 11);  // no bounds: identity
    t.input(HostTensor::f32({6}, x)).output(DType::f32, {6});
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == x);
  }
  {
    OpTest t("Clip", 13);  // min absent, max computed at run time
    t.input(HostTensor::f32({6}, x)).absent().input(HostTensor::f32({}, {2.f})).output(DType::f32, {6});
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{-5, -1, 0, 0.5f, 2, 2});
  }
  {
    OpTest t("Clip", 13);  // int8 without bounds: identity (integer Clip is tested in depth below)
    t.input(HostTensor::of<int8_t>(DType::i8, {2}, {-128, 127})).output(DType::i8, {2});
    CHECK(t.run_on(kernels::detected_isa()).values<int8_t>() == std::vector<int8_t>{-128, 127});
  }
}

namespace {

/// Integer Clip against min(max(x, lo), hi) for one type: every size around the vector widths (16/32/64 bytes
/// of T), constant, absent and run-time bounds, lo > hi (ONNX: everything becomes max), on every tier.
template <class T>
void check_int_clip(DType dt) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> d(std::numeric_limits<T>::lowest(), std::numeric_limits<T>::max());
  const T lowest = std::numeric_limits<T>::lowest(), highest = std::numeric_limits<T>::max();
  struct Bounds {
    bool has_lo, has_hi, runtime;
    T lo, hi;
  };
  const T a = T(std::is_signed_v<T> ? -5 : 20), b = T(100);
  const std::vector<Bounds> bounds = {{true, true, false, a, b},   {true, false, false, a, highest},
                                      {false, true, false, lowest, b}, {false, false, false, lowest, highest},
                                      {true, true, true, a, b},    {true, true, false, b, a}};
  int checked = 0;
  for (Isa isa : cpu_tiers())
    for (int64_t n : {1, 3, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 130, 40000})
      for (const Bounds& bd : bounds) {
        std::vector<T> x(static_cast<size_t>(n));
        for (T& v : x) v = T(d(rng));
        OpTest t("Clip", 13);
        t.input(HostTensor::of(dt, {n}, x)).output(dt, {n});
        auto bound = [&](bool has, T v) {
          if (!has)
            t.absent();
          else if (bd.runtime)
            t.input(HostTensor::of(dt, {}, std::vector<T>{v}));
          else
            t.constant(HostTensor::of(dt, {}, std::vector<T>{v}));
        };
        bound(bd.has_lo, bd.lo);
        bound(bd.has_hi, bd.hi);
        SerialChunks par(3);
        const auto got = t.run_on(isa, &par).template values<T>();
        std::vector<T> want(x.size());
        for (size_t i = 0; i < x.size(); ++i) want[i] = std::min(std::max(x[i], bd.lo), bd.hi);
        CHECK_MESSAGE(got == want, "Clip " << dtype_name(dt) << " n=" << n << " lo=" << int64_t(bd.lo)
                                           << " hi=" << int64_t(bd.hi) << (bd.runtime ? " run-time" : "") << tier(isa));
        ++checked;
      }
  CHECK(checked >= 14 * 6);
}

}  // namespace

TEST_CASE("Clip on uint8, int8, int32, int64 matches min(max(x, lo), hi) exactly on every tier") {
  check_int_clip<uint8_t>(DType::u8);
  check_int_clip<int8_t>(DType::i8);
  check_int_clip<int32_t>(DType::i32);
  check_int_clip<int64_t>(DType::i64);
  // ONNX's test_clip_default_int8_min: x int8 in [-10, 10), min 0, max absent.
  OpTest t("Clip", 13);
  t.input(HostTensor::of<int8_t>(DType::i8, {4}, {-10, -1, 0, 9})).constant(HostTensor::of<int8_t>(DType::i8, {}, {0}));
  t.output(DType::i8, {4});
  CHECK(t.run_on(kernels::detected_isa()).values<int8_t>() == std::vector<int8_t>{0, 0, 0, 9});
}

TEST_CASE("integer Clip rejects mixed bound types and other dtypes") {
  {
    OpTest t("Clip", 13);
    t.input(HostTensor::of<uint8_t>(DType::u8, {2}, {1, 2})).constant(HostTensor::f32({}, {0.f})).output(DType::u8, {2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
  {
    OpTest t("Clip", 13);
    t.input(HostTensor::of<uint16_t>(DType::u16, {2}, {1, 2})).output(DType::u16, {2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
}

namespace {

/// Naive numpy broadcast: out[idx] = a[idx mod a's dims] op b[...].
template <class T, class Op>
std::vector<T> broadcast_ref(const std::vector<T>& a, const Shape& sa, const std::vector<T>& b, const Shape& sb,
                             const Shape& so, Op op) {
  std::vector<T> y(size_t(num_elements(so)));
  const size_t r = so.size();
  std::vector<int64_t> idx(r, 0);
  auto offset = [&](const Shape& s) {
    int64_t off = 0;
    for (size_t k = 0; k < s.size(); ++k) {
      const int64_t i = idx[r - s.size() + k];
      off = off * s[k] + (s[k] == 1 ? 0 : i);
    }
    return off;
  };
  for (size_t e = 0; e < y.size(); ++e) {
    int64_t rem = int64_t(e);
    for (size_t k = r; k-- > 0;) idx[k] = rem % so[k], rem /= so[k];
    y[e] = op(a[size_t(offset(sa))], b[size_t(offset(sb))]);
  }
  return y;
}

Shape bshape(const Shape& a, const Shape& b) {
  Shape o(std::max(a.size(), b.size()), 1);
  for (size_t k = 0; k < o.size(); ++k) {
    const int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1, db = k < b.size() ? b[b.size() - 1 - k] : 1;
    o[o.size() - 1 - k] = da == 1 ? db : da;
  }
  return o;
}

const std::vector<std::pair<Shape, Shape>> kBroadcastCases = {
    {{37}, {37}},           {{2, 3, 5, 7}, {2, 3, 5, 7}}, {{2, 3, 5, 7}, {}},        {{}, {2, 3, 5, 7}},
    {{2, 3, 5, 7}, {7}},    {{2, 3, 5, 7}, {1, 3, 1, 1}}, {{1, 3, 1, 1}, {2, 3, 5, 7}}, {{3, 1, 5}, {1, 4, 1}},
    {{4, 5}, {3, 1, 1}},    {{1}, {2, 3}},                {{2, 1, 9, 1}, {1, 6, 1, 17}}, {{64, 1}, {1, 33}},
    {{2, 64, 56, 56}, {64, 1, 1}}, {{1, 1000}, {1}},      {{0, 3}, {1, 3}},
};

}  // namespace

TEST_CASE("Add/Sub/Mul/Div f32 broadcasting matches numpy semantics on every tier") {
  const char* ops[] = {"Add", "Sub", "Mul", "Div"};
  for (Isa isa : cpu_tiers())
    for (auto& [sa, sb] : kBroadcastCases)
      for (int o = 0; o < 4; ++o) {
        const Shape so = bshape(sa, sb);
        const auto a = random_floats(size_t(num_elements(sa)), -3.f, 3.f, 1);
        auto b = random_floats(size_t(num_elements(sb)), 0.5f, 4.f, 2);  // away from 0 for Div
        OpTest t(ops[o]);
        t.input(HostTensor::f32(sa, a)).input(HostTensor::f32(sb, b)).output(DType::f32, so);
        SerialChunks par(2);
        auto got = t.run_on(isa, &par).values<float>();
        auto want = broadcast_ref<float>(a, sa, b, sb, so, [o](float p, float q) {
          return o == 0 ? p + q : o == 1 ? p - q : o == 2 ? p * q : p / q;
        });
        // Vector division is IEEE-exact like scalar division, so every op must match bit for bit.
        check_close(got, want, 0.f, 0.f,
                    std::string(ops[o]) + " " + shape_str(sa) + " , " + shape_str(sb) + tier(isa));
      }
}

TEST_CASE("Add/Sub/Mul/Div on int32 and int64 (shape arithmetic), Div truncates toward zero") {
  {
    OpTest t("Div");
    t.input(HostTensor::of<int64_t>(DType::i64, {4}, {7, -7, 9, 1000}))
        .input(HostTensor::of<int64_t>(DType::i64, {1}, {2}))
        .output(DType::i64, {4});
    CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{3, -3, 4, 500});
  }
  for (auto& [sa, sb] : kBroadcastCases) {
    const Shape so = bshape(sa, sb);
    std::vector<int32_t> a(size_t(num_elements(sa))), b(size_t(num_elements(sb)));
    for (size_t i = 0; i < a.size(); ++i) a[i] = int32_t(i % 17) - 8;
    for (size_t i = 0; i < b.size(); ++i) b[i] = int32_t(i % 5) + 1;
    OpTest t("Mul");
    t.input(HostTensor::of(DType::i32, sa, a)).input(HostTensor::of(DType::i32, sb, b)).output(DType::i32, so);
    CHECK(t.run_on(kernels::detected_isa()).values<int32_t>() ==
          broadcast_ref<int32_t>(a, sa, b, sb, so, [](int32_t p, int32_t q) { return p * q; }));
  }
  {
    OpTest t("Div");
    t.input(HostTensor::of<int64_t>(DType::i64, {2}, {1, 2})).input(HostTensor::of<int64_t>(DType::i64, {1}, {0}))
        .output(DType::i64, {2});
    CHECK_THROWS_AS(t.run_on(kernels::detected_isa()), Error);
  }
}

TEST_CASE("binary ops in NHWC give the same logical result; broadcasting in NHWC is Unsupported") {
  const int64_t n = 2, c = 19, h = 5, w = 3;
  const auto a = random_floats(size_t(n * c * h * w), -2, 2, 5), b = random_floats(size_t(n * c * h * w), -2, 2, 6);
  for (Isa isa : cpu_tiers()) {
    OpTest t("Add");
    t.input(HostTensor::f32({n, c, h, w}, to_nhwc(a, n, c, h, w), Layout::nhwc))
        .input(HostTensor::f32({n, c, h, w}, to_nhwc(b, n, c, h, w), Layout::nhwc))
        .output(DType::f32, {n, c, h, w}, Layout::nhwc);
    auto got = from_nhwc(t.run_on(isa).values<float>(), n, c, h, w);
    std::vector<float> want(a.size());
    for (size_t i = 0; i < a.size(); ++i) want[i] = a[i] + b[i];
    check_close(got, want, 0, 0, std::string("nhwc add") + tier(isa));
  }
  OpTest t("Add");
  t.input(HostTensor::f32({n, c, h, w}, a, Layout::nhwc))
      .input(HostTensor::f32({1, c, 1, 1}, std::vector<float>(size_t(c), 1.f)))
      .output(DType::f32, {n, c, h, w}, Layout::nhwc);
  CHECK_THROWS_AS(t.make(), Unsupported);
}

namespace {

/// Softmax along `axis` of a [outer][len][inner] view, in double.
std::vector<float> softmax_ref(const std::vector<float>& x, int64_t outer, int64_t len, int64_t inner) {
  std::vector<float> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double m = -INFINITY, s = 0;
      for (int64_t l = 0; l < len; ++l) m = std::max(m, double(x[size_t((o * len + l) * inner + i)]));
      for (int64_t l = 0; l < len; ++l) s += std::exp(double(x[size_t((o * len + l) * inner + i)]) - m);
      for (int64_t l = 0; l < len; ++l)
        y[size_t((o * len + l) * inner + i)] = float(std::exp(double(x[size_t((o * len + l) * inner + i)]) - m) / s);
    }
  return y;
}

}  // namespace

TEST_CASE("Softmax: opset 13 single axis and opset 11 flatten-to-2D, every axis, stable on large inputs") {
  const Shape s = {3, 4, 5, 19};
  const auto x = random_floats(size_t(num_elements(s)), -20.f, 20.f, 9);
  auto large = x;
  for (float& v : large) v += 10000.f;  // exp would overflow without the max subtraction
  for (Isa isa : cpu_tiers())
    for (int64_t axis = -4; axis < 4; ++axis)
      for (int64_t opset : {11, 13}) {
        const int64_t a = axis < 0 ? axis + 4 : axis;
        int64_t outer = 1, len = 1, inner = 1;
        for (int64_t k = 0; k < 4; ++k) {
          if (k < a) outer *= s[size_t(k)];
          else if (k == a || opset < 13) len *= s[size_t(k)];
          else inner *= s[size_t(k)];
        }
        for (const std::vector<float>* in : {&x, static_cast<const std::vector<float>*>(&large)}) {
          OpTest t("Softmax", opset);
          t.input(HostTensor::f32(s, *in)).output(DType::f32, s).attr_i("axis", axis);
          SerialChunks par(2);
          auto got = t.run_on(isa, &par).values<float>();
          check_close(got, softmax_ref(*in, outer, len, inner), 2e-6f, 1e-9f,
                      "softmax opset " + std::to_string(opset) + " axis " + std::to_string(axis) + tier(isa));
        }
      }
  // Default axes: 1 before opset 13 (flatten [3, 4*5*19]), -1 from 13.
  OpTest t11("Softmax", 11), t13("Softmax", 13);
  t11.input(HostTensor::f32(s, x)).output(DType::f32, s);
  t13.input(HostTensor::f32(s, x)).output(DType::f32, s);
  check_close(t11.run_on(kernels::detected_isa()).values<float>(), softmax_ref(x, 3, 4 * 5 * 19, 1), 2e-6f, 1e-9f,
              "default axis 11");
  check_close(t13.run_on(kernels::detected_isa()).values<float>(), softmax_ref(x, 3 * 4 * 5, 19, 1), 2e-6f, 1e-9f,
              "default axis 13");
}

TEST_CASE("BatchNormalization: plain and NHWC, constant and run-time parameters, rank 2 to 4") {
  for (Isa isa : cpu_tiers())
    for (Shape s : {Shape{3, 7}, Shape{2, 5, 11}, Shape{2, 19, 3, 5}, Shape{1, 64, 7, 7}})
      for (bool nhwc : {false, true})
        for (bool consts : {true, false}) {
          if (nhwc && s.size() != 4) continue;
          const int64_t n = s[0], c = s[1], inner = num_elements(s) / (n * c);
          const auto x = random_floats(size_t(num_elements(s)), -3, 3, 11);
          const auto scale = random_floats(size_t(c), 0.5f, 2, 12), bias = random_floats(size_t(c), -1, 1, 13);
          const auto mean = random_floats(size_t(c), -1, 1, 14), var = random_floats(size_t(c), 0.1f, 3, 15);
          const float eps = 1e-3f;
          std::vector<float> want(x.size());
          for (int64_t i = 0; i < n; ++i)
            for (int64_t ch = 0; ch < c; ++ch)
              for (int64_t k = 0; k < inner; ++k) {
                const size_t e = size_t((i * c + ch) * inner + k);
                want[e] = float((double(x[e]) - mean[size_t(ch)]) / std::sqrt(double(var[size_t(ch)]) + eps) *
                                    scale[size_t(ch)] + bias[size_t(ch)]);
              }
          const Layout l = nhwc ? Layout::nhwc : Layout::plain;
          OpTest t("BatchNormalization", 15);
          t.input(HostTensor::f32(s, nhwc ? to_nhwc(x, n, c, s[2], s[3]) : x, l));
          for (const auto* p : {&scale, &bias, &mean, &var}) {
            if (consts)
              t.constant(HostTensor::f32({c}, *p));
            else
              t.input(HostTensor::f32({c}, *p));
          }
          t.output(DType::f32, s, l).attr_f("epsilon", eps);
          SerialChunks par(3);
          auto got = t.run_on(isa, &par).values<float>();
          if (nhwc) got = from_nhwc(got, n, c, s[2], s[3]);
          check_close(got, want, 1e-5f, 1e-6f,
                      "batchnorm " + shape_str(s) + (nhwc ? " nhwc" : " plain") + (consts ? " const" : " runtime") +
                          tier(isa));
        }
  OpTest t("BatchNormalization", 15);
  t.input(HostTensor::f32({1, 2}, {1, 2}));
  for (int i = 0; i < 4; ++i) t.constant(HostTensor::f32({2}, {1, 1}));
  t.output(DType::f32, {1, 2}).attr_i("training_mode", 1);
  CHECK_THROWS_AS(t.make(), Unsupported);
}

TEST_CASE("Identity copies any dtype; Dropout is identity with an all-true mask; training is Unsupported") {
  {
    OpTest t("Identity");
    t.input(HostTensor::of<int64_t>(DType::i64, {3}, {1, -2, 3})).output(DType::i64, {3});
    CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{1, -2, 3});
  }
  {
    OpTest t("Dropout", 13);
    t.input(HostTensor::f32({2, 2}, {1, 2, 3, 4}))
        .constant(HostTensor::f32({}, {0.5f}))
        .output(DType::f32, {2, 2})
        .output(DType::boolean, {2, 2});
    t.run_on(kernels::detected_isa());
    CHECK(t.out(0).values<float>() == std::vector<float>{1, 2, 3, 4});
    CHECK(t.out(1).values<uint8_t>() == std::vector<uint8_t>{1, 1, 1, 1});
  }
  {
    OpTest t("Dropout", 13);
    t.input(HostTensor::f32({2}, {1, 2})).absent().constant(HostTensor::of<uint8_t>(DType::boolean, {}, {1}))
        .output(DType::f32, {2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
  {
    // Training mode with a constant ratio of 0 (torchvision's Swin) keeps every element: the identity.
    OpTest t("Dropout", 13);
    t.input(HostTensor::f32({3}, {1, -2, 3}))
        .constant(HostTensor::f32({}, {0.f}))
        .constant(HostTensor::of<uint8_t>(DType::boolean, {}, {1}))
        .output(DType::f32, {3});
    t.run_on(kernels::detected_isa());
    CHECK(t.out(0).values<float>() == std::vector<float>{1, -2, 3});
    OpTest half("Dropout", 13);
    half.input(HostTensor::f32({2}, {1, 2}))
        .constant(HostTensor::f32({}, {0.5f}))
        .constant(HostTensor::of<uint8_t>(DType::boolean, {}, {1}))
        .output(DType::f32, {2});
    CHECK_THROWS_AS(half.make(), Unsupported);
  }
}

TEST_CASE("a real thread pool splits big element-wise work and gets the same result") {
  ThreadPool pool(2);
  const int64_t n = 300001;
  const auto a = random_floats(size_t(n), -5, 5, 21);
  OpTest t("Sigmoid");
  t.input(HostTensor::f32({n}, a)).output(DType::f32, {n});
  auto k = t.make();
  t.run(*k, &pool);
  auto par = t.out().values<float>();
  t.run(*k, nullptr);
  CHECK(par == t.out().values<float>());
}

}  // TEST_SUITE
