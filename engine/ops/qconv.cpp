// QConv (domain "octet", made by graph/passes/lower_qdq.cpp) and ONNX QLinearConv -> kernels/qconv + qgemm.
//
// Inputs, in QLinearConv's order plus octet's fused residual:
//   0 x u8   1 x_scale   2 x_zero_point   3 w s8 (const, OC x IC/group x KH x KW)   4 w_scale (1 or OC)
//   5 w_zero_point (must be 0: symmetric)   6 y_scale   7 y_zero_point (u8)   8 B int32 (optional, OC)
//   9 residual u8 (optional, the output's shape)  10 residual scale  11 residual zero point
//   12 mid scale s_1  13 mid zero point z_1 (optional, with a residual: the two-stage form below)
// computing  y = Q_y(act(s_x * s_w[j] * (sum (x - z_x) * w + B) + s_r * (r - z_r)))  with the requantization in
// the qgemm epilogue: scale[j] = s_x * s_w[j] / s_y (ORT's order of the float operations), residual_scale =
// s_r / s_y, act as the clamp [lo, hi] (quant_clamp).
// Two-stage form (lower_qdq fused QConv -> QAdd): the conv's own output q1 = Q_{s_1,z_1}(conv) is formed in
// registers and the add done on it, exactly as the two ops would (qgemm.h): scale[j] = s_x * s_w[j] / s_1,
// add_scale = s_1 / s_y, and 6/7 are the add's output parameters.
//
// Layout: nhwc (the planner's choice inside an int8 chain) runs in place; plain NCHW (passes off) transposes
// through the workspace. Implementations (choose_impl below): octet's kernels/qconv/qconv_octet (1x1 stride 1 =
// one qgemm over X; depthwise = the channel loop; anything else = im2col in bounded row blocks + qgemm per
// group), or oneDNN's int8 convolution (kernels/qconv/qconv_onednn) under OCTET_BACKEND=onednn.
#include <algorithm>
#include <cstring>
#include <memory>

#include "engine/ops/backend.h"
#include "engine/ops/ops.h"
#include "engine/ops/quant_util.h"
#include "graph/op_attrs.h"
#include "kernels/qconv/qconv.h"
#include "kernels/qconv/qconv_octet.h"
#include "kernels/qconv/qconv_onednn.h"
#include "kernels/qgemm/qgemm.h"

namespace octet::ops {
namespace {

namespace kq = kernels::qgemm;
namespace kc = kernels::qconv;

size_t round64(size_t x) { return (x + 63) / 64 * 64; }

// NCHW <-> NHWC of one u8 tensor (only for plain-layout runs, with the passes off).
void transpose_u8(const uint8_t* src, uint8_t* dst, int64_t n, int64_t rows, int64_t cols) {
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[(b * cols + c) * rows + r] = src[(b * rows + r) * cols + c];
}

// Which implementation runs a QConv. Octet's own paths take every QConv that make_qconv accepts (any groups,
// strides, pads, dilations; u8 x s8 with per-channel scales, residual, clamps), so today oneDNN is the fallback
// for no shape: it runs only when OCTET_BACKEND=onednn asks for it, and if oneDNN refuses a problem there
// (dnnl::error at creation) octet's path runs instead and `inspect` shows that. A QConv form octet cannot run
// but oneDNN can would be routed here. The two-stage form (QConv -> QAdd fused) always runs on octet's path.
enum class Impl { octet, onednn };
Impl choose_impl() { return quant_backend() == QuantBackend::onednn ? Impl::onednn : Impl::octet; }

class QConvKernel final : public Kernel {
 public:
  kc::Geom g;
  std::unique_ptr<kc::QConvOctet> octet;    // one of the two is set
  std::unique_ptr<kc::QConvOnednn> onednn;
  std::vector<float> scale;      // [OC] s_x * s_w[j] / s_y
  kq::Epilogue ep;               // without pointers
  int residual = -1;
  bool in_nhwc = true, out_nhwc = true, res_nhwc = true;

  // Workspace: [x nhwc copy][residual nhwc copy][y nhwc][implementation's scratch]; copies only in plain layout.
  size_t x_copy() const { return in_nhwc ? 0 : round64(size_t(g.n * g.h * g.w * g.ic)); }
  size_t y_copy() const { return out_nhwc ? 0 : round64(size_t(g.rows() * g.oc)); }
  size_t r_copy() const { return residual < 0 || res_nhwc ? 0 : round64(size_t(g.rows() * g.oc)); }
  size_t impl_bytes() const { return onednn ? onednn->workspace_bytes() : octet->workspace_bytes(); }
  size_t workspace_bytes() const override { return x_copy() + r_copy() + y_copy() + impl_bytes(); }

