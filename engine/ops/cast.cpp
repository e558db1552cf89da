// Cast (opset 6+, `to` attribute) and CastLike (opset 15, the target type is input 1's), between every numeric
// dtype octet's Tensor has and bool. Strings are not supported (octet has no string tensors).
//
// Conversion rules (ONNX defers to numpy's astype; where C++ would be undefined octet picks a defined result):
//   to bool: x != 0 (NaN -> true); from bool: 0 or 1.
//   float -> integer: truncation toward zero; NaN -> 0 and out-of-range values saturate (ONNX: undefined).
//   integer -> integer: two's complement wrap (numpy's astype).
//   -> float / double: the nearest value (round to nearest even).
//   -> float16 / bfloat16: round to nearest even from the exact source value: a double or a 64-bit integer is
//      first narrowed to float with round-to-odd (truncate, then set the lowest bit if anything was dropped),
//      which makes the second rounding to 11 or 8 bits exact (24 >= 11 + 2 bits; the classic double-rounding
//      argument), so the result is what one direct rounding would give. (64-bit integers above 2^53 are rounded
//      to double first; those only reach bfloat16 and may be off by one bfloat16 ulp in a tie.)
#include <cmath>
#include <cstring>

#include "engine/ops/elt_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"

namespace octet::ops {
namespace {

/// d narrowed to float with round-to-odd (see the file comment).
inline float to_float_odd(double d) {
  float f = float(d);
  if (!std::isfinite(f) || double(f) == d) return f;
  if (std::fabs(double(f)) > std::fabs(d)) f = std::nextafter(f, 0.f);  // truncate toward zero
  return kernels::bits_float(kernels::float_bits(f) | 1u);
}

template <class D, class S>
inline D cast_value(S x) {
  if constexpr (std::is_same_v<D, bool>) {
    if constexpr (is_half_v<S>) return float(x) != 0.f;
    else return x != S(0);
  } else if constexpr (std::is_same_v<S, bool>) {
    if constexpr (is_half_v<D>) return D::from(x ? 1.f : 0.f);
    else return D(x ? 1 : 0);
  } else if constexpr (is_half_v<S>) {
    return cast_value<D>(float(x));
  } else if constexpr (is_half_v<D>) {
    if constexpr (std::is_same_v<S, float>) return D::from(x);
    else return D::from(to_float_odd(double(x)));  // exact for doubles and integers below 2^53
  } else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    if (std::isnan(x)) return D(0);
    // Saturate: the bounds of D as S; lim_hi is 2^digits (exactly representable), the first value that overflows.
    const S lo = S(std::numeric_limits<D>::lowest()), hi = S(std::ldexp(1.0, std::numeric_limits<D>::digits));
    if (x <= lo) return std::numeric_limits<D>::lowest();
    if (x >= hi) return std::numeric_limits<D>::max();
    return D(x);  // truncates toward zero
  } else {
    return D(x);
  }
}

template <class S, class D>
RunFn cast_loop() {
  return [](ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) {
    const S* x = in[0].as<const S>();
    D* y = out[0].as<D>();
    split_elements(ctx, in[0].numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y[i] = cast_value<D, S>(x[i]);
    });
  };
}

std::unique_ptr<Kernel> make_cast_to(const KernelInfo& info, DType to) {
  require_plain(info);
  const DType from = info.input(0).dtype;
  if (from == DType::string || to == DType::string)
    unsupported(info, std::string("casting ") + dtype_name(from) + " to " + dtype_name(to) +
                          " is not supported (octet has no string tensors)");
  if (info.output(0).dtype != to)
    info.fail(std::string("output has type ") + dtype_name(info.output(0).dtype) + ", expected " + dtype_name(to));
  RunFn fn;
  if (from == to) {
    fn = [](ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) {
      copy_bytes(out[0].data, in[0].data, in[0].bytes());
    };
  } else {
    visit_dtype(from, [&](auto st) {
      visit_dtype(to, [&](auto dt) { fn = cast_loop<typename decltype(st)::type, typename decltype(dt)::type>(); });
    });
  }
  if (!fn)
    unsupported(info, std::string("casting ") + dtype_name(from) + " to " + dtype_name(to) + " is not supported");
  const int inplace = dtype_size(from) == dtype_size(to) ? 0 : -1;
  return std::make_unique<ClosureKernel>(std::string("cast/") + dtype_name(from) + "_" + dtype_name(to), inplace,
                                         std::move(fn));
}

std::unique_ptr<Kernel> make_cast(const KernelInfo& info) {
  if (info.num_inputs() != 1) info.fail("expected 1 input, got " + std::to_string(info.num_inputs()));
  if (!info.node().has_attr("to")) info.fail("attribute 'to' is required");
  return make_cast_to(info, DType(info.node().attr_i("to", 0)));
}

std::unique_ptr<Kernel> make_cast_like(const KernelInfo& info) {
  if (info.num_inputs() != 2) info.fail("expected 2 inputs (input, target_type), got " + std::to_string(info.num_inputs()));
  return make_cast_to(info, info.input(1).dtype);
}

}  // namespace

void register_cast(KernelRegistry& r) {
  r.add("", "Cast", make_cast);
  r.add("", "CastLike", make_cast_like);
}

}  // namespace octet::ops
