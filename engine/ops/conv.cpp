// Conv: ONNX node -> kernels::conv::ConvFp32Onednn (oneDNN's jit convolutions with the fused epilogue), or for
// the NHWC shapes where that is weak, kernels::conv::ConvFp32Im2col (im2col + octet's SGEMM); see choose_im2col.
//
// Layouts: the planner tags each activation Value as plain (NCHW) or nhwc; the kernel reads and writes them in
// place, so a chain of NHWC convs runs without reorders. (Measured on this AVX2 machine, bench/kernels:
// oneDNN's NHWC convs over ResNet-50 sum within ~4% of its nChw8c blocked layout and ~30% ahead of NCHW.)
#include <cstdlib>
#include <cstring>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>

#include "engine/ops/fused_epilogue.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"
#include "kernels/conv/conv_fp32_im2col.h"
#include "kernels/conv/conv_fp32_onednn.h"

namespace octet::ops {
namespace {

using kernels::conv::ConvFp32Im2col;
using kernels::conv::ConvFp32Onednn;
using kernels::conv::ConvParams;

// im2col + octet's SGEMM, for the NHWC shapes where oneDNN's jit:avx2 conv is weak (see choose_im2col).
class Im2colConvKernel final : public Kernel {
 public:
  Im2colConvKernel(std::unique_ptr<ConvFp32Im2col> conv, int residual) : conv_(std::move(conv)), residual_(residual) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* residual = residual_ >= 0 ? in[size_t(residual_)].as<const float>() : nullptr;
    conv_->run(in[0].as<const float>(), out[0].as<float>(), residual, ctx.workspace, ctx.parallel);
  }
  size_t workspace_bytes() const override { return conv_->workspace_bytes(); }
  std::string name() const override { return "conv/im2col_sgemm:" + conv_->impl(); }
  // A residual already in dst is accumulated onto (SgemmArgs::accumulate), so dst may take over its buffer.
  int inplace_input() const override { return residual_; }

 private:
  std::unique_ptr<ConvFp32Im2col> conv_;
  int residual_;
};

// Which FP32 conv runs a shape both can run. OCTET_CONV_FP32=onednn|im2col forces one (tests, benchmarks).
// The rule, from the ResNet-50 per-layer profile (octet bench --profile, 1 thread, AVX2 Zen 3) after the SGEMM
// read A in place with bias + ReLU fused in registers (~90-95% of the FMA peak on conv-sized GEMMs):
//  - spatial kernels with C >= 64 (K = 9C >= 576): im2col + SGEMM wins at every size - 3x3 s1 on 56x56 ~4.1
//    vs ~4.4 ms, on 28x28 ~4.0 vs ~4.3, and the strided and <= 14x14 ones by 20-50% (oneDNN 2.6's jit:avx2
//    NHWC direct conv is weak there);
//  - 1x1 stride 1 with 64 <= C <= 256 (one K block; A is the NHWC image itself, no copy), OC >= 64 and a map of
//    >= 28x28 (M >= 784 rows reuse each packed B strip): SGEMM wins or ties (ResNet-50's l1 1x1s and the
//    128->512 expand: ~1.8 vs ~2.0-2.3 ms). oneDNN's jit_1x1 stays ahead with C >= 512 (~1.5 vs ~1.65 ms), on
//    small maps (ResNet-50's 14x14/7x7, MobileNetV2's 14x14 expands 64->384: 0.16 vs 0.28 ms), on narrow
//    outputs (MobileNetV2's 144->24 projections: 0.30 vs 0.72 ms, a 16-wide tile half empty) and on strided
//    1x1 (the downsample, ~3.2 vs ~3.6 ms, im2col gathers every other pixel);
//  - C < 64, e.g. the 7x7 stem on 3 channels: im2col copies runs of only C floats; oneDNN's jit conv is better.
// On an AVX-512 CPU (tier >= avx512) oneDNN runs its brgemm convolutions instead (brgconv, brgconv_1x1), and they
// win every ResNet-50 shape: 85-94 GMAC/s against im2col + the 12x32 SGEMM's 36-70 (Zen 5, 1 thread; the whole
// FP32 model 49.7 ms with oneDNN throughout vs 63.9 with the rule above). There the rule is off.
bool choose_im2col(const ConvParams& p, kernels::Isa isa) {
  if (const char* force = std::getenv("OCTET_CONV_FP32")) {
    if (std::strcmp(force, "im2col") == 0) return true;
    if (std::strcmp(force, "onednn") == 0) return false;
  }
  if (p.ic < 64 || int(isa) >= int(kernels::Isa::avx512)) return false;
  const bool spatial = p.kh * p.kw > 1, strided = p.stride_h > 1 || p.stride_w > 1;
  return spatial || (!strided && p.ic <= 256 && p.oc >= 64 && p.oh * p.ow >= 28 * 28);
}

class ConvKernel final : public Kernel {
 public:
  ConvKernel(std::unique_ptr<ConvFp32Onednn> conv, int residual, bool residual_same_layout, bool weights_const,
             bool bias_const)
      : conv_(std::move(conv)),
        residual_(residual),
        residual_same_layout_(residual_same_layout),
        weights_const_(weights_const),
        bias_const_(bias_const) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const int threads = ctx.parallel ? ctx.parallel->threads() : 1;
    const float* residual = residual_ >= 0 ? in[size_t(residual_)].as<const float>() : nullptr;
    const float* w = weights_const_ ? nullptr : in[1].as<const float>();
    const float* b = bias_const_ || in.size() < 3 ? nullptr : in[2].as<const float>();
    conv_->run(in[0].as<const float>(), out[0].as<float>(), residual, ctx.workspace, threads, w, b);
  }
  size_t workspace_bytes() const override { return conv_->workspace_bytes(); }
  std::string name() const override { return "conv/onednn:" + conv_->impl(); }
  // The `sum` post-op accumulates onto dst: when the planner lets dst take over the residual's buffer (the skip
  // tensor dies here, as in every ResNet block), the residual is already in place and no copy is needed.
  int inplace_input() const override { return residual_same_layout_ ? residual_ : -1; }

