// Int8 operators other than convolution (engine/ops/qconv.cpp):
//   QuantizeLinear, DequantizeLinear       ONNX, any layout; per-tensor or per-axis (plain layout)
//   QAdd (octet), QLinearAdd (com.microsoft)            u8 + u8 -> u8, same shapes, fused ReLU/Clip
//   QMaxPool (octet)                                    MaxPool on u8 (input scale = output scale)
//   QGlobalAveragePool (octet), QLinearGlobalAveragePool (com.microsoft)
//   QGemm (octet), QLinearMatMul (ONNX)                 u8 x s8 (const) -> u8, or -> f32 when y_scale is absent
// The internal ops take QOperator's input order (x, x_scale, x_zero_point, ...), so the QOperator ops and the
// lowered QDQ patterns share one factory each. Loops: kernels/qeltwise, kernels/qgemm.
#include <algorithm>
#include <memory>

#include "engine/ops/backend.h"
#include "engine/ops/ops.h"
#include "engine/ops/quant_util.h"
#include "graph/op_attrs.h"
#include "kernels/qeltwise/qeltwise.h"
#include "kernels/qgemm/qgemm.h"
#include "kernels/qgemm/qgemm_onednn.h"

namespace octet::ops {

void register_quant_conv(KernelRegistry& r);  // engine/ops/qconv.cpp

namespace {

namespace kq = kernels::qgemm;
namespace ke = kernels::qeltwise;

// ---- QuantizeLinear / DequantizeLinear -----------------------------------------------------------------------

// The per-axis split of a tensor: outer x axis x inner elements, one (scale, zp) per axis index. Per-tensor is
// axis = 1 element.
struct AxisSplit {
  int64_t outer = 1, axis = 1, inner = 1;
  std::vector<float> scale;
  std::vector<int32_t> zp;
};

AxisSplit axis_split(const KernelInfo& info, DType zp_type) {
  const Shape x = info.in_shape(0);
  const Tensor& st = quant_const(info, 1, "scale");
  AxisSplit s;
  s.inner = num_elements(x);
  if (st.numel() == 1 && st.shape().size() <= 1) {
    s.scale = quant_scales(info, 1, "scale");
    s.zp = quant_zero_points(info, 2, "zero point", zp_type);
    return s;
  }
  if (st.shape().size() != 1) info.fail("scale has shape " + shape_str(st.shape()) + ", expected a scalar or 1-D");
  const int64_t axis = normalize_axis(info.graph, info.node_id, info.node().attr_i("axis", 1), int64_t(x.size()));
  if (st.numel() != x[axis])
    info.fail("scale has " + std::to_string(st.numel()) + " elements, expected " + std::to_string(x[axis]) +
              " (dimension " + std::to_string(axis) + " of the input)");
  if (info.input(0).layout != Layout::plain) unsupported(info, "per-axis quantization needs plain layout");
  s.outer = num_elements(Shape(x.begin(), x.begin() + axis));
  s.axis = x[axis];
  s.inner = num_elements(Shape(x.begin() + axis + 1, x.end()));
  s.scale = quant_scales(info, 1, "scale", s.axis);
  s.zp = quant_zero_points(info, 2, "zero point", zp_type, s.axis);
  return s;
}

class QuantizeKernel final : public Kernel {
 public:
  QuantizeKernel(AxisSplit s, bool is_signed) : s_(std::move(s)), signed_(is_signed) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    for (int64_t o = 0; o < s_.outer; ++o)
      for (int64_t a = 0; a < s_.axis; ++a) {
        const int64_t off = (o * s_.axis + a) * s_.inner;
        const float sc = s_.scale[size_t(a)];
        const int32_t zp = s_.zp[size_t(a)];
        split_elements(ctx, s_.inner, [&](int64_t b, int64_t e) {
          if (signed_)
            ke::quantize_s8(x + off + b, size_t(e - b), sc, zp, out[0].as<int8_t>() + off + b);
          else
            ke::quantize_u8(x + off + b, size_t(e - b), sc, zp, out[0].as<uint8_t>() + off + b);
        });
      }
  }
  std::string name() const override { return signed_ ? "quantize/s8" : "quantize/u8"; }

