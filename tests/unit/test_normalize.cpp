// Normalisation ops through the registry against naive double-precision definitions: LayerNormalization (axes,
// broadcast Scale, optional B, the Mean / InvStdDev outputs), InstanceNormalization, LpNormalization,
// MeanVarianceNormalization, and LogSoftmax / Hardmax / Softmax under both axis semantics (coerced to 2-D before
// opset 13, one axis from 13).
#include <doctest/doctest.h>

#include <cmath>

#include "op_test_util.h"

namespace {

using namespace octet;
using namespace octet::test;

// Mean and 1/sqrt(var + eps) of x[o*len .. (o+1)*len), double.
void moments(const std::vector<float>& x, int64_t o, int64_t len, double eps, double* m, double* inv) {
  double s = 0, v = 0;
  for (int64_t i = 0; i < len; ++i) s += x[size_t(o * len + i)];
  *m = s / double(len);
  for (int64_t i = 0; i < len; ++i) v += (x[size_t(o * len + i)] - *m) * (x[size_t(o * len + i)] - *m);
  *inv = 1 / std::sqrt(v / double(len) + eps);
}

// Softmax-family references on [outer, len, inner].
std::vector<float> ref_softmax(const std::string& op, const std::vector<float>& x, int64_t outer, int64_t len,
                               int64_t inner) {
  std::vector<float> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t l) { return size_t((o * len + l) * inner + i); };
      double m = x[at(0)], s = 0;
      int64_t arg = 0;
      for (int64_t l = 1; l < len; ++l)
        if (x[at(l)] > m) m = x[at(l)], arg = l;
      for (int64_t l = 0; l < len; ++l) s += std::exp(x[at(l)] - m);
      for (int64_t l = 0; l < len; ++l)
        y[at(l)] = op == "Softmax"      ? float(std::exp(x[at(l)] - m) / s)
                   : op == "LogSoftmax" ? float(x[at(l)] - m - std::log(s))
                                        : float(l == arg);
    }
  return y;
}

}  // namespace

