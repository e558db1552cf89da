// Pooling kernels: MaxPool / AveragePool over 1-D, 2-D or 3-D windows (1-D runs as H = 1, 2-D as D = 1) and
// GlobalAveragePool, for NCHW (plain) and NHWC (channels innermost, vectorised over C; 2-D only) layouts.
// FP32 for both pools; MaxPool also on uint8 and int8 (exact: max commutes with any monotone quantization, so
// the int8 graph pools quantized values directly). MaxPool's optional Indices output has a scalar path.
//
// Written once with xsimd in pool_impl.h, compiled per ISA (pool_sse2.cpp baseline, pool_avx2.cpp,
// pool_avx512.cpp); table() picks the best variant at or below a tier. Pure compute: the caller splits work
// across threads by giving row / plane / channel ranges.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace octet::kernels::pool {

/// Window geometry of a pool over up to 3 spatial dims (depth, height, width). Output (oh, ow) reads input rows
/// ih = oh*sh - pad_t + kh*dh for kh < kh_count (and likewise for columns and depth slices); taps outside
/// [0, D) x [0, H) x [0, W) are padding. The depth fields keep their defaults (one slice, no padding) for 1-D
/// and 2-D pools, so a 2-D caller never sets them.
struct Geom {
  int64_t c = 0, h = 0, w = 0;      // input channels and spatial size (one image)
  int64_t oh = 0, ow = 0;           // output spatial size
  int64_t kh = 1, kw = 1;           // kernel
  int64_t sh = 1, sw = 1;           // strides
  int64_t dh = 1, dw = 1;           // dilations
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  // Depth (3-D pools, NCHW only): input slices, output slices, kernel, stride, dilation, front / back pads.
  int64_t d = 1, od = 1, kd = 1, sd = 1, dd = 1, pad_f = 0, pad_bk = 0;
  // AveragePool: divide by the taps inside the padded input [-pad_t, h+pad_b) x [-pad_l, w+pad_r) (x depth) when set
  // (so positions added by ceil_mode beyond the pads never count), else by the taps inside the input.
  bool count_include_pad = false;
};

enum class PoolKind { max = 0, avg = 1 };

struct Table {
  const char* isa;
  /// `planes` consecutive NCHW planes (d*h*w each in, od*oh*ow each out).
  void (*pool_nchw)(PoolKind kind, const Geom& g, const float* x, float* y, int64_t planes);
  /// Output rows [oh0, oh1) of one NHWC image (x: h*w*c, y: oh*ow*c). 2-D only (g.d == 1).
  void (*pool_nhwc)(PoolKind kind, const Geom& g, const float* x, float* y, int64_t oh0, int64_t oh1);
  /// MaxPool on uint8 / int8, same contracts as pool_nchw / pool_nhwc.
  void (*max_nchw_u8)(const Geom& g, const uint8_t* x, uint8_t* y, int64_t planes);
  void (*max_nchw_s8)(const Geom& g, const int8_t* x, int8_t* y, int64_t planes);
  void (*max_nhwc_u8)(const Geom& g, const uint8_t* x, uint8_t* y, int64_t oh0, int64_t oh1);
  void (*max_nhwc_s8)(const Geom& g, const int8_t* x, int8_t* y, int64_t oh0, int64_t oh1);
  /// Mean of each of `planes` contiguous planes of `hw` floats.
  void (*global_avg_nchw)(const float* x, float* y, int64_t planes, int64_t hw);
  /// Channels [c0, c1) of one NHWC image of hw rows by c channels: y[ch] = mean over rows of x[row][ch].
  void (*global_avg_nhwc)(const float* x, float* y, int64_t hw, int64_t c, int64_t c0, int64_t c1);
};

const Table& table(Isa max);

/// MaxPool with its Indices output (scalar, NCHW, any of 1-3 spatial dims), for `planes` consecutive planes
/// starting at plane `plane0` of the whole tensor (Indices are flat indices into the whole N*C*D*H*W input, so
/// the plane number is part of them). ONNX's definition: within a plane, storage_order 0 numbers the spatial
/// positions row-major, (z*H + r)*W + col; storage_order 1 column-major, z + r*D + col*D*H; the plane adds
/// plane * D*H*W. Among equal maxima the first in row-major window order wins (as ONNX Runtime's loop).
void max_with_indices_f32(const Geom& g, const float* x, float* y, int64_t* idx, int64_t plane0, int64_t planes,
                          bool column_major);
void max_with_indices_u8(const Geom& g, const uint8_t* x, uint8_t* y, int64_t* idx, int64_t plane0, int64_t planes,
                         bool column_major);
void max_with_indices_s8(const Geom& g, const int8_t* x, int8_t* y, int64_t* idx, int64_t plane0, int64_t planes,
                         bool column_major);
const Table& table_sse2();
const Table& table_avx2();
const Table& table_avx512();

}  // namespace octet::kernels::pool