 private:
  AxisSplit s_;
  bool signed_;
};

std::unique_ptr<Kernel> make_quantize(const KernelInfo& info) {
  require_dtype(info, 0, DType::f32);
  const DType out = info.output(0).dtype;
  if (out != DType::u8 && out != DType::i8)
    unsupported(info, std::string("output type ") + dtype_name(out) + ": only uint8 and int8 are supported");
  if (info.input(0).layout != info.output(0).layout) info.fail("input and output layouts differ");
  return std::make_unique<QuantizeKernel>(axis_split(info, out), out == DType::i8);
}

class DequantizeKernel final : public Kernel {
 public:
  DequantizeKernel(AxisSplit s, DType t) : s_(std::move(s)), t_(t) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    float* y = out[0].as<float>();
    for (int64_t o = 0; o < s_.outer; ++o)
      for (int64_t a = 0; a < s_.axis; ++a) {
        const int64_t off = (o * s_.axis + a) * s_.inner;
        const float sc = s_.scale[size_t(a)];
        const int32_t zp = s_.zp[size_t(a)];
        split_elements(ctx, s_.inner, [&](int64_t b, int64_t e) {
          const size_t n = size_t(e - b);
          if (t_ == DType::u8) ke::dequantize_u8(in[0].as<const uint8_t>() + off + b, n, sc, zp, y + off + b);
          else if (t_ == DType::i8) ke::dequantize_s8(in[0].as<const int8_t>() + off + b, n, sc, zp, y + off + b);
          else ke::dequantize_s32(in[0].as<const int32_t>() + off + b, n, sc, zp, y + off + b);
        });
      }
  }
  std::string name() const override { return std::string("dequantize/") + dtype_name(t_); }

 private:
  AxisSplit s_;
  DType t_;
};

std::unique_ptr<Kernel> make_dequantize(const KernelInfo& info) {
  const DType t = info.input(0).dtype;
  if (t != DType::u8 && t != DType::i8 && t != DType::i32)
    unsupported(info, std::string("input type ") + dtype_name(t) + ": only uint8, int8 and int32 are supported");
  if (info.output(0).dtype != DType::f32) unsupported(info, "only float32 output is supported");
  if (info.input(0).layout != info.output(0).layout) info.fail("input and output layouts differ");
  return std::make_unique<DequantizeKernel>(axis_split(info, t), t);
}

// ---- QAdd ---------------------------------------------------------------------------------------------------

class QAddKernel final : public Kernel {
 public:
  float ra = 0, rb = 0;
  int32_t za = 0, zb = 0, zy = 0, lo = 0, hi = 255;
  int64_t n = 0;
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const uint8_t* a = in[0].as<const uint8_t>();
    const uint8_t* b = in[3].as<const uint8_t>();
    uint8_t* y = out[0].as<uint8_t>();
    split_elements(ctx, n, [&](int64_t s, int64_t e) {
      ke::add_u8(a + s, b + s, size_t(e - s), ra, za, rb, zb, zy, lo, hi, y + s);
    });
  }
  std::string name() const override { return "qadd/baseline"; }
  int inplace_input() const override { return 0; }
};

std::unique_ptr<Kernel> make_qadd(const KernelInfo& info) {
  if (info.num_inputs() < 7) info.fail("expected 7 or 8 inputs (a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)");
  for (int i : {0, 3}) require_dtype(info, i, DType::u8);
  if (info.output(0).dtype != DType::u8) unsupported(info, "only uint8 output is supported");
  const Shape y = info.out_shape(0);
  for (int i : {0, 3})
    if (info.in_shape(i) != y || info.input(i).layout != info.output(0).layout)
      unsupported(info, "input '" + info.input(i).name + "' " + shape_str(info.in_shape(i)) +
                            " must have the output's shape and layout (int8 add does not broadcast)");
  auto k = std::make_unique<QAddKernel>();
  const float sa = quant_scales(info, 1, "a_scale")[0], sb = quant_scales(info, 4, "b_scale")[0];
  const float sy = quant_scales(info, 6, "y_scale")[0];
  k->za = quant_zero_points(info, 2, "a_zero_point", DType::u8)[0];
  k->zb = quant_zero_points(info, 5, "b_zero_point", DType::u8)[0];
  k->zy = quant_zero_points(info, 7, "y_zero_point", DType::u8)[0];
  k->ra = sa / sy;
  k->rb = sb / sy;
  quant_clamp(info, sy, k->zy, k->lo, k->hi);
  k->n = num_elements(y);
  return k;
}

