// The element-wise ops beyond the foundation's (engine/ops/eltwise_math.cpp, broadcast_ops.cpp, cast.cpp):
// the vectorised float32 kernels against the scalar double-precision reference over a sweep of ordinary, huge,
// tiny, subnormal, infinite and NaN inputs on every tier; broadcasting (rank-changing, zero-size, 3 inputs);
// integer and bool forms; Cast's rounding rules; and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>

#include "engine/session.h"
#include "kernels/eltwise/half.h"
#include "kernels/eltwise/unary_math.h"
#include "op_test_util.h"

using namespace octet;
using namespace octet::test;
using kernels::Isa;
namespace ek = kernels::eltwise;

namespace {

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

/// Inputs of the accuracy sweep: a dense grid over [-20, 20], magnitudes 1e-38 .. 1e38 of both signs, and the
/// special values (zeros, subnormals, the largest float, the exp overflow / underflow edges, infinities, NaN).
std::vector<float> sweep_inputs() {
  std::vector<float> x;
  for (int i = -20000; i <= 20000; ++i) x.push_back(float(i) * 0.001f);
  for (double m = 1e-38; m < 3e38; m *= 1.37) {
    x.push_back(float(m));
    x.push_back(-float(m));
  }
  for (float v : {0.f, -0.f, 1e-45f, -1e-45f, 1e-40f, std::numeric_limits<float>::min(),
                  std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), 88.72f, 88.73f, 89.f,
                  -87.33f, -103.9f, -104.f, 0.5f, -0.5f, 1.5f, 2.5f, -2.5f, 3.5f, kInf, -kInf, kNaN})
    x.push_back(v);
  return x;
}

/// Error of `got` against the exact value `want` in units of the float spacing at `want` (ulps); 0 when both are
/// the same special value. A finite result where the reference is infinite (or the reverse) counts as 1e9 ulps.
double ulp_error(float got, double want) {
  if (std::isnan(want)) return std::isnan(got) ? 0 : 1e9;
  if (std::isinf(want) || std::isinf(got)) return double(got) == want ? 0 : 1e9;
  const float w = float(want);
  const double spacing = std::isfinite(w) && std::fabs(w) >= std::numeric_limits<float>::min()
                             ? double(std::nextafter(std::fabs(w), kInf)) - double(std::fabs(w))
                             : double(std::numeric_limits<float>::denorm_min());
  return std::fabs(double(got) - want) / spacing;
}

/// check_close that also accepts NaN where NaN is expected.
void check_close_nan(const std::vector<float>& got, const std::vector<float>& want, float tol, const std::string& what) {
  REQUIRE(got.size() == want.size());
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const bool ok = std::isnan(want[i]) ? std::isnan(got[i]) : std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i]));
    if (!ok && bad++ == 0) first = i;
  }
  CHECK_MESSAGE(bad == 0, bad << " of " << got.size() << " elements differ (" << what << "); first at " << first);
}

struct Accuracy {
  ek::UnaryOp op;
  ek::UnaryParams p;
  double max_ulps;   // allowed error in ulps of the exact result
  double abs_floor;  // or, for results near zero, this absolute error (cancellation in x * e^x - like forms)
};

}  // namespace

