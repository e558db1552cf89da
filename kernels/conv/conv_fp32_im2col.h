// FP32 2-D convolution for NHWC activations as im2col + octet's own SGEMM (kernels/gemm), epilogue fused:
//
//   dst[pix][o] = act( sum_p A[pix][p] * B[p][o] + bias[o] + residual[pix][o] )
//
// with, per image, pix = oy*OW + ox (M = OH*OW rows), p = (ky*KW + kx)*C + c (K = KH*KW*C) and o < OC (N):
//   A[pix][p] = src[iy][ix][c],  iy = oy*sh - pad_top + ky*dh,  ix = ox*sw - pad_left + kx*dw  (0 outside)
//   B[p][o]   = W[o][c][ky][kx]   (OIHW), packed once at construction by sgemm_pack_b.
// In NHWC a patch row of A is KH runs of KW*C floats of src (C contiguous per (ky, kx)), so the im2col is a
// few memcpys per output pixel. It is done per block of output pixels into the workspace (bounded size), and
// skipped altogether for a 1x1 stride-1 unpadded conv, where A is src itself (row stride C).
//
// Indirect (the default when the tier has an indirect tile, gemm::sgemm_indirect): no copy at all. Row pix's
// K = KH*KW runs of C floats are given by one pointer per tap, &src[iy][ix][0], or a row of C zeros for a tap
// in the padding; the table (ceil(M/mr) * taps * mr pointers) is rebuilt per image and run, ~1/C of the
// patches' size. This saves writing and re-reading the 9x-expanded patches (7 MB per 56x56x64 3x3 conv) and
// covers strided 1x1 convs (one tap) too.
//
// Why it exists: oneDNN 2.6's jit:avx2 NHWC convolution reaches only ~48-55% of the FMA peak on the stride-2
// 3x3 convs and the 7x7 3x3 of ResNet-50; as a GEMM of K = 9*C these run at the SGEMM tile's rate.
// Groups == 1 only; src, dst (and the residual) NHWC; weights constant.
//
// Thread safety: run() is const; all scratch is the caller's workspace.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/conv/conv_fp32_onednn.h"
#include "kernels/gemm/sgemm.h"
#include "kernels/parallel.h"

namespace octet::kernels::conv {

class ConvFp32Im2col {
 public:
  /// Whether this implementation handles p (groups 1, NHWC src/dst/residual).
  static bool supports(const ConvParams& p);

  /// weights: OIHW, constant (required). bias: oc floats or null. threads: the most run() will use.
  /// indirect: use sgemm_indirect (no patch copy) when the tile tier has it and the conv is not a plain 1x1 s1;
  /// false forces the im2col copy (tests, benchmarks).
  ConvFp32Im2col(const ConvParams& p, const float* weights, const float* bias, const gemm::SgemmKernel& uk,
                 int threads = 1, bool indirect = true);

  size_t workspace_bytes() const;
  /// The SGEMM tile's ISA, with "indirect:" before it when the patches are not copied, e.g. "indirect:avx2".
  std::string impl() const;
  bool indirect() const { return indirect_; }
  const ConvParams& params() const { return p_; }

  /// dst = act(conv(src) + bias + residual); residual may equal dst (then it is accumulated onto in place).
  /// par: threads (at most the constructor's), or null.
  void run(const float* src, float* dst, const float* residual, void* workspace, Parallel* par) const;

 private:
  void im2col(const float* src, int64_t pix0, int64_t rows, float* out) const;
  // The indirection table of one image for tiles [tile0, tile1) (sgemm_indirect's layout).
  void build_table(const float* img, int64_t tile0, int64_t tile1, const float** table) const;

  ConvParams p_;
  const gemm::SgemmKernel& uk_;
  int threads_;
  int64_t m_ = 0, k_ = 0;   // GEMM rows per image (OH*OW) and depth (KH*KW*C)
  int64_t block_ = 0;       // output pixels per im2col block
  bool direct_ = false;     // 1x1, stride 1, no pad: A is src
  bool indirect_ = false;   // sgemm_indirect over a pointer table, no patches
  std::vector<float> packed_b_, bias_;
  std::vector<float> zeros_;  // C zeros: the row a padding tap points at
};

}  // namespace octet::kernels::conv
