// MaxPool / AveragePool / GlobalAveragePool against a naive reference over a sweep of geometries (kernels,
// strides, pads, dilations, ceil_mode, count_include_pad, 1-D and 2-D, channel counts around the vector widths),
// in plain and NHWC layout, on every ISA tier; plus ONNX's documented examples. MaxPool on uint8 / int8 (exact),
// MaxPool's Indices (storage orders, ties, N-D), and 3-D pools against an N-D reference.
#include <doctest/doctest.h>

#include <cmath>
#include <algorithm>
#include <limits>
#include <random>
#include <type_traits>

#include "op_test_util.h"

using namespace octet;
using namespace octet::test;
using kernels::Isa;

namespace {

struct PoolCase {
  int64_t n, c, h, w;  // h = 0: a 1-D pool over w
  int64_t k[2], s[2], d[2];
  int64_t pads[4];     // begin h, begin w, end h, end w
  bool ceil, include_pad;
};

/// Output size, the ONNX / PyTorch rule: floor or ceil of (in + pads - dilated kernel) / stride + 1, dropping a
/// last window that would start in the end padding.
int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil) {
  const int64_t span = in + pb + pe - ((k - 1) * d + 1);
  int64_t o = (ceil ? (span + s - 1) / s : span / s) + 1;
  if (ceil && (o - 1) * s >= in + pb) --o;
  return o;
}

/// The reference: every output visits every tap, checks bounds; avg divides by the taps inside the input, or
/// with count_include_pad by the taps inside the padded input.
std::vector<float> pool_ref(bool is_max, const PoolCase& pc, const std::vector<float>& x, int64_t oh, int64_t ow) {
  const int64_t h = pc.h ? pc.h : 1;
  const int64_t kh = pc.h ? pc.k[0] : 1, sh = pc.h ? pc.s[0] : 1, dh = pc.h ? pc.d[0] : 1;
  const int64_t pt = pc.h ? pc.pads[0] : 0, pbt = pc.h ? pc.pads[2] : 0;
  const int64_t kw = pc.k[1], sw = pc.s[1], dw = pc.d[1], pl = pc.pads[1], pr = pc.pads[3];
  std::vector<float> y(size_t(pc.n * pc.c * oh * ow));
  for (int64_t p = 0; p < pc.n * pc.c; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = is_max ? -INFINITY : 0;
        int64_t cnt = 0, cnt_pad = 0;
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t b = 0; b < kw; ++b) {
            const int64_t ih = i * sh - pt + a * dh, iw = j * sw - pl + b * dw;
            if (ih >= -pt && ih < h + pbt && iw >= -pl && iw < pc.w + pr) ++cnt_pad;
            if (ih < 0 || ih >= h || iw < 0 || iw >= pc.w) continue;
            const double v = x[size_t((p * h + ih) * pc.w + iw)];
            acc = is_max ? std::max(acc, v) : acc + v;
            ++cnt;
          }
        if (!is_max) acc /= double(pc.include_pad ? cnt_pad : cnt);
        y[size_t((p * oh + i) * ow + j)] = float(acc);
      }
  return y;
}

std::vector<PoolCase> pool_cases() {
  std::vector<PoolCase> r;
  // 2-D sweep.
  for (int64_t c : {1, 3, 8, 13, 32, 67})
    for (int64_t k : {1, 2, 3})
      for (int64_t s : {1, 2})
        for (int64_t pad : {0, 1})
          for (bool ceil : {false, true}) {
            if (pad >= k) continue;
            r.push_back({2, c, 9, 7, {k, k}, {s, s}, {1, 1}, {pad, pad, pad, pad}, ceil, pad > 0 && c % 2 == 1});
          }
  // Asymmetric kernels, strides, pads; dilations; a ResNet stem pool; 1-D.
  r.push_back({1, 5, 10, 11, {3, 2}, {2, 3}, {1, 1}, {1, 0, 2, 1}, true, true});
  r.push_back({1, 5, 10, 11, {3, 2}, {2, 3}, {1, 1}, {1, 0, 2, 1}, true, false});
  r.push_back({1, 9, 12, 12, {2, 3}, {1, 2}, {2, 3}, {0, 1, 1, 2}, false, false});
  r.push_back({1, 9, 12, 12, {3, 3}, {2, 2}, {2, 2}, {1, 1, 1, 1}, true, false});
  r.push_back({1, 64, 112, 112, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, false, false});
  r.push_back({2, 3, 0, 17, {0, 3}, {0, 2}, {0, 1}, {0, 1, 0, 1}, false, false});
  r.push_back({2, 3, 0, 17, {0, 4}, {0, 3}, {0, 1}, {0, 1, 0, 2}, true, true});
  return r;
}

