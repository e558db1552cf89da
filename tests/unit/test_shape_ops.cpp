// Shape ops against index-level references: Transpose (every perm of rank 4, several dtypes), Concat (every
// axis), Gather (axes, negative and out-of-range indices, i32/i64), Shape (start/end), Reshape-like copies,
// Constant, and Reorder NCHW <-> NHWC.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "op_test_util.h"

using namespace octet;
using namespace octet::test;

namespace {

template <class T>
std::vector<T> iota_vec(size_t n, T start = T(0)) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = T(start + T(i % 251));
  return v;
}

template <class T>
std::vector<T> transpose_ref(const std::vector<T>& x, const Shape& s, const std::vector<int64_t>& perm) {
  const size_t r = s.size();
  Shape os(r);
  for (size_t i = 0; i < r; ++i) os[i] = s[size_t(perm[i])];
  std::vector<int64_t> in_stride(r, 1);
  for (size_t i = r - 1; i-- > 0;) in_stride[i] = in_stride[i + 1] * s[i + 1];
  std::vector<T> y(x.size());
  for (size_t e = 0; e < y.size(); ++e) {
    int64_t rem = int64_t(e), off = 0;
    for (size_t k = r; k-- > 0;) {
      off += (rem % os[k]) * in_stride[size_t(perm[k])];
      rem /= os[k];
    }
    y[e] = x[size_t(off)];
  }
  return y;
}

}  // namespace

TEST_SUITE("shape_ops") {

TEST_CASE("Transpose: all 24 perms of a rank-4 tensor, 1/4/8-byte dtypes, default perm, rank 0-1") {
  const Shape s = {2, 3, 4, 5};
  std::vector<int64_t> perm = {0, 1, 2, 3};
  do {
    Shape os(4);
    for (size_t i = 0; i < 4; ++i) os[i] = s[size_t(perm[i])];
    {
      const auto x = random_floats(120, -1, 1, 3);
      OpTest t("Transpose");
      t.input(HostTensor::f32(s, x)).output(DType::f32, os).attr_ints("perm", perm);
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == transpose_ref(x, s, perm));
    }
    {
      const auto x = iota_vec<uint8_t>(120);
      OpTest t("Transpose");
      t.input(HostTensor::of(DType::u8, s, x)).output(DType::u8, os).attr_ints("perm", perm);
      CHECK(t.run_on(kernels::detected_isa()).values<uint8_t>() == transpose_ref(x, s, perm));
    }
    {
      const auto x = iota_vec<int64_t>(120, -50);
      OpTest t("Transpose");
      t.input(HostTensor::of(DType::i64, s, x)).output(DType::i64, os).attr_ints("perm", perm);
      SerialChunks par(2);
      CHECK(t.run_on(kernels::detected_isa(), &par).values<int64_t>() == transpose_ref(x, s, perm));
    }
  } while (std::next_permutation(perm.begin(), perm.end()));
  {
    const auto x = random_floats(6 * 1 * 7, -1, 1, 4);
    OpTest t("Transpose");  // default perm reverses the dims
    t.input(HostTensor::f32({6, 1, 7}, x)).output(DType::f32, {7, 1, 6});
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == transpose_ref(x, {6, 1, 7}, {2, 1, 0}));
  }
  {
    OpTest t("Transpose");
    t.input(HostTensor::f32({}, {42.f})).output(DType::f32, {});
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{42.f});
  }
  {
    OpTest t("Transpose");
    t.input(HostTensor::f32({2, 2}, {1, 2, 3, 4})).output(DType::f32, {2, 2}).attr_ints("perm", {0, 0});
    CHECK_THROWS_AS(t.make(), Error);
  }
}