TEST_SUITE("eltwise_math") {

TEST_CASE("vectorised unary math matches the double-precision reference within a few ulp, specials included") {
  const std::vector<float> x = sweep_inputs();
  const std::vector<Accuracy> ops = {
      {ek::UnaryOp::abs, {}, 0, 0},
      {ek::UnaryOp::neg, {}, 0, 0},
      {ek::UnaryOp::exp, {}, 2.5, 0},  // 1 ulp, 2.5 in (88.376, 88.723] where it squares e^(x/2)
      {ek::UnaryOp::log, {}, 1, 0},
      {ek::UnaryOp::sqrt, {}, 0.5, 0},
      {ek::UnaryOp::reciprocal, {}, 0.5, 0},
      {ek::UnaryOp::tanh, {}, 2, 0},
      {ek::UnaryOp::erf, {}, 2.5, 0},
      {ek::UnaryOp::floor, {}, 0, 0},
      {ek::UnaryOp::ceil, {}, 0, 0},
      {ek::UnaryOp::round, {}, 0, 0},
      {ek::UnaryOp::sin, {}, 2, 0},
      {ek::UnaryOp::cos, {}, 2, 0},
      {ek::UnaryOp::sign, {}, 0, 0},
      {ek::UnaryOp::softplus, {}, 2, 0},
      {ek::UnaryOp::softsign, {}, 1, 0},
      {ek::UnaryOp::elu, {0.7f, 0, 0}, 2, 0},
      {ek::UnaryOp::selu, {1.67326319f, 0, 1.05070102f}, 3, 0},
      {ek::UnaryOp::celu, {1.3f, 0, 0}, 3, 0},
      {ek::UnaryOp::hard_sigmoid, {0.2f, 0.5f, 0}, 1, 1e-7},
      {ek::UnaryOp::hard_swish, {}, 2, 1e-7},
      {ek::UnaryOp::thresholded_relu, {1.f, 0, 0}, 0, 0},
      {ek::UnaryOp::square, {}, 0.5, 0},
  };
  std::vector<float> want(x.size());
  for (Isa isa : cpu_tiers()) {
    const ek::UnaryTable& t = ek::unary_table(isa);
    for (const Accuracy& a : ops) {
      std::vector<float> got(x.size());
      t.run(a.op, a.p, x.data(), got.data(), int64_t(x.size()));
      double worst = 0;
      size_t worst_at = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        // The reference in double, not rounded: the error is measured against the exact value.
        float ref_f;
        ek::unary_ref(a.op, a.p, &x[i], &ref_f, 1);
        double exact = double(ref_f);
        if (a.op == ek::UnaryOp::exp) exact = std::exp(double(x[i]));
        if (a.op == ek::UnaryOp::tanh) exact = std::tanh(double(x[i]));
        if (a.op == ek::UnaryOp::erf) exact = std::erf(double(x[i]));
        if (a.op == ek::UnaryOp::log) exact = std::log(double(x[i]));
        if (a.op == ek::UnaryOp::sin) exact = std::sin(double(x[i]));
        if (a.op == ek::UnaryOp::cos) exact = std::cos(double(x[i]));
        if (std::isinf(float(exact))) exact = double(float(exact));  // beyond FLT_MAX: the float result is inf
        double e = ulp_error(got[i], exact);
        if (a.abs_floor > 0 && std::fabs(double(got[i]) - exact) <= a.abs_floor) e = 0;
        if (e > worst) worst = e, worst_at = i;
      }
      INFO(std::string(ek::unary_op_name(a.op)) << " on " << std::string(t.isa) << ": worst " << worst
                                                << " ulp at x = " << x[worst_at]);
      CHECK(worst <= a.max_ulps);
    }
    // The exp band between xsimd's overflow threshold and ln(FLT_MAX) is finite.
    float e[3] = {88.5f, 88.72f, 88.73f}, ey[3];
    t.run(ek::UnaryOp::exp, {}, e, ey, 3);
    CHECK(std::isfinite(ey[0]));
    CHECK(std::isfinite(ey[1]));
    CHECK(std::isinf(ey[2]));
  }
}


TEST_CASE("unary ops through the registry: every size and tier, attributes, the threaded split") {
  struct Case {
    const char* op;
    ek::UnaryOp kind;
    ek::UnaryParams p;
    std::map<std::string, float> attrs;
  };
  const std::vector<Case> cases = {
      {"Tanh", ek::UnaryOp::tanh, {}, {}},
      {"Erf", ek::UnaryOp::erf, {}, {}},
      {"Exp", ek::UnaryOp::exp, {}, {}},
      {"Elu", ek::UnaryOp::elu, {0.5f, 0, 0}, {{"alpha", 0.5f}}},
      {"Selu", ek::UnaryOp::selu, {2.f, 0, 3.f}, {{"alpha", 2.f}, {"gamma", 3.f}}},
      {"Selu", ek::UnaryOp::selu, {1.67326319217681884765625f, 0, 1.05070102214813232421875f}, {}},
      {"HardSigmoid", ek::UnaryOp::hard_sigmoid, {0.2f, 0.5f, 0}, {}},
      {"HardSigmoid", ek::UnaryOp::hard_sigmoid, {0.3f, 0.1f, 0}, {{"alpha", 0.3f}, {"beta", 0.1f}}},
      {"ThresholdedRelu", ek::UnaryOp::thresholded_relu, {1.f, 0, 0}, {}},
      {"Celu", ek::UnaryOp::celu, {2.f, 0, 0}, {{"alpha", 2.f}}},
      {"HardSwish", ek::UnaryOp::hard_swish, {}, {}},
      {"Round", ek::UnaryOp::round, {}, {}},
  };
  for (Isa isa : cpu_tiers())
    for (int64_t n : {1, 3, 7, 8, 9, 16, 17, 33, 65, 40000})
      for (const Case& c : cases) {
        const auto x = random_floats(size_t(n), -8.f, 8.f, uint32_t(n));
        OpTest t(c.op, 14);
        t.input(HostTensor::f32({n}, x)).output(DType::f32, {n});
        for (const auto& [k, v] : c.attrs) t.attr_f(k, v);
        SerialChunks par(3);
        const auto got = t.run_on(isa, &par).values<float>();
        std::vector<float> want(x.size());
        ek::unary_ref(c.kind, c.p, x.data(), want.data(), n);
        check_close(got, want, 4e-7f, 1e-7f, std::string(c.op) + " n=" + std::to_string(n) + " " + kernels::isa_name(isa));
      }
}

