// FP32 pooling kernels: MaxPool / AveragePool over 1-D or 2-D windows (1-D runs as H = 1) and GlobalAveragePool,
// for NCHW (plain) and NHWC (channels innermost, vectorised over C) layouts.
//
// Written once with xsimd in pool_impl.h, compiled per ISA (pool_sse2.cpp baseline, pool_avx2.cpp,
// pool_avx512.cpp); table() picks the best variant at or below a tier. Pure compute: the caller splits work
// across threads by giving row / plane / channel ranges.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace octet::kernels::pool {

/// Window geometry of a 2-D pool. Output (oh, ow) reads input rows ih = oh*sh - pad_t + kh*dh for kh < kh_count
/// (and likewise for columns); taps outside [0, H) x [0, W) are padding.
struct Geom {
  int64_t c = 0, h = 0, w = 0;      // input channels and spatial size (one image)
  int64_t oh = 0, ow = 0;           // output spatial size
  int64_t kh = 1, kw = 1;           // kernel
  int64_t sh = 1, sw = 1;           // strides
  int64_t dh = 1, dw = 1;           // dilations
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  // AveragePool: divide by the taps inside the padded input [-pad_t, h+pad_b) x [-pad_l, w+pad_r) when set
  // (so positions added by ceil_mode beyond the pads never count), else by the taps inside the input.
  bool count_include_pad = false;
};

enum class PoolKind { max = 0, avg = 1 };

struct Table {
  const char* isa;
  /// `planes` consecutive NCHW planes (h*w each in, oh*ow each out).
  void (*pool_nchw)(PoolKind kind, const Geom& g, const float* x, float* y, int64_t planes);
  /// Output rows [oh0, oh1) of one NHWC image (x: h*w*c, y: oh*ow*c).
  void (*pool_nhwc)(PoolKind kind, const Geom& g, const float* x, float* y, int64_t oh0, int64_t oh1);
  /// Mean of each of `planes` contiguous planes of `hw` floats.
  void (*global_avg_nchw)(const float* x, float* y, int64_t planes, int64_t hw);
  /// Channels [c0, c1) of one NHWC image of hw rows by c channels: y[ch] = mean over rows of x[row][ch].
  void (*global_avg_nhwc)(const float* x, float* y, int64_t hw, int64_t c, int64_t c0, int64_t c1);
};

const Table& table(Isa max);
const Table& table_sse2();
const Table& table_avx2();
const Table& table_avx512();

}  // namespace octet::kernels::pool
