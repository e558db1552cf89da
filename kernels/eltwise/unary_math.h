// Float32 element-wise math (the unary ops of ONNX beyond the activations in eltwise.h): Abs, Neg, Exp, Log,
// Sqrt, Reciprocal, Tanh, Erf, Floor, Ceil, Round, Sin, Cos, Sign, Softplus, Softsign, Elu, Selu, Celu,
// HardSigmoid, HardSwish, ThresholdedRelu, and x * x (Pow with exponent 2).
//
// Pure compute over raw pointers. The vector loops are written once with xsimd (unary_math_impl.h: xsimd's own
// exp/log/tanh/erf/sin/cos, within a few ulp of the correctly rounded result, IEEE special values kept) and
// compiled per ISA; unary_ref() is the scalar reference (<cmath> in double, rounded once) the tests hold them to.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace octet::kernels::eltwise {

enum class UnaryOp {
  abs, neg, exp, log, sqrt, reciprocal, tanh, erf, floor, ceil, round, sin, cos, sign,
  softplus,         // log(1 + e^x)
  softsign,         // x / (1 + |x|)
  elu,              // x < 0 ? alpha * (e^x - 1) : x
  selu,             // gamma * (x <= 0 ? alpha * (e^x - 1) : x)
  celu,             // max(0, x) + min(0, alpha * (e^(x / alpha) - 1))
  hard_sigmoid,     // max(0, min(1, alpha * x + beta))
  hard_swish,       // x * max(0, min(1, x / 6 + 1/2))
  thresholded_relu, // x > alpha ? x : 0
  square,           // x * x
  count
};

/// Name of an op for kernel names and messages ("tanh", "hard_swish", ...).
const char* unary_op_name(UnaryOp op);

/// The attributes an op reads (unused ones are ignored).
struct UnaryParams {
  float alpha = 0, beta = 0, gamma = 0;
};

struct UnaryTable {
  const char* isa;
  void (*run)(UnaryOp op, const UnaryParams& p, const float* x, float* y, int64_t n);
};

/// The best variant whose tier is at most `max` (and that this CPU runs).
const UnaryTable& unary_table(Isa max);

/// Scalar reference: each element through <cmath> in double precision, rounded to float once.
void unary_ref(UnaryOp op, const UnaryParams& p, const float* x, float* y, int64_t n);

const UnaryTable& unary_table_sse2();
const UnaryTable& unary_table_avx2();
const UnaryTable& unary_table_avx512();

}  // namespace octet::kernels::eltwise
