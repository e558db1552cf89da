// Unary element-wise math ops: Abs, Neg, Exp, Log, Sqrt, Reciprocal, Tanh, Erf, Floor, Ceil, Round, Sin, Cos,
// Sign, Softplus, Softsign, Elu, Selu, Celu, HardSigmoid, HardSwish, ThresholdedRelu (float32, vectorised in
// kernels/eltwise/unary_math*), Abs / Neg / Sign also on the other numeric types (scalar loops), and the
// predicates IsNaN, IsInf (float -> bool) and Not (bool).
#include <cmath>
#include <cstring>

#include "engine/ops/elt_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"
#include "kernels/eltwise/unary_math.h"

namespace octet::ops {
namespace {

namespace ek = kernels::eltwise;

void require_same_layout_1(const KernelInfo& info) {
  if (info.input(0).layout != info.output(0).layout)
    unsupported(info, std::string("input layout ") + layout_name(info.input(0).layout) + " differs from output layout " +
                          layout_name(info.output(0).layout));
}

/// Float32: the vector kernel over the flat tensor (layout-agnostic: the same function of every element).
std::unique_ptr<Kernel> make_unary_f32(const KernelInfo& info, ek::UnaryOp op, const ek::UnaryParams& p) {
  const ek::UnaryTable& t = ek::unary_table(info.isa);
  return std::make_unique<ClosureKernel>(
      std::string("eltwise/") + ek::unary_op_name(op) + "/" + t.isa, 0,
      [&t, op, p](ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) {
        const float* x = in[0].as<const float>();
        float* y = out[0].as<float>();
        split_elements(ctx, in[0].numel(), [&](int64_t b, int64_t e) { t.run(op, p, x + b, y + b, e - b); });
      });
}

/// Abs, Neg, Sign on the integer types and float64 / float16 / bfloat16 (scalar loops, exact). Integer Neg
/// and Abs wrap at the most negative value as two's complement does (numpy's behaviour).
template <class T>
std::unique_ptr<Kernel> make_unary_generic(ek::UnaryOp op) {
  return std::make_unique<ClosureKernel>(
      std::string("eltwise/") + ek::unary_op_name(op) + "/scalar", 0,
      [op](ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) {
        const T* x = in[0].as<const T>();
        T* y = out[0].as<T>();
        using C = compute_t<T>;
        split_elements(ctx, in[0].numel(), [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            const C v = load_c(x[i]);
            C r = v;
            if (op == ek::UnaryOp::neg) {
              if constexpr (std::is_unsigned_v<C>) r = C(C(0) - v); else r = C(-v);
            } else if (op == ek::UnaryOp::abs) {
              if constexpr (!std::is_unsigned_v<C>) r = v < C(0) ? C(-v) : v;
            } else {  // sign: 1, -1 or the value itself (0 and NaN)
              r = v > C(0) ? C(1) : v < C(0) ? C(-1) : v;
            }
            y[i] = store_c<T>(r);
          }
        });
      });
}

std::unique_ptr<Kernel> make_unary_op(const KernelInfo& info, ek::UnaryOp op, ek::UnaryParams p = {}) {
  if (info.num_inputs() != 1) info.fail("expected 1 input, got " + std::to_string(info.num_inputs()));
  require_same_layout_1(info);
  const DType dt = info.input(0).dtype;
  if (info.output(0).dtype != dt)
    info.fail(std::string("output has type ") + dtype_name(info.output(0).dtype) + ", expected " + dtype_name(dt));
  if (dt == DType::f32) return make_unary_f32(info, op, p);
  const bool generic = op == ek::UnaryOp::abs || op == ek::UnaryOp::neg || op == ek::UnaryOp::sign;
  std::unique_ptr<Kernel> k;
  if (generic && dt != DType::boolean)
    visit_dtype(dt, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_same_v<T, bool>) k = make_unary_generic<T>(op);
    });
  if (!k)
    unsupported(info, std::string("input '") + info.input(0).name + "' has type " + dtype_name(dt) + ", only float32" +
                          (generic ? " and the other numeric types are" : " is") + " supported");
  return k;
}

template <ek::UnaryOp Op>
std::unique_ptr<Kernel> make_plain_unary(const KernelInfo& info) {
  return make_unary_op(info, Op);
}