TEST_CASE("Concat along every axis (negative too), int64 and float, a zero-size input") {
  const Shape a = {2, 3, 4}, b0 = {5, 3, 4}, b1 = {2, 1, 4}, b2 = {2, 3, 6};
  for (int64_t axis = -3; axis < 3; ++axis) {
    const int64_t ax = axis < 0 ? axis + 3 : axis;
    const Shape b = ax == 0 ? b0 : ax == 1 ? b1 : b2;
    Shape z = a;
    z[size_t(ax)] = 0;
    Shape o = a;
    o[size_t(ax)] += b[size_t(ax)];
    const auto xa = iota_vec<int64_t>(size_t(num_elements(a)), 0), xb = iota_vec<int64_t>(size_t(num_elements(b)), 1000);
    // Reference: walk the output index, pick the source by the axis coordinate.
    std::vector<int64_t> want(size_t(num_elements(o)));
    for (int64_t e = 0; e < num_elements(o); ++e) {
      int64_t idx[3], rem = e;
      for (int k = 2; k >= 0; --k) idx[k] = rem % o[size_t(k)], rem /= o[size_t(k)];
      const bool from_a = idx[ax] < a[size_t(ax)];
      if (!from_a) idx[ax] -= a[size_t(ax)];
      const Shape& s = from_a ? a : b;
      const int64_t off = (idx[0] * s[1] + idx[1]) * s[2] + idx[2];
      want[size_t(e)] = from_a ? xa[size_t(off)] : xb[size_t(off)];
    }
    OpTest t("Concat");
    t.input(HostTensor::of(DType::i64, a, xa)).input(HostTensor(DType::i64, z)).input(HostTensor::of(DType::i64, b, xb));
    t.output(DType::i64, o).attr_i("axis", axis);
    CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == want);
  }
  OpTest t("Concat");
  t.input(HostTensor::f32({2}, {1, 2})).input(HostTensor::f32({3}, {3, 4, 5})).output(DType::f32, {5}).attr_i("axis", 0);
  CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{1, 2, 3, 4, 5});
}

TEST_CASE("Gather: axes 0/1/2, 2-D and scalar indices, negative indices, int32/int64, out of range") {
  const Shape s = {3, 4, 5};
  const auto x = random_floats(60, -1, 1, 7);
  for (int64_t axis = 0; axis < 3; ++axis)
    for (bool i64 : {true, false}) {
      const std::vector<int64_t> idx = {1, -1, 0, 2, -2, 1};
      Shape o;
      for (int64_t k = 0; k < axis; ++k) o.push_back(s[size_t(k)]);
      o.push_back(2), o.push_back(3);
      for (int64_t k = axis + 1; k < 3; ++k) o.push_back(s[size_t(k)]);
      std::vector<float> want;
      int64_t outer = 1, inner = 1;
      for (int64_t k = 0; k < axis; ++k) outer *= s[size_t(k)];
      for (int64_t k = axis + 1; k < 3; ++k) inner *= s[size_t(k)];
      for (int64_t p = 0; p < outer; ++p)
        for (int64_t j : idx) {
          const int64_t k = j < 0 ? j + s[size_t(axis)] : j;
          for (int64_t i = 0; i < inner; ++i) want.push_back(x[size_t((p * s[size_t(axis)] + k) * inner + i)]);
        }
      OpTest t("Gather");
      t.input(HostTensor::f32(s, x));
      if (i64)
        t.constant(HostTensor::of(DType::i64, {2, 3}, idx));
      else
        t.input(HostTensor::of(DType::i32, {2, 3}, std::vector<int32_t>(idx.begin(), idx.end())));
      t.output(DType::f32, o).attr_i("axis", axis);
      CHECK(t.run_on(kernels::detected_isa()).values<float>() == want);
    }
  {
    // Scalar index on int64 data: the shape-subgraph pattern Shape -> Gather(0-D) -> Unsqueeze.
    OpTest t("Gather");
    t.input(HostTensor::of<int64_t>(DType::i64, {4}, {1, 3, 224, 224})).constant(HostTensor::of<int64_t>(DType::i64, {}, {0}));
    t.output(DType::i64, {});
    CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{1});
  }
  {
    OpTest t("Gather");
    t.input(HostTensor::f32({3}, {1, 2, 3})).input(HostTensor::of<int64_t>(DType::i64, {1}, {3})).output(DType::f32, {1});
    CHECK_THROWS_AS(t.run_on(kernels::detected_isa()), Error);
  }
}

