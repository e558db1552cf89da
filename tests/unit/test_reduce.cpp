// Reductions: the vector kernels (kernels/reduce) against the double-precision reference on every tier, then
// the Reduce* / ArgMax / ArgMin ops through the registry against a naive reduction over the logical tensor:
// every memory pattern (rows, strided, permuted), negative axes, keepdims, both ReduceSum forms (axes attribute
// before opset 13, input after) and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "kernels/reduce/reduce.h"
#include "op_test_util.h"

namespace {

using namespace octet;
using namespace octet::test;
namespace kr = octet::kernels::reduce;

const kr::Op kAllOps[] = {kr::Op::sum, kr::Op::sum_abs, kr::Op::sum_sq,     kr::Op::max,
                          kr::Op::min, kr::Op::prod,    kr::Op::log_sum_exp};

// Products of many values overflow or vanish: keep prod's inputs near 1.
std::vector<float> data_for(kr::Op op, size_t n, uint32_t seed) {
  return op == kr::Op::prod ? random_floats(n, 0.9f, 1.1f, seed) : random_floats(n, -2, 2, seed);
}

// fp32 accumulation error grows with the number of terms: sum of len values of magnitude <= 4.
float tol(int64_t len) { return 1e-6f * float(len) + 1e-5f; }

}  // namespace

TEST_SUITE("reduce") {
  TEST_CASE("kernels: rows and strided match the reference for every op, length and tier") {
    for (kernels::Isa isa : cpu_tiers()) {
      const kr::Table& t = kr::table(isa);
      CAPTURE(t.isa);
      for (kr::Op op : kAllOps) {
        CAPTURE(int(op));
        for (int64_t len : {1, 3, 8, 17, 64, 1000}) {
          const int64_t rows = 3;
          std::vector<float> x = data_for(op, size_t(rows * len), uint32_t(len));
          std::vector<float> got(static_cast<size_t>(rows)), want(static_cast<size_t>(rows));
          t.rows(op, x.data(), got.data(), rows, len);
          kr::reduce_ref(op, x.data(), want.data(), rows, len, 1);
          check_close(got, want, 1e-5f, tol(len), "rows len " + std::to_string(len));
        }
        // inner: below a vector, a vector tail, past the 1024-column block; also a column slice (inner < stride).
        for (int64_t inner : {1, 5, 16, 37, 1100}) {
          for (int64_t len : {1, 4, 33}) {
            std::vector<float> x = data_for(op, size_t(len * inner), uint32_t(inner + len));
            std::vector<float> got(static_cast<size_t>(inner)), want(static_cast<size_t>(inner));
            t.strided(op, x.data(), got.data(), len, inner, inner);
            kr::reduce_ref(op, x.data(), want.data(), 1, len, inner);
            check_close(got, want, 1e-5f, tol(len), "strided " + std::to_string(len) + "x" + std::to_string(inner));
            if (inner > 4) {
              std::vector<float> part(static_cast<size_t>(inner - 3));
              t.strided(op, x.data() + 3, part.data(), len, inner - 3, inner);
              check_close(part, std::vector<float>(want.begin() + 3, want.end()), 1e-5f, tol(len), "column slice");
            }
          }
        }
      }
    }
  }

  TEST_CASE("kernels: empty reductions give the identity; log_sum_exp of -inf rows is -inf, large values stay finite") {
    const float inf = std::numeric_limits<float>::infinity();
    for (kernels::Isa isa : cpu_tiers()) {
      const kr::Table& t = kr::table(isa);
      float y[7];
      for (int i = 0; i < 7; ++i) t.rows(kAllOps[i], nullptr, y + i, 1, 0);
      CHECK(y[0] == 0.f);
      CHECK(y[3] == -inf);
      CHECK(y[4] == inf);
      CHECK(y[5] == 1.f);
      CHECK(y[6] == -inf);
      const float ninf[3] = {-inf, -inf, -inf};
      t.rows(kr::Op::log_sum_exp, ninf, y, 1, 3);
      CHECK(y[0] == -inf);
      const float big[3] = {1000.f, 1000.f, 999.f};  // exp(1000) overflows; the max shift keeps it exact
      t.rows(kr::Op::log_sum_exp, big, y, 1, 3);
      CHECK(y[0] == doctest::Approx(1000.f + std::log(2.f + std::exp(-1.f))).epsilon(1e-6));
    }
  }

  TEST_CASE("kernels: normalize_row and log_softmax_rows match the reference") {
    for (kernels::Isa isa : cpu_tiers()) {
      const kr::Table& t = kr::table(isa);
      CAPTURE(t.isa);
      for (int64_t len : {1, 7, 16, 100, 768}) {
        std::vector<float> x = random_floats(size_t(len), -3, 5, uint32_t(len));
        std::vector<float> s = random_floats(size_t(len), 0.5f, 2, 1), b = random_floats(size_t(len), -1, 1, 2);
        for (bool per : {true, false}) {
          for (bool with_bias : {true, false}) {
            std::vector<float> got(static_cast<size_t>(len)), want(static_cast<size_t>(len));
            float m0, i0, m1, i1;
            const float* bp = with_bias ? b.data() : nullptr;
            t.normalize_row(x.data(), got.data(), len, 1e-5f, s.data(), bp, per, &m0, &i0);
            kr::normalize_row_ref(x.data(), want.data(), len, 1e-5f, s.data(), bp, per, &m1, &i1);
            check_close(got, want, 1e-5f, 2e-5f, "normalize_row len " + std::to_string(len));
            CHECK(m0 == doctest::Approx(m1).epsilon(1e-5));
            CHECK(i0 == doctest::Approx(i1).epsilon(1e-4));
          }
        }
        std::vector<float> got(static_cast<size_t>(2 * len)), want(static_cast<size_t>(2 * len));
        std::vector<float> x2 = random_floats(size_t(2 * len), -30, 30, 9);
        t.log_softmax_rows(x2.data(), got.data(), 2, len);
        kr::log_softmax_ref(x2.data(), want.data(), 2, len, 1);
        check_close(got, want, 1e-5f, 1e-5f, "log_softmax len " + std::to_string(len));
      }
    }
  }

}  // TEST_SUITE

