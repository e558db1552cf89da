// Element-wise ops with numpy broadcasting, on every numeric dtype their ONNX definition allows: Pow, PRelu,
// Max / Min / Sum / Mean (variadic), Mod, Equal / Less / Greater / LessOrEqual / GreaterOrEqual (-> bool),
// And / Or / Xor (bool), Where (any element type).
//
// The factories check dtypes and shapes and build the broadcast plan (engine/ops/broadcast.h); the kernels are
// scalar loops over the plan's rows, which the compiler vectorises for the contiguous cases. Pow with a constant
// exponent 2 (LayerNorm's variance in exported ViT / Swin graphs) runs the vectorised x * x kernel.
#include <cmath>
#include <cstring>

#include "engine/ops/elt_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"
#include "kernels/eltwise/unary_math.h"

namespace octet::ops {
namespace {

namespace ek = kernels::eltwise;

/// The numpy broadcast of the node's first n input shapes; must equal the output's shape.
Shape check_broadcast(const KernelInfo& info, int n) {
  Shape s = info.in_shape(0);
  for (int i = 1; i < n; ++i) s = broadcast_shapes(info.graph, info.node_id, s, info.in_shape(i));
  const Shape y = info.out_shape(0);
  if (s != y) {
    std::string ins;
    for (int i = 0; i < n; ++i) ins += (i ? ", " : "") + shape_str(info.in_shape(i));
    info.fail("output shape " + shape_str(y) + " is not the broadcast of the inputs (" + ins + ")");
  }
  return y;
}

[[noreturn]] void bad_type(const KernelInfo& info, int i, const std::string& expected) {
  unsupported(info, "input '" + info.input(i).name + "' has type " + dtype_name(info.input(i).dtype) + ", " + expected);
}

void require_same_type(const KernelInfo& info, int a, int b) {
  if (info.input(a).dtype != info.input(b).dtype)
    info.fail("input '" + info.input(b).name + "' has type " + dtype_name(info.input(b).dtype) + ", expected " +
              dtype_name(info.input(a).dtype) + " like input '" + info.input(a).name + "'");
}

void require_out_type(const KernelInfo& info, DType t) {
  if (info.output(0).dtype != t)
    info.fail(std::string("output has type ") + dtype_name(info.output(0).dtype) + ", expected " + dtype_name(t));
}

/// y = f(a, b) elementwise over the broadcast bc; f takes and returns compute types (compute_t).
template <class TA, class TB, class TY, class F>
RunFn binary_loop(BroadcastN bc, F f) {
  return [bc = std::move(bc), f](ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) {
    const TA* a = in[0].as<const TA>();
    const TB* b = in[1].as<const TB>();
    TY* y = out[0].as<TY>();
    const int64_t sa = bc.row_stride[0], sb = bc.row_stride[1];
    run_broadcast(ctx, bc, [&](int64_t oy, const int64_t* off, int64_t n) {
      const TA* pa = a + off[0];
      const TB* pb = b + off[1];
      TY* py = y + oy;
      if (sa == 1 && sb == 1)
        for (int64_t i = 0; i < n; ++i) py[i] = store_c<TY>(f(load_c(pa[i]), load_c(pb[i])));
      else
        for (int64_t i = 0; i < n; ++i) py[i] = store_c<TY>(f(load_c(pa[i * sa]), load_c(pb[i * sb])));
    });
  };
}

/// A binary op over two inputs of the same type T, from `types` (a predicate on the C++ type), producing TY
/// (`Out` = void: T). make(tag) returns the op's function on compute types.
template <class Out, class Allowed, class Make>
std::unique_ptr<Kernel> make_same_type_binary(const KernelInfo& info, const char* name, Allowed allowed, Make make) {
  if (info.num_inputs() != 2) info.fail("expected 2 inputs, got " + std::to_string(info.num_inputs()));
  require_plain(info);
  require_same_type(info, 0, 1);
  const Shape y = check_broadcast(info, 2);
  BroadcastN bc = BroadcastN::make(input_shapes(info, 2), y);
  const DType dt = info.input(0).dtype;
  RunFn fn;
  visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (decltype(allowed(tag))::value) {
      using TY = std::conditional_t<std::is_void_v<Out>, T, Out>;
      fn = binary_loop<T, T, TY>(bc, make(tag));
    }
  });
  if (!fn) bad_type(info, 0, std::string("which ") + name + " does not support");
  const DType ty = std::is_void_v<Out> ? dt : DType::boolean;
  require_out_type(info, ty);
  const int inplace = std::is_void_v<Out> && info.in_shape(0) == y ? 0 : -1;
  return std::make_unique<ClosureKernel>(std::string("eltwise/") + name + "/" + dtype_name(dt), inplace, std::move(fn));
}