/// A pool over 1-3 spatial dims for the N-D references below: per spatial dim (outermost first) the input size,
/// kernel, stride, dilation, begin and end pads.
struct NdCase {
  int64_t n, c;
  std::vector<int64_t> in, k, s, d, pb, pe;
  bool ceil = false, include_pad = false;
  int64_t storage_order = 0;

  std::vector<int64_t> out() const {
    std::vector<int64_t> o;
    for (size_t i = 0; i < in.size(); ++i) o.push_back(out_size(in[i], k[i], s[i], d[i], pb[i], pe[i], ceil));
    return o;
  }
  Shape x_shape() const {
    Shape r{n, c};
    r.insert(r.end(), in.begin(), in.end());
    return r;
  }
  Shape y_shape() const {
    Shape r{n, c};
    const auto o = out();
    r.insert(r.end(), o.begin(), o.end());
    return r;
  }
  std::vector<int64_t> pads() const {
    std::vector<int64_t> p = pb;
    p.insert(p.end(), pe.begin(), pe.end());
    return p;
  }
};

/// Visits every tap of every output of an N-D pool in row-major window order: fn(out_flat, in_flat_or_-1,
/// in_padded) where in_flat indexes the plane (-1 for a tap in the padding) and in_padded says whether the tap
/// lies inside the padded extent [-pad_begin, size + pad_end) of every dim.
template <class Fn>
void for_each_tap(const NdCase& pc, Fn fn) {
  const size_t sp = pc.in.size();
  const auto o = pc.out();
  int64_t outs = 1, taps = 1;
  for (size_t i = 0; i < sp; ++i) outs *= o[i], taps *= pc.k[i];
  for (int64_t of = 0; of < outs; ++of)
    for (int64_t tf = 0; tf < taps; ++tf) {
      int64_t orem = of, trem = tf, flat = 0, mul = 1;
      bool inside = true, padded = true;
      for (size_t i = sp; i-- > 0;) {
        const int64_t oi = orem % o[i], ti = trem % pc.k[i];
        orem /= o[i], trem /= pc.k[i];
        const int64_t pos = oi * pc.s[i] - pc.pb[i] + ti * pc.d[i];
        inside = inside && pos >= 0 && pos < pc.in[i];
        padded = padded && pos >= -pc.pb[i] && pos < pc.in[i] + pc.pe[i];
        flat += pos * mul;
        mul *= pc.in[i];
      }
      fn(of, inside ? flat : -1, padded);
    }
}

/// The ONNX flat index of in-plane row-major position `flat` (storage_order 1 numbers positions column-major).
int64_t onnx_index(const NdCase& pc, int64_t flat) {
  if (pc.storage_order == 0) return flat;
  int64_t idx = 0, mul = 1;
  std::vector<int64_t> pos(pc.in.size());
  for (size_t i = pc.in.size(); i-- > 0;) pos[i] = flat % pc.in[i], flat /= pc.in[i];
  for (size_t i = 0; i < pc.in.size(); ++i) idx += pos[i] * mul, mul *= pc.in[i];
  return idx;
}