TEST_CASE("Round is half to even; Abs / Neg / Sign on integers; IsNaN, IsInf (detect_*), Not") {
  {
    OpTest t("Round", 11);
    t.input(HostTensor::f32({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f, 1e9f + 0.f})).output(DType::f32, {8});
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{0, 2, 2, -0.f, -2, 2, -3, 1e9f});
  }
  {
    const std::vector<int64_t> x = {-5, 0, 7, std::numeric_limits<int64_t>::min()};
    OpTest a("Abs"), n("Neg"), s("Sign");
    for (OpTest* t : {&a, &n, &s}) t->input(HostTensor::of(DType::i64, {4}, x)).output(DType::i64, {4});
    CHECK(a.run_on(kernels::detected_isa()).values<int64_t>() ==
          std::vector<int64_t>{5, 0, 7, std::numeric_limits<int64_t>::min()});  // wraps, as numpy does
    CHECK(n.run_on(kernels::detected_isa()).values<int64_t>() ==
          std::vector<int64_t>{5, 0, -7, std::numeric_limits<int64_t>::min()});
    CHECK(s.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{-1, 0, 1, -1});
  }
  {
    OpTest t("Neg");
    t.input(HostTensor::of<int32_t>(DType::i32, {2}, {3, -4})).output(DType::i32, {2});
    CHECK(t.run_on(kernels::detected_isa()).values<int32_t>() == std::vector<int32_t>{-3, 4});
  }
  const std::vector<float> x = {1.f, kNaN, kInf, -kInf, 0.f};
  {
    OpTest t("IsNaN");
    t.input(HostTensor::f32({5}, x)).output(DType::boolean, {5});
    CHECK(t.run_on(kernels::detected_isa()).values<uint8_t>() == std::vector<uint8_t>{0, 1, 0, 0, 0});
  }
  for (int neg : {0, 1})
    for (int pos : {0, 1}) {
      OpTest t("IsInf", 10);
      t.input(HostTensor::f32({5}, x)).output(DType::boolean, {5}).attr_i("detect_negative", neg).attr_i("detect_positive", pos);
      CHECK(t.run_on(kernels::detected_isa()).values<uint8_t>() ==
            std::vector<uint8_t>{0, 0, uint8_t(pos), uint8_t(neg), 0});
    }
  {
    OpTest t("Not");
    t.input(HostTensor::of<uint8_t>(DType::boolean, {3}, {1, 0, 1})).output(DType::boolean, {3});
    CHECK(t.run_on(kernels::detected_isa()).values<uint8_t>() == std::vector<uint8_t>{0, 1, 0});
  }
}

namespace {

/// Reference numpy broadcasting for tests: the flat index into an operand of shape s for output index `flat`.
int64_t ref_offset(const Shape& s, const Shape& out, int64_t flat) {
  int64_t off = 0, stride = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    const int64_t idx = flat % out[out.size() - 1 - k];
    flat /= out[out.size() - 1 - k];
    if (k < s.size()) {
      const int64_t d = s[s.size() - 1 - k];
      if (d != 1) off += idx * stride;
      stride *= d;
    }
  }
  return off;
}