std::unique_ptr<Kernel> make_elu(const KernelInfo& info) {
  return make_unary_op(info, ek::UnaryOp::elu, {info.node().attr_f("alpha", 1.f), 0, 0});
}
std::unique_ptr<Kernel> make_selu(const KernelInfo& info) {
  return make_unary_op(info, ek::UnaryOp::selu,
                       {info.node().attr_f("alpha", 1.67326319217681884765625f), 0,
                        info.node().attr_f("gamma", 1.05070102214813232421875f)});
}
std::unique_ptr<Kernel> make_celu(const KernelInfo& info) {
  const float alpha = info.node().attr_f("alpha", 1.f);
  if (alpha == 0.f) info.fail("attribute alpha is 0 (Celu divides by it)");
  return make_unary_op(info, ek::UnaryOp::celu, {alpha, 0, 0});
}
std::unique_ptr<Kernel> make_hard_sigmoid(const KernelInfo& info) {
  return make_unary_op(info, ek::UnaryOp::hard_sigmoid,
                       {info.node().attr_f("alpha", 0.2f), info.node().attr_f("beta", 0.5f), 0});
}
std::unique_ptr<Kernel> make_thresholded_relu(const KernelInfo& info) {
  return make_unary_op(info, ek::UnaryOp::thresholded_relu, {info.node().attr_f("alpha", 1.f), 0, 0});
}

// ---------------------------------------------------------------------------------------------------------------
// Predicates: IsNaN, IsInf (float -> bool), Not (bool -> bool)

template <class T, class Pred>
RunFn predicate_loop(Pred pred) {
  return [pred](ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) {
    const T* x = in[0].as<const T>();
    bool* y = out[0].as<bool>();
    split_elements(ctx, in[0].numel(), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y[i] = pred(load_c(x[i]));
    });
  };
}

/// IsNaN / IsInf: input float32, float64, float16 or bfloat16; output bool of the same shape.
std::unique_ptr<Kernel> make_float_predicate(const KernelInfo& info, bool is_inf) {
  require_plain(info);
  const DType dt = info.input(0).dtype;
  if (info.output(0).dtype != DType::boolean)
    info.fail(std::string("output has type ") + dtype_name(info.output(0).dtype) + ", expected bool");
  // IsInf (opset 10): detect_negative / detect_positive choose which infinities count.
  const bool neg = info.node().attr_i("detect_negative", 1) != 0, pos = info.node().attr_i("detect_positive", 1) != 0;
  RunFn fn;
  visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (is_float_v<T>) {
      if (is_inf)
        fn = predicate_loop<T>([neg, pos](auto v) { return std::isinf(v) && (v > 0 ? pos : neg); });
      else
        fn = predicate_loop<T>([](auto v) { return std::isnan(v); });
    }
  });
  if (!fn)
    unsupported(info, std::string("input '") + info.input(0).name + "' has type " + dtype_name(dt) +
                          ", expected a floating-point type");
  return std::make_unique<ClosureKernel>(is_inf ? "eltwise/isinf/scalar" : "eltwise/isnan/scalar", -1, std::move(fn));
}

std::unique_ptr<Kernel> make_isnan(const KernelInfo& info) { return make_float_predicate(info, false); }
std::unique_ptr<Kernel> make_isinf(const KernelInfo& info) { return make_float_predicate(info, true); }

std::unique_ptr<Kernel> make_not(const KernelInfo& info) {
  require_same_layout_1(info);
  if (info.input(0).dtype != DType::boolean)
    info.fail(std::string("input '") + info.input(0).name + "' has type " + dtype_name(info.input(0).dtype) +
              ", expected bool");
  return std::make_unique<ClosureKernel>("eltwise/not/scalar", 0, predicate_loop<bool>([](bool v) { return !v; }));
}

}  // namespace

void register_eltwise_math(KernelRegistry& r) {
  using U = ek::UnaryOp;
  r.add("", "Abs", make_plain_unary<U::abs>);
  r.add("", "Neg", make_plain_unary<U::neg>);
  r.add("", "Exp", make_plain_unary<U::exp>);
  r.add("", "Log", make_plain_unary<U::log>);
  r.add("", "Sqrt", make_plain_unary<U::sqrt>);
  r.add("", "Reciprocal", make_plain_unary<U::reciprocal>);
  r.add("", "Tanh", make_plain_unary<U::tanh>);
  r.add("", "Erf", make_plain_unary<U::erf>);
  r.add("", "Floor", make_plain_unary<U::floor>);
  r.add("", "Ceil", make_plain_unary<U::ceil>);
  r.add("", "Round", make_plain_unary<U::round>);
  r.add("", "Sin", make_plain_unary<U::sin>);
  r.add("", "Cos", make_plain_unary<U::cos>);
  r.add("", "Sign", make_plain_unary<U::sign>);
  r.add("", "Softplus", make_plain_unary<U::softplus>);
  r.add("", "Softsign", make_plain_unary<U::softsign>);
  r.add("", "Elu", make_elu);
  r.add("", "Selu", make_selu);
  r.add("", "Celu", make_celu);
  r.add("", "HardSigmoid", make_hard_sigmoid);
  r.add("", "HardSwish", make_plain_unary<U::hard_swish>);
  r.add("", "ThresholdedRelu", make_thresholded_relu);
  r.add("", "IsNaN", make_isnan);
  r.add("", "IsInf", make_isinf);
  r.add("", "Not", make_not);
}

}  // namespace octet::ops