/// N-D MaxPool / AveragePool reference in double, plus MaxPool's Indices (first maximum in window order).
template <class T>
// noinline: inlined into a test body, GCC 12 -O3 raises a false -Wfree-nonheap-object on the count vectors.
[[gnu::noinline]] void nd_pool_ref(bool is_max, const NdCase& pc, const std::vector<T>& x, std::vector<double>* y,
                 std::vector<int64_t>* idx) {
  const int64_t in_plane = num_elements(pc.x_shape()) / (pc.n * pc.c);
  const int64_t out_plane = num_elements(pc.y_shape()) / (pc.n * pc.c);
  y->assign(size_t(pc.n * pc.c * out_plane), is_max ? -INFINITY : 0.0);
  idx->assign(y->size(), -1);
  std::vector<int64_t> cnt(y->size(), 0);
  std::vector<int64_t> cnt_pad(y->size(), 0);
  for (int64_t p = 0; p < pc.n * pc.c; ++p)
    for_each_tap(pc, [&](int64_t of, int64_t in, bool padded) {
      const size_t o = size_t(p * out_plane + of);
      cnt_pad[o] += padded;
      if (in < 0) return;
      const double v = double(x[size_t(p * in_plane + in)]);
      ++cnt[o];
      if (is_max) {
        if ((*idx)[o] < 0 || v > (*y)[o]) (*y)[o] = v, (*idx)[o] = p * in_plane + onnx_index(pc, in);
      } else {
        (*y)[o] += v;
      }
    });
  if (!is_max)
    for (size_t o = 0; o < y->size(); ++o) (*y)[o] /= double(pc.include_pad ? cnt_pad[o] : cnt[o]);
}

/// Builds the MaxPool / AveragePool node for an NdCase.
void set_attrs(OpTest& t, bool is_max, const NdCase& pc) {
  t.attr_ints("kernel_shape", pc.k).attr_ints("strides", pc.s).attr_ints("pads", pc.pads()).attr_i("ceil_mode", pc.ceil);
  if (is_max) t.attr_ints("dilations", pc.d).attr_i("storage_order", pc.storage_order);
  else t.attr_i("count_include_pad", pc.include_pad);
}

std::vector<NdCase> nd_cases() {
  std::vector<NdCase> r;
  // 1-D, 2-D (square, asymmetric, dilated) and 3-D geometries, N*C > 1 so Indices carry the plane offset.
  r.push_back({2, 3, {11}, {3}, {2}, {1}, {1}, {1}});
  r.push_back({1, 2, {9}, {2}, {3}, {2}, {0}, {2}, true});
  r.push_back({2, 3, {5, 5}, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}});                // ONNX argmax pads example
  r.push_back({1, 1, {5, 5}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, false, false, 1}); // ONNX argmax strides
  r.push_back({2, 5, {7, 6}, {3, 2}, {2, 1}, {1, 2}, {1, 0}, {1, 1}, true, true});
  r.push_back({1, 4, {8, 9}, {2, 3}, {2, 2}, {1, 1}, {0, 1}, {1, 1}, false, true, 1});
  r.push_back({1, 3, {4, 4, 4}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}});
  r.push_back({2, 2, {5, 6, 7}, {3, 2, 3}, {2, 1, 2}, {1, 1, 1}, {1, 0, 1}, {1, 1, 0}, true, true});
  r.push_back({1, 3, {6, 5, 4}, {2, 3, 2}, {1, 2, 1}, {2, 1, 1}, {0, 1, 0}, {1, 1, 1}, false, false, 1});
  r.push_back({1, 2, {3, 9, 9}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}, true, true, 1});
  return r;
}

template <class T>
std::vector<T> small_values(size_t n, uint32_t seed) {
  // Few distinct values so windows hold ties (the first maximum must win); the full range of T otherwise.
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, 7);
  std::vector<T> v(n);
  for (T& e : v) {
    const int k = d(rng);
    if constexpr (std::is_same_v<T, float>)
      e = float(k) * 0.5f - 1.f;
    else if constexpr (std::is_signed_v<T>)
      e = T(k * 36 - 128);
    else
      e = T(k * 36 + 3);
  }
  return v;
}

}  // namespace

