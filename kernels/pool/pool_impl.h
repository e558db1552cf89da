// The pooling loops, written once over xsimd::batch<T, A> (T = float, uint8_t, int8_t) and instantiated per ISA
// by pool_<isa>.cpp.
// Everything is a template on A or in an anonymous namespace (no code shared across ISA flags).
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/pool/pool.h"

namespace octet::kernels::pool {
namespace {

template <class A>
using F = xsimd::batch<float, A>;
/// A vector of T (float, uint8_t or int8_t) for ISA A.
template <class A, class T>
using V = xsimd::batch<T, A>;

template <class A, class T = float>
constexpr int64_t lanes() {
  return int64_t(V<A, T>::size);
}

/// Loads n < lanes elements, filling the rest with `fill` (64 bytes of lanes at most: one AVX-512 register).
template <class A, class T>
V<A, T> load_tail(const T* p, int64_t n, T fill) {
  alignas(64) T buf[64];
  for (int64_t i = 0; i < lanes<A, T>(); ++i) buf[i] = i < n ? p[i] : fill;
  return V<A, T>::load_aligned(buf);
}

template <class A, class T>
void store_tail(T* p, int64_t n, const V<A, T>& v) {
  alignas(64) T buf[64];
  v.store_aligned(buf);
  for (int64_t i = 0; i < n; ++i) p[i] = buf[i];
}

/// The identity of max over T: -inf for float, the lowest value for integers.
template <class T>
constexpr T max_identity() {
  if constexpr (std::numeric_limits<T>::has_infinity)
    return -std::numeric_limits<T>::infinity();
  else
    return std::numeric_limits<T>::lowest();
}

/// Taps [*b, *e) of a window starting at `start` (= o*stride - pad) with dilation d and k taps whose input
/// index start + t*d lies in [0, size). Taps below: t >= ceil(-start/d); above: t <= (size-1-start)/d.
inline void tap_range(int64_t start, int64_t d, int64_t k, int64_t size, int64_t* b, int64_t* e) {
  const int64_t lo = start < 0 ? (-start + d - 1) / d : 0;
  const int64_t hi = start >= size ? 0 : std::min(k, (size - 1 - start) / d + 1);
  *b = std::min(lo, k);
  *e = std::max(*b, hi);
}

/// Number of window taps an AveragePool output divides by (see Geom::count_include_pad): `inside` (the taps
/// inside the input), or the product over the dims of the taps inside the padded extent [-pad_begin,
/// size + pad_end), i.e. tap_range over the padded dim with the window start shifted by pad_begin.
inline int64_t avg_count(const Geom& g, int64_t sd0, int64_t sh0, int64_t sw0, int64_t inside) {
  if (!g.count_include_pad) return inside;
  int64_t b, e, b2, e2, b3, e3;
  tap_range(sd0 + g.pad_f, g.dd, g.kd, g.d + g.pad_f + g.pad_bk, &b3, &e3);
  tap_range(sh0 + g.pad_t, g.dh, g.kh, g.h + g.pad_t + g.pad_b, &b, &e);
  tap_range(sw0 + g.pad_l, g.dw, g.kw, g.w + g.pad_l + g.pad_r, &b2, &e2);
  return (e3 - b3) * (e - b) * (e2 - b2);
}

/// Plain layout: one output at a time, the taps of its window clipped to the input (no padded reads). Scalar:
/// in NCHW a window's taps are strided along W, which vectors do not help much with at ResNet's 3x3/s2.
template <class T, PoolKind K>
void pool_nchw_k(const Geom& g, const T* x, T* y, int64_t planes) {
  using Acc = std::conditional_t<K == PoolKind::avg, float, T>;
  const int64_t in_plane = g.d * g.h * g.w, out_plane = g.od * g.oh * g.ow;
  for (int64_t p = 0; p < planes; ++p, x += in_plane, y += out_plane) {
    for (int64_t od = 0; od < g.od; ++od) {
      const int64_t sd0 = od * g.sd - g.pad_f;
      int64_t kd0, kd1;
      tap_range(sd0, g.dd, g.kd, g.d, &kd0, &kd1);
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        const int64_t sh0 = oh * g.sh - g.pad_t;
        int64_t kh0, kh1;
        tap_range(sh0, g.dh, g.kh, g.h, &kh0, &kh1);
        T* yrow = y + (od * g.oh + oh) * g.ow;
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          const int64_t sw0 = ow * g.sw - g.pad_l;
          int64_t kw0, kw1;
          tap_range(sw0, g.dw, g.kw, g.w, &kw0, &kw1);
          Acc acc = K == PoolKind::max ? max_identity<T>() : Acc(0);
          for (int64_t kd = kd0; kd < kd1; ++kd)
            for (int64_t kh = kh0; kh < kh1; ++kh) {
              const T* row = x + ((sd0 + kd * g.dd) * g.h + sh0 + kh * g.dh) * g.w;
              if constexpr (K == PoolKind::max)
                for (int64_t kw = kw0; kw < kw1; ++kw) acc = std::max(acc, row[sw0 + kw * g.dw]);
              else
                for (int64_t kw = kw0; kw < kw1; ++kw) acc += row[sw0 + kw * g.dw];
            }
          if constexpr (K == PoolKind::avg) {
            const int64_t cnt = avg_count(g, sd0, sh0, sw0, (kd1 - kd0) * (kh1 - kh0) * (kw1 - kw0));
            acc = cnt > 0 ? acc / float(cnt) : 0.f;
          }
          yrow[ow] = acc;
        }
      }
    }
  }
}

