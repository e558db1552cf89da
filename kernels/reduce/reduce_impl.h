// The reduction loops, written once over xsimd::batch<float, A> and instantiated per ISA by reduce_<isa>.cpp.
// They reuse the element-wise family's vector helpers (tails through a stack buffer, exp_approx), so both
// families see the same exp. Everything is a template on A or in an anonymous namespace, so nothing compiled
// with wider flags is shared with a narrower TU.
#pragma once

#include <cmath>
#include <limits>

#include "kernels/eltwise/eltwise_impl.h"
#include "kernels/reduce/reduce.h"

namespace octet::kernels::reduce {
namespace {

using eltwise::exp_approx;
using eltwise::F;
using eltwise::lanes;
using eltwise::load_tail;
using eltwise::store_tail;

constexpr float kInf = std::numeric_limits<float>::infinity();

/// The value an empty reduction gives, and the fill of a partial vector (it changes no accumulator).
inline float identity(Op op) {
  switch (op) {
    case Op::max:
    case Op::log_sum_exp:
      return -kInf;
    case Op::min:
      return kInf;
    case Op::prod:
      return 1.f;
    default:
      return 0.f;
  }
}

/// acc (op) x for the accumulating ops (log_sum_exp's passes use max and sum explicitly).
template <class A>
inline F<A> combine(Op op, const F<A>& acc, const F<A>& x) {
  switch (op) {
    case Op::sum:
      return acc + x;
    case Op::sum_abs:
      return acc + xsimd::abs(x);
    case Op::sum_sq:
      return xsimd::fma(x, x, acc);
    case Op::max:
      return xsimd::max(acc, x);
    case Op::min:
      return xsimd::min(acc, x);
    case Op::prod:
      return acc * x;
    default:
      return acc + x;
  }
}

/// Horizontal fold of the lanes of v with the op's own combination (sum_abs / sum_sq lanes just add).
template <class A>
inline float fold_lanes(Op op, const F<A>& v) {
  alignas(64) float buf[64];
  v.store_aligned(buf);
  float r = buf[0];
  for (int64_t i = 1; i < lanes<A>(); ++i) {
    switch (op) {
      case Op::max:
        r = std::max(r, buf[i]);
        break;
      case Op::min:
        r = std::min(r, buf[i]);
        break;
      case Op::prod:
        r *= buf[i];
        break;
      default:
        r += buf[i];
        break;
    }
  }
  return r;
}

/// m + log(s) for log_sum_exp, with m = -inf (every input -inf, or no input) giving -inf rather than NaN.
inline float lse_finish(float m, float s) { return m == -kInf ? -kInf : m + std::log(s); }

/// op over one contiguous row: four vector accumulators hide the add latency (two left the loop latency-bound).
template <class A>
float reduce_row(Op op, const float* x, int64_t len) {
  constexpr int64_t L = lanes<A>();
  const float id = identity(op);
  F<A> a0(id), a1(id), a2(id), a3(id);
  int64_t i = 0;
  for (; i + 4 * L <= len; i += 4 * L) {
    a0 = combine<A>(op, a0, F<A>::load_unaligned(x + i));
    a1 = combine<A>(op, a1, F<A>::load_unaligned(x + i + L));
    a2 = combine<A>(op, a2, F<A>::load_unaligned(x + i + 2 * L));
    a3 = combine<A>(op, a3, F<A>::load_unaligned(x + i + 3 * L));
  }
  // sum_abs / sum_sq already mapped their elements: the accumulators just add.
  const Op join = op == Op::sum_abs || op == Op::sum_sq ? Op::sum : op;
  a0 = combine<A>(join, a0, a2);
  a1 = combine<A>(join, a1, a3);
  for (; i + L <= len; i += L) a0 = combine<A>(op, a0, F<A>::load_unaligned(x + i));
  if (i < len) a1 = combine<A>(op, a1, load_tail<A>(x + i, len - i, id));
  return fold_lanes<A>(join, combine<A>(join, a0, a1));
}

/// sum exp(x - m) over one row; the tail's -inf fill contributes exp(-inf) = 0.
template <class A>
float sum_exp_row(const float* x, int64_t len, float m) {
  constexpr int64_t L = lanes<A>();
  const F<A> vm(m);
  F<A> s(0.f);
  int64_t i = 0;
  for (; i + L <= len; i += L) s += exp_approx<A>(F<A>::load_unaligned(x + i) - vm);
  if (i < len) s += exp_approx<A>(load_tail<A>(x + i, len - i, -kInf) - vm);
  return fold_lanes<A>(Op::sum, s);
}

template <class A>
void rows(Op op, const float* x, float* y, int64_t n, int64_t len) {
  for (int64_t r = 0; r < n; ++r, x += len) {
    if (op != Op::log_sum_exp) {
      y[r] = reduce_row<A>(op, x, len);
      continue;
    }
    const float m = reduce_row<A>(Op::max, x, len);
    y[r] = m == -kInf || m == kInf ? m : lse_finish(m, sum_exp_row<A>(x, len, m));
  }
}

/// y[0..w) = x[0..w) (op) y[0..w), elementwise, for a block of one row.
template <class A>
void combine_block(Op op, const float* x, float* y, int64_t w) {
  constexpr int64_t L = lanes<A>();
  const float id = identity(op);
  int64_t i = 0;
  for (; i + L <= w; i += L)
    combine<A>(op, F<A>::load_unaligned(y + i), F<A>::load_unaligned(x + i)).store_unaligned(y + i);
  if (i < w)
    store_tail<A>(y + i, w - i, combine<A>(op, load_tail<A>(y + i, w - i, id), load_tail<A>(x + i, w - i, id)));
}

/// y[0..w) = y (op) x0 (op) x1 (op) x2 (op) x3: four rows per pass over the accumulators, so y is loaded and
/// stored once per four input rows (the row-at-a-time loop ran at half the rows pattern's bandwidth).
template <class A>
void combine_block4(Op op, const float* x, int64_t stride, float* y, int64_t w) {
  constexpr int64_t L = lanes<A>();
  const float id = identity(op);
  int64_t i = 0;
  auto step = [&](F<A> acc, auto load) {
    for (int r = 0; r < 4; ++r) acc = combine<A>(op, acc, load(x + r * stride + i));
    return acc;
  };
  for (; i + L <= w; i += L)
    step(F<A>::load_unaligned(y + i), [](const float* p) { return F<A>::load_unaligned(p); }).store_unaligned(y + i);
  if (i < w) {
    const int64_t n = w - i;
    store_tail<A>(y + i, n, step(load_tail<A>(y + i, n, id), [&](const float* p) { return load_tail<A>(p, n, id); }));
  }
}

// The [len][inner] case walks rows in order, keeping the accumulators in y (a block of kBlock columns stays in
// L1 while `len` rows stream past), so the read pattern is sequential whatever len and inner are.
constexpr int64_t kBlock = 1024;

template <class A>
void strided(Op op, const float* x, float* y, int64_t len, int64_t inner, int64_t stride) {
  constexpr int64_t L = lanes<A>();
  alignas(64) float s[kBlock];
  for (int64_t c0 = 0; c0 < inner; c0 += kBlock) {
    const int64_t w = std::min(kBlock, inner - c0);
    const Op acc = op == Op::log_sum_exp ? Op::max : op;
    for (int64_t i = 0; i < w; ++i) y[c0 + i] = identity(acc);
    int64_t l = 0;
    for (; l + 4 <= len; l += 4) combine_block4<A>(acc, x + l * stride + c0, stride, y + c0, w);
    for (; l < len; ++l) combine_block<A>(acc, x + l * stride + c0, y + c0, w);
    if (op != Op::log_sum_exp) continue;
    // Second pass: s = sum_l exp(x - m) per column, then y = m + log(s).
    for (int64_t i = 0; i < w; ++i) s[i] = 0.f;
    for (int64_t l = 0; l < len; ++l) {
      const float* xr = x + l * stride + c0;
      int64_t i = 0;
      for (; i + L <= w; i += L) {
        const F<A> e = exp_approx<A>(F<A>::load_unaligned(xr + i) - F<A>::load_unaligned(y + c0 + i));
        (F<A>::load_aligned(s + i) + e).store_aligned(s + i);
      }
      for (; i < w; ++i) s[i] += std::exp(xr[i] - y[c0 + i]);
    }
    for (int64_t i = 0; i < w; ++i) {
      const float m = y[c0 + i];
      y[c0 + i] = m == -kInf || m == kInf ? m : lse_finish(m, s[i]);
    }
  }
}

template <class A>
void normalize_row(const float* x, float* y, int64_t len, float eps, const float* scale, const float* bias,
                   bool per_element, float* mean_out, float* inv_out) {
  constexpr int64_t L = lanes<A>();
  const float mean = len ? reduce_row<A>(Op::sum, x, len) / float(len) : 0.f;
  // Variance from the centred values (two passes): E[x^2] - E[x]^2 cancels badly when |mean| >> std.
  const F<A> vm(mean);
  F<A> v0(0.f), v1(0.f);
  int64_t i = 0;
  for (; i + 2 * L <= len; i += 2 * L) {  // two accumulators: the fma chain's latency, not the loads, bounds it
    const F<A> d0 = F<A>::load_unaligned(x + i) - vm, d1 = F<A>::load_unaligned(x + i + L) - vm;
    v0 = xsimd::fma(d0, d0, v0);
    v1 = xsimd::fma(d1, d1, v1);
  }
  for (; i + L <= len; i += L) {
    const F<A> d = F<A>::load_unaligned(x + i) - vm;
    v0 = xsimd::fma(d, d, v0);
  }
  if (i < len) {
    const F<A> d = load_tail<A>(x + i, len - i, mean) - vm;  // padding lanes: d = 0
    v1 = xsimd::fma(d, d, v1);
  }
  const float var = len ? xsimd::hadd(v0 + v1) / float(len) : 0.f;
  const float inv = 1.f / std::sqrt(var + eps);
  if (mean_out) *mean_out = mean;
  if (inv_out) *inv_out = inv;
  const F<A> vi(inv);
  if (per_element) {
    for (i = 0; i + L <= len; i += L) {
      const F<A> n = (F<A>::load_unaligned(x + i) - vm) * vi;
      const F<A> b = bias ? F<A>::load_unaligned(bias + i) : F<A>(0.f);
      xsimd::fma(n, F<A>::load_unaligned(scale + i), b).store_unaligned(y + i);
    }
    for (; i < len; ++i) y[i] = (x[i] - mean) * inv * scale[i] + (bias ? bias[i] : 0.f);
  } else {
    // One scale and bias for the row (InstanceNormalization): y = (x - m) * (inv * scale) + bias.
    const F<A> a(inv * scale[0]), b(bias ? bias[0] : 0.f);
    for (i = 0; i + L <= len; i += L) xsimd::fma(F<A>::load_unaligned(x + i) - vm, a, b).store_unaligned(y + i);
    for (; i < len; ++i) y[i] = (x[i] - mean) * (inv * scale[0]) + (bias ? bias[0] : 0.f);
  }
}

template <class A>
void log_softmax_rows(const float* x, float* y, int64_t n, int64_t len) {
  constexpr int64_t L = lanes<A>();
  for (int64_t r = 0; r < n; ++r, x += len, y += len) {
    const float m = reduce_row<A>(Op::max, x, len);
    // log softmax(x)_i = x_i - m - log(sum_j exp(x_j - m)); c = m + log(s) is the row's log-sum-exp.
    const float c = m + std::log(sum_exp_row<A>(x, len, m));
    const F<A> vc(c);
    int64_t i = 0;
    for (; i + L <= len; i += L) (F<A>::load_unaligned(x + i) - vc).store_unaligned(y + i);
    for (; i < len; ++i) y[i] = x[i] - c;
  }
}

template <class A>
Table make_table(const char* isa) {
  Table t{};
  t.isa = isa;
  t.rows = rows<A>;
  t.strided = strided<A>;
  t.normalize_row = normalize_row<A>;
  t.log_softmax_rows = log_softmax_rows<A>;
  return t;
}

}  // namespace
}  // namespace octet::kernels::reduce