// ---- pooling ------------------------------------------------------------------------------------------------

class QMaxPoolKernel final : public Kernel {
 public:
  ke::PoolGeom g;
  int64_t n = 1;
  bool nhwc = true;
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const uint8_t* x = in[0].as<const uint8_t>();
    uint8_t* y = out[0].as<uint8_t>();
    const int64_t in_img = g.c * g.h * g.w, out_img = g.c * g.oh * g.ow;
    if (nhwc) {
      split_work(ctx, n * g.oh, g.ow * g.c * g.kh * g.kw, [&](int64_t u0, int64_t u1) {
        for (int64_t u = u0; u < u1; ++u)
          ke::maxpool_u8_nhwc(g, x + (u / g.oh) * in_img, y + (u / g.oh) * out_img, u % g.oh, u % g.oh + 1);
      });
    } else {
      split_work(ctx, n * g.c, g.oh * g.ow * g.kh * g.kw, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p)
          ke::maxpool_u8_nchw(g, x + (p / g.c) * in_img, y + (p / g.c) * out_img, p % g.c, p % g.c + 1);
      });
    }
  }
  std::string name() const override { return nhwc ? "qmaxpool_nhwc/baseline" : "qmaxpool_nchw/baseline"; }
};

std::unique_ptr<Kernel> make_qmaxpool(const KernelInfo& info) {
  require_dtype(info, 0, DType::u8);
  const Shape s = info.in_shape(0);
  if (s.size() != 4) unsupported(info, "input " + shape_str(s) + ": only 2-D int8 max pooling is supported");
  if (info.input(0).layout != info.output(0).layout) info.fail("input and output layouts differ");
  const WindowGeometry wg = window_geometry(info.graph, info.node_id, s);
  auto k = std::make_unique<QMaxPoolKernel>();
  ke::PoolGeom& g = k->g;
  k->n = s[0];
  g.c = s[1], g.h = s[2], g.w = s[3], g.oh = wg.out[0], g.ow = wg.out[1];
  g.kh = wg.kernel[0], g.kw = wg.kernel[1], g.sh = wg.strides[0], g.sw = wg.strides[1];
  g.dh = wg.dilations[0], g.dw = wg.dilations[1], g.pad_t = wg.pads_begin[0], g.pad_l = wg.pads_begin[1];
  if (info.out_shape(0) != Shape{s[0], s[1], g.oh, g.ow})
    info.fail("output shape " + shape_str(info.out_shape(0)) + " does not match the window geometry");
  k->nhwc = info.input(0).layout == Layout::nhwc;
  return k;
}

class QGlobalAvgKernel final : public Kernel {
 public:
  int64_t n = 1, c = 1, hw = 1;
  float scale = 0;
  int32_t zx = 0, zy = 0;
  bool nhwc = true;
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const uint8_t* x = in[0].as<const uint8_t>();
    uint8_t* y = out[0].as<uint8_t>();
    constexpr int64_t G = 64;
    const int64_t groups = (c + G - 1) / G;
    split_work(ctx, n * groups, G * hw, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t img = u / groups, c0 = (u % groups) * G, c1 = std::min(c, c0 + G);
        if (nhwc) ke::global_avg_u8_nhwc(x + img * hw * c, hw, c, c0, c1, scale, zx, zy, y + img * c);
        else ke::global_avg_u8_nchw(x + img * hw * c, hw, c0, c1, scale, zx, zy, y + img * c);
      }
    });
  }
  std::string name() const override { return nhwc ? "qglobal_avg_nhwc/baseline" : "qglobal_avg_nchw/baseline"; }
};