template <class A>
void pool_nchw(PoolKind kind, const Geom& g, const float* x, float* y, int64_t planes) {
  if (kind == PoolKind::max)
    pool_nchw_k<float, PoolKind::max>(g, x, y, planes);
  else
    pool_nchw_k<float, PoolKind::avg>(g, x, y, planes);
}

template <class A, class T>
void max_nchw(const Geom& g, const T* x, T* y, int64_t planes) {
  pool_nchw_k<T, PoolKind::max>(g, x, y, planes);
}

/// One NHWC output pixel: NB vectors of channels at a time keep NB independent accumulators in flight.
/// For uint8 on AVX2 the max is vpmaxub (_mm256_max_epu8), 32 channels per instruction.
template <class A, class T, PoolKind K, int NB>
inline void pool_pixel_block(const Geom& g, const T* x, T* y, int64_t c, int64_t sh0, int64_t sw0, int64_t kh0,
                             int64_t kh1, int64_t kw0, int64_t kw1, float scale) {
  constexpr int64_t L = lanes<A, T>();
  V<A, T> acc[NB];
  for (int b = 0; b < NB; ++b) acc[b] = V<A, T>(K == PoolKind::max ? max_identity<T>() : T(0));
  for (int64_t kh = kh0; kh < kh1; ++kh)
    for (int64_t kw = kw0; kw < kw1; ++kw) {
      const T* px = x + ((sh0 + kh * g.dh) * g.w + sw0 + kw * g.dw) * g.c + c;
      for (int b = 0; b < NB; ++b) {
        const V<A, T> v = V<A, T>::load_unaligned(px + b * L);
        if constexpr (K == PoolKind::max)
          acc[b] = xsimd::max(acc[b], v);
        else
          acc[b] += v;
      }
    }
  for (int b = 0; b < NB; ++b) {
    if constexpr (K == PoolKind::avg)
      (acc[b] * F<A>(scale)).store_unaligned(y + c + b * L);
    else
      acc[b].store_unaligned(y + c + b * L);
  }
}

template <class A, class T, PoolKind K>
void pool_nhwc_k(const Geom& g, const T* x, T* y, int64_t oh0, int64_t oh1) {
  constexpr int64_t L = lanes<A, T>();
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t sh0 = oh * g.sh - g.pad_t;
    int64_t kh0, kh1;
    tap_range(sh0, g.dh, g.kh, g.h, &kh0, &kh1);
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      const int64_t sw0 = ow * g.sw - g.pad_l;
      int64_t kw0, kw1;
      tap_range(sw0, g.dw, g.kw, g.w, &kw0, &kw1);
      T* py = y + (oh * g.ow + ow) * g.c;
      float s = 0.f;
      if constexpr (K == PoolKind::avg) {
        const int64_t cnt = avg_count(g, -g.pad_f, sh0, sw0, (kh1 - kh0) * (kw1 - kw0));
        s = cnt > 0 ? 1.f / float(cnt) : 0.f;
      }
      int64_t c = 0;
      for (; c + 4 * L <= g.c; c += 4 * L) pool_pixel_block<A, T, K, 4>(g, x, py, c, sh0, sw0, kh0, kh1, kw0, kw1, s);
      for (; c + 2 * L <= g.c; c += 2 * L) pool_pixel_block<A, T, K, 2>(g, x, py, c, sh0, sw0, kh0, kh1, kw0, kw1, s);
      for (; c + L <= g.c; c += L) pool_pixel_block<A, T, K, 1>(g, x, py, c, sh0, sw0, kh0, kh1, kw0, kw1, s);
      if (c < g.c) {
        const int64_t n = g.c - c;
        V<A, T> acc(K == PoolKind::max ? max_identity<T>() : T(0));
        for (int64_t kh = kh0; kh < kh1; ++kh)
          for (int64_t kw = kw0; kw < kw1; ++kw) {
            const V<A, T> v = load_tail<A>(x + ((sh0 + kh * g.dh) * g.w + sw0 + kw * g.dw) * g.c + c, n, T(0));
            if constexpr (K == PoolKind::max)
              acc = xsimd::max(acc, v);
            else
              acc += v;
          }
        if constexpr (K == PoolKind::avg) acc *= F<A>(s);
        store_tail<A>(py + c, n, acc);
      }
    }
  }
}