struct BShapes {
  Shape a, b, c, out;
};
// Same shapes, scalars, rank-changing, broadcast on both sides, middle dims, size-1 runs, zero-size.
const std::vector<BShapes> kBroadcasts = {
    {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}, {2, 3, 4}},
    {{}, {5}, {1}, {5}},
    {{2, 3, 4, 5}, {5}, {4, 1}, {2, 3, 4, 5}},
    {{3, 1}, {1, 4}, {1}, {3, 4}},
    {{1, 3, 1, 5}, {2, 1, 4, 1}, {3, 4, 5}, {2, 3, 4, 5}},
    {{2, 3, 40, 40}, {3, 1, 1}, {}, {2, 3, 40, 40}},
    {{2, 0, 3}, {1, 3}, {0, 1}, {2, 0, 3}},
    {{0}, {1}, {}, {0}},
};

}  // namespace

TEST_CASE("variadic Max / Min / Sum / Mean broadcast like numpy (rank-changing, zero-size), NaN propagates") {
  for (const BShapes& s : kBroadcasts)
    for (const char* op : {"Max", "Min", "Sum", "Mean"}) {
      const auto a = random_floats(size_t(num_elements(s.a)), -5, 5, 1);
      auto b = random_floats(size_t(num_elements(s.b)), -5, 5, 2);
      const auto c = random_floats(size_t(num_elements(s.c)), -5, 5, 3);
      if (!b.empty()) b[0] = kNaN;
      OpTest t(op, 13);
      t.input(HostTensor::f32(s.a, a)).input(HostTensor::f32(s.b, b)).input(HostTensor::f32(s.c, c));
      t.output(DType::f32, s.out);
      SerialChunks par(2);
      const auto got = t.run_on(kernels::detected_isa(), &par).values<float>();
      std::vector<float> want(got.size());
      for (int64_t i = 0; i < int64_t(want.size()); ++i) {
        const double x = a[ref_offset(s.a, s.out, i)], y = b[ref_offset(s.b, s.out, i)], z = c[ref_offset(s.c, s.out, i)];
        const std::string o = op;
        double r = o == "Sum" ? x + y + z : o == "Mean" ? (x + y + z) / 3 : 0;
        if (o == "Max") r = std::isnan(y) ? y : std::max({x, y, z});
        if (o == "Min") r = std::isnan(y) ? y : std::min({x, y, z});
        want[size_t(i)] = float(r);
      }
      check_close_nan(got, want, 1e-6f, std::string(op) + " " + shape_str(s.out));
    }
  // int64 Max with one input (a copy) and int32 Min.
  OpTest one("Max", 13);
  one.input(HostTensor::of<int64_t>(DType::i64, {3}, {4, -2, 9})).output(DType::i64, {3});
  CHECK(one.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{4, -2, 9});
  OpTest mn("Min", 13);
  mn.input(HostTensor::of<int32_t>(DType::i32, {2, 1}, {4, -2})).input(HostTensor::of<int32_t>(DType::i32, {3}, {0, 5, -9}));
  mn.output(DType::i32, {2, 3});
  CHECK(mn.run_on(kernels::detected_isa()).values<int32_t>() == std::vector<int32_t>{0, 4, -9, -2, -2, -9});
}

TEST_CASE("Where broadcasts three inputs of any element type") {
  for (const BShapes& s : kBroadcasts) {
    std::vector<uint8_t> cond(size_t(num_elements(s.a)));
    for (size_t i = 0; i < cond.size(); ++i) cond[i] = uint8_t((i * 7 + 3) % 3 == 0);
    std::vector<int64_t> x(size_t(num_elements(s.b))), y(size_t(num_elements(s.c)));
    for (size_t i = 0; i < x.size(); ++i) x[i] = int64_t(i) + 100;
    for (size_t i = 0; i < y.size(); ++i) y[i] = -int64_t(i) - 1;
    OpTest t("Where", 16);
    t.input(HostTensor::of(DType::boolean, s.a, cond)).input(HostTensor::of(DType::i64, s.b, x));
    t.input(HostTensor::of(DType::i64, s.c, y)).output(DType::i64, s.out);
    SerialChunks par(3);
    const auto got = t.run_on(kernels::detected_isa(), &par).values<int64_t>();
    for (int64_t i = 0; i < int64_t(got.size()); ++i) {
      const int64_t want = cond[ref_offset(s.a, s.out, i)] ? x[ref_offset(s.b, s.out, i)] : y[ref_offset(s.c, s.out, i)];
      REQUIRE_MESSAGE(got[size_t(i)] == want, "Where " << shape_str(s.out) << " at " << i);
    }
  }
  // float and uint8 element types go through the same bitwise loops.
  OpTest f("Where", 9);
  f.input(HostTensor::of<uint8_t>(DType::boolean, {2}, {1, 0})).input(HostTensor::f32({1}, {1.5f}));
  f.input(HostTensor::f32({2}, {-1.f, -2.f})).output(DType::f32, {2});
  CHECK(f.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{1.5f, -2.f});
}