 private:
  std::unique_ptr<ConvFp32Onednn> conv_;
  int residual_;
  bool residual_same_layout_;
  bool weights_const_, bias_const_;
};

std::unique_ptr<Kernel> make_conv(const KernelInfo& info) {
  if (info.num_inputs() < 2) info.fail("expected inputs X and W (and optional B), got " +
                                       std::to_string(info.num_inputs()));
  require_dtype(info, 0, DType::f32);
  require_dtype(info, 1, DType::f32, "weight");
  const Shape x = info.in_shape(0), w = info.in_shape(1), y = info.out_shape(0);
  if (x.size() != 3 && x.size() != 4)
    unsupported(info, "input has shape " + shape_str(x) + ": only 1-D and 2-D convolutions (rank 3 or 4) run");
  if (w.size() != x.size())
    info.fail("weight has shape " + shape_str(w) + ", expected rank " + std::to_string(x.size()));
  const WindowGeometry geo = window_geometry(info.graph, info.node_id, x, &w);
  const int64_t groups = geo.group;
  if (x[1] % groups || w[0] % groups || w[1] * groups != x[1])
    info.fail("input has " + std::to_string(x[1]) + " channels and weight shape " + shape_str(w) + " with group " +
              std::to_string(groups) + ": expected W[1] * group == C and group dividing W[0]");

  ConvParams p;
  p.n = x[0];
  p.ic = x[1];
  p.oc = w[0];
  p.groups = groups;
  const bool one_d = x.size() == 3;
  // A 1-D convolution is the 2-D one with H = 1 (kernel 1, stride 1, no pad along H).
  p.ih = one_d ? 1 : x[2];
  p.iw = x.back();
  p.kh = one_d ? 1 : geo.kernel[0];
  p.kw = geo.kernel.back();
  p.stride_h = one_d ? 1 : geo.strides[0];
  p.stride_w = geo.strides.back();
  p.dilation_h = one_d ? 1 : geo.dilations[0];
  p.dilation_w = geo.dilations.back();
  p.pad_top = one_d ? 0 : geo.pads_begin[0];
  p.pad_bottom = one_d ? 0 : geo.pads_end[0];
  p.pad_left = geo.pads_begin.back();
  p.pad_right = geo.pads_end.back();
  p.oh = one_d ? 1 : geo.out[0];
  p.ow = geo.out.back();
  const Shape expect = one_d ? Shape{p.n, p.oc, p.ow} : Shape{p.n, p.oc, p.oh, p.ow};
  if (y != expect) info.fail("output has shape " + shape_str(y) + ", expected " + shape_str(expect));
  p.src_nhwc = info.input(0).layout == Layout::nhwc;
  p.dst_nhwc = info.output(0).layout == Layout::nhwc;
  p.has_bias = info.has_input(2);
  if (p.has_bias) {
    require_dtype(info, 2, DType::f32, "bias");
    if (info.in_shape(2) != Shape{p.oc})
      info.fail("bias has shape " + shape_str(info.in_shape(2)) + ", expected " + std::to_string(p.oc));
  }
  const int residual = fused_residual(info);
  if (residual >= 0) {
    if (info.in_shape(residual) != y)
      info.fail("fused residual '" + info.input(residual).name + "' has shape " +
                shape_str(info.in_shape(residual)) + ", expected the output's " + shape_str(y));
    p.has_residual = true;
    p.residual_nhwc = info.input(residual).layout == Layout::nhwc;
  }
  p.act = fused_activation(info);

  const Tensor* wc = info.in_const(1);
  const Tensor* bc = p.has_bias ? info.in_const(2) : nullptr;
  if (wc && (!p.has_bias || bc) && ConvFp32Im2col::supports(p) &&
      choose_im2col(p, kernels::clamp_isa(info.isa, kernels::max_isa()))) {
    const auto& uk = kernels::gemm::sgemm_kernel(info.isa);
    auto conv = std::make_unique<ConvFp32Im2col>(p, wc->as<float>(), bc ? bc->as<float>() : nullptr, uk,
                                                 std::max(1, info.threads));
    return std::make_unique<Im2colConvKernel>(std::move(conv), residual);
  }
  try {
    auto conv = std::make_unique<ConvFp32Onednn>(p, wc ? wc->as<float>() : nullptr, bc ? bc->as<float>() : nullptr,
                                                 std::max(1, info.threads));
    const bool same_layout = residual >= 0 && info.input(residual).layout == info.output(0).layout;
    return std::make_unique<ConvKernel>(std::move(conv), residual, same_layout, wc != nullptr, bc != nullptr);
  } catch (const dnnl::error& e) {
    unsupported(info, std::string("oneDNN has no convolution for input ") + shape_str(x) + ", weight " +
                          shape_str(w) + ": " + e.what());
  }
}

}  // namespace

void register_conv(KernelRegistry& r) { r.add("", "Conv", make_conv); }

}  // namespace octet::ops
