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
  ConvFp32Im2col(const ConvParams& p, const float* weights, const float* bias, const gemm::SgemmKernel& uk,
                 int threads = 1);

  size_t workspace_bytes() const;
  /// The SGEMM tile's ISA, e.g. "avx2".
  std::string impl() const;
  const ConvParams& params() const { return p_; }

  /// dst = act(conv(src) + bias + residual); residual may equal dst (then it is accumulated onto in place).
  /// par: threads (at most the constructor's), or null.
  void run(const float* src, float* dst, const float* residual, void* workspace, Parallel* par) const;

 private:
  void im2col(const float* src, int64_t pix0, int64_t rows, float* out) const;

  ConvParams p_;
  const gemm::SgemmKernel& uk_;
  int threads_;
  int64_t m_ = 0, k_ = 0;   // GEMM rows per image (OH*OW) and depth (KH*KW*C)
  int64_t block_ = 0;       // output pixels per im2col block
  bool direct_ = false;     // 1x1, stride 1, no pad: A is src
  std::vector<float> packed_b_, bias_;
};

}  // namespace octet::kernels::conv