std::unique_ptr<Kernel> make_qglobal_avg(const KernelInfo& info) {
  if (info.num_inputs() != 5) info.fail("expected 5 inputs (x, x_scale, x_zero_point, y_scale, y_zero_point)");
  if (info.node().attr_i("channels_last", 0) != 0) unsupported(info, "channels_last = 1 is not supported");
  require_dtype(info, 0, DType::u8);
  if (info.output(0).dtype != DType::u8) unsupported(info, "only uint8 output is supported");
  const Shape s = info.in_shape(0);
  if (s.size() < 3) info.fail("input has shape " + shape_str(s) + ", expected N x C x spatial dims");
  auto k = std::make_unique<QGlobalAvgKernel>();
  k->n = s[0], k->c = s[1], k->hw = num_elements(Shape(s.begin() + 2, s.end()));
  if (k->hw == 0) info.fail("input has shape " + shape_str(s) + ": the mean of an empty window is undefined");
  const float sx = quant_scales(info, 1, "x_scale")[0], sy = quant_scales(info, 3, "y_scale")[0];
  k->zx = quant_zero_points(info, 2, "x_zero_point", DType::u8)[0];
  k->zy = quant_zero_points(info, 4, "y_zero_point", DType::u8)[0];
  // As ORT's QLinearGlobalAveragePool: one multiplier s_x / (s_y * hw) on the integer sum minus hw * z_x.
  k->scale = sx / (sy * float(k->hw));
  k->nhwc = info.input(0).layout == Layout::nhwc;
  return k;
}

// ---- QGemm / QLinearMatMul ------------------------------------------------------------------------------------

class QGemmKernel final : public Kernel {
 public:
  const kq::QGemmKernel* qk = nullptr;
  Tensor packed;
  std::vector<float> scale;
  kq::Epilogue ep;
  int64_t m = 0, n = 0, k = 0;
  std::unique_ptr<kq::QGemmOnednn> onednn;  // OCTET_BACKEND=onednn: oneDNN's int8 matmul instead of qgemm
  size_t workspace_bytes() const override { return onednn ? onednn->workspace_bytes() : 0; }
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    if (onednn) {
      onednn->run(in[0].as<const uint8_t>(), out[0].data, ctx.workspace, ctx.parallel ? ctx.parallel->threads() : 1);
      return;
    }
    kq::Epilogue e = ep;
    e.scale = scale.data();
    kq::qgemm(*qk, size_t(m), size_t(n), size_t(k), in[0].as<const uint8_t>(), size_t(k), packed.data(), e,
              out[0].data, size_t(n), ctx.parallel);
  }
  std::string name() const override {
    if (onednn) return "qgemm/onednn:" + onednn->impl() + (ep.kind == kq::OutKind::f32 ? "->f32" : "");
    return std::string("qgemm/") + kernels::isa_name(qk->isa) + ":" + std::to_string(qk->mr) + "x" +
           std::to_string(qk->nr) + (qk->max_abs_weight < 128 ? "w7" : "") + (ep.kind == kq::OutKind::f32 ? "->f32" : "");
  }
};

