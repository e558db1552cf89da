// The float32 unary math loops, written once over xsimd::batch<float, A> and instantiated per ISA by the
// unary_math_<isa>.cpp files. The transcendental functions are xsimd's (ports of Boost.SIMD / Cephes: range
// reduction plus a minimax polynomial, IEEE special values handled), within a few ulp of the exact result (the
// bounds are tested against unary_ref in tests/unit/test_eltwise_math.cpp).
//
// NaN: x86 min/max return their second operand when either is NaN, so the clamps below are written
// min(bound, v) / max(bound, v) with the data second: a NaN input gives a NaN output, as numpy's clip does.
#pragma once

#include "kernels/eltwise/eltwise_impl.h"
#include "kernels/eltwise/unary_math.h"

namespace octet::kernels::eltwise {
namespace {

// xsimd's exp returns +inf from x > 88.3763 (its overflow threshold is set for the polynomial's 2^k scaling),
// while e^x stays below FLT_MAX up to ln(FLT_MAX) = 88.72284. In that band e^x = (e^(x/2))^2: x/2 is exact and
// squaring doubles e^(x/2)'s relative error, so the band is within ~2.5 ulp; the branch is taken only when a
// lane is in it.
template <class A>
inline F<A> exp_full(F<A> v) {
  const auto band = (v > F<A>(88.3762626647949f)) & (v <= F<A>(88.72283935546875f));
  const F<A> e = xsimd::exp(v);
  if (!xsimd::any(band)) return e;
  const F<A> h = xsimd::exp(v * F<A>(0.5f));
  return xsimd::select(band, h * h, e);
}

template <class A>
void unary_math(UnaryOp op, const UnaryParams& p, const float* x, float* y, int64_t n) {
  using V = F<A>;
  const V zero(0.f), one(1.f), a(p.alpha), b(p.beta), g(p.gamma);
  switch (op) {
    case UnaryOp::abs: return map_unary<A>(x, y, n, [](V v) { return xsimd::abs(v); });
    case UnaryOp::neg: return map_unary<A>(x, y, n, [](V v) { return -v; });
    case UnaryOp::exp: return map_unary<A>(x, y, n, [](V v) { return exp_full<A>(v); });
    case UnaryOp::log: return map_unary<A>(x, y, n, [](V v) { return xsimd::log(v); });
    case UnaryOp::sqrt: return map_unary<A>(x, y, n, [](V v) { return xsimd::sqrt(v); });
    case UnaryOp::reciprocal: return map_unary<A>(x, y, n, [&](V v) { return one / v; });
    case UnaryOp::tanh: return map_unary<A>(x, y, n, [](V v) { return xsimd::tanh(v); });
    case UnaryOp::erf: return map_unary<A>(x, y, n, [](V v) { return xsimd::erf(v); });
    case UnaryOp::floor: return map_unary<A>(x, y, n, [](V v) { return xsimd::floor(v); });
    case UnaryOp::ceil: return map_unary<A>(x, y, n, [](V v) { return xsimd::ceil(v); });
    // nearbyint rounds in the current mode, round-to-nearest-even by default: ONNX Round's "half to even".
    case UnaryOp::round: return map_unary<A>(x, y, n, [](V v) { return xsimd::nearbyint(v); });
    case UnaryOp::sin: return map_unary<A>(x, y, n, [](V v) { return xsimd::sin(v); });
    case UnaryOp::cos: return map_unary<A>(x, y, n, [](V v) { return xsimd::cos(v); });
    case UnaryOp::sign:
      // 1 above 0, -1 below, else x itself (0 stays 0, NaN stays NaN).
      return map_unary<A>(x, y, n, [&](V v) { return xsimd::select(v > zero, one, xsimd::select(v < zero, -one, v)); });
    case UnaryOp::softplus:
      // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): the exponent is never positive, so nothing overflows, and
      // log1p keeps the small tail accurate for large |x|.
      return map_unary<A>(x, y, n, [&](V v) { return xsimd::max(zero, v) + xsimd::log1p(xsimd::exp(-xsimd::abs(v))); });
    case UnaryOp::softsign: return map_unary<A>(x, y, n, [&](V v) { return v / (one + xsimd::abs(v)); });
    // expm1 keeps e^x - 1 accurate near 0, where exp(x) - 1 would cancel.
    case UnaryOp::elu: return map_unary<A>(x, y, n, [&](V v) { return xsimd::select(v < zero, a * xsimd::expm1(v), v); });
    case UnaryOp::selu:
      return map_unary<A>(x, y, n, [&](V v) { return g * xsimd::select(v <= zero, a * xsimd::expm1(v), v); });
    case UnaryOp::celu: {
      const V inv_a(1.f / p.alpha);
      return map_unary<A>(x, y, n, [&](V v) {
        // x / alpha as a true division would cost a divide per element; x * (1/alpha) differs by <= 1 ulp in the
        // argument, which expm1 passes on scaled by |x| <= a few units.
        return xsimd::max(zero, v) + xsimd::min(zero, a * xsimd::expm1(v * inv_a));
      });
    }
    case UnaryOp::hard_sigmoid:
      return map_unary<A>(x, y, n, [&](V v) { return xsimd::max(zero, xsimd::min(one, xsimd::fma(a, v, b))); });
    case UnaryOp::hard_swish: {
      const V sixth(1.f / 6.f), half(0.5f);
      return map_unary<A>(x, y, n, [&](V v) { return v * xsimd::max(zero, xsimd::min(one, xsimd::fma(v, sixth, half))); });
    }
    case UnaryOp::thresholded_relu: return map_unary<A>(x, y, n, [&](V v) { return xsimd::select(v > a, v, zero); });
    case UnaryOp::square: return map_unary<A>(x, y, n, [](V v) { return v * v; });
    case UnaryOp::count: break;
  }
}

template <class A>
UnaryTable make_unary_table(const char* name) {
  return UnaryTable{name, unary_math<A>};
}

}  // namespace
}  // namespace octet::kernels::eltwise