struct AnyNumeric {
  template <class Tg>
  std::bool_constant<!std::is_same_v<typename Tg::type, bool>> operator()(Tg) const { return {}; }
};
struct AnyType {
  template <class Tg>
  std::true_type operator()(Tg) const { return {}; }
};
struct BoolOnly {
  template <class Tg>
  std::bool_constant<std::is_same_v<typename Tg::type, bool>> operator()(Tg) const { return {}; }
};

// ---------------------------------------------------------------------------------------------------------------
// Comparisons and logic

template <class Cmp>
std::unique_ptr<Kernel> make_compare(const KernelInfo& info, const char* name, bool allow_bool) {
  if (!allow_bool && info.input(0).dtype == DType::boolean) bad_type(info, 0, std::string(name) + " takes numbers");
  return make_same_type_binary<bool>(info, name, AnyType{}, [](auto tag) {
    using C = compute_t<typename decltype(tag)::type>;
    return [](C x, C y) { return Cmp{}(x, y); };
  });
}

std::unique_ptr<Kernel> make_equal(const KernelInfo& info) { return make_compare<std::equal_to<>>(info, "equal", true); }
std::unique_ptr<Kernel> make_less(const KernelInfo& info) { return make_compare<std::less<>>(info, "less", false); }
std::unique_ptr<Kernel> make_greater(const KernelInfo& info) {
  return make_compare<std::greater<>>(info, "greater", false);
}
std::unique_ptr<Kernel> make_less_equal(const KernelInfo& info) {
  return make_compare<std::less_equal<>>(info, "less_equal", false);
}
std::unique_ptr<Kernel> make_greater_equal(const KernelInfo& info) {
  return make_compare<std::greater_equal<>>(info, "greater_equal", false);
}

template <class Op>
std::unique_ptr<Kernel> make_logic(const KernelInfo& info, const char* name) {
  if (info.input(0).dtype != DType::boolean) bad_type(info, 0, std::string("expected bool (") + name + ")");
  return make_same_type_binary<void>(info, name, BoolOnly{}, [](auto) { return [](bool x, bool y) { return Op{}(x, y); }; });
}
struct XorOp {
  bool operator()(bool a, bool b) const { return a != b; }
};
std::unique_ptr<Kernel> make_and(const KernelInfo& info) { return make_logic<std::logical_and<>>(info, "and"); }
std::unique_ptr<Kernel> make_or(const KernelInfo& info) { return make_logic<std::logical_or<>>(info, "or"); }
std::unique_ptr<Kernel> make_xor(const KernelInfo& info) { return make_logic<XorOp>(info, "xor"); }

// ---------------------------------------------------------------------------------------------------------------
// Mod