template <class A>
void pool_nhwc(PoolKind kind, const Geom& g, const float* x, float* y, int64_t oh0, int64_t oh1) {
  if (kind == PoolKind::max)
    pool_nhwc_k<A, float, PoolKind::max>(g, x, y, oh0, oh1);
  else
    pool_nhwc_k<A, float, PoolKind::avg>(g, x, y, oh0, oh1);
}

template <class A, class T>
void max_nhwc(const Geom& g, const T* x, T* y, int64_t oh0, int64_t oh1) {
  pool_nhwc_k<A, T, PoolKind::max>(g, x, y, oh0, oh1);
}

template <class A>
void global_avg_nchw(const float* x, float* y, int64_t planes, int64_t hw) {
  constexpr int64_t L = lanes<A>();
  const float inv = 1.f / float(hw);
  for (int64_t p = 0; p < planes; ++p, x += hw) {
    F<A> s0(0.f), s1(0.f);
    int64_t i = 0;
    for (; i + 2 * L <= hw; i += 2 * L) {
      s0 += F<A>::load_unaligned(x + i);
      s1 += F<A>::load_unaligned(x + i + L);
    }
    for (; i + L <= hw; i += L) s0 += F<A>::load_unaligned(x + i);
    if (i < hw) s1 += load_tail<A>(x + i, hw - i, 0.f);
    y[p] = xsimd::hadd(s0 + s1) * inv;
  }
}

template <class A, int NB>
inline void global_avg_block(const float* x, float* y, int64_t hw, int64_t c, int64_t c0, float inv) {
  constexpr int64_t L = lanes<A>();
  F<A> acc[NB];
  for (int b = 0; b < NB; ++b) acc[b] = F<A>(0.f);
  for (int64_t r = 0; r < hw; ++r)
    for (int b = 0; b < NB; ++b) acc[b] += F<A>::load_unaligned(x + r * c + c0 + b * L);
  for (int b = 0; b < NB; ++b) (acc[b] * F<A>(inv)).store_unaligned(y + c0 + b * L);
}

template <class A>
void global_avg_nhwc(const float* x, float* y, int64_t hw, int64_t c, int64_t c0, int64_t c1) {
  constexpr int64_t L = lanes<A>();
  const float inv = 1.f / float(hw);
  int64_t ch = c0;
  for (; ch + 4 * L <= c1; ch += 4 * L) global_avg_block<A, 4>(x, y, hw, c, ch, inv);
  for (; ch + L <= c1; ch += L) global_avg_block<A, 1>(x, y, hw, c, ch, inv);
  if (ch < c1) {
    F<A> acc(0.f);
    for (int64_t r = 0; r < hw; ++r) acc += load_tail<A>(x + r * c + ch, c1 - ch, 0.f);
    store_tail<A>(y + ch, c1 - ch, acc * F<A>(inv));
  }
}

template <class A>
Table make_table(const char* name) {
  Table t;
  t.isa = name;
  t.pool_nchw = pool_nchw<A>;
  t.pool_nhwc = pool_nhwc<A>;
  t.max_nchw_u8 = max_nchw<A, uint8_t>;
  t.max_nchw_s8 = max_nchw<A, int8_t>;
  t.max_nhwc_u8 = max_nhwc<A, uint8_t>;
  t.max_nhwc_s8 = max_nhwc<A, int8_t>;
  t.global_avg_nchw = global_avg_nchw<A>;
  t.global_avg_nhwc = global_avg_nhwc<A>;
  return t;
}

}  // namespace
}  // namespace octet::kernels::pool