std::unique_ptr<Kernel> make_qgemm(const KernelInfo& info) {
  if (info.num_inputs() < 6) info.fail("expected at least 6 inputs (a, a_scale, a_zp, b, b_scale, b_zp, ...)");
  require_dtype(info, 0, DType::u8);
  require_plain(info);
  const Tensor* bt = info.in_const(3);
  if (!bt) unsupported(info, "B '" + info.input(3).name + "' is computed at run time; it must be a constant");
  if (bt->dtype() != DType::i8 || bt->shape().size() != 2)
    unsupported(info, "B '" + info.input(3).name + "' is " + dtype_name(bt->dtype()) + " " +
                          shape_str(bt->shape()) + ": only a 2-D int8 constant is supported");
  const bool trans_b = info.node().attr_i("transB", 0) != 0;
  const Shape a = info.in_shape(0), b = bt->shape();
  auto kg = std::make_unique<QGemmKernel>();
  kg->k = a.back();
  kg->m = num_elements(a) / std::max<int64_t>(1, kg->k);
  kg->n = trans_b ? b[0] : b[1];
  if ((trans_b ? b[1] : b[0]) != kg->k)
    info.fail("A " + shape_str(a) + " and B " + shape_str(b) + (trans_b ? " (transposed)" : "") + " do not multiply");
  const float sa = quant_scales(info, 1, "a_scale")[0];
  const int32_t za = quant_zero_points(info, 2, "a_zero_point", DType::u8)[0];
  const std::vector<float> sb = quant_scales(info, 4, "b_scale", kg->n);
  for (int32_t z : quant_zero_points(info, 5, "b_zero_point", DType::i8, kg->n))
    if (z != 0) unsupported(info, "B zero point " + std::to_string(z) + ": only symmetric weights (0) run");
  std::vector<int32_t> bias(size_t(kg->n), 0);
  if (info.has_input(8)) {
    const Tensor& bb = quant_const(info, 8, "bias");
    if (bb.dtype() != DType::i32 || bb.numel() != kg->n)
      info.fail("bias must be int32 [" + std::to_string(kg->n) + "]");
    bias.assign(bb.as<int32_t>(), bb.as<int32_t>() + kg->n);
  }
  kg->scale.resize(size_t(kg->n));
  if (info.has_input(6)) {
    if (info.output(0).dtype != DType::u8) unsupported(info, "only uint8 output is supported");
    const float sy = quant_scales(info, 6, "y_scale")[0];
    kg->ep.kind = kq::OutKind::u8;
    kg->ep.zero_point = quant_zero_points(info, 7, "y_zero_point", DType::u8)[0];
    for (int64_t j = 0; j < kg->n; ++j) kg->scale[size_t(j)] = (sa * sb[size_t(j)]) / sy;
    quant_clamp(info, sy, kg->ep.zero_point, kg->ep.lo, kg->ep.hi);
  } else {
    // Dequantized output: y = s_a * s_b[j] * (acc + bias).
    if (info.output(0).dtype != DType::f32) info.fail("without y_scale the output must be float32");
    if (!info.node().fusion.activation.empty()) unsupported(info, "a fused activation needs a uint8 output");
    kg->ep.kind = kq::OutKind::f32;
    for (int64_t j = 0; j < kg->n; ++j) kg->scale[size_t(j)] = sa * sb[size_t(j)];
  }
  // W[j][kk] (n x k, what qgemm packs) = B[j][kk] with transB, else B[kk][j].
  std::vector<int8_t> w(size_t(kg->n * kg->k));
  const int8_t* bd = bt->as<int8_t>();
  for (int64_t j = 0; j < kg->n; ++j)
    for (int64_t kk = 0; kk < kg->k; ++kk)
      w[size_t(j * kg->k + kk)] = trans_b ? bd[j * kg->k + kk] : bd[kk * kg->n + j];
  if (quant_backend() == QuantBackend::onednn) {
    // Null when oneDNN refuses the problem: octet's qgemm below runs it (the kernel name says which).
    kg->onednn = kq::QGemmOnednn::try_create(size_t(kg->m), size_t(kg->n), size_t(kg->k), w.data(), bias.data(), za,
                                             kg->scale.data(), kg->ep, std::max(1, info.threads));
    if (kg->onednn) return kg;
  }
  kg->qk = &kq::qgemm_kernel(info.isa, kq::max_abs_s8(w.data(), w.size()));
  kg->packed = Tensor(DType::u8, Shape{int64_t(kg->qk->packed_bytes(size_t(kg->n), size_t(kg->k)))});
  kg->qk->pack(size_t(kg->n), size_t(kg->k), w.data(), size_t(kg->k), bias.data(), za, kg->packed.data());
  return kg;
}

}  // namespace

void register_quant(KernelRegistry& r) {
  r.add("", "QuantizeLinear", make_quantize);
  r.add("", "DequantizeLinear", make_dequantize);
  r.add("octet", "QAdd", make_qadd);
  r.add("com.microsoft", "QLinearAdd", make_qadd);
  r.add("octet", "QMaxPool", make_qmaxpool);
  r.add("octet", "QGlobalAveragePool", make_qglobal_avg);
  r.add("com.microsoft", "QLinearGlobalAveragePool", make_qglobal_avg);
  r.add("octet", "QGemm", make_qgemm);
  r.add("", "QLinearMatMul", make_qgemm);
  register_quant_conv(r);
}

}  // namespace octet::ops