namespace {

// The reduction of the logical tensor x (shape s) over `axes` (normalised), by collecting each output slot's
// values and applying the ONNX definition in double.
std::vector<float> naive_reduce(const std::string& op, const std::vector<float>& x, const Shape& s,
                                const std::vector<int64_t>& axes) {
  std::vector<char> red(s.size(), 0);
  for (int64_t a : axes) red[size_t(a)] = 1;
  int64_t n_out = 1;
  for (size_t d = 0; d < s.size(); ++d) n_out *= red[d] ? 1 : s[d];
  std::vector<std::vector<double>> vals(static_cast<size_t>(n_out));
  for (int64_t i = 0; i < int64_t(x.size()); ++i) {
    int64_t rem = i, o = 0, stride = 1;
    for (size_t d = s.size(); d-- > 0;) {
      const int64_t k = rem % s[d];
      rem /= s[d];
      if (!red[d]) o += k * stride, stride *= s[d];
    }
    vals[size_t(o)].push_back(x[size_t(i)]);
  }
  std::vector<float> y;
  for (auto& v : vals) {
    double r = 0;
    if (op == "ReduceMax" || op == "ReduceMin") {
      r = v[0];
      for (double e : v) r = op == "ReduceMax" ? std::max(r, e) : std::min(r, e);
    } else if (op == "ReduceProd") {
      r = 1;
      for (double e : v) r *= e;
    } else if (op == "ReduceLogSumExp") {
      for (double e : v) r += std::exp(e);
      r = std::log(r);
    } else {
      for (double e : v) r += op == "ReduceL1" ? std::abs(e) : op == "ReduceL2" || op == "ReduceSumSquare" ? e * e : e;
      if (op == "ReduceMean") r /= double(v.size());
      if (op == "ReduceL2") r = std::sqrt(r);
      if (op == "ReduceLogSum") r = std::log(r);
    }
    y.push_back(float(r));
  }
  return y;
}

Shape reduced_shape(const Shape& s, const std::vector<int64_t>& axes, bool keep) {
  Shape out;
  for (size_t d = 0; d < s.size(); ++d) {
    const bool r = std::find(axes.begin(), axes.end(), int64_t(d)) != axes.end();
    if (!r)
      out.push_back(s[d]);
    else if (keep)
      out.push_back(1);
  }
  return out;
}

const char* kReduceOps[] = {"ReduceSum", "ReduceMean", "ReduceMax",    "ReduceMin",       "ReduceProd",
                            "ReduceL1",  "ReduceL2",   "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Unsupported& e) {
    return std::string("UNSUPPORTED: ") + e.what();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_SUITE("reduce") {
  TEST_CASE("Reduce*: every op over rows, strided and permuted axis patterns, negative axes, keepdims, tiers") {
    const Shape s{2, 3, 4, 5};
    // {3}: rows; {2,3}: rows (spatial); {1}: strided (channel); {0}: strided, outer 1; {0,2}: permuted;
    // {-1,-3}: negative, permuted; {}: every dim.
    const std::vector<std::vector<int64_t>> cases = {{3}, {2, 3}, {1}, {0}, {0, 2}, {-1, -3}, {}};
    SerialChunks par(3);
    for (const char* op : kReduceOps) {
      CAPTURE(op);
      const bool positive = std::string(op) == "ReduceLogSum" || std::string(op) == "ReduceProd";
      std::vector<float> x = positive ? random_floats(size_t(num_elements(s)), 0.8f, 1.25f, 3)
                                      : random_floats(size_t(num_elements(s)), -2, 2, 3);
      for (const auto& axes : cases) {
        std::vector<int64_t> norm;
        for (int64_t a : axes) norm.push_back(a < 0 ? a + 4 : a);
        if (axes.empty()) norm = {0, 1, 2, 3};
        std::sort(norm.begin(), norm.end());
        const std::vector<float> want = naive_reduce(op, x, s, norm);
        for (bool keep : {true, false}) {
          for (kernels::Isa isa : cpu_tiers()) {
            // Opset 11 reads axes from the attribute for every op.
            OpTest t(op, 11);
            t.input(HostTensor::f32(s, x)).attr_i("keepdims", keep).output(DType::f32, reduced_shape(s, norm, keep));
            if (!axes.empty()) t.attr_ints("axes", axes);
            check_close(t.run_on(isa, &par).values<float>(), want, 1e-5f, 1e-5f,
                        std::string(op) + " axes " + std::to_string(axes.size()) + " keep " + std::to_string(keep));
          }
        }
      }
    }
  }

  TEST_CASE("ReduceSum opset 13: axes as a constant input, absent axes, noop_with_empty_axes, and the errors") {
    const Shape s{2, 3, 4};
    std::vector<float> x = random_floats(24, -1, 1, 5);
    auto axes_t = [](std::vector<int64_t> v) { return HostTensor::of<int64_t>(DType::i64, {int64_t(v.size())}, v); };
    {
      OpTest t("ReduceSum", 13);
      t.input(HostTensor::f32(s, x)).constant(axes_t({-2})).attr_i("keepdims", 0).output(DType::f32, {2, 4});
      check_close(t.run_on(kernels::detected_isa()).values<float>(), naive_reduce("ReduceSum", x, s, {1}), 1e-6f, 1e-6f,
                  "axes input");
    }
    {
      OpTest t("ReduceSum", 13);  // no axes input: every dim
      t.input(HostTensor::f32(s, x)).output(DType::f32, {1, 1, 1});
      check_close(t.run_on(kernels::detected_isa()).values<float>(), naive_reduce("ReduceSum", x, s, {0, 1, 2}), 1e-6f,
                  1e-6f, "all");
    }
    {
      OpTest t("ReduceSum", 13);  // empty axes with noop_with_empty_axes: the input unchanged
      t.input(HostTensor::f32(s, x)).constant(axes_t({})).attr_i("noop_with_empty_axes", 1).output(DType::f32, s);
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == x);
    }
    {
      OpTest t("ReduceSum", 13);  // axes computed at run time: octet needs them at compile time
      t.input(HostTensor::f32(s, x)).input(axes_t({1})).output(DType::f32, {2, 1, 4});
      const std::string e = error_of([&] { t.make(); });
      CHECK(e.find("UNSUPPORTED") == 0);
      CHECK(e.find("node 'n0'") != std::string::npos);
      CHECK(e.find("must be a constant") != std::string::npos);
    }
    {
      OpTest t("ReduceMean", 13);
      t.input(HostTensor::f32(s, x)).attr_ints("axes", {1, -2}).output(DType::f32, {2, 1, 4});
      const std::string e = error_of([&] { t.make(); });
      CHECK(e.find("node 'n0'") != std::string::npos);
      CHECK(e.find("appears twice") != std::string::npos);
    }
    {
      OpTest t("ReduceMean", 13);
      t.input(HostTensor::f32(s, x)).attr_ints("axes", {3}).output(DType::f32, {2, 3, 1});
      CHECK(error_of([&] { t.make(); }).find("out of range for rank 3") != std::string::npos);
    }
  }

  TEST_CASE("Reduce* opset 18: axes as an input for every op; an axes attribute is an error there") {
    const Shape s{2, 3, 4};
    std::vector<float> x = random_floats(24, 0.5f, 1.5f, 6);
    for (const char* op : kReduceOps) {
      CAPTURE(op);
      OpTest t(op, 18);
      t.input(HostTensor::f32(s, x))
          .constant(HostTensor::of<int64_t>(DType::i64, {2}, {0, -1}))
          .output(DType::f32, {1, 3, 1});
      check_close(t.run_on(kernels::detected_isa()).values<float>(), naive_reduce(op, x, s, {0, 2}), 1e-5f, 1e-6f, op);
      OpTest a(op, 18);
      a.input(HostTensor::f32(s, x)).attr_ints("axes", {1}).output(DType::f32, {2, 1, 4});
      CHECK(error_of([&] { a.make(); }).find("takes axes as input 1, not as an attribute") != std::string::npos);
      OpTest n(op, 18);  // no axes input and noop_with_empty_axes: the input unchanged
      n.input(HostTensor::f32(s, x)).attr_i("noop_with_empty_axes", 1).output(DType::f32, s);
      CHECK(n.run_on(kernels::detected_isa()).values<float>() == x);
    }
  }

  TEST_CASE("ReduceSum / ReduceProd / ReduceMax on int64 (shape arithmetic)") {
    OpTest t("ReduceProd", 11);
    t.input(HostTensor::of<int64_t>(DType::i64, {2, 3}, {1, 2, 3, 4, 5, 6}))
        .attr_ints("axes", {1})
        .attr_i("keepdims", 0);
    t.output(DType::i64, {2});
    CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{6, 120});
    OpTest m("ReduceMax", 11);
    m.input(HostTensor::of<int64_t>(DType::i64, {2, 3}, {1, 9, 3, 4, -5, 6}))
        .attr_ints("axes", {0})
        .output(DType::i64, {1, 3});
    CHECK(m.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{4, 9, 6});
  }