TEST_SUITE("pool") {

TEST_CASE("MaxPool and AveragePool match the reference for every geometry, layout and tier") {
  int checked = 0;
  for (const PoolCase& pc : pool_cases())
    for (bool is_max : {true, false})
      for (bool nhwc : {false, true}) {
        const bool two_d = pc.h > 0;
        if (nhwc && !two_d) continue;
        if (!is_max && (pc.d[0] > 1 || pc.d[1] > 1)) continue;  // AveragePool dilations: opset 19 only
        const int64_t oh = two_d ? out_size(pc.h, pc.k[0], pc.s[0], pc.d[0], pc.pads[0], pc.pads[2], pc.ceil) : 1;
        const int64_t ow = out_size(pc.w, pc.k[1], pc.s[1], pc.d[1], pc.pads[1], pc.pads[3], pc.ceil);
        const Shape xs = two_d ? Shape{pc.n, pc.c, pc.h, pc.w} : Shape{pc.n, pc.c, pc.w};
        const Shape ys = two_d ? Shape{pc.n, pc.c, oh, ow} : Shape{pc.n, pc.c, ow};
        const auto x = random_floats(size_t(num_elements(xs)), -4, 4, uint32_t(checked));
        const auto want = pool_ref(is_max, pc, x, oh, ow);
        for (Isa isa : cpu_tiers()) {
          OpTest t(is_max ? "MaxPool" : "AveragePool", 12);
          const Layout l = nhwc ? Layout::nhwc : Layout::plain;
          t.input(HostTensor::f32(xs, nhwc ? to_nhwc(x, pc.n, pc.c, pc.h, pc.w) : x, l)).output(DType::f32, ys, l);
          if (two_d) {
            t.attr_ints("kernel_shape", {pc.k[0], pc.k[1]}).attr_ints("strides", {pc.s[0], pc.s[1]});
            t.attr_ints("pads", {pc.pads[0], pc.pads[1], pc.pads[2], pc.pads[3]});
            if (is_max) t.attr_ints("dilations", {pc.d[0], pc.d[1]});
          } else {
            t.attr_ints("kernel_shape", {pc.k[1]}).attr_ints("strides", {pc.s[1]}).attr_ints("pads", {pc.pads[1], pc.pads[3]});
          }
          t.attr_i("ceil_mode", pc.ceil);
          if (!is_max) t.attr_i("count_include_pad", pc.include_pad);
          SerialChunks par(3);
          auto got = t.run_on(isa, &par).values<float>();
          if (nhwc) got = from_nhwc(got, pc.n, pc.c, oh, ow);
          check_close(got, want, is_max ? 0.f : 2e-6f, is_max ? 0.f : 1e-6f,
                      std::string(is_max ? "max" : "avg") + (nhwc ? " nhwc " : " plain ") + shape_str(xs) + " k" +
                          std::to_string(pc.k[1]) + " s" + std::to_string(pc.s[1]) + " p" + std::to_string(pc.pads[1]) +
                          (pc.ceil ? " ceil" : "") + (pc.include_pad ? " incl" : "") + " on " + kernels::isa_name(isa));
          ++checked;
        }
      }
  CHECK(checked > 100);
}

TEST_CASE("ONNX examples: maxpool_2d_ceil, averagepool_2d_ceil, averagepool_2d_pads_count_include_pad") {
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[size_t(i)] = float(i + 1);
  for (Isa isa : cpu_tiers()) {
    {
      OpTest t("MaxPool", 12);
      t.input(HostTensor::f32({1, 1, 4, 4}, x)).output(DType::f32, {1, 1, 2, 2});
      t.attr_ints("kernel_shape", {3, 3}).attr_ints("strides", {2, 2}).attr_i("ceil_mode", 1);
      CHECK(t.run_on(isa).values<float>() == std::vector<float>{11, 12, 15, 16});
    }
    {
      OpTest t("AveragePool", 12);
      t.input(HostTensor::f32({1, 1, 4, 4}, x)).output(DType::f32, {1, 1, 2, 2});
      t.attr_ints("kernel_shape", {3, 3}).attr_ints("strides", {2, 2}).attr_i("ceil_mode", 1);
      CHECK(t.run_on(isa).values<float>() == std::vector<float>{6, 7.5f, 12, 13.5f});
    }
    {
      // 1x1x3x3 of 1..9, kernel 3, pads 1, count_include_pad: the corner sums 1+2+4+5 = 12 over 9 taps.
      OpTest t("AveragePool", 12);
      t.input(HostTensor::f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})).output(DType::f32, {1, 1, 3, 3});
      t.attr_ints("kernel_shape", {3, 3}).attr_ints("pads", {1, 1, 1, 1}).attr_i("count_include_pad", 1);
      check_close(t.run_on(isa).values<float>(), {12 / 9.f, 21 / 9.f, 16 / 9.f, 27 / 9.f, 45 / 9.f, 33 / 9.f,
                                                  24 / 9.f, 39 / 9.f, 28 / 9.f}, 1e-6f, 0, "include pad");
    }
  }
}