TEST_CASE("Shape with start/end clamping; Constant attributes") {
  const Shape s = {2, 3, 4, 5};
  struct C {
    int64_t start, end;
    std::vector<int64_t> want;
  };
  for (const C& c : {C{0, 4, {2, 3, 4, 5}}, C{1, 4, {3, 4, 5}}, C{-1, 4, {5}}, C{1, -1, {3, 4}}, C{-10, 10, {2, 3, 4, 5}},
                     C{3, 1, {}}}) {
    OpTest t("Shape", 15);
    t.input(HostTensor(DType::f32, s)).output(DType::i64, {int64_t(c.want.size())});
    t.attr_i("start", c.start).attr_i("end", c.end);
    CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == c.want);
  }
  {
    OpTest t("Constant");
    t.output(DType::f32, {3}).attr_floats("value_floats", {1.5f, -2, 3});
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == std::vector<float>{1.5f, -2, 3});
  }
  {
    OpTest t("Constant");
    t.output(DType::i64, {}).attr_i("value_int", -7);
    CHECK(t.run_on(kernels::detected_isa()).values<int64_t>() == std::vector<int64_t>{-7});
  }
}

TEST_CASE("Flatten/Reshape/Squeeze/Unsqueeze copy the bytes; NHWC input is Unsupported") {
  const auto x = random_floats(2 * 3 * 4, -1, 1, 8);
  for (const char* op : {"Flatten", "Reshape", "Squeeze", "Unsqueeze"}) {
    OpTest t(op);
    t.input(HostTensor::f32({2, 3, 4}, x));
    if (std::string(op) == "Reshape") t.constant(HostTensor::of<int64_t>(DType::i64, {2}, {6, 4}));
    t.output(DType::f32, {6, 4});
    CHECK(t.run_on(kernels::detected_isa()).values<float>() == x);
  }
  OpTest t("Flatten");
  t.input(HostTensor::f32({1, 2, 3, 4}, x, Layout::nhwc)).output(DType::f32, {1, 24});
  CHECK_THROWS_AS(t.make(), Unsupported);
}

TEST_CASE("Reorder NCHW -> NHWC -> NCHW for odd sizes and several dtypes") {
  // Up to 4 channels take the few-rows loop (bands of 4096 pixels: the 70x70 and 65x65 images have two).
  for (Shape s : {Shape{1, 3, 5, 7}, Shape{2, 64, 7, 9}, Shape{1, 33, 40, 1}, Shape{2, 1, 3, 3}, Shape{2, 3, 70, 70},
                  Shape{1, 4, 65, 65}, Shape{1, 2, 9, 9}}) {
    const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    const auto x = random_floats(size_t(num_elements(s)), -1, 1, 9);
    OpTest to("Reorder", 13, "octet");
    to.input(HostTensor::f32(s, x)).output(DType::f32, s, Layout::nhwc);
    SerialChunks par(3);
    const auto y = to.run_on(kernels::detected_isa(), &par).values<float>();
    CHECK(y == to_nhwc(x, n, c, h, w));
    OpTest back("Reorder", 13, "octet");
    back.input(HostTensor::f32(s, y, Layout::nhwc)).output(DType::f32, s);
    CHECK(back.run_on(kernels::detected_isa(), &par).values<float>() == x);
    const auto xb = iota_vec<uint8_t>(size_t(num_elements(s)));
    OpTest tb("Reorder", 13, "octet");
    tb.input(HostTensor::of(DType::u8, s, xb)).output(DType::u8, s, Layout::nhwc);
    CHECK(tb.run_on(kernels::detected_isa()).values<uint8_t>() == to_nhwc(xb, n, c, h, w));
  }
}

}  // TEST_SUITE
