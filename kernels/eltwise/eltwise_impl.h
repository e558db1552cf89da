// The element-wise loops, written once over xsimd::batch<float, A> and instantiated per ISA by the
// eltwise_<isa>.cpp files (each compiled with that ISA's flags). Everything here is a template on A or lives in
// an anonymous namespace, so no function compiled with wider flags can be shared with a narrower TU.
//
// Tails shorter than a vector go through a small stack buffer, so every element sees exactly the same
// arithmetic whatever its position (results do not depend on alignment or on n).
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "kernels/eltwise/eltwise.h"

namespace octet::kernels::eltwise {
namespace {

template <class A>
using F = xsimd::batch<float, A>;
template <class A>
using I = xsimd::batch<int32_t, A>;

template <class A>
constexpr int64_t lanes() {
  return int64_t(F<A>::size);
}

/// Loads n < lanes floats, filling the rest with `fill`.
template <class A>
F<A> load_tail(const float* p, int64_t n, float fill) {
  alignas(64) float buf[64];
  for (int64_t i = 0; i < lanes<A>(); ++i) buf[i] = i < n ? p[i] : fill;
  return F<A>::load_aligned(buf);
}

template <class A>
void store_tail(float* p, int64_t n, const F<A>& v) {
  alignas(64) float buf[64];
  v.store_aligned(buf);
  for (int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

/// Applies a batch -> batch function to n contiguous floats.
template <class A, class Fn>
inline void map_unary(const float* x, float* y, int64_t n, Fn fn) {
  constexpr int64_t L = lanes<A>();
  int64_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    F<A> a = F<A>::load_unaligned(x + i), b = F<A>::load_unaligned(x + i + L);
    fn(a).store_unaligned(y + i);
    fn(b).store_unaligned(y + i + L);
  }
  for (; i + L <= n; i += L) fn(F<A>::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < n) store_tail<A>(y + i, n - i, fn(load_tail<A>(x + i, n - i, 0.f)));
}

// exp(x): write x = k*ln2 + r with k = round(x/ln2), |r| <= ln2/2, so exp(x) = 2^k * exp(r).
// ln2 is split into a high part with few mantissa bits (k*ln2_hi is exact for |k| < 2^9) and a low part
// (Cody-Waite), so r is accurate. exp(r) on [-0.347, 0.347] is the degree-6 minimax polynomial of Cephes' expf:
// 1 + r + r^2 * P(r). 2^k is built from the exponent bits (k + 127) << 23.
// Inputs are clamped to [-87.3, 88]: k stays in [-126, 127] so 2^k is a normal float; above 88 the result
// saturates at e^88 = 1.65e38, below -87.3 (where exp is subnormal) it is 0.
// Measured max relative error against double exp over [-87, 88]: 1.17e-7 (about 1 ulp; the test bounds it by
// 2e-7 in tests/unit/test_eltwise.cpp). Sigmoid = 1/(1+exp(-x)) inherits it (within 3e-7 relative, tested).
template <class A>
inline F<A> exp_approx(F<A> x) {
  const F<A> lo(-87.33654f), hi(88.0f);
  auto underflow = x < lo;
  x = xsimd::min(xsimd::max(x, lo), hi);
  const F<A> kf = xsimd::nearbyint(x * F<A>(1.44269504088896341f));
  F<A> r = xsimd::fnma(kf, F<A>(0.693359375f), x);  // x - k*ln2_hi
  r = xsimd::fnma(kf, F<A>(-2.12194440e-4f), r);     // - k*ln2_lo
  F<A> p(1.9875691500e-4f);
  p = xsimd::fma(p, r, F<A>(1.3981999507e-3f));
  p = xsimd::fma(p, r, F<A>(8.3334519073e-3f));
  p = xsimd::fma(p, r, F<A>(4.1665795894e-2f));
  p = xsimd::fma(p, r, F<A>(1.6666665459e-1f));
  p = xsimd::fma(p, r, F<A>(5.0000001201e-1f));
  p = xsimd::fma(p, r * r, r + F<A>(1.f));
  const I<A> k = xsimd::batch_cast<int32_t>(kf);
  const F<A> scale = xsimd::bitwise_cast<F<A>>((k + I<A>(127)) << 23);
  return xsimd::select(underflow, F<A>(0.f), p * scale);
}

template <class A>
void relu(const float* x, float* y, int64_t n) {
  map_unary<A>(x, y, n, [](F<A> v) { return xsimd::max(v, F<A>(0.f)); });
}

template <class A>
void clip(const float* x, float* y, int64_t n, float lo, float hi) {
  const F<A> l(lo), h(hi);
  map_unary<A>(x, y, n, [&](F<A> v) { return xsimd::min(xsimd::max(v, l), h); });
}

// Integer Clip: the same min/max on batch<T, A> (vpmaxub/vpminub and friends on AVX2; xsimd builds what an ISA
// lacks, e.g. 64-bit min/max from compare + blend). The tail goes through a stack buffer of one vector.
template <class A, class T>
void clip_int(const T* x, T* y, int64_t n, T lo, T hi) {
  using V = xsimd::batch<T, A>;
  constexpr int64_t L = int64_t(V::size);
  const V l(lo), h(hi);
  int64_t i = 0;
  for (; i + L <= n; i += L) xsimd::min(xsimd::max(V::load_unaligned(x + i), l), h).store_unaligned(y + i);
  if (i < n) {
    alignas(64) T buf[64] = {};
    std::memcpy(buf, x + i, size_t(n - i) * sizeof(T));
    xsimd::min(xsimd::max(V::load_aligned(buf), l), h).store_aligned(buf);
    std::memcpy(y + i, buf, size_t(n - i) * sizeof(T));
  }
}

template <class A>
void leaky_relu(const float* x, float* y, int64_t n, float alpha) {
  const F<A> a(alpha), z(0.f);
  map_unary<A>(x, y, n, [&](F<A> v) { return xsimd::select(v >= z, v, v * a); });
}

template <class A>
void sigmoid(const float* x, float* y, int64_t n) {
  // 1 / (1 + e^-x): for x -> -inf, e^-x saturates at e^88 and y ~ 6e-39 (true value smaller still);
  // for x -> +inf, y -> 1 exactly. A true division keeps the relative error that of exp_approx.
  const F<A> one(1.f);
  map_unary<A>(x, y, n, [&](F<A> v) { return one / (one + exp_approx<A>(-v)); });
}

template <class A>
void exp_n(const float* x, float* y, int64_t n) {
  map_unary<A>(x, y, n, [](F<A> v) { return exp_approx<A>(v); });
}

template <class A, class Op>
inline void binary_loop(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n, Op op) {
  constexpr int64_t L = lanes<A>();
  int64_t i = 0;
  if (sa == 1 && sb == 1) {
    for (; i + L <= n; i += L) op(F<A>::load_unaligned(a + i), F<A>::load_unaligned(b + i)).store_unaligned(y + i);
    if (i < n) store_tail<A>(y + i, n - i, op(load_tail<A>(a + i, n - i, 1.f), load_tail<A>(b + i, n - i, 1.f)));
  } else if (sa == 0 && sb == 1) {
    const F<A> va(*a);
    for (; i + L <= n; i += L) op(va, F<A>::load_unaligned(b + i)).store_unaligned(y + i);
    if (i < n) store_tail<A>(y + i, n - i, op(va, load_tail<A>(b + i, n - i, 1.f)));
  } else if (sa == 1 && sb == 0) {
    const F<A> vb(*b);
    for (; i + L <= n; i += L) op(F<A>::load_unaligned(a + i), vb).store_unaligned(y + i);
    if (i < n) store_tail<A>(y + i, n - i, op(load_tail<A>(a + i, n - i, 1.f), vb));
  } else {
    const float v = op(F<A>(*a), F<A>(*b)).get(0);
    for (; i < n; ++i) y[i] = v;
  }
}

template <class A>
void binary(BinaryOp op, const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n) {
  switch (op) {
    case BinaryOp::add: return binary_loop<A>(a, sa, b, sb, y, n, [](F<A> p, F<A> q) { return p + q; });
    case BinaryOp::sub: return binary_loop<A>(a, sa, b, sb, y, n, [](F<A> p, F<A> q) { return p - q; });
    case BinaryOp::mul: return binary_loop<A>(a, sa, b, sb, y, n, [](F<A> p, F<A> q) { return p * q; });
    case BinaryOp::div: return binary_loop<A>(a, sa, b, sb, y, n, [](F<A> p, F<A> q) { return p / q; });
  }
}

/// Horizontal max / sum of a batch.
template <class A>
inline float hmax(const F<A>& v) {
  alignas(64) float buf[64];
  v.store_aligned(buf);
  float m = buf[0];
  for (int64_t i = 1; i < lanes<A>(); ++i) m = std::max(m, buf[i]);
  return m;
}

// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m) with m = max_j x_j: subtracting m changes nothing
// mathematically (it cancels) but keeps every exponent <= 0, so nothing overflows. Each pass is in place-safe:
// element i of y is written only after element i of x was read for the last time.
template <class A>
void softmax_rows(const float* x, float* y, int64_t rows, int64_t len) {
  constexpr int64_t L = lanes<A>();
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < rows; ++r, x += len, y += len) {
    F<A> vm(ninf);
    int64_t i = 0;
    for (; i + L <= len; i += L) vm = xsimd::max(vm, F<A>::load_unaligned(x + i));
    if (i < len) vm = xsimd::max(vm, load_tail<A>(x + i, len - i, ninf));
    const F<A> m(hmax<A>(vm));
    F<A> vs(0.f);
    for (i = 0; i + L <= len; i += L) {
      F<A> e = exp_approx<A>(F<A>::load_unaligned(x + i) - m);
      vs += e;
      e.store_unaligned(y + i);
    }
    if (i < len) {
      // Padding lanes hold -inf - m -> exp = 0, so they add nothing to the sum.
      F<A> e = exp_approx<A>(load_tail<A>(x + i, len - i, ninf) - m);
      vs += e;
      store_tail<A>(y + i, len - i, e);
    }
    const F<A> inv(1.f / xsimd::hadd(vs));
    map_unary<A>(y, y, len, [&](F<A> v) { return v * inv; });
  }
}

// Softmax along a strided axis: for each group of L columns, the max, the exps and the sum stay in registers
// while walking down the `len` rows.
template <class A>
void softmax_strided(const float* x, float* y, int64_t len, int64_t inner) {
  constexpr int64_t L = lanes<A>();
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < inner; c += L) {
    const int64_t w = std::min(L, inner - c);
    auto load = [&](const float* p) { return w == L ? F<A>::load_unaligned(p) : load_tail<A>(p, w, 0.f); };
    auto store = [&](float* p, const F<A>& v) {
      if (w == L)
        v.store_unaligned(p);
      else
        store_tail<A>(p, w, v);
    };
    F<A> m(ninf);
    for (int64_t l = 0; l < len; ++l) m = xsimd::max(m, load(x + l * inner + c));
    F<A> s(0.f);
    for (int64_t l = 0; l < len; ++l) {
      F<A> e = exp_approx<A>(load(x + l * inner + c) - m);
      s += e;
      store(y + l * inner + c, e);
    }
    const F<A> inv = F<A>(1.f) / s;
    for (int64_t l = 0; l < len; ++l) store(y + l * inner + c, load(y + l * inner + c) * inv);
  }
}

template <class A>
void scale_shift(const float* x, float* y, int64_t n, float a, float b) {
  const F<A> va(a), vb(b);
  map_unary<A>(x, y, n, [&](F<A> v) { return xsimd::fma(v, va, vb); });
}

template <class A>
void scale_shift_channels(const float* x, float* y, int64_t rows, int64_t c, const float* a, const float* b) {
  constexpr int64_t L = lanes<A>();
  for (int64_t r = 0; r < rows; ++r, x += c, y += c) {
    int64_t i = 0;
    for (; i + L <= c; i += L)
      xsimd::fma(F<A>::load_unaligned(x + i), F<A>::load_unaligned(a + i), F<A>::load_unaligned(b + i))
          .store_unaligned(y + i);
    if (i < c)
      store_tail<A>(y + i, c - i,
                    xsimd::fma(load_tail<A>(x + i, c - i, 0.f), load_tail<A>(a + i, c - i, 0.f),
                               load_tail<A>(b + i, c - i, 0.f)));
  }
}

template <class A>
Table make_table(const char* name) {
  Table t;
  t.isa = name;
  t.lanes = int(lanes<A>());
  t.relu = relu<A>;
  t.clip = clip<A>;
  t.clip_u8 = clip_int<A, uint8_t>;
  t.clip_s8 = clip_int<A, int8_t>;
  t.clip_i32 = clip_int<A, int32_t>;
  t.clip_i64 = clip_int<A, int64_t>;
  t.leaky_relu = leaky_relu<A>;
  t.sigmoid = sigmoid<A>;
  t.exp = exp_n<A>;
  t.binary = binary<A>;
  t.softmax_rows = softmax_rows<A>;
  t.softmax_strided = softmax_strided<A>;
  t.scale_shift = scale_shift<A>;
  t.scale_shift_channels = scale_shift_channels<A>;
  return t;
}

}  // namespace
}  // namespace octet::kernels::eltwise