TEST_CASE("GlobalAveragePool: plain ranks 3-5, NHWC with channel tails, every tier") {
  for (Isa isa : cpu_tiers())
    for (Shape s : {Shape{2, 5, 17}, Shape{2, 3, 7, 7}, Shape{1, 2048, 7, 7}, Shape{3, 67, 5, 3}, Shape{1, 4, 2, 3, 5}})
      for (bool nhwc : {false, true}) {
        if (nhwc && s.size() != 4) continue;
        const int64_t n = s[0], c = s[1], hw = num_elements(s) / (n * c);
        const auto x = random_floats(size_t(num_elements(s)), -1, 3, uint32_t(hw));
        std::vector<float> want(size_t(n * c));
        for (int64_t p = 0; p < n * c; ++p) {
          double acc = 0;
          for (int64_t i = 0; i < hw; ++i) acc += x[size_t(p * hw + i)];
          want[size_t(p)] = float(acc / double(hw));
        }
        Shape ys(s.size(), 1);
        ys[0] = n, ys[1] = c;
        const Layout l = nhwc ? Layout::nhwc : Layout::plain;
        OpTest t("GlobalAveragePool");
        t.input(HostTensor::f32(s, nhwc ? to_nhwc(x, n, c, s[2], s[3]) : x, l)).output(DType::f32, ys, l);
        SerialChunks par(2);
        check_close(t.run_on(isa, &par).values<float>(), want, 2e-6f, 1e-6f,
                    "gap " + shape_str(s) + (nhwc ? " nhwc on " : " plain on ") + kernels::isa_name(isa));
      }
}