  TEST_CASE("ArgMax / ArgMin: axis, negative axis, keepdims, select_last_index on ties") {
    // [2, 3] with ties: row 0 = 1 5 5, row 1 = 2 2 0.
    const HostTensor x = HostTensor::f32({2, 3}, {1, 5, 5, 2, 2, 0});
    auto run = [&](const char* op, int64_t axis, bool keep, bool last, Shape out, int64_t opset = 12) {
      OpTest t(op, opset);
      t.input(x).attr_i("axis", axis).attr_i("keepdims", keep).output(DType::i64, out);
      if (last) t.attr_i("select_last_index", 1);
      return t.run_on(kernels::detected_isa()).values<int64_t>();
    };
    CHECK(run("ArgMax", 1, true, false, {2, 1}) == std::vector<int64_t>{1, 0});
    CHECK(run("ArgMax", -1, false, true, {2}) == std::vector<int64_t>{2, 1});
    CHECK(run("ArgMin", 0, true, false, {1, 3}) == std::vector<int64_t>{0, 1, 1});
    CHECK(run("ArgMin", 1, false, true, {2}) == std::vector<int64_t>{0, 2});
    CHECK(run("ArgMax", 0, false, false, {3}) == std::vector<int64_t>{1, 0, 0});
    // Strided axis of a 3-D input against a naive scan.
    const Shape s{3, 4, 5};
    std::vector<float> v = random_floats(60, -1, 1, 8);
    OpTest t("ArgMax", 13);
    t.input(HostTensor::f32(s, v)).attr_i("axis", 1).attr_i("keepdims", 0).output(DType::i64, {3, 5});
    std::vector<int64_t> got = t.run_on(kernels::detected_isa()).values<int64_t>();
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t i = 0; i < 5; ++i) {
        int64_t best = 0;
        for (int64_t l = 1; l < 4; ++l)
          if (v[size_t((o * 4 + l) * 5 + i)] > v[size_t((o * 4 + best) * 5 + i)]) best = l;
        CHECK(got[size_t(o * 5 + i)] == best);
      }
  }

}  // TEST_SUITE
