// FP32 transposed convolution (ONNX ConvTranspose) of NC<spatial> tensors, 1-D to 3-D (smaller ranks are run as
// 3-D with size-1 leading dims). With input x [N, C, I], weight w [C, M/G, K] (G groups), the output is
//   y[n, g*Mg + m, o] = b[g*Mg + m] + sum_{c, i, k : o = i*stride - pad + k*dilation} x[n, g*Cg + c, i] * w[g*Cg + c,
//   m, k]
// (per spatial dim; Cg = C/G, Mg = M/G).
//
// Fast path (GEMM + col2im, as Caffe's and ONNX Runtime's): per image and group, one SGEMM forms every
// (m, k) x input-pixel product,
//   col[(m, k)][p] = sum_c w[c][m][k] * x[c][p]      (M x K = Mg*|K| x Cg,  times  Cg x P = |I|)
// then col2im adds col[(m, k)][p] into y[m][p*stride - pad + k*dilation] where that lands inside the output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/gemm/sgemm.h"
#include "kernels/parallel.h"

namespace octet::kernels::conv {

struct ConvTransposeParams {
  int64_t n = 1, ic = 0, oc = 0, groups = 1;
  // Per spatial dim (depth, height, width); unused leading dims are 1 / stride 1 / pad 0.
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, dil[3] = {1, 1, 1}, pad[3] = {0, 0, 0};
  int64_t out[3] = {1, 1, 1};
};

/// The reference: the scatter form of the definition above, accumulated in double.
void conv_transpose_ref(const ConvTransposeParams& p, const float* x, const float* w, const float* b, float* y);

class ConvTransposeFp32 {
 public:
  /// w / b: constant weights and bias (copied and re-laid out now), or null to pass them to run().
  ConvTransposeFp32(const ConvTransposeParams& p, const float* w, const float* b, bool has_bias,
                    const gemm::SgemmKernel& kernel, int threads);
  size_t workspace_bytes() const;
  /// w_run / b_run: the weight and bias when they were not given at creation (else ignored).
  void run(const float* x, const float* w_run, const float* b_run, float* y, void* workspace, Parallel* par) const;

 private:
  // [G][Mg*K][Cg]: A of each group's GEMM, row-major (unit column stride, read in place by the micro-kernel).
  void transpose_weights(const float* w, float* out) const;

  ConvTransposeParams p_;
  const gemm::SgemmKernel& kernel_;
  int threads_;
  bool has_bias_;
  int64_t cg_, mg_, kk_, pix_in_, pix_out_;
  std::vector<float> wt_, bias_;  // empty when given per run
};

}  // namespace octet::kernels::conv