TEST_CASE("MaxPool on uint8 and int8 matches the reference exactly, plain and NHWC, every geometry and tier") {
  int checked = 0;
  for (const PoolCase& pc : pool_cases())
    for (bool is_u8 : {true, false})
      for (bool nhwc : {false, true}) {
        const bool two_d = pc.h > 0;
        if (nhwc && !two_d) continue;
        const int64_t oh = two_d ? out_size(pc.h, pc.k[0], pc.s[0], pc.d[0], pc.pads[0], pc.pads[2], pc.ceil) : 1;
        const int64_t ow = out_size(pc.w, pc.k[1], pc.s[1], pc.d[1], pc.pads[1], pc.pads[3], pc.ceil);
        const Shape xs = two_d ? Shape{pc.n, pc.c, pc.h, pc.w} : Shape{pc.n, pc.c, pc.w};
        const Shape ys = two_d ? Shape{pc.n, pc.c, oh, ow} : Shape{pc.n, pc.c, ow};
        // Channel counts 1..67 cross the 16/32/64-lane uint8 vectors of sse2/avx2/avx512; add wider ones below.
        std::mt19937 rng{uint32_t(checked)};
        std::uniform_int_distribution<int> d(0, 255);
        std::vector<float> xf(size_t(num_elements(xs)));
        for (float& v : xf) v = float(is_u8 ? d(rng) : d(rng) - 128);
        const auto want = pool_ref(true, pc, xf, oh, ow);  // exact: small integers in float
        const DType dt = is_u8 ? DType::u8 : DType::i8;
        auto bytes = [&](const std::vector<float>& v) {
          std::vector<uint8_t> b(v.size());
          for (size_t i = 0; i < v.size(); ++i) b[i] = is_u8 ? uint8_t(v[i]) : uint8_t(int8_t(v[i]));
          return b;
        };
        for (Isa isa : cpu_tiers()) {
          OpTest t("MaxPool", 12);
          const Layout l = nhwc ? Layout::nhwc : Layout::plain;
          t.input(HostTensor::of(dt, xs, bytes(nhwc ? to_nhwc(xf, pc.n, pc.c, pc.h, pc.w) : xf), l)).output(dt, ys, l);
          if (two_d) {
            t.attr_ints("kernel_shape", {pc.k[0], pc.k[1]}).attr_ints("strides", {pc.s[0], pc.s[1]});
            t.attr_ints("pads", {pc.pads[0], pc.pads[1], pc.pads[2], pc.pads[3]}).attr_ints("dilations", {pc.d[0], pc.d[1]});
          } else {
            t.attr_ints("kernel_shape", {pc.k[1]}).attr_ints("strides", {pc.s[1]}).attr_ints("pads", {pc.pads[1], pc.pads[3]});
          }
          t.attr_i("ceil_mode", pc.ceil);
          SerialChunks par(3);
          auto got = t.run_on(isa, &par).values<uint8_t>();
          if (nhwc) got = from_nhwc(got, pc.n, pc.c, oh, ow);
          CHECK_MESSAGE(got == bytes(want), (is_u8 ? "u8" : "s8") << (nhwc ? " nhwc " : " plain ") << shape_str(xs)
                                                << " k" << pc.k[1] << " s" << pc.s[1] << " p" << pc.pads[1]
                                                << (pc.ceil ? " ceil" : "") << " on " << kernels::isa_name(isa));
          ++checked;
        }
      }
  CHECK(checked > 100);
}

TEST_CASE("MaxPool uint8/int8 NHWC: channel counts across the 1, 2 and 4-vector blocks and tails") {
  for (int64_t c : {16, 31, 32, 33, 64, 96, 127, 128, 129, 200, 256})
    for (bool is_u8 : {true, false})
      for (Isa isa : cpu_tiers()) {
        const PoolCase pc{2, c, 7, 6, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true, false};
        const int64_t oh = out_size(7, 3, 2, 1, 1, 1, true), ow = out_size(6, 3, 2, 1, 1, 1, true);
        std::mt19937 rng{uint32_t(c)};
        std::uniform_int_distribution<int> d(0, 255);
        std::vector<float> xf(size_t(2 * c * 7 * 6));
        for (float& v : xf) v = float(is_u8 ? d(rng) : d(rng) - 128);
        const auto want = pool_ref(true, pc, xf, oh, ow);
        const DType dt = is_u8 ? DType::u8 : DType::i8;
        auto bytes = [&](const std::vector<float>& v) {
          std::vector<uint8_t> b(v.size());
          for (size_t i = 0; i < v.size(); ++i) b[i] = is_u8 ? uint8_t(v[i]) : uint8_t(int8_t(v[i]));
          return b;
        };
        OpTest t("MaxPool", 12);
        t.input(HostTensor::of(dt, {2, c, 7, 6}, bytes(to_nhwc(xf, 2, c, 7, 6)), Layout::nhwc))
            .output(dt, {2, c, oh, ow}, Layout::nhwc);
        t.attr_ints("kernel_shape", {3, 3}).attr_ints("strides", {2, 2}).attr_ints("pads", {1, 1, 1, 1}).attr_i("ceil_mode", 1);
        SerialChunks par(2);
        const auto got = from_nhwc(t.run_on(isa, &par).values<uint8_t>(), 2, c, oh, ow);
        CHECK_MESSAGE(got == bytes(want), (is_u8 ? "u8" : "s8") << " nhwc c=" << c << " on " << kernels::isa_name(isa));
      }
}

