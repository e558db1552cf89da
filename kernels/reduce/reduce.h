// Reductions and row normalisation (FP32): the loops behind ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/
// LogSumExp/SumSquare, LayerNormalization, InstanceNormalization and LogSoftmax.
//
// Every reduction is brought to one of two memory patterns by the op (engine/ops/reduce.cpp), after merging
// adjacent dims that are all kept or all reduced:
//   rows:    [rows][len]         reduce the contiguous last axis (LayerNorm's mean, spatial means of NCHW)
//   strided: [len][inner]        reduce the middle axis of a block, `inner` independent columns at once
//                                (ConvNeXt's channel mean: axis 1 of NCHW is [C][HW] per image)
// Anything else is permuted into the rows pattern first. The loops are written once with xsimd
// (reduce_impl.h) and compiled per ISA (reduce_sse2.cpp, reduce_avx2.cpp, reduce_avx512.cpp); reduce_ref.cpp is
// the scalar, double-accumulating reference the tests compare against.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace octet::kernels::reduce {

/// The accumulation a reduction does; the op applies the final map (mean: / n, L2: sqrt, LogSum: log).
///   sum: sum x   sum_abs: sum |x|   sum_sq: sum x^2   max, min, prod
///   log_sum_exp: m + log(sum exp(x - m)), m = max x (stable: every exponent <= 0)
/// An empty reduction (len 0) gives the identity: 0, 0, 0, -inf, +inf, 1, -inf.
enum class Op { sum, sum_abs, sum_sq, max, min, prod, log_sum_exp };

struct Table {
  const char* isa;
  /// y[r] = op(x[r*len .. r*len + len)) for r < rows.
  void (*rows)(Op op, const float* x, float* y, int64_t rows, int64_t len);
  /// y[i] = op(x[l*stride + i] for l < len) for i < inner: `inner` columns of one [len][stride] block (a
  /// caller splitting the columns across threads passes inner < stride).
  void (*strided)(Op op, const float* x, float* y, int64_t len, int64_t inner, int64_t stride);
  /// Normalises one row of len values: mean m, var v = mean((x - m)^2) (two passes), inv = 1/sqrt(v + eps),
  /// y = (x - m) * inv * scale + bias. scale/bias: len values each when per_element, else one value each;
  /// bias may be null (0). Writes m and inv to *mean, *inv_std when not null. In place (y == x) is allowed.
  void (*normalize_row)(const float* x, float* y, int64_t len, float eps, const float* scale, const float* bias,
                        bool per_element, float* mean, float* inv_std);
  /// LogSoftmax over `rows` contiguous rows: y = x - m - log(sum exp(x - m)), m the row max. In place allowed.
  void (*log_softmax_rows)(const float* x, float* y, int64_t rows, int64_t len);
};

/// The best variant whose tier is at most `max` (and that this CPU runs).
const Table& table(Isa max);

const Table& table_sse2();
const Table& table_avx2();
const Table& table_avx512();

/// Scalar references (double accumulators): y[o*inner + i] = op over l of x[(o*len + l)*inner + i].
void reduce_ref(Op op, const float* x, float* y, int64_t outer, int64_t len, int64_t inner);
void normalize_row_ref(const float* x, float* y, int64_t len, float eps, const float* scale, const float* bias,
                       bool per_element, float* mean, float* inv_std);
void log_softmax_ref(const float* x, float* y, int64_t outer, int64_t len, int64_t inner);
/// ArgMax (is_max) / ArgMin over the middle axis of [outer][len][inner]: y[o*inner + i] = the index l of the
/// first (or with last, the last) extreme value. Not a hot op: one scalar loop, rows streamed in order.
void arg_reduce(bool is_max, bool last, const float* x, int64_t* y, int64_t outer, int64_t len, int64_t inner);

}  // namespace octet::kernels::reduce
