// Element-wise kernels (FP32 activations, binary arithmetic, softmax, per-channel scale/shift; integer Clip).
//
// Pure compute over raw pointers. Each loop is written once with xsimd batch types (eltwise_impl.h) and compiled
// per ISA (eltwise_avx2.cpp, eltwise_avx512.cpp, and eltwise_sse2.cpp for the baseline "scalar" tier, whose
// x86-64 baseline already has SSE2). table() returns the best variant at or below a tier.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace octet::kernels::eltwise {

enum class BinaryOp { add = 0, sub = 1, mul = 2, div = 3 };

struct Table {
  const char* isa;  // name of the variant, e.g. "avx2"
  int lanes;        // floats per vector

  void (*relu)(const float* x, float* y, int64_t n);
  /// y = min(max(x, lo), hi)
  void (*clip)(const float* x, float* y, int64_t n, float lo, float hi);
  /// Integer Clip, y = min(max(x, lo), hi), exact (uint8 / int8 for the int8 graph, int32 / int64 for shapes).
  void (*clip_u8)(const uint8_t* x, uint8_t* y, int64_t n, uint8_t lo, uint8_t hi);
  void (*clip_s8)(const int8_t* x, int8_t* y, int64_t n, int8_t lo, int8_t hi);
  void (*clip_i32)(const int32_t* x, int32_t* y, int64_t n, int32_t lo, int32_t hi);
  void (*clip_i64)(const int64_t* x, int64_t* y, int64_t n, int64_t lo, int64_t hi);
  /// y = x >= 0 ? x : alpha * x
  void (*leaky_relu)(const float* x, float* y, int64_t n, float alpha);
  /// y = 1 / (1 + exp(-x)), with exp from exp_approx below.
  void (*sigmoid)(const float* x, float* y, int64_t n);
  /// y = exp(x), polynomial approximation (max relative error 1.2e-7 over [-87, 88], tested); exposed for tests.
  void (*exp)(const float* x, float* y, int64_t n);
  /// y[i] = a[i * sa] op b[i * sb] with strides sa, sb in {0, 1}: 0 broadcasts a single value.
  void (*binary)(BinaryOp op, const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n);
  /// Softmax over `rows` contiguous rows of `len` elements each (stable: exp(x - max) / sum).
  void (*softmax_rows)(const float* x, float* y, int64_t rows, int64_t len);
  /// Softmax over the middle axis of one [len][inner] block, independently for each of the `inner` columns.
  void (*softmax_strided)(const float* x, float* y, int64_t len, int64_t inner);
  /// y = x * a + b for n elements (one channel plane of NCHW).
  void (*scale_shift)(const float* x, float* y, int64_t n, float a, float b);
  /// y[r][c] = x[r][c] * a[c] + b[c] for `rows` rows of `c` channels (NHWC).
  void (*scale_shift_channels)(const float* x, float* y, int64_t rows, int64_t c, const float* a, const float* b);
};

/// The best variant whose tier is at most `max` (and that this CPU runs).
const Table& table(Isa max);

// Per-ISA tables, defined in the ISA files (only those the build compiled are linked).
const Table& table_sse2();
const Table& table_avx2();
const Table& table_avx512();

}  // namespace octet::kernels::eltwise
