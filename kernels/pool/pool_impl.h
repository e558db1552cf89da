// The pooling loops, written once over xsimd::batch<float, A> and instantiated per ISA by pool_<isa>.cpp.
// Everything is a template on A or in an anonymous namespace (no code shared across ISA flags).
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/pool/pool.h"

namespace octet::kernels::pool {
namespace {

template <class A>
using F = xsimd::batch<float, A>;

template <class A>
constexpr int64_t lanes() {
  return int64_t(F<A>::size);
}

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

/// Taps [*b, *e) of a window starting at `start` (= o*stride - pad) with dilation d and k taps whose input
/// index start + t*d lies in [0, size). Taps below: t >= ceil(-start/d); above: t <= (size-1-start)/d.
inline void tap_range(int64_t start, int64_t d, int64_t k, int64_t size, int64_t* b, int64_t* e) {
  const int64_t lo = start < 0 ? (-start + d - 1) / d : 0;
  const int64_t hi = start >= size ? 0 : std::min(k, (size - 1 - start) / d + 1);
  *b = std::min(lo, k);
  *e = std::max(*b, hi);
}

/// Number of window taps an AveragePool output divides by (see Geom::count_include_pad).
inline int64_t avg_count(const Geom& g, int64_t sh0, int64_t sw0, int64_t kh0, int64_t kh1, int64_t kw0,
                         int64_t kw1) {
  if (!g.count_include_pad) return (kh1 - kh0) * (kw1 - kw0);
  int64_t b, e, b2, e2;
  tap_range(sh0 + g.pad_t, g.dh, g.kh, g.h + g.pad_t + g.pad_b, &b, &e);
  tap_range(sw0 + g.pad_l, g.dw, g.kw, g.w + g.pad_l + g.pad_r, &b2, &e2);
  return (e - b) * (e2 - b2);
}

template <class A>
void pool_nchw(PoolKind kind, const Geom& g, const float* x, float* y, int64_t planes) {
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t p = 0; p < planes; ++p, x += g.h * g.w, y += g.oh * g.ow) {
    for (int64_t oh = 0; oh < g.oh; ++oh) {
      const int64_t sh0 = oh * g.sh - g.pad_t;
      int64_t kh0, kh1;
      tap_range(sh0, g.dh, g.kh, g.h, &kh0, &kh1);
      for (int64_t ow = 0; ow < g.ow; ++ow) {
        const int64_t sw0 = ow * g.sw - g.pad_l;
        int64_t kw0, kw1;
        tap_range(sw0, g.dw, g.kw, g.w, &kw0, &kw1);
        float acc = kind == PoolKind::max ? ninf : 0.f;
        for (int64_t kh = kh0; kh < kh1; ++kh) {
          const float* row = x + (sh0 + kh * g.dh) * g.w;
          if (kind == PoolKind::max)
            for (int64_t kw = kw0; kw < kw1; ++kw) acc = std::max(acc, row[sw0 + kw * g.dw]);
          else
            for (int64_t kw = kw0; kw < kw1; ++kw) acc += row[sw0 + kw * g.dw];
        }
        if (kind == PoolKind::avg) {
          const int64_t cnt = avg_count(g, sh0, sw0, kh0, kh1, kw0, kw1);
          acc = cnt > 0 ? acc / float(cnt) : 0.f;
        }
        y[oh * g.ow + ow] = acc;
      }
    }
  }
}

/// One NHWC output pixel: NB vectors of channels at a time keep NB independent accumulators in flight.
template <class A, PoolKind K, int NB>
inline void pool_pixel_block(const Geom& g, const float* x, float* y, int64_t c, int64_t sh0, int64_t sw0,
                             int64_t kh0, int64_t kh1, int64_t kw0, int64_t kw1, const F<A>& scale) {
  constexpr int64_t L = lanes<A>();
  F<A> acc[NB];
  for (int b = 0; b < NB; ++b) acc[b] = F<A>(K == PoolKind::max ? -std::numeric_limits<float>::infinity() : 0.f);
  for (int64_t kh = kh0; kh < kh1; ++kh)
    for (int64_t kw = kw0; kw < kw1; ++kw) {
      const float* px = x + ((sh0 + kh * g.dh) * g.w + sw0 + kw * g.dw) * g.c + c;
      for (int b = 0; b < NB; ++b) {
        const F<A> v = F<A>::load_unaligned(px + b * L);
        acc[b] = K == PoolKind::max ? xsimd::max(acc[b], v) : acc[b] + v;
      }
    }
  for (int b = 0; b < NB; ++b) (K == PoolKind::avg ? acc[b] * scale : acc[b]).store_unaligned(y + c + b * L);
}

template <class A, PoolKind K>
void pool_nhwc_k(const Geom& g, const float* x, float* y, int64_t oh0, int64_t oh1) {
  constexpr int64_t L = lanes<A>();
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t sh0 = oh * g.sh - g.pad_t;
    int64_t kh0, kh1;
    tap_range(sh0, g.dh, g.kh, g.h, &kh0, &kh1);
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      const int64_t sw0 = ow * g.sw - g.pad_l;
      int64_t kw0, kw1;
      tap_range(sw0, g.dw, g.kw, g.w, &kw0, &kw1);
      float* py = y + (oh * g.ow + ow) * g.c;
      float s = 0.f;
      if (K == PoolKind::avg) {
        const int64_t cnt = avg_count(g, sh0, sw0, kh0, kh1, kw0, kw1);
        s = cnt > 0 ? 1.f / float(cnt) : 0.f;
      }
      const F<A> scale(s);
      int64_t c = 0;
      for (; c + 4 * L <= g.c; c += 4 * L) pool_pixel_block<A, K, 4>(g, x, py, c, sh0, sw0, kh0, kh1, kw0, kw1, scale);
      for (; c + L <= g.c; c += L) pool_pixel_block<A, K, 1>(g, x, py, c, sh0, sw0, kh0, kh1, kw0, kw1, scale);
      if (c < g.c) {
        const int64_t n = g.c - c;
        F<A> acc(K == PoolKind::max ? ninf : 0.f);
        for (int64_t kh = kh0; kh < kh1; ++kh)
          for (int64_t kw = kw0; kw < kw1; ++kw) {
            const F<A> v = load_tail<A>(x + ((sh0 + kh * g.dh) * g.w + sw0 + kw * g.dw) * g.c + c, n, 0.f);
            acc = K == PoolKind::max ? xsimd::max(acc, v) : acc + v;
          }
        store_tail<A>(py + c, n, K == PoolKind::avg ? acc * scale : acc);
      }
    }
  }
}

template <class A>
void pool_nhwc(PoolKind kind, const Geom& g, const float* x, float* y, int64_t oh0, int64_t oh1) {
  if (kind == PoolKind::max)
    pool_nhwc_k<A, PoolKind::max>(g, x, y, oh0, oh1);
  else
    pool_nhwc_k<A, PoolKind::avg>(g, x, y, oh0, oh1);
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
  t.global_avg_nchw = global_avg_nchw<A>;
  t.global_avg_nhwc = global_avg_nhwc<A>;
  return t;
}

}  // namespace
}  // namespace octet::kernels::pool