  // "+add": the two-stage residual (a QAdd fused into the epilogue).
  std::string name() const override {
    return onednn ? "qconv/onednn:" + onednn->impl() : octet->name() + (ep.add_scale > 0.f ? "+add" : "");
  }
  // Octet's path copies W (packed, or reordered for depthwise) and B (folded into the packed bias) at creation;
  // oneDNN's may keep pointers to them, so its constants stay.
  bool input_packed(int i) const override { return octet && (i == 3 || i == 8); }

  // oneDNN's `sum` post-op accumulates onto dst: when the planner lets y take over the residual's buffer (the
  // skip tensor dies here, as in every ResNet block), the residual is already in place and run() copies nothing.
  int inplace_input() const override { return onednn && residual >= 0 && res_nhwc && out_nhwc ? residual : -1; }

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    auto* ws = static_cast<uint8_t*>(ctx.workspace);
    const uint8_t* x = in[0].as<const uint8_t>();
    uint8_t* y = out[0].as<uint8_t>();
    const uint8_t* r = residual >= 0 ? in[size_t(residual)].as<const uint8_t>() : nullptr;
    uint8_t* xs = ws;
    uint8_t* rs = xs + x_copy();
    uint8_t* ys = rs + r_copy();
    uint8_t* scratch = ys + y_copy();
    if (!in_nhwc) transpose_u8(x, xs, g.n, g.ic, g.h * g.w), x = xs;
    if (r && !res_nhwc) transpose_u8(r, rs, g.n, g.oc, g.oh * g.ow), r = rs;
    uint8_t* yd = out_nhwc ? y : ys;

