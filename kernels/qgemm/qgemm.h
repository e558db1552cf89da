// Quantized GEMM: u8 activations x s8 weights -> int32 accumulators -> requantized u8 (or int32 / fp32).
//
//   C[i][j] = epilogue( bias'[j] + sum_k A[i][k] * W[j][k] )
//
// A is row-major u8 (M x K, row stride lda): NHWC activations are exactly this with M = N*H*W, K = C.
// W is s8 per output channel, symmetric (zero point 0), packed once by QGemmKernel::pack into the layout its
// micro-kernel reads (see docs/int8-kernels.md). The activation zero point z_a is folded into the packed bias
// at pack time (derivation at pack_bias() in qgemm.cpp), so the micro-kernels never see z_a.
//
// The epilogue (applied while the tile is in registers) is defined exactly, so that every tier gives the same
// bits as the scalar reference qgemm_ref():
//   u8 : t = float(acc) * scale[j]
//        if residual: t = fma(float(r[i][j] - z_r), residual_scale, t)      (one rounding, like vfmadd)
//        t = min(max(t, float(lo - z_y)), float(hi - z_y))                   (clamp first: no int overflow)
//        q = round_half_even(t) + z_y                                         (vcvtps2dq, MXCSR default)
//      with scale[j] = s_a * s_w[j] / s_y, residual_scale = s_r / s_y; ReLU is lo = z_y, Clip(a, b) sets lo, hi.
//      Two-stage residual (ep.add_scale > 0): a conv whose u8 output q1 (scale s_1, zero point z_1) was read
//      only by an int8 Add, fused into one epilogue that gives exactly the bits of the two separate ops:
//        v = round_half_even(clamp(float(acc) * scale[j], -z_1, 255 - z_1))       (= q1 - z_1, scale = s_a s_w/s_1)
//        t = add_scale * v + residual_scale * float(r - z_r)                       (two products, one sum, no fma:
//                                                                                   qeltwise::add_u8's order)
//        then the clamp and rounding above (lo/hi/z_y are the add's), with add_scale = s_1/s_y.
//   s32: acc (bias included) as is.
//   f32: float(acc) * scale[j]  (scale[j] = s_a * s_w[j]: the dequantized output).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/dispatch.h"
#include "kernels/parallel.h"
#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {

/// The micro-kernel of one tier and the matching weight packing. Obtained from qgemm_kernel(); never built
/// by callers.
struct QGemmKernel {
  Isa isa;
  const char* name;  // e.g. "qgemm_u8s8_14x32c4_avx512vnni"
  int mr, nr, kr;    // tile rows, tile columns (= packed panel width), k-group of the packing
  UkernelFn ukernel;
  /// Bytes of one packed panel (nr output channels, k inputs, bias included).
  size_t (*panel_bytes)(size_t k);
  /// Packs W (n x k, row stride ldw, s8) and bias (n int32, may be null = 0) for activation zero point za
  /// into `out` (packed_bytes(n, k) bytes, 64-byte aligned preferred). Columns past n are zero.
  void (*pack)(size_t n, size_t k, const int8_t* w, size_t ldw, const int32_t* bias, int32_t za, void* out);
  /// The largest |w| the kernel computes exactly: 128 (any s8) for all but the AVX2 7-bit kernel (64).
  int max_abs_weight = 128;
  /// The same tile over segmented A (implicit convolution, qgemm_taps); null where the tier has none.
  TapsUkernelFn taps_ukernel = nullptr;
  /// The segmented-A tile that skips a convolution line's edge products (TapsA::lead); null: taps_ukernel.
  TapsEdgeUkernelFn taps_edge_ukernel = nullptr;
  /// The tile over only the first NR / 2 columns of a panel, writing them in place (a last panel of exactly
  /// NR / 2 columns); null: such a panel goes through the driver's padded copy.
  TapsUkernelFn half_ukernel = nullptr;
  /// A plain GEMM's whole column of tiles of one panel, u8 output: rows [0, m) for any m (a UkernelFn without
  /// mr <= MR), free to pipeline one tile's epilogue into the next tile's dot products; null (or s32 / f32
  /// output): the driver calls ukernel per tile.
  UkernelFn strip_ukernel = nullptr;

  size_t packed_bytes(size_t n, size_t k) const { return (n + nr - 1) / nr * panel_bytes(k); }
};