TEST_SUITE("normalize") {
  TEST_CASE("LayerNormalization: axis -1 / 1 / negative, broadcast Scale, optional B, Mean and InvStdDev") {
    const Shape s{2, 5, 12};
    std::vector<float> x = random_floats(120, -3, 4, 1);
    struct Case {
      int64_t axis;
      Shape scale;
      bool bias;
    };
    for (const Case& c : {Case{-1, {12}, true}, Case{1, {5, 12}, false}, Case{1, {1, 12}, true}, Case{-2, {5, 1}, true},
                          Case{0, {12}, false}}) {
      const int64_t axis = c.axis < 0 ? c.axis + 3 : c.axis;
      int64_t outer = 1, len = 1;
      for (int64_t d = 0; d < 3; ++d) (d < axis ? outer : len) *= s[size_t(d)];
      const int64_t ns = num_elements(c.scale);
      std::vector<float> sc = random_floats(size_t(ns), 0.5f, 1.5f, 2), b = random_floats(size_t(ns), -1, 1, 3);
      Shape stat = s;
      for (size_t d = size_t(axis); d < 3; ++d) stat[d] = 1;
      for (kernels::Isa isa : cpu_tiers()) {
        OpTest t("LayerNormalization", 17);
        t.input(HostTensor::f32(s, x)).constant(HostTensor::f32(c.scale, sc));
        if (c.bias) t.constant(HostTensor::f32(c.scale, b));
        t.attr_i("axis", c.axis).attr_f("epsilon", 1e-3f);
        t.output(DType::f32, s).output(DType::f32, stat).output(DType::f32, stat);
        SerialChunks par(2);
        t.run_on(isa, &par);
        // Scale / B index: the normalised index reduced to the parameter's (right-aligned) shape.
        const Shape norm(s.begin() + axis, s.end());
        auto pidx = [&](int64_t i) {
          int64_t rem = i, off = 0, stride = 1;
          for (size_t k = 0; k < norm.size(); ++k) {
            const size_t d = norm.size() - 1 - k;
            const int64_t idx = rem % norm[d];
            rem /= norm[d];
            if (k < c.scale.size()) {
              const int64_t pd = c.scale[c.scale.size() - 1 - k];
              if (pd != 1) off += idx * stride;
              stride *= pd;
            }
          }
          return size_t(off);
        };
        std::vector<float> want(x.size()), wm(static_cast<size_t>(outer)), wi(static_cast<size_t>(outer));
        for (int64_t o = 0; o < outer; ++o) {
          double m, inv;
          moments(x, o, len, 1e-3, &m, &inv);
          wm[size_t(o)] = float(m), wi[size_t(o)] = float(inv);
          for (int64_t i = 0; i < len; ++i)
            want[size_t(o * len + i)] =
                float((x[size_t(o * len + i)] - m) * inv * sc[pidx(i)] + (c.bias ? b[pidx(i)] : 0));
        }
        check_close(t.out(0).values<float>(), want, 1e-5f, 2e-5f, "Y axis " + std::to_string(c.axis));
        check_close(t.out(1).values<float>(), wm, 1e-5f, 1e-6f, "Mean");
        check_close(t.out(2).values<float>(), wi, 1e-4f, 1e-6f, "InvStdDev");
      }
    }
  }

  TEST_CASE("LayerNormalization: a Scale that does not broadcast is an error naming the node") {
    OpTest t("LayerNormalization", 17);
    t.input(HostTensor::f32({2, 4}, std::vector<float>(8, 1.f))).constant(HostTensor::f32({3}, {1, 1, 1}));
    t.output(DType::f32, {2, 4});
    try {
      t.make();
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("node 'n0'") != std::string::npos);
      CHECK(std::string(e.what()).find("does not broadcast") != std::string::npos);
    }
  }

  TEST_CASE("InstanceNormalization: per (n, c) over the spatial dims") {
    const Shape s{2, 3, 4, 5};
    std::vector<float> x = random_floats(120, -2, 3, 4), sc = {0.5f, 1, 2}, b = {0, -1, 1};
    for (kernels::Isa isa : cpu_tiers()) {
      OpTest t("InstanceNormalization", 13);
      t.input(HostTensor::f32(s, x)).constant(HostTensor::f32({3}, sc)).constant(HostTensor::f32({3}, b));
      t.attr_f("epsilon", 1e-2f).output(DType::f32, s);
      std::vector<float> want(x.size());
      for (int64_t r = 0; r < 6; ++r) {
        double m, inv;
        moments(x, r, 20, 1e-2, &m, &inv);
        for (int64_t i = 0; i < 20; ++i)
          want[size_t(r * 20 + i)] = float((x[size_t(r * 20 + i)] - m) * inv * sc[size_t(r % 3)] + b[size_t(r % 3)]);
      }
      check_close(t.run_on(isa).values<float>(), want, 1e-5f, 2e-5f, "instancenorm");
    }
  }

  TEST_CASE("LpNormalization: p = 1 and 2, last and middle axis; p = 3 is an error") {
    const Shape s{2, 3, 4};
    std::vector<float> x = random_floats(24, -2, 2, 6);
    for (int64_t p : {1, 2})
      for (int64_t axis : {-1, 1}) {
        const int64_t a = axis < 0 ? 2 : axis;
        const int64_t len = s[size_t(a)], inner = a == 2 ? 1 : 4, outer = 24 / (len * inner);
        std::vector<float> want(24);
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i) {
            double nrm = 0;
            for (int64_t l = 0; l < len; ++l) {
              const double v = x[size_t((o * len + l) * inner + i)];
              nrm += p == 1 ? std::abs(v) : v * v;
            }
            if (p == 2) nrm = std::sqrt(nrm);
            for (int64_t l = 0; l < len; ++l)
              want[size_t((o * len + l) * inner + i)] = float(x[size_t((o * len + l) * inner + i)] / nrm);
          }
        OpTest t("LpNormalization", 13);
        t.input(HostTensor::f32(s, x)).attr_i("p", p).attr_i("axis", axis).output(DType::f32, s);
        check_close(t.run_on(kernels::detected_isa()).values<float>(), want, 1e-5f, 1e-6f,
                    "p " + std::to_string(p) + " axis " + std::to_string(axis));
      }
    OpTest bad("LpNormalization", 13);
    bad.input(HostTensor::f32(s, x)).attr_i("p", 3).output(DType::f32, s);
    CHECK_THROWS_AS(bad.make(), Error);
  }

  TEST_CASE("MeanVarianceNormalization: default axes [0, 2, 3] and axes [1]") {
    const Shape s{2, 3, 2, 2};
    std::vector<float> x = random_floats(24, -2, 2, 7);
    for (bool dflt : {true, false}) {
      OpTest t("MeanVarianceNormalization", 13);
      t.input(HostTensor::f32(s, x)).output(DType::f32, s);
      if (!dflt) t.attr_ints("axes", {1});
      std::vector<float> want(24);
      // Slot of element (n, c, h, w): c for the default axes, (n, h, w) for axes [1].
      auto slot = [&](int64_t i) { return dflt ? (i / 4) % 3 : (i / 12) * 4 + i % 4; };
      const int64_t slots = dflt ? 3 : 8;
      std::vector<double> m(size_t(slots), 0), v(size_t(slots), 0), cnt(size_t(slots), 0);
      for (int64_t i = 0; i < 24; ++i) m[size_t(slot(i))] += x[size_t(i)], cnt[size_t(slot(i))] += 1;
      for (int64_t k = 0; k < slots; ++k) m[size_t(k)] /= cnt[size_t(k)];
      for (int64_t i = 0; i < 24; ++i) v[size_t(slot(i))] += std::pow(x[size_t(i)] - m[size_t(slot(i))], 2);
      for (int64_t i = 0; i < 24; ++i) {
        const size_t k = size_t(slot(i));
        want[size_t(i)] = float((x[size_t(i)] - m[k]) / (std::sqrt(v[k] / cnt[k]) + 1e-9));
      }
      check_close(t.run_on(kernels::detected_isa()).values<float>(), want, 1e-5f, 1e-6f, dflt ? "default" : "axes 1");
    }
  }

  TEST_CASE("Softmax / LogSoftmax / Hardmax: coerced to 2-D before opset 13, one axis from 13") {
    const Shape s{2, 3, 4};
    std::vector<float> x = random_floats(24, -5, 5, 9);
    x[5] = x[6];  // a tie for Hardmax: the first index wins
    for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
      CAPTURE(op);
      for (int64_t opset : {11, 13}) {
        for (int64_t axis : {0, 1, -1}) {
          const int64_t a = axis < 0 ? axis + 3 : axis;
          int64_t outer = 1, len = 1, inner = 1;
          for (int64_t d = 0; d < 3; ++d) {
            if (d < a)
              outer *= s[size_t(d)];
            else if (d == a || opset < 13)
              len *= s[size_t(d)];
            else
              inner *= s[size_t(d)];
          }
          OpTest t(op, opset);
          t.input(HostTensor::f32(s, x)).attr_i("axis", axis).output(DType::f32, s);
          check_close(t.run_on(kernels::detected_isa()).values<float>(), ref_softmax(op, x, outer, len, inner), 1e-5f,
                      1e-5f, "opset " + std::to_string(opset) + " axis " + std::to_string(axis));
        }
        // Default axis: 1 (coerced) before 13, -1 from 13.
        OpTest t(op, opset);
        t.input(HostTensor::f32(s, x)).output(DType::f32, s);
        check_close(t.run_on(kernels::detected_isa()).values<float>(),
                    opset < 13 ? ref_softmax(op, x, 2, 12, 1) : ref_softmax(op, x, 6, 4, 1), 1e-5f, 1e-5f,
                    "default axis");
      }
    }
  }

}  // TEST_SUITE