TEST_CASE("comparisons give bool on float / int64 / int32 with broadcasting; And / Or / Xor") {
  const std::vector<float> a = {1.f, 2.f, kNaN, -1.f}, b = {2.f};
  auto run_cmp = [&](const char* op, int64_t opset) {
    OpTest t(op, opset);
    t.input(HostTensor::f32({4}, a)).input(HostTensor::f32({1}, b)).output(DType::boolean, {4});
    return t.run_on(kernels::detected_isa()).values<uint8_t>();
  };
  CHECK(run_cmp("Equal", 11) == std::vector<uint8_t>{0, 1, 0, 0});
  CHECK(run_cmp("Less", 9) == std::vector<uint8_t>{1, 0, 0, 1});
  CHECK(run_cmp("Greater", 9) == std::vector<uint8_t>{0, 0, 0, 0});
  CHECK(run_cmp("LessOrEqual", 12) == std::vector<uint8_t>{1, 1, 0, 1});
  CHECK(run_cmp("GreaterOrEqual", 12) == std::vector<uint8_t>{0, 1, 0, 0});
  OpTest e("Equal", 13);
  e.input(HostTensor::of<int64_t>(DType::i64, {2, 1}, {3, 0})).input(HostTensor::of<int64_t>(DType::i64, {3}, {0, 3, 3}));
  e.output(DType::boolean, {2, 3});
  CHECK(e.run_on(kernels::detected_isa()).values<uint8_t>() == std::vector<uint8_t>{0, 1, 1, 1, 0, 0});
  OpTest g("Greater", 13);
  g.input(HostTensor::of<int32_t>(DType::i32, {2}, {-3, 8})).input(HostTensor::of<int32_t>(DType::i32, {}, {0}));
  g.output(DType::boolean, {2});
  CHECK(g.run_on(kernels::detected_isa()).values<uint8_t>() == std::vector<uint8_t>{0, 1});
  const std::vector<uint8_t> p = {0, 0, 1, 1}, q = {0, 1, 0, 1};
  for (const auto& [op, want] : std::vector<std::pair<const char*, std::vector<uint8_t>>>{
           {"And", {0, 0, 0, 1}}, {"Or", {0, 1, 1, 1}}, {"Xor", {0, 1, 1, 0}}}) {
    OpTest t(op, 7);
    t.input(HostTensor::of(DType::boolean, {4}, p)).input(HostTensor::of(DType::boolean, {4}, q)).output(DType::boolean, {4});
    CHECK_MESSAGE(t.run_on(kernels::detected_isa()).values<uint8_t>() == want, op);
  }
}

