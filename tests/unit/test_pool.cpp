// MaxPool / AveragePool / GlobalAveragePool against a naive reference over a sweep of geometries (kernels,
// strides, pads, dilations, ceil_mode, count_include_pad, 1-D and 2-D, channel counts around the vector widths),
// in plain and NHWC layout, on every ISA tier; plus ONNX's documented examples.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

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

TEST_CASE("pools reject what they do not run: Indices output, 3-D windows, uint8") {
  {
    OpTest t("MaxPool", 12);
    t.input(HostTensor::f32({1, 1, 4, 4}, std::vector<float>(16))).output(DType::f32, {1, 1, 2, 2}).output(DType::i64, {1, 1, 2, 2});
    t.attr_ints("kernel_shape", {2, 2}).attr_ints("strides", {2, 2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
  {
    OpTest t("MaxPool", 12);
    t.input(HostTensor::f32({1, 1, 2, 2, 2}, std::vector<float>(8))).output(DType::f32, {1, 1, 1, 1, 1});
    t.attr_ints("kernel_shape", {2, 2, 2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
  {
    OpTest t("MaxPool", 12);
    t.input(HostTensor::of<uint8_t>(DType::u8, {1, 1, 2, 2}, {1, 2, 3, 4})).output(DType::u8, {1, 1, 1, 1});
    t.attr_ints("kernel_shape", {2, 2});
    CHECK_THROWS_AS(t.make(), Unsupported);
  }
}

}  // TEST_SUITE
