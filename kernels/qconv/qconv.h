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
#include <vector>

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

/// Depthwise weights for the SIMD depthwise kernels (depthwise_nhwc_avx2: 16 lanes, depthwise_nhwc_avx512: 32),
/// laid out at creation in the order their loop reads them.
///
/// Channels go in blocks of `lanes`; taps are paired (odd tap counts get one zero-weight tap) so one vpmaddwd adds
/// two taps: lane i of the pair's madd holds (a[t0][ch] * w[t0][ch] + a[t1][ch] * w[t1][ch]). The activations of
/// a pair are interleaved with vpunpck{l,h}wd, which works inside 128-bit lanes, so the weights are interleaved
/// the same way: per block and pair, `lanes` s16 for the "lo" madd (in 128-bit lane q, channels 8q..8q+3, each
/// as the (t0, t1) pair) then `lanes` for the "hi" madd (channels 8q+4..8q+7). Channels past C hold 0.
///
/// The zero point is folded into the bias, so the loop multiplies raw u8 activations:
///   sum_t (q_t - z_a) * w_t = sum_t q_t * w_t - z_a * sum_t w_t,
/// and a tap outside the image reads `za_row` (C rounded up to the block of z_a bytes): z_a * w - z_a * w = 0,
/// the same as skipping it (what depthwise_nhwc does). The int32 sums are exact (|q * w| <= 255 * 128, at most 2
/// per madd lane), so this gives the bits of depthwise_nhwc / qconv_ref.
struct DwSimdWeights {
  int64_t c = 0, lanes = 16, blocks = 0, pairs = 0;  // channels, lanes, ceil(C / lanes), ceil(taps / 2)
  std::vector<int16_t> w;                             // [blocks][pairs][2][lanes]
  std::vector<int32_t> bias;                          // [blocks * lanes]: bias[c] - z_a * sum_t w[t][c]
  std::vector<uint8_t> za_row;                        // [blocks * lanes] bytes of z_a
};

/// Taps up to this count run on the SIMD depthwise kernels (the per-pixel tap pointers live on the stack).
inline constexpr int64_t kDwSimdMaxTaps = 64;

/// w: ONNX order [C][1][KH][KW] s8; bias: C int32 (may be null); lanes 16 (AVX2) or 32 (AVX-512). Baseline code.
DwSimdWeights pack_dw_simd(const Geom& g, const int8_t* w, const int32_t* bias, int32_t za, int64_t lanes);

/// depthwise_nhwc with AVX2 / AVX-512 (F + BW) (call only on such a CPU; g.kh * g.kw <= kDwSimdMaxTaps): same
/// arguments and the same bits, weights and bias from pack_dw_simd with 16 / 32 lanes.
void depthwise_nhwc_avx2(const Geom& g, const uint8_t* x, const DwSimdWeights& pw, const qgemm::Epilogue& ep,
                         int64_t r0, int64_t r1, uint8_t* y);
void depthwise_nhwc_avx512(const Geom& g, const uint8_t* x, const DwSimdWeights& pw, const qgemm::Epilogue& ep,
                           int64_t r0, int64_t r1, uint8_t* y);

/// The reference: plain loops over NHWC X and ONNX-ordered weights [OC][IC/groups][KH][KW], any groups,
/// u8 output through the same epilogue definition (residual, when given, is NHWC with row stride OC).
void qconv_ref(const Geom& g, const uint8_t* x, int32_t za, const int8_t* w, const int32_t* bias,
               const qgemm::Epilogue& ep, uint8_t* y);

/// One output value through the u8 epilogue of qgemm.h (residual value r, ignored when ep.residual is null).
uint8_t requantize_u8(int32_t acc, float scale, const qgemm::Epilogue& ep, int32_t r);

}  // namespace octet::kernels::qconv