TEST_CASE("Pow: float and integer exponents, integer bases, the vectorised x^2 path") {
  const std::vector<float> x = {2.f, -3.f, 0.5f, 0.f, -0.f, kInf, 9.f};
  {
    OpTest t("Pow", 13);  // constant exponent 2: the x * x kernel
    t.input(HostTensor::f32({7}, x)).constant(HostTensor::f32({}, {2.f})).output(DType::f32, {7});
    auto k = t.make();
    CHECK(k->name().find("pow2") != std::string::npos);
    t.run(*k);
    CHECK(t.out().values<float>() == std::vector<float>{4.f, 9.f, 0.25f, 0.f, 0.f, kInf, 81.f});
  }
  {
    OpTest t("Pow", 13);  // int64 exponent, broadcast [7] x [1]
    t.input(HostTensor::f32({7}, x)).input(HostTensor::of<int64_t>(DType::i64, {1}, {3})).output(DType::f32, {7});
    const auto got = t.run_on(kernels::detected_isa()).values<float>();
    for (size_t i = 0; i < x.size(); ++i) CHECK(got[i] == float(std::pow(double(x[i]), 3.0)));
  }
  {
    OpTest t("Pow", 13);  // float exponents elementwise
    t.input(HostTensor::f32({3}, {4.f, 2.f, -8.f})).input(HostTensor::f32({3}, {0.5f, -1.f, 1.f / 3})).output(DType::f32, {3});
    const auto got = t.run_on(kernels::detected_isa()).values<float>();
    CHECK(got[0] == 2.f);
    CHECK(got[1] == 0.5f);
    CHECK(std::isnan(got[2]));  // a negative base with a non-integer exponent
  }
  {
    OpTest t("Pow", 15);  // int64 base, int64 exponent: exact, wrapping
    t.input(HostTensor::of<int64_t>(DType::i64, {3}, {3, -2, 10})).input(HostTensor::of<int64_t>(DType::i64, {3}, {4, 3, 18}));
    t.output(DType::i64, {3});
    CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{81, -8, 1000000000000000000});
  }
  {
    OpTest t("Pow", 15);  // int32 base, float exponent: the real power truncated
    t.input(HostTensor::of<int32_t>(DType::i32, {2}, {2, 10})).input(HostTensor::f32({2}, {0.5f, 1.5f})).output(DType::i32, {2});
    CHECK(t.run_on(kernels::detected_isa()).values<int32_t>() == std::vector<int32_t>{1, 31});
  }
}

TEST_CASE("PRelu broadcasts the slope to X one way; Mod's fmod = 0 / 1 signs") {
  {
    OpTest t("PRelu", 9);
    t.input(HostTensor::f32({1, 2, 2}, {-1.f, 2.f, -3.f, 4.f})).constant(HostTensor::f32({2, 1}, {0.5f, 0.25f}));
    t.output(DType::f32, {1, 2, 2});
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{-0.5f, 2.f, -0.75f, 4.f});
  }
  {
    OpTest t("PRelu", 9);  // slope [2, 3] does not broadcast to X [3]
    t.input(HostTensor::f32({3}, {1, 2, 3})).input(HostTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6})).output(DType::f32, {2, 3});
    CHECK_THROWS_WITH_AS(t.make(), doctest::Contains("does not broadcast to X's 3"), Error);
  }
  const std::vector<int32_t> a = {7, -7, 7, -7, 0}, b = {3, 3, -3, -3, 5};
  for (int fmod : {0, 1}) {
    OpTest t("Mod", 13);
    t.input(HostTensor::of(DType::i32, {5}, a)).input(HostTensor::of(DType::i32, {5}, b)).output(DType::i32, {5});
    t.attr_i("fmod", fmod);
    const std::vector<int32_t> want = fmod ? std::vector<int32_t>{1, -1, 1, -1, 0} : std::vector<int32_t>{1, 2, -2, -1, 0};
    CHECK(t.run_on(kernels::detected_isa()).values<int32_t>() == want);
  }
  {
    OpTest t("Mod", 13);
    t.input(HostTensor::f32({2}, {5.5f, -5.5f})).input(HostTensor::f32({1}, {2.f})).output(DType::f32, {2}).attr_i("fmod", 1);
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{1.5f, -1.5f});
  }
  {
    OpTest t("Mod", 13);  // float with fmod = 0 is an invalid model
    t.input(HostTensor::f32({2}, {5.5f, -5.5f})).input(HostTensor::f32({1}, {2.f})).output(DType::f32, {2});
    CHECK_THROWS_WITH_AS(t.make(), doctest::Contains("fmod = 1"), Error);
  }
  {
    OpTest t("Mod", 13);
    t.input(HostTensor::of<int64_t>(DType::i64, {1}, {4})).input(HostTensor::of<int64_t>(DType::i64, {1}, {0})).output(DType::i64, {1});
    auto k = t.make();
    CHECK_THROWS_WITH_AS(t.run(*k), doctest::Contains("node 'n0' (Mod): integer Mod by zero"), Error);
  }
}

