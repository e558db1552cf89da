// Quantized convolution through oneDNN 2.6 (int8: u8 NHWC activations x s8 per-output-channel weights), with
// exactly the semantics of octet's own QConv (kernels/qconv/qconv.h, epilogue of kernels/qgemm/qgemm.h):
//
//   y = Q_y( act( s_x * s_w[j] * (sum (x - z_x) * w + B[j]) + s_r * (r - z_r) ) ),  padding taps read x = z_x
//
// It is octet's fallback for QConv shapes the hand paths cannot take and, under OCTET_BACKEND=onednn, the
// comparison backend. How each term maps onto oneDNN's int8 convolution (the algebra is at the code in
// qconv_onednn.cpp):
//   - scale[j] = s_x * s_w[j] / s_y      -> output scales, per output channel (mask 1 << 1 on dst)
//   - B[j]                                -> s32 bias, added to the accumulator before the output scale
//   - z_x                                 -> folded into the bias (B'[j] = B[j] - z_x * colsum(w)[j]) when no tap
//                                            ever reads padding; else oneDNN's runtime source zero point, whose
//                                            padding is z_x as octet's (oneDNN then skips its fastest kernels)
//   - s_r/s_y * (r - z_r)                 -> `sum` post-op (scale s_r/s_y, zero point z_r): the residual must sit
//                                            in dst when the primitive runs (run() copies it unless r == y)
//   - act, i.e. clamp to [lo, hi]        -> `eltwise` post-op: relu when lo = z_y, hi = 255; clip to
//                                            [lo - z_y, hi - z_y] otherwise (the same float clamp as octet's)
//   - z_y                                 -> oneDNN's destination zero point, added before the u8 saturation
//
// Results: equal to qconv_ref() or 1 LSB off (oneDNN adds the bias and the residual term in its own order of
// float operations), PROVIDED no u8 x s8 pair sum overflows int16: oneDNN 2.6 on AVX2 without VNNI multiplies
// with vpmaddubsw, which saturates a pair of products at 32767 (255 * 127 * 2 = 64770 does). Octet's own AVX2
// path is exact; this one is not, by oneDNN's design (see tests/unit/qconv_onednn.cpp for the measured bound).
//
// Thread safety: run() is const and may run concurrently: the scratchpad is the caller's workspace, the stream
// one per calling thread. Debian's oneDNN runs on OpenMP: run() sets the calling thread's OpenMP team size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/qconv/qconv.h"

namespace octet::kernels::qconv {

class QConvOnednn {
 public:
  /// w: ONNX order [OC][IC/groups][KH][KW] s8; bias: OC int32 (may be null); scale: OC floats
  /// s_x * s_w[j] / s_y; ep: zero_point, lo, hi and, when `residual`, residual_scale and residual_zero_point
  /// (its pointers are ignored). threads: the most OpenMP threads run() will use.
  /// Throws dnnl::error when no oneDNN implementation accepts the problem.
  QConvOnednn(const Geom& g, const int8_t* w, const int32_t* bias, const float* scale, int32_t za,
              const qgemm::Epilogue& ep, bool residual, int threads = 1);
  ~QConvOnednn();
  /// The same, or null when oneDNN has no implementation for the problem (the caller runs octet's path).
  static std::unique_ptr<QConvOnednn> try_create(const Geom& g, const int8_t* w, const int32_t* bias,
                                                 const float* scale, int32_t za, const qgemm::Epilogue& ep,
                                                 bool residual, int threads = 1);
  QConvOnednn(const QConvOnednn&) = delete;
  QConvOnednn& operator=(const QConvOnednn&) = delete;

  /// oneDNN's scratchpad, which run() takes from the caller.
  size_t workspace_bytes() const;
  /// oneDNN's implementation name, e.g. "brgconv:avx512_core_vnni" or "jit_int8_1x1:avx2".
  std::string impl() const;
  /// True when z_x went into the bias (no padding tap), false when it is oneDNN's source zero point.
  bool zero_point_folded() const;
  const Geom& geom() const { return g_; }

  /// y (NHWC u8, rows() x OC) from x (NHWC u8). residual: NHWC u8 of y's shape, or null; it may equal y.
  /// threads: the OpenMP team size (clamped to the constructor's).
  void run(const uint8_t* x, const uint8_t* residual, uint8_t* y, void* workspace, int threads = 1) const;

 private:
  struct Impl;
  Geom g_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace octet::kernels::qconv
