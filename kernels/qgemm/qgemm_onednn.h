// Quantized GEMM through oneDNN 2.6's int8 matmul, with the semantics of kernels/qgemm (qgemm.h):
//   C[i][j] = epilogue( B[j] + sum_k (A[i][k] - z_a) * W[j][k] )     u8 A (M x K), s8 W per output channel
// The comparison backend of QGemm / QLinearMatMul under OCTET_BACKEND=onednn. The mapping onto oneDNN:
//   - z_a: a GEMM has no padding, so sum_k (a - z_a) * w = sum_k a * w - z_a * colsum(w)[j] exactly, and z_a is
//     folded into the s32 bias: B'[j] = B[j] - z_a * colsum(w)[j] (no oneDNN zero point needed)
//   - u8 output: output scales s_a*s_w[j]/s_y per column (mask 1 << 1), clamp [lo, hi] as an eltwise clip on
//     t to [lo - z_y, hi - z_y] (omitted when it is the whole u8 range), z_y as oneDNN's destination zero point
//   - f32 output: output scales s_a*s_w[j], nothing else
// (the same float order as qconv_onednn.h; results within 1 LSB of qgemm_ref, unless oneDNN's non-VNNI
// vpmaddubsw saturates a pair of products, see qconv_onednn.h). No residual (QGemm has none).
// Thread safety: run() is const; the scratchpad is the caller's workspace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/qgemm/qgemm_ukernel.h"

namespace octet::kernels::qgemm {

class QGemmOnednn {
 public:
  /// W: n x k s8 (row stride k); bias: n int32 or null; ep: kind u8 (zero_point, lo, hi) or f32; scale: n
  /// floats as in qgemm.h. Returns null when oneDNN has no implementation for the problem.
  static std::unique_ptr<QGemmOnednn> try_create(size_t m, size_t n, size_t k, const int8_t* w, const int32_t* bias,
                                                 int32_t za, const float* scale, const Epilogue& ep, int threads);
  ~QGemmOnednn();
  QGemmOnednn(const QGemmOnednn&) = delete;
  QGemmOnednn& operator=(const QGemmOnednn&) = delete;

  size_t workspace_bytes() const;
  /// oneDNN's implementation name, e.g. "gemm:jit".
  std::string impl() const;
  /// C (m x n, row stride n, u8 or f32 per ep.kind) from A (m x k, row stride k).
  void run(const uint8_t* a, void* c, void* workspace, int threads = 1) const;

 private:
  QGemmOnednn();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace octet::kernels::qgemm
