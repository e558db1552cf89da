// Octet's own quantized convolution, one object per conv: the path chosen once (pointwise = one qgemm over X,
// depthwise = the channel loop, taps = the implicit convolution where the tier has it (qgemm_taps over a
// zero-point-padded copy of X, no im2col), anything else = im2col in row blocks + qgemm per group), the weights
// laid out and packed once, then run() many times. The engine's QConv (engine/ops/qconv.cpp) and the kernel benchmarks
// (bench/kernels/bench_qconv.cpp) both run convolutions through this, so a benchmark row times the engine's code.
// The arithmetic is that of qconv.h / qgemm.h: every path gives the bits of qconv_ref().
//
// Thread safety: run() is const; all scratch is the caller's workspace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/packed_buffer.h"
#include "kernels/parallel.h"
#include "kernels/qconv/qconv.h"
#include "kernels/qgemm/qgemm.h"

namespace octet::kernels::qconv {

class QConvOctet {
 public:
  enum class Path { pointwise, im2col, depthwise, taps };

  /// w: ONNX order [OC][IC/groups][KH][KW] s8; bias: OC int32 (may be null); za: the activation zero point
  /// (folded into the packed bias). limit: the highest qgemm tier to use (the CPU's best at most that).
  QConvOctet(const Geom& g, const int8_t* w, const int32_t* bias, int32_t za, Isa limit);

  /// The im2col block, or the padded input of the taps path (0 for the other paths).
  size_t workspace_bytes() const;
  /// For `octet inspect`: "qconv/avx2:4x16", "qconv/avx2:4x16+im2col", "qconv/avx512vnni:14x32+taps",
  /// "qconv_dw/baseline", "qconv_dw/avx2", "qconv_dw/avx512".
  std::string name() const;
  Path path() const { return path_; }
  const Geom& geom() const { return g_; }

  /// y (NHWC u8, rows() x OC, row stride OC) from x (NHWC u8). ep: kind u8 with scale[OC] and, if any, the
  /// residual at row 0 (NHWC, ld_residual). par: thread split (null = calling thread).
  void run(const uint8_t* x, uint8_t* y, const qgemm::Epilogue& ep, void* workspace, Parallel* par) const;

 private:
  /// Row py of image img of the taps path's padded input (wp_ * IC bytes) into dst.
  void pad_row(const uint8_t* x, int64_t img, int64_t py, uint8_t* dst) const;

  Geom g_;
  Path path_ = Path::im2col;
  int32_t za_ = 0;
  const qgemm::QGemmKernel* qk_ = nullptr;
  PackedBuffer packed_;          // per group: group_bytes_ (64-byte aligned offsets into the buffer)
  size_t group_bytes_ = 0;
  std::vector<int8_t> dw_w_;     // depthwise, baseline loop: [KH*KW][C]
  std::vector<int32_t> dw_bias_;
  Isa dw_simd_ = Isa::scalar;    // depthwise on depthwise_nhwc_avx2 / _avx512 (then dw_w_/dw_bias_ are empty)
  DwSimdWeights dw_packed_;
  int64_t k_padded_ = 0;         // GEMM depth: im2col k() rounded up to a multiple of 4; taps kh * kc_
  int64_t block_rows_ = 0;       // im2col rows per block
  // Taps path: the input as read, padded to hp_ x wp_ pixels (a copy in the workspace when pad_copy_, else X
  // itself); one segment per kernel row, kc_ = KW * IC rounded up to a multiple of 4.
  bool pad_copy_ = false;
  int64_t hp_ = 0, wp_ = 0, kc_ = 0;
  std::vector<ptrdiff_t> tap_off_;
  // Per output row, the kernel rows [first, end) that read some image row (TapsA::tap_range); empty unless
  // z_a = 0 and some output row has kernel rows wholly in the vertical padding.
  std::vector<uint32_t> tap_range_;
  size_t edge_lead_ = 0, edge_trail_ = 0;  // TapsA::lead / trail: k-groups of a kernel column, or 0
};

}  // namespace octet::kernels::qconv