TEST_CASE("MaxPool Indices: flat N*C*spatial index, storage_order 0 and 1, ties, 1-D to 3-D, f32/u8/s8") {
  int checked = 0;
  for (const NdCase& pc : nd_cases())
    for (DType dt : {DType::f32, DType::u8, DType::i8}) {
      const size_t nx = size_t(num_elements(pc.x_shape()));
      const uint32_t seed = uint32_t(checked);
      std::vector<double> want;
      std::vector<int64_t> want_idx;
      OpTest t("MaxPool", 12);
      if (dt == DType::f32) {
        const auto x = small_values<float>(nx, seed);
        nd_pool_ref(true, pc, x, &want, &want_idx);
        t.input(HostTensor::f32(pc.x_shape(), x));
      } else if (dt == DType::u8) {
        const auto x = small_values<uint8_t>(nx, seed);
        nd_pool_ref(true, pc, x, &want, &want_idx);
        t.input(HostTensor::of(dt, pc.x_shape(), x));
      } else {
        const auto x = small_values<int8_t>(nx, seed);
        nd_pool_ref(true, pc, x, &want, &want_idx);
        t.input(HostTensor::of(dt, pc.x_shape(), x));
      }
      t.output(dt, pc.y_shape()).output(DType::i64, pc.y_shape());
      set_attrs(t, true, pc);
      SerialChunks par(3);
      t.run_on(kernels::detected_isa(), &par);
      std::vector<double> got(want.size());
      for (size_t i = 0; i < got.size(); ++i)
        got[i] = dt == DType::f32 ? double(t.out(0).as<float>()[i])
                 : dt == DType::u8 ? double(t.out(0).as<uint8_t>()[i])
                                   : double(t.out(0).as<int8_t>()[i]);
      const std::string what = std::string(dtype_name(dt)) + " " + shape_str(pc.x_shape()) + " storage_order " +
                               std::to_string(pc.storage_order);
      CHECK_MESSAGE(got == want, what);
      CHECK_MESSAGE(t.out(1).values<int64_t>() == want_idx, what);
      ++checked;
    }
  CHECK(checked == 30);
  // ONNX's test_maxpool_with_argmax_2d_precomputed_strides: 5x5 of 1..25, kernel 2, stride 2, storage_order 1.
  std::vector<float> x(25);
  for (int i = 0; i < 25; ++i) x[size_t(i)] = float(i + 1);
  OpTest t("MaxPool", 12);
  t.input(HostTensor::f32({1, 1, 5, 5}, x)).output(DType::f32, {1, 1, 2, 2}).output(DType::i64, {1, 1, 2, 2});
  t.attr_ints("kernel_shape", {2, 2}).attr_ints("strides", {2, 2}).attr_i("storage_order", 1);
  t.run_on(kernels::detected_isa());
  CHECK(t.out(0).values<float>() == std::vector<float>{7, 9, 17, 19});
  CHECK(t.out(1).values<int64_t>() == std::vector<int64_t>{6, 16, 8, 18});
}

