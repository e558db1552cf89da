// Dispatch and the scalar reference of the float32 unary math kernels (unary_math.h).
#include "kernels/eltwise/unary_math.h"

#include <cmath>

namespace octet::kernels::eltwise {

const char* unary_op_name(UnaryOp op) {
  static const char* names[] = {"abs",      "neg",      "exp",  "log",  "sqrt",         "reciprocal",
                                "tanh",     "erf",      "floor", "ceil", "round",       "sin",
                                "cos",      "sign",     "softplus", "softsign", "elu",  "selu",
                                "celu",     "hard_sigmoid", "hard_swish", "thresholded_relu", "square"};
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(UnaryOp::count));
  return names[int(op)];
}

const UnaryTable& unary_table(Isa max) {
  const Isa isa = clamp_isa(max, detected_isa());
  if (int(isa) >= int(Isa::avx512)) return unary_table_avx512();
  if (int(isa) >= int(Isa::avx2)) return unary_table_avx2();
  return unary_table_sse2();
}

namespace {

double ref_one(UnaryOp op, const UnaryParams& p, double x) {
  const double a = p.alpha, b = p.beta, g = p.gamma;
  // The clamps below would turn NaN into a bound (std::min(1.0, NaN) is 1.0); numpy's clip keeps NaN.
  if (std::isnan(x) && op != UnaryOp::thresholded_relu) return x;
  switch (op) {
    case UnaryOp::abs: return std::fabs(x);
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::reciprocal: return 1.0 / x;
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::erf: return std::erf(x);
    case UnaryOp::floor: return std::floor(x);
    case UnaryOp::ceil: return std::ceil(x);
    case UnaryOp::round: return std::nearbyint(x);  // ties to even in the default rounding mode, as ONNX says
    case UnaryOp::sin: return std::sin(x);
    case UnaryOp::cos: return std::cos(x);
    case UnaryOp::sign: return x > 0 ? 1.0 : x < 0 ? -1.0 : x;  // 0 -> 0, NaN -> NaN
    case UnaryOp::softplus: return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
    case UnaryOp::softsign: return x / (1.0 + std::fabs(x));
    case UnaryOp::elu: return x < 0 ? a * std::expm1(x) : x;
    case UnaryOp::selu: return g * (x <= 0 ? a * std::expm1(x) : x);
    case UnaryOp::celu: return std::max(0.0, x) + std::min(0.0, a * std::expm1(x / a));
    case UnaryOp::hard_sigmoid: return std::max(0.0, std::min(1.0, a * x + b));
    case UnaryOp::hard_swish: return x * std::max(0.0, std::min(1.0, x / 6.0 + 0.5));
    case UnaryOp::thresholded_relu: return x > a ? x : 0.0;
    case UnaryOp::square: return x * x;
    case UnaryOp::count: break;
  }
  return x;
}

}  // namespace

void unary_ref(UnaryOp op, const UnaryParams& p, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float(ref_one(op, p, double(x[i])));
}

}  // namespace octet::kernels::eltwise