/// The general kernel (any s8 weights) of exactly `tier` (nullptr if this build has none). Does not check the
/// CPU: tests use it with detected_isa() to decide what may run.
const QGemmKernel* qgemm_kernel_for(Isa tier);
/// Every kernel of this build, general and restricted ones (tests sweep them all).
std::span<const QGemmKernel> qgemm_kernels();
/// The best kernel the CPU runs, at most min(limit, max_isa()), that is exact for weights with |w| <=
/// max_abs_weight (the caller passes the largest |w| of the layer: max_abs_s8()). Within a tier a restricted
/// kernel (the AVX2 7-bit one) wins over the general one when the weights allow it. The dispatch point for qgemm.
const QGemmKernel& qgemm_kernel(Isa limit = Isa::avx512vnni, int max_abs_weight = 128);
/// max |w| over n weights (128 for -128).
int max_abs_s8(const int8_t* w, size_t n);

/// C = epilogue(A * W). `packed` comes from kernel.pack(n, k, ...); c has element type per ep.kind, row stride
/// ldc in elements. Splits tiles over `par` (may be null). Throws std::invalid_argument on inconsistent
/// parameters (u8 clamp outside [0, 255], missing scale).
void qgemm(const QGemmKernel& kernel, size_t m, size_t n, size_t k, const uint8_t* a, size_t lda,
           const void* packed, const Epilogue& ep, void* c, size_t ldc, Parallel* par = nullptr);

/// The A of an implicit convolution: output pixels come in `lines` lines (image rows over the batch) of
/// `line_len` pixels each, and pixel p of line L (GEMM row L * line_len + p) reads the `taps` segments
///   a + (L / lines_per_image) * image_step + (L % lines_per_image) * line_step + p * lda + tap_off[t]
/// of kc bytes each (kc % 4 == 0 when taps > 1), in order against the packed depth k = taps * kc. Over an NHWC
/// input that already holds its padding (zero-point bytes), segment t is kernel row t's KW pixels x C channels
/// (contiguous when the horizontal dilation is 1), lda = stride_w * C and line_step = stride_h * row bytes:
/// the convolution runs with no im2col copy.
struct TapsA {
  const uint8_t* a = nullptr;
  size_t lda = 0;
  size_t lines = 0, line_len = 0, lines_per_image = 1;
  size_t line_step = 0, image_step = 0;  // bytes
  const ptrdiff_t* tap_off = nullptr;
  size_t taps = 0, kc = 0;
  /// Optional, lines_per_image pairs: line y (within its image) reads only segments [tap_range[2y],
  /// tap_range[2y + 1]); null: all. A convolution skips the kernel rows that fall wholly in the vertical padding
  /// (most of the work saved on small images: 1/21 of a 7x7 output's 3x3 conv per border row) - exact only when
  /// the skipped bytes contribute nothing, i.e. z_a = 0: the packed bias folds -z_a * colsum over the whole
  /// depth (pack_bias in qgemm.cpp), which the skipped z_a-valued padding would otherwise have cancelled.
  const uint32_t* tap_range = nullptr;
  /// Optional, like tap_range (z_a = 0 only): a line's first pixel may skip the first `lead` k-groups of every
  /// segment (its first kernel column over the left padding) and its last pixel the last `trail` (0: none).
  size_t lead = 0, trail = 0;
};

/// C = epilogue(A * W) over a segmented A (TapsA); C and the epilogue's residual have rows() = lines * line_len
/// rows. kernel.taps_ukernel must be set; packed comes from kernel.pack(n, taps * kc, ...). Tiles never cross a
/// line (a line's last tile may be short). Throws std::invalid_argument like qgemm().
void qgemm_taps(const QGemmKernel& kernel, const TapsA& a, size_t n, const void* packed, const Epilogue& ep,
                void* c, size_t ldc, Parallel* par = nullptr);

/// The source of truth: plain loops over unpacked W (n x k, row stride ldw), z_a subtracted explicitly.
void qgemm_ref(size_t m, size_t n, size_t k, const uint8_t* a, size_t lda, int32_t za, const int8_t* w,
               size_t ldw, const int32_t* bias, const Epilogue& ep, void* c, size_t ldc);

}  // namespace octet::kernels::qgemm
