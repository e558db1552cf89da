// Quantized convolution over NHWC u8 activations and s8 per-output-channel weights, built on kernels/qgemm.
//
// A convolution is a GEMM once each output pixel's receptive field is laid out as one row (im2col):
//   Y[r][j] = sum_{ky,kx,c} X[img][oy*sh - pad_t + ky*dh][ox*sw - pad_l + kx*dw][c] * W[j][ky][kx][c]
// with r = (img*OH + oy)*OW + ox (the GEMM's M), K = KH*KW*C/groups. A 1x1 stride-1 unpadded conv needs no
// copy at all: NHWC X already is that M x C matrix. Taps outside the image are filled with the activation zero
// point z_a: the GEMM computes sum (q - z_a) * w (z_a is folded into the packed bias, see qgemm.h), so a padding
// tap contributes (z_a - z_a) * w = 0, exactly the zero padding of the real-valued convolution.
//
// Depthwise convolution (groups == C == OC) has no reduction across channels, so it is its own loop with the
// channels in the vector lanes (depthwise_nhwc). Both share the requantizing epilogue of qgemm (the exact
// arithmetic is in qgemm.h), so every path gives the bits of qconv_ref().
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qconv {

/// Geometry of a 2-D convolution over N x H x W x IC (a 1-D one is H = KH = 1).
struct Geom {
  int64_t n = 1, h = 1, w = 1, ic = 1;
  int64_t oh = 1, ow = 1, oc = 1;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pad_t = 0, pad_l = 0;
  int64_t groups = 1;

  int64_t icg() const { return ic / groups; }
  int64_t ocg() const { return oc / groups; }
  /// GEMM rows: output pixels over the batch.
  int64_t rows() const { return n * oh * ow; }
  /// GEMM depth per group: taps x input channels of the group.
  int64_t k() const { return kh * kw * icg(); }
  /// True when NHWC X is the GEMM's A matrix itself.
  bool is_pointwise() const {
    return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pad_t == 0 && pad_l == 0 && oh == h && ow == w && groups == 1;
  }
  bool is_depthwise() const { return groups > 1 && groups == ic && groups == oc; }
};

/// Rows [r0, r1) of group `group`'s im2col matrix into `out` (row stride ldo >= k()): row r holds the taps in
/// (ky, kx, c) order for channels [group*icg, (group+1)*icg); taps outside the image hold za, and so do the
/// ldo - k() padding bytes at the end of each row (the GEMM's k rounded up to whole 4-byte groups, with zero
/// weights there: (za - za) * 0 = 0, and the packed bias fold z_a * colsum(w) is unchanged by zero columns).
void im2col_nhwc(const Geom& g, const uint8_t* x, uint8_t za, int64_t group, int64_t r0, int64_t r1, uint8_t* out,
                 int64_t ldo);

/// Depthwise conv, output rows [r0, r1) (r as above, each row C channels). `w` is [KH*KW][C] s8, `bias` C int32
/// (may be null). Requantizes with `ep` (kind u8; scale[c], residual m x C with row stride ld_residual, already
/// at row 0 of the tensor).
void depthwise_nhwc(const Geom& g, const uint8_t* x, int32_t za, const int8_t* w, const int32_t* bias,
                    const qgemm::Epilogue& ep, int64_t r0, int64_t r1, uint8_t* y);

/// The reference: plain loops over NHWC X and ONNX-ordered weights [OC][IC/groups][KH][KW], any groups,
/// u8 output through the same epilogue definition (residual, when given, is NHWC with row stride OC).
void qconv_ref(const Geom& g, const uint8_t* x, int32_t za, const int8_t* w, const int32_t* bias,
               const qgemm::Epilogue& ep, uint8_t* y);

/// One output value through the u8 epilogue of qgemm.h (residual value r, ignored when ep.residual is null).
uint8_t requantize_u8(int32_t acc, float scale, const qgemm::Epilogue& ep, int32_t r);

}  // namespace octet::kernels::qconv