TEST_CASE("Cast: float -> int truncates (NaN -> 0, saturating), bool, float16 / bfloat16 round to nearest even") {
  const std::vector<float> x = {1.9f, -1.9f, 0.5f, kNaN, 3e9f, -3e9f, 0.f};
  {
    OpTest t("Cast", 13);
    t.input(HostTensor::f32({7}, x)).output(DType::i32, {7}).attr_i("to", int64_t(DType::i32));
    CHECK(t.run_on(kernels::detected_isa()).values<int32_t>() ==
          std::vector<int32_t>{1, -1, 0, 0, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 0});
  }
  {
    OpTest t("Cast", 13);
    t.input(HostTensor::f32({7}, x)).output(DType::boolean, {7}).attr_i("to", int64_t(DType::boolean));
    CHECK(t.run_on(kernels::detected_isa()).values<uint8_t>() == std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 0});
  }
  {
    OpTest t("Cast", 13);  // int64 -> int8 wraps, as numpy's astype
    t.input(HostTensor::of<int64_t>(DType::i64, {3}, {300, -129, 5})).output(DType::i8, {3}).attr_i("to", int64_t(DType::i8));
    CHECK(t.run_on(kernels::detected_isa()).values<int8_t>() == std::vector<int8_t>{44, 127, 5});
  }
  // float16: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 -> even (1); 1 + 3 * 2^-11 -> 1 + 2^-9; 65520 -> inf;
  // 2^-25 (half the smallest subnormal) -> 0; 3 * 2^-25 -> the subnormal 2 * 2^-24.
  const std::vector<float> h = {1.f + 0x1p-11f, 1.f + 3 * 0x1p-11f, 65520.f, 65519.f, 0x1p-25f, 3 * 0x1p-25f, -2.f, kInf};
  const std::vector<uint16_t> want_h = {0x3c00, 0x3c02, 0x7c00, 0x7bff, 0x0000, 0x0002, 0xc000, 0x7c00};
  {
    OpTest t("Cast", 13);
    t.input(HostTensor::f32({8}, h)).output(DType::f16, {8}).attr_i("to", int64_t(DType::f16));
    CHECK(t.run_on(kernels::detected_isa()).values<uint16_t>() == want_h);
  }
  {
    // double -> float16 directly: 1 + 2^-11 + 2^-40 is just above the tie and rounds up; narrowing to float
    // first would drop the 2^-40 and round to even (down).
    OpTest t("Cast", 13);
    t.input(HostTensor::of<double>(DType::f64, {1}, {1.0 + 0x1p-11 + 0x1p-40})).output(DType::f16, {1}).attr_i("to", int64_t(DType::f16));
    CHECK(t.run_on(kernels::detected_isa()).values<uint16_t>() == std::vector<uint16_t>{0x3c01});
  }
  {
    OpTest t("Cast", 13);  // every half back to float is exact: check the whole 16-bit space against half.h round trip
    std::vector<uint16_t> all(65536);
    for (size_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i);
    t.input(HostTensor::of(DType::f16, {65536}, all)).output(DType::f32, {65536}).attr_i("to", int64_t(DType::f32));
    const auto f = t.run_on(kernels::detected_isa()).values<float>();
    int mismatches = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      const bool nan = ((i >> 10) & 0x1f) == 0x1f && (i & 0x3ff);
      if (nan ? !std::isnan(f[i]) : kernels::f32_to_f16(f[i]) != all[i]) ++mismatches;
    }
    CHECK(mismatches == 0);
  }
  {
    OpTest t("Cast", 13);  // bfloat16: 1 + 2^-8 ties to even (1), 1 + 3 * 2^-8 rounds up
    t.input(HostTensor::f32({2}, {1.f + 0x1p-8f, 1.f + 3 * 0x1p-8f})).output(DType::bf16, {2}).attr_i("to", int64_t(DType::bf16));
    CHECK(t.run_on(kernels::detected_isa()).values<uint16_t>() == std::vector<uint16_t>{0x3f80, 0x3f82});
  }
  {
    OpTest t("CastLike", 15);
    t.input(HostTensor::of<int32_t>(DType::i32, {2}, {-3, 7})).input(HostTensor::f32({1}, {0.f})).output(DType::f32, {2});
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{-3.f, 7.f});
  }
}

