// ConvTranspose (float32, 1-D to 3-D; group, dilations, strides, pads, output_padding, output_shape, auto_pad):
// geometry from graph/data_op_attrs.h, compute kernels/conv/conv_transpose.h (SGEMM + col2im). Plain layout.
// OCTET_CONV_TRANSPOSE=ref runs the direct scalar reference (tests compare the two).
#include "kernels/conv/conv_transpose.h"

#include <cstdlib>
#include <cstring>

#include "engine/kernel.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/data_op_attrs.h"

namespace octet::ops {
namespace {

namespace kcv = kernels::conv;

class ConvTransposeKernel final : public Kernel {
 public:
  ConvTransposeKernel(std::unique_ptr<kcv::ConvTransposeFp32> conv, bool w_const, bool b_const)
      : conv_(std::move(conv)), w_const_(w_const), b_const_(b_const) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* w = w_const_ ? nullptr : in[1].as<const float>();
    const float* b = b_const_ || in.size() < 3 ? nullptr : in[2].as<const float>();
    conv_->run(in[0].as<const float>(), w, b, out[0].as<float>(), ctx.workspace, ctx.parallel);
  }
  size_t workspace_bytes() const override { return conv_->workspace_bytes(); }
  std::string name() const override { return "conv_transpose/sgemm_col2im"; }

 private:
  std::unique_ptr<kcv::ConvTransposeFp32> conv_;
  bool w_const_, b_const_;
};

class ConvTransposeRefKernel final : public Kernel {
 public:
  explicit ConvTransposeRefKernel(kcv::ConvTransposeParams p) : p_(p) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* b = in.size() > 2 && in[2].data ? in[2].as<const float>() : nullptr;
    kcv::conv_transpose_ref(p_, in[0].as<const float>(), in[1].as<const float>(), b, out[0].as<float>());
  }
  std::string name() const override { return "conv_transpose/ref"; }

 private:
  kcv::ConvTransposeParams p_;
};

std::unique_ptr<Kernel> make_conv_transpose(const KernelInfo& info) {
  require_plain(info);
  require_dtype(info, 0, DType::f32);
  require_dtype(info, 1, DType::f32, "weight");
  const Shape x = info.in_shape(0), w = info.in_shape(1);
  if (x.size() < 3 || x.size() > 5)
    unsupported(info, "input has shape " + shape_str(x) + ": only 1-D to 3-D transposed convolutions run");
  const ConvTransposeGeometry geo = conv_transpose_geometry(info.graph, info.node_id, x, w);
  kcv::ConvTransposeParams p;
  p.n = x[0], p.ic = x[1], p.oc = geo.out_channels, p.groups = geo.group;
  const int lead = 3 - geo.spatial;  // 1-D and 2-D fill the trailing dims
  for (int i = 0; i < geo.spatial; ++i) {
    p.in[lead + i] = x[size_t(2 + i)];
    p.k[lead + i] = geo.kernel[size_t(i)];
    p.stride[lead + i] = geo.strides[size_t(i)];
    p.dil[lead + i] = geo.dilations[size_t(i)];
    p.pad[lead + i] = geo.pads_begin[size_t(i)];
    p.out[lead + i] = geo.out[size_t(i)];
  }
  Shape want{x[0], geo.out_channels};
  want.insert(want.end(), geo.out.begin(), geo.out.end());
  if (info.out_shape(0) != want)
    info.fail("output has shape " + shape_str(info.out_shape(0)) + ", expected " + shape_str(want));
  const bool has_bias = info.has_input(2);
  if (has_bias) {
    require_dtype(info, 2, DType::f32, "bias");
    if (info.in_shape(2) != Shape{p.oc})
      info.fail("bias has shape " + shape_str(info.in_shape(2)) + ", expected " + std::to_string(p.oc));
  }
  if (const char* f = std::getenv("OCTET_CONV_TRANSPOSE"); f && std::strcmp(f, "ref") == 0)
    return std::make_unique<ConvTransposeRefKernel>(p);
  const Tensor* wc = info.in_const(1);
  const Tensor* bc = has_bias ? info.in_const(2) : nullptr;
  auto conv = std::make_unique<kcv::ConvTransposeFp32>(
      p, wc ? wc->as<float>() : nullptr, bc ? bc->as<float>() : nullptr, has_bias,
      kernels::gemm::sgemm_kernel(info.isa), std::max(1, info.threads));
  return std::make_unique<ConvTransposeKernel>(std::move(conv), wc != nullptr, bc != nullptr);
}

}  // namespace

void register_conv_transpose(KernelRegistry& r) { r.add("", "ConvTranspose", make_conv_transpose); }

}  // namespace octet::ops