TEST_CASE("3-D and N-D MaxPool / AveragePool (float32) match the reference on every tier") {
  int checked = 0;
  for (NdCase pc : nd_cases())
    for (bool is_max : {true, false}) {
      if (!is_max && std::any_of(pc.d.begin(), pc.d.end(), [](int64_t v) { return v > 1; })) continue;
      for (bool incl : {false, true}) {
        if (is_max && incl) continue;
        pc.include_pad = incl;
        const auto x = random_floats(size_t(num_elements(pc.x_shape())), -3, 3, uint32_t(checked));
        std::vector<double> want;
        std::vector<int64_t> unused;
        nd_pool_ref(is_max, pc, x, &want, &unused);
        std::vector<float> wantf(want.begin(), want.end());
        for (Isa isa : cpu_tiers()) {
          OpTest t(is_max ? "MaxPool" : "AveragePool", 12);
          t.input(HostTensor::f32(pc.x_shape(), x)).output(DType::f32, pc.y_shape());
          set_attrs(t, is_max, pc);
          SerialChunks par(3);
          check_close(t.run_on(isa, &par).values<float>(), wantf, is_max ? 0.f : 2e-6f, is_max ? 0.f : 1e-6f,
                      std::string(is_max ? "max " : "avg ") + shape_str(pc.x_shape()) + (incl ? " incl" : "") +
                          " on " + kernels::isa_name(isa));
          ++checked;
        }
      }
    }
  CHECK(checked >= 20);
  // ONNX's test_averagepool_3d_default / test_maxpool_3d_default shape: 1x3x32x32x32, kernel 2x2x2.
  for (bool is_max : {true, false}) {
    NdCase pc{1, 3, {32, 32, 32}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}};
    const auto x = random_floats(size_t(num_elements(pc.x_shape())), -1, 1, 7);
    std::vector<double> want;
    std::vector<int64_t> unused;
    nd_pool_ref(is_max, pc, x, &want, &unused);
    OpTest t(is_max ? "MaxPool" : "AveragePool", 12);
    t.input(HostTensor::f32(pc.x_shape(), x)).output(DType::f32, pc.y_shape());
    t.attr_ints("kernel_shape", {2, 2, 2});
    check_close(t.run_on(kernels::detected_isa()).values<float>(), std::vector<float>(want.begin(), want.end()),
                2e-6f, 1e-6f, "3d default");
  }
}

TEST_CASE("pools reject what they do not run: 4 spatial dims, AveragePool on uint8, Indices in NHWC, bad attrs") {
  {
    OpTest t("MaxPool", 12);
    t.input(HostTensor::f32({1, 1, 2, 2, 2, 2}, std::vector<float>(16))).output(DType::f32, {1, 1, 1, 1, 1, 1});
    t.attr_ints("kernel_shape", {2, 2, 2, 2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
  {
    OpTest t("AveragePool", 12);
    t.input(HostTensor::of<uint8_t>(DType::u8, {1, 1, 2, 2}, {1, 2, 3, 4})).output(DType::u8, {1, 1, 1, 1});
    t.attr_ints("kernel_shape", {2, 2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
  {
    OpTest t("MaxPool", 12);
    t.input(HostTensor::of<int32_t>(DType::i32, {1, 1, 2, 2}, {1, 2, 3, 4})).output(DType::i32, {1, 1, 1, 1});
    t.attr_ints("kernel_shape", {2, 2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
  {
    OpTest t("MaxPool", 12);
    t.input(HostTensor::f32({1, 1, 4, 4}, std::vector<float>(16), Layout::nhwc))
        .output(DType::f32, {1, 1, 2, 2}, Layout::nhwc)
        .output(DType::i64, {1, 1, 2, 2});
    t.attr_ints("kernel_shape", {2, 2}).attr_ints("strides", {2, 2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
  {
    OpTest t("MaxPool", 12);
    t.input(HostTensor::f32({1, 1, 4, 4}, std::vector<float>(16))).output(DType::f32, {1, 1, 2, 2}).output(DType::i32, {1, 1, 2, 2});
    t.attr_ints("kernel_shape", {2, 2}).attr_ints("strides", {2, 2});
    CHECK_THROWS_AS(t.make(), Error);
  }
  {
    OpTest t("MaxPool", 12);
    t.input(HostTensor::f32({1, 1, 4, 4}, std::vector<float>(16))).output(DType::f32, {1, 1, 2, 2}).output(DType::i64, {1, 1, 2, 2});
    t.attr_ints("kernel_shape", {2, 2}).attr_ints("strides", {2, 2}).attr_i("storage_order", 2);
    CHECK_THROWS_AS(t.make(), Error);
  }
}

}  // TEST_SUITE