// fmod = 1: the C remainder, x - trunc(x / y) * y (sign of the dividend), for every type.
// fmod = 0 (integers only): the floored remainder, x - floor(x / y) * y (sign of the divisor, Python's %):
// the C remainder r, plus y when r is non-zero and has the other sign than y.
std::unique_ptr<Kernel> make_mod(const KernelInfo& info) {
  const bool fmod = info.node().attr_i("fmod", 0) != 0;
  const DType dt = info.input(0).dtype;
  if (!fmod && (dt == DType::f32 || dt == DType::f64 || dt == DType::f16 || dt == DType::bf16))
    info.fail(std::string("input type ") + dtype_name(dt) + " needs attribute fmod = 1 (ONNX Mod)");
  const std::string where = info.graph.where(info.node_id);
  return make_same_type_binary<void>(info, "mod", AnyNumeric{}, [fmod, where](auto tag) {
    using C = compute_t<typename decltype(tag)::type>;
    return [fmod, where](C x, C y) -> C {
      if constexpr (std::is_floating_point_v<C>) {
        return C(std::fmod(x, y));
      } else {
        if (y == C(0)) throw Error(where + ": integer Mod by zero");
        if constexpr (std::is_signed_v<C>) {
          if (y == C(-1)) return C(0);  // avoids the overflow of INT_MIN % -1; the remainder is 0 anyway
          C r = C(x % y);
          if (!fmod && r != 0 && ((r < 0) != (y < 0))) r = C(r + y);
          return r;
        } else {
          return C(x % y);
        }
      }
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Pow

/// x^e for an integer base and a non-negative integer exponent, by squaring, wrapping like numpy's integer
/// power (computed in unsigned arithmetic, where wrapping is defined).
template <class T>
T int_pow(T x, uint64_t e) {
  using U = std::make_unsigned_t<T>;
  U r = 1, b = U(x);
  for (; e; e >>= 1, b = U(b * b))
    if (e & 1) r = U(r * b);
  return T(r);
}

template <class TB, class TE>
RunFn pow_loop(BroadcastN bc) {
  using CB = compute_t<TB>;
  using CE = compute_t<TE>;
  return binary_loop<TB, TE, TB>(std::move(bc), [](CB x, CE e) -> CB {
    if constexpr (std::is_integral_v<CB> && std::is_integral_v<CE>) {
      if (e >= 0) return int_pow<CB>(x, uint64_t(e));
    }
    // Floats: pow in double rounds once to the base's type (correctly rounded for float in all but rare
    // cases); integer bases with a float or negative exponent truncate the real power, as numpy's astype does.
    const double r = std::pow(double(x), double(e));
    if constexpr (std::is_integral_v<CB>) {
      // Out of range (or NaN): undefined in ONNX; 0 avoids the undefined behaviour of C++'s conversion.
      const double lim = std::ldexp(1.0, std::numeric_limits<CB>::digits);
      if (!(r >= -lim && r < lim)) return CB(0);
    }
    return CB(r);
  });
}

std::unique_ptr<Kernel> make_pow(const KernelInfo& info) {
  if (info.num_inputs() != 2) info.fail("expected 2 inputs, got " + std::to_string(info.num_inputs()));
  require_plain(info);
  const DType tb = info.input(0).dtype, te = info.input(1).dtype;
  if (info.graph.opset() < 12) require_same_type(info, 0, 1);
  require_out_type(info, tb);
  const Shape y = check_broadcast(info, 2);
  // x^2 with a constant exponent: the vector kernel (exact: x * x is what pow(x, 2) rounds to).
  if (tb == DType::f32 && info.in_shape(0) == y && info.in_const(1) && info.in_const(1)->numel() == 1) {
    double e = 0;
    visit_dtype(te, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_same_v<T, bool>) e = double(load_c(*info.in_const(1)->as<T>()));
    });
    if (e == 2.0) {
      const ek::UnaryTable& t = ek::unary_table(info.isa);
      return std::make_unique<ClosureKernel>(
          std::string("eltwise/pow2/") + t.isa, 0,
          [&t](ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) {
            const float* x = in[0].as<const float>();
            float* yy = out[0].as<float>();
            split_elements(ctx, in[0].numel(), [&](int64_t b, int64_t e2) {
              t.run(ek::UnaryOp::square, {}, x + b, yy + b, e2 - b);
            });
          });
    }
  }
  BroadcastN bc = BroadcastN::make(input_shapes(info, 2), y);
  RunFn fn;
  visit_dtype(tb, [&](auto btag) {
    using TB = typename decltype(btag)::type;
    if constexpr (is_float_v<TB> || std::is_same_v<TB, int32_t> || std::is_same_v<TB, int64_t>)
      visit_dtype(te, [&](auto etag) {
        using TE = typename decltype(etag)::type;
        if constexpr (!std::is_same_v<TE, bool>) fn = pow_loop<TB, TE>(bc);
      });
  });
  if (!fn)
    unsupported(info, std::string("base type ") + dtype_name(tb) + " with exponent type " + dtype_name(te) +
                          " is not supported (base: float, double, float16, bfloat16, int32, int64; exponent numeric)");
  return std::make_unique<ClosureKernel>(std::string("eltwise/pow/") + dtype_name(tb) + "_" + dtype_name(te),
                                         info.in_shape(0) == y ? 0 : -1, std::move(fn));
}

// ---------------------------------------------------------------------------------------------------------------
// PRelu

// y = x < 0 ? slope * x : x. The slope broadcasts to X unidirectionally (opset 7+): the broadcast of the two
// shapes must be X's own shape.
std::unique_ptr<Kernel> make_prelu(const KernelInfo& info) {
  if (info.num_inputs() != 2) info.fail("expected 2 inputs (X, slope), got " + std::to_string(info.num_inputs()));
  const Shape x = info.in_shape(0), s = info.in_shape(1);
  if (broadcast_shapes(info.graph, info.node_id, x, s) != x)
    info.fail("slope '" + info.input(1).name + "' has shape " + shape_str(s) + ", which does not broadcast to X's " +
              shape_str(x) + " (PRelu broadcasts the slope one way)");
  const DType dt = info.input(0).dtype;
  if (dt == DType::boolean) bad_type(info, 0, "expected a numeric type");
  return make_same_type_binary<void>(info, "prelu", AnyNumeric{}, [](auto tag) {
    using C = compute_t<typename decltype(tag)::type>;
    return [](C v, C slope) { return v < C(0) ? C(slope * v) : v; };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Max, Min, Sum, Mean (variadic)

enum class Variadic { max, min, sum, mean };

// y = in0 (broadcast), then y = op(y, in_k) for k = 1..n-1, each step broadcasting in_k to y's shape; Mean
// divides the sum by n at the end. max/min propagate NaN (numpy's maximum/minimum): max(x, y) = x when x > y
// or x is NaN, else y (which is NaN when y is).
template <class T>
RunFn variadic_loop(Variadic op, std::vector<BroadcastN> steps, int64_t n_out) {
  return [op, steps = std::move(steps), n_out](ExecContext& ctx, std::span<const TensorView> in,
                                               std::span<const TensorView> out) {
    using C = compute_t<T>;
    T* y = out[0].as<T>();
    {
      const T* a = in[0].as<const T>();
      const BroadcastN& bc = steps[0];
      const int64_t sa = bc.row_stride[0];
      run_broadcast(ctx, bc, [&](int64_t oy, const int64_t* off, int64_t n) {
        if (y + oy != a + off[0] || sa != 1)
          for (int64_t i = 0; i < n; ++i) y[oy + i] = a[off[0] + i * sa];
      });
    }
    for (size_t k = 1; k < steps.size(); ++k) {
      const T* b = in[k].as<const T>();
      const BroadcastN& bc = steps[k];
      const int64_t sb = bc.row_stride[1];
      run_broadcast(ctx, bc, [&](int64_t oy, const int64_t* off, int64_t n) {
        T* py = y + oy;
        const T* pb = b + off[1];
        for (int64_t i = 0; i < n; ++i) {
          const C p = load_c(py[i]), q = load_c(pb[i * sb]);
          C r;
          switch (op) {
            case Variadic::max: r = (p > q || p != p) ? p : q; break;
            case Variadic::min: r = (p < q || p != p) ? p : q; break;
            default: r = C(p + q); break;
          }
          py[i] = store_c<T>(r);
        }
      });
    }
    if constexpr (is_float_v<T>) {
      if (op == Variadic::mean) {
        const C inv_n = C(steps.size());
        split_elements(ctx, n_out, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) y[i] = store_c<T>(C(load_c(y[i]) / inv_n));
        });
      }
    }
  };
}

template <Variadic Op>
std::unique_ptr<Kernel> make_variadic(const KernelInfo& info) {
  static const char* names[] = {"max", "min", "sum", "mean"};
  const int n = info.num_inputs();
  if (n < 1) info.fail("expected at least 1 input");
  for (int i = 0; i < n; ++i)
    if (!info.has_input(i)) info.fail("input " + std::to_string(i) + " is absent");
  require_plain(info);
  for (int i = 1; i < n; ++i) require_same_type(info, 0, i);
  const DType dt = info.input(0).dtype;
  require_out_type(info, dt);
  // Before opset 8 the inputs must all have the same shape; from 8 they broadcast.
  if (info.graph.opset() < 8)
    for (int i = 1; i < n; ++i)
      if (info.in_shape(i) != info.in_shape(0))
        info.fail("input shapes " + shape_str(info.in_shape(0)) + " and " + shape_str(info.in_shape(i)) +
                  " differ (no broadcasting before opset 8)");
  const Shape y = check_broadcast(info, n);
  std::vector<BroadcastN> steps{BroadcastN::make({info.in_shape(0)}, y)};
  for (int i = 1; i < n; ++i) steps.push_back(BroadcastN::make({y, info.in_shape(i)}, y));
  RunFn fn;
  visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr bool ok = Op == Variadic::max || Op == Variadic::min ? !std::is_same_v<T, bool> : is_float_v<T>;
    if constexpr (ok) fn = variadic_loop<T>(Op, std::move(steps), num_elements(y));
  });
  if (!fn)
    bad_type(info, 0, std::string(Op == Variadic::max || Op == Variadic::min ? "expected a numeric type"
                                                                             : "expected a floating-point type"));
  return std::make_unique<ClosureKernel>(std::string("eltwise/") + names[int(Op)] + "/" + dtype_name(dt),
                                         info.in_shape(0) == y ? 0 : -1, std::move(fn));
}

// ---------------------------------------------------------------------------------------------------------------
// Where

// y = cond ? x : y over the broadcast of the three inputs. Only the element size matters (a bitwise copy), so
// every dtype runs through one of four loops.
template <class E>
RunFn where_loop(BroadcastN bc) {
  return [bc = std::move(bc)](ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) {
    const bool* c = in[0].as<const bool>();
    const E* x = in[1].as<const E>();
    const E* y = in[2].as<const E>();
    E* z = out[0].as<E>();
    const int64_t sc = bc.row_stride[0], sx = bc.row_stride[1], sy = bc.row_stride[2];
    run_broadcast(ctx, bc, [&](int64_t oz, const int64_t* off, int64_t n) {
      const bool* pc = c + off[0];
      const E* px = x + off[1];
      const E* py = y + off[2];
      for (int64_t i = 0; i < n; ++i) z[oz + i] = pc[i * sc] ? px[i * sx] : py[i * sy];
    });
  };
}

std::unique_ptr<Kernel> make_where(const KernelInfo& info) {
  if (info.num_inputs() != 3) info.fail("expected 3 inputs (condition, X, Y), got " + std::to_string(info.num_inputs()));
  require_plain(info);
  if (info.input(0).dtype != DType::boolean) bad_type(info, 0, "expected bool (the condition)");
  require_same_type(info, 1, 2);
  const DType dt = info.input(1).dtype;
  require_out_type(info, dt);
  const Shape y = check_broadcast(info, 3);
  BroadcastN bc = BroadcastN::make(input_shapes(info, 3), y);
  RunFn fn;
  switch (dtype_size(dt)) {
    case 1: fn = where_loop<uint8_t>(std::move(bc)); break;
    case 2: fn = where_loop<uint16_t>(std::move(bc)); break;
    case 4: fn = where_loop<uint32_t>(std::move(bc)); break;
    case 8: fn = where_loop<uint64_t>(std::move(bc)); break;
    default: bad_type(info, 1, "which Where does not support");
  }
  return std::make_unique<ClosureKernel>(std::string("eltwise/where/") + dtype_name(dt), -1, std::move(fn));
}

}  // namespace

void register_broadcast_ops(KernelRegistry& r) {
  r.add("", "Pow", make_pow);
  r.add("", "PRelu", make_prelu);
  r.add("", "Max", make_variadic<Variadic::max>);
  r.add("", "Min", make_variadic<Variadic::min>);
  r.add("", "Sum", make_variadic<Variadic::sum>);
  r.add("", "Mean", make_variadic<Variadic::mean>);
  r.add("", "Mod", make_mod);
  r.add("", "Equal", make_equal);
  r.add("", "Less", make_less);
  r.add("", "Greater", make_greater);
  r.add("", "LessOrEqual", make_less_equal);
  r.add("", "GreaterOrEqual", make_greater_equal);
  r.add("", "And", make_and);
  r.add("", "Or", make_or);
  r.add("", "Xor", make_xor);
  r.add("", "Where", make_where);
}

}  // namespace octet::ops