    if (onednn) {
      onednn->run(x, r, yd, scratch, ctx.parallel ? ctx.parallel->threads() : 1);
    } else {
      kq::Epilogue e = ep;
      e.scale = scale.data();
      e.residual = r;
      e.ld_residual = size_t(g.oc);
      octet->run(x, yd, e, scratch, ctx.parallel);
    }
    if (!out_nhwc) transpose_u8(ys, y, g.n, g.oh * g.ow, g.oc);
  }
};

std::unique_ptr<Kernel> make_qconv(const KernelInfo& info) {
  if (info.num_inputs() < 8)
    info.fail("expected at least 8 inputs (x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, "
              "y_zero_point), got " + std::to_string(info.num_inputs()));
  if (info.input(0).dtype != DType::u8)
    unsupported(info, "input '" + info.input(0).name + "' is " + dtype_name(info.input(0).dtype) +
                          ": only uint8 activations are supported");
  if (info.output(0).dtype != DType::u8)
    unsupported(info, "output is " + std::string(dtype_name(info.output(0).dtype)) + ": only uint8 is supported");
  const Tensor* wt = info.in_const(3);
  if (!wt) unsupported(info, "weight '" + info.input(3).name + "' is computed at run time; it must be a constant");
  if (wt->dtype() != DType::i8)
    unsupported(info, "weight '" + info.input(3).name + "' is " + dtype_name(wt->dtype()) +
                          ": only int8 (symmetric) weights are supported");
  const Shape x = info.in_shape(0), w = wt->shape(), yshape = info.out_shape(0);
  if (x.size() != 4 && x.size() != 3)
    unsupported(info, "input has shape " + shape_str(x) + ": only 1-D and 2-D convolutions run");
  if (w.size() != x.size()) info.fail("weight has shape " + shape_str(w) + ", expected rank " + std::to_string(x.size()));
  const WindowGeometry geo = window_geometry(info.graph, info.node_id, x, &w);
  const bool one_d = x.size() == 3;

  auto k = std::make_unique<QConvKernel>();
  kc::Geom& g = k->g;
  g.n = x[0], g.ic = x[1], g.oc = w[0], g.groups = geo.group;
  g.h = one_d ? 1 : x[2], g.w = x.back();
  g.kh = one_d ? 1 : geo.kernel[0], g.kw = geo.kernel.back();
  g.sh = one_d ? 1 : geo.strides[0], g.sw = geo.strides.back();
  g.dh = one_d ? 1 : geo.dilations[0], g.dw = geo.dilations.back();
  g.pad_t = one_d ? 0 : geo.pads_begin[0], g.pad_l = geo.pads_begin.back();
  g.oh = one_d ? 1 : geo.out[0], g.ow = geo.out.back();
  if (g.ic % g.groups || g.oc % g.groups || w[1] * g.groups != g.ic)
    info.fail("input has " + std::to_string(g.ic) + " channels and weight shape " + shape_str(w) + " with group " +
              std::to_string(g.groups) + ": expected W[1] * group == C and group dividing W[0]");
  const Shape want = one_d ? Shape{g.n, g.oc, g.ow} : Shape{g.n, g.oc, g.oh, g.ow};
  if (yshape != want) info.fail("output has shape " + shape_str(yshape) + ", expected " + shape_str(want));

  const float sx = quant_scales(info, 1, "x_scale")[0];
  const int32_t za = quant_zero_points(info, 2, "x_zero_point", DType::u8)[0];
  const std::vector<float> sw = quant_scales(info, 4, "w_scale", g.oc);
  for (int32_t z : quant_zero_points(info, 5, "w_zero_point", DType::i8, g.oc))
    if (z != 0) unsupported(info, "weight zero point " + std::to_string(z) + ": only symmetric weights (0) run");
  const float sy = quant_scales(info, 6, "y_scale")[0];
  const int32_t zy = quant_zero_points(info, 7, "y_zero_point", DType::u8)[0];
  std::vector<int32_t> bias(size_t(g.oc), 0);
  if (info.has_input(8)) {
    const Tensor& b = quant_const(info, 8, "bias");
    if (b.dtype() != DType::i32 || b.numel() != g.oc)
      info.fail("bias '" + info.input(8).name + "' is " + dtype_name(b.dtype()) + " " + shape_str(b.shape()) +
                ", expected int32 [" + std::to_string(g.oc) + "]");
    bias.assign(b.as<int32_t>(), b.as<int32_t>() + g.oc);
  }
  // Two-stage: the conv's own output scale s_1 divides the accumulator, the add's s_y the sum (qgemm.h).
  const bool two_stage = info.has_input(12);
  if (two_stage && !info.has_input(9)) info.fail("a mid scale (input 12) needs a residual (input 9)");
  const float s1 = two_stage ? quant_scales(info, 12, "mid scale")[0] : sy;
  k->scale.resize(size_t(g.oc));
  for (int64_t j = 0; j < g.oc; ++j) k->scale[size_t(j)] = (sx * sw[size_t(j)]) / s1;
  if (two_stage) {
    k->ep.add_scale = s1 / sy;
    k->ep.mid_zero_point = quant_zero_points(info, 13, "mid zero point", DType::u8)[0];
  }
  k->ep.kind = kq::OutKind::u8;
  k->ep.zero_point = zy;
  quant_clamp(info, sy, zy, k->ep.lo, k->ep.hi);
  if (info.has_input(9)) {
    k->residual = 9;
    if (info.input(9).dtype != DType::u8 || info.in_shape(9) != yshape)
      info.fail("residual '" + info.input(9).name + "' must be uint8 with the output's shape " + shape_str(yshape));
    k->ep.residual_scale = quant_scales(info, 10, "residual scale")[0] / sy;
    k->ep.residual_zero_point = quant_zero_points(info, 11, "residual zero point", DType::u8)[0];
    k->res_nhwc = info.input(9).layout == Layout::nhwc;
  }
  k->in_nhwc = info.input(0).layout == Layout::nhwc || (g.h == 1 && g.w == 1);
  k->out_nhwc = info.output(0).layout == Layout::nhwc || (g.oh == 1 && g.ow == 1);
  if (k->residual >= 0) k->res_nhwc = k->res_nhwc || (g.oh == 1 && g.ow == 1);

  const int8_t* wd = wt->as<int8_t>();
  // oneDNN has no two-stage epilogue (its sum post-op adds onto the float result before one rounding).
  if (choose_impl() == Impl::onednn && !two_stage) {
    // Null when oneDNN has no implementation for the problem: octet's path below runs it (inspect shows which).
    k->onednn = kc::QConvOnednn::try_create(g, wd, bias.data(), k->scale.data(), za, k->ep, k->residual >= 0,
                                            std::max(1, info.threads));
    if (k->onednn) return k;
  }
  k->octet = std::make_unique<kc::QConvOctet>(g, wd, bias.data(), za, info.isa);
  return k;
}

}  // namespace

void register_quant_conv(KernelRegistry& r) {
  r.add("octet", "QConv", make_qconv);
  r.add("", "QLinearConv", make_qconv);
}

}  // namespace octet::ops
