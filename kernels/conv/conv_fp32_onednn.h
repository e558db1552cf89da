// FP32 2-D convolution through oneDNN with a fused epilogue:
//
//   dst = act( conv(src, W) + bias + residual )
//
// The residual is oneDNN's `sum` post-op (dst += conv result, so the residual must already sit in dst when the
// primitive runs: run() copies it there unless it is the same buffer), the activation an `eltwise` post-op.
// Weights are reordered once, at construction, into the format the chosen implementation prefers (e.g.
// OIhw8i8o for jit:avx2); src/dst stay in the caller's layout (NCHW or NHWC) so no activation reorders run.
//
// Thread safety: run() is const and may run concurrently: the scratchpad is the caller's workspace
// (scratchpad_mode::user), oneDNN's engine is one per process and the stream one per calling thread.
// Threads: Debian's oneDNN runs on OpenMP; run() sets the calling thread's OpenMP team size first.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/gemm/sgemm.h"

namespace dnnl {
struct engine;
struct stream;
}  // namespace dnnl

namespace octet::kernels::conv {

/// The process's one oneDNN CPU engine (made on first use, after OCTET_MAX_ISA has clamped oneDNN's ISA) and
/// the calling thread's stream on it: shared by every oneDNN-backed kernel (also kernels/qconv/qconv_onednn).
dnnl::engine& onednn_engine();
dnnl::stream& onednn_thread_stream();

/// A 2-D convolution (1-D is H = 1). Logical shapes are NCHW; `*_nhwc` says how src/dst/residual lie in memory.
struct ConvParams {
  int64_t n = 1, ic = 0, oc = 0, groups = 1;
  int64_t ih = 1, iw = 1, oh = 1, ow = 1;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;  // ONNX convention: 1 = dense
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  bool src_nhwc = false, dst_nhwc = false;
  bool has_bias = false;
  bool has_residual = false, residual_nhwc = false;  // residual has dst's logical shape
  gemm::Activation act;
};

class ConvFp32Onednn {
 public:
  /// weights: OIHW (O = oc, I = ic / groups), plain row-major; null when they arrive at run time (then run()
  /// reorders them into the workspace each call). bias: oc floats or null. threads: the most OpenMP threads
  /// run() will use (the scratchpad is sized for it). Throws dnnl::error when no implementation accepts p.
  ConvFp32Onednn(const ConvParams& p, const float* weights, const float* bias, int threads = 1);
  ~ConvFp32Onednn();
  ConvFp32Onednn(const ConvFp32Onednn&) = delete;
  ConvFp32Onednn& operator=(const ConvFp32Onednn&) = delete;

  /// Scratch memory run() needs (oneDNN's scratchpad, plus reordered weights when they are not constant).
  size_t workspace_bytes() const;
  /// oneDNN's implementation name, e.g. "jit_1x1:avx2".
  std::string impl() const;
  const ConvParams& params() const { return p_; }

  /// dst = act(conv(src) + bias + residual). `weights`/`bias` are used only when the constructor got null for
  /// them. residual may equal dst. threads: the OpenMP team size (at most the constructor's).
  void run(const float* src, float* dst, const float* residual, void* workspace, int threads,
           const float* weights = nullptr, const float* bias = nullptr) const;

 private:
  struct Impl;
  ConvParams p_;
  std::unique_ptr<Impl> impl_;
};

/// Plain direct convolution (seven nested loops, double accumulation): the reference for tests.
void conv_ref(const ConvParams& p, const float* src, const float* weights, const float* bias,
              const float* residual, float* dst);

}  // namespace octet::kernels::conv