TEST_CASE("errors name the node and what was expected") {
  {
    OpTest t("Exp", 13);
    t.input(HostTensor::of<int64_t>(DType::i64, {2}, {1, 2})).output(DType::i64, {2});
    CHECK_THROWS_WITH_AS(t.make(), doctest::Contains("test.onnx: node 'n0' (Exp): input 'in0' has type int64"), Unsupported);
  }
  {
    OpTest t("Max", 13);  // [2, 3] and [4] do not broadcast
    t.input(HostTensor::f32({2, 3}, {1, 2, 3, 4, 5, 6})).input(HostTensor::f32({4}, {1, 2, 3, 4})).output(DType::f32, {2, 3});
    CHECK_THROWS_WITH_AS(t.make(), doctest::Contains("node 'n0' (Max): shapes 2x3 and 4 do not broadcast"), Error);
  }
  {
    OpTest t("Where", 16);  // the condition must be bool
    t.input(HostTensor::f32({2}, {1, 0})).input(HostTensor::f32({2}, {1, 2})).input(HostTensor::f32({2}, {3, 4}));
    t.output(DType::f32, {2});
    CHECK_THROWS_WITH_AS(t.make(), doctest::Contains("(Where): input 'in0' has type float32, expected bool"), Unsupported);
  }
  {
    OpTest t("Less", 13);  // mixed types
    t.input(HostTensor::f32({2}, {1, 0})).input(HostTensor::of<int64_t>(DType::i64, {2}, {1, 2})).output(DType::boolean, {2});
    CHECK_THROWS_WITH_AS(t.make(), doctest::Contains("input 'in1' has type int64, expected float32"), Error);
  }
}

TEST_CASE("engine: Conv -> HardSwish -> Conv -> Tanh -> Erf runs nhwc with the passes and matches the plain run") {
  // MobileNetV3 / ViT-like activations between convs: with the passes the activations follow the convs' nhwc
  // layout (graph/passes/assign_layout.cpp); without them everything is plain. Both must compute the same.
  auto model = [] {
    Graph g;
    g.path = "block.onnx";
    g.opsets[""] = 14;
    auto value = [&](const std::string& name, Shape s) {
      const int v = g.add_value(name, DType::f32);
      g.values[v].set_shape(s);
      return v;
    };
    const int x = value("x", {1, 4, 8, 8});
    g.inputs.push_back(x);
    auto weight = [&](const std::string& name, uint32_t seed) {
      auto t = std::make_shared<Tensor>(DType::f32, Shape{4, 4, 3, 3});
      const auto w = random_floats(size_t(t->numel()), -0.5f, 0.5f, seed);
      std::copy(w.begin(), w.end(), t->as<float>());
      return g.add_constant(name, t);
    };
    auto node = [&](const std::string& op, std::vector<int> in, int out) {
      Node n;
      n.name = g.values[out].name;
      n.op_type = op;
      n.inputs = std::move(in);
      n.outputs = {out};
      if (op == "Conv") {
        n.attrs["pads"].kind = Attribute::Kind::ints, n.attrs["pads"].ints = {1, 1, 1, 1};
        n.attrs["kernel_shape"].kind = Attribute::Kind::ints, n.attrs["kernel_shape"].ints = {3, 3};
      }
      g.add_node(std::move(n));
      return out;
    };
    const Shape s = {1, 4, 8, 8};
    int v = node("Conv", {x, weight("w1", 1)}, value("c1", s));
    v = node("HardSwish", {v}, value("hs", s));
    v = node("Conv", {v, weight("w2", 2)}, value("c2", s));
    v = node("Tanh", {v}, value("th", s));
    v = node("Erf", {v}, value("y", s));
    g.outputs.push_back(v);
    return g;
  };
  Tensor x(DType::f32, {1, 4, 8, 8});
  const auto xv = random_floats(size_t(x.numel()), -3.f, 3.f, 7);
  std::copy(xv.begin(), xv.end(), x.as<float>());
  std::vector<float> out[2];
  for (int optimize = 0; optimize < 2; ++optimize) {
    SessionOptions opt;
    opt.threads = 1;
    opt.optimize = optimize != 0;
    Session session(model(), opt);
    const auto y = session.run({x.view()});
    REQUIRE(y.size() == 1);
    out[optimize].assign(y[0].as<float>(), y[0].as<float>() + y[0].numel());
  }
  check_close_nan(out[1], out[0], 1e-5f, "optimized vs plain");
}

}  // TEST_SUITE
