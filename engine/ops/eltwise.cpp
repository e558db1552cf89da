// Element-wise ops: Relu, Clip (float32; uint8, int8, int32, int64), LeakyRelu, Sigmoid, Add/Sub/Mul/Div (numpy broadcasting), Softmax,
// BatchNormalization (inference, when not folded into a Conv), Identity, Dropout (inference).
//
// Factories check dtypes, attributes and layouts once and precompute what they can (broadcast strides, BN
// scale/shift); run() only loops. The float loops are kernels/eltwise (per-ISA xsimd code).
#include <cmath>
#include <limits>

#include "engine/kernel.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"
#include "kernels/eltwise/eltwise.h"

namespace octet::ops {
namespace {

namespace ek = kernels::eltwise;

/// Unary ops must keep the layout (they are layout-agnostic, but a layout change is Reorder's job).
void require_same_layout(const KernelInfo& info) {
  if (info.input(0).layout != info.output(0).layout)
    unsupported(info, std::string("input layout ") + layout_name(info.input(0).layout) + " differs from output layout " +
                          layout_name(info.output(0).layout));
}

// ---------------------------------------------------------------------------------------------------------------
// Unary activations

enum class UnaryKind { relu, clip, leaky_relu, sigmoid };

class UnaryKernel final : public Kernel {
 public:
  UnaryKernel(UnaryKind kind, const ek::Table& t, float alpha, float beta, int min_input, int max_input)
      : kind_(kind), t_(t), alpha_(alpha), beta_(beta), min_input_(min_input), max_input_(max_input) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    float lo = alpha_, hi = beta_;
    // Clip from opset 11: bounds computed at run time are read now (scalars).
    if (min_input_ >= 0 && size_t(min_input_) < in.size() && in[min_input_].data) lo = *in[min_input_].as<const float>();
    if (max_input_ >= 0 && size_t(max_input_) < in.size() && in[max_input_].data) hi = *in[max_input_].as<const float>();
    split_elements(ctx, in[0].numel(), [&](int64_t b, int64_t e) {
      switch (kind_) {
        case UnaryKind::relu: t_.relu(x + b, y + b, e - b); break;
        case UnaryKind::clip: t_.clip(x + b, y + b, e - b, lo, hi); break;
        case UnaryKind::leaky_relu: t_.leaky_relu(x + b, y + b, e - b, alpha_); break;
        case UnaryKind::sigmoid: t_.sigmoid(x + b, y + b, e - b); break;
      }
    });
  }
  std::string name() const override {
    static const char* names[] = {"relu", "clip", "leakyrelu", "sigmoid"};
    return std::string("eltwise/") + names[int(kind_)] + "/" + t_.isa;
  }
  int inplace_input() const override { return 0; }

 private:
  UnaryKind kind_;
  const ek::Table& t_;
  float alpha_, beta_;       // Clip: min, max; LeakyRelu: alpha
  int min_input_, max_input_;  // Clip >= 11: runtime bound inputs, or -1
};

std::unique_ptr<Kernel> make_unary(const KernelInfo& info, UnaryKind kind, float alpha, float beta, int min_in = -1,
                                   int max_in = -1) {
  require_dtype(info, 0, DType::f32);
  require_same_layout(info);
  return std::make_unique<UnaryKernel>(kind, ek::table(info.isa), alpha, beta, min_in, max_in);
}

std::unique_ptr<Kernel> make_relu(const KernelInfo& info) { return make_unary(info, UnaryKind::relu, 0, 0); }
std::unique_ptr<Kernel> make_sigmoid(const KernelInfo& info) { return make_unary(info, UnaryKind::sigmoid, 0, 0); }
std::unique_ptr<Kernel> make_leaky_relu(const KernelInfo& info) {
  return make_unary(info, UnaryKind::leaky_relu, info.node().attr_f("alpha", 0.01f), 0);
}

/// Clip on integer tensors (opset 12+: uint8, int8, int32, int64; min / max inputs of the same type). Bounds are
/// held as int64_t, which represents every value of each of these types exactly.
class IntClipKernel final : public Kernel {
 public:
  IntClipKernel(DType dt, const ek::Table& t, int64_t lo, int64_t hi, int min_input, int max_input)
      : dt_(dt), t_(t), lo_(lo), hi_(hi), min_input_(min_input), max_input_(max_input) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    switch (dt_) {
      case DType::u8: return run_t<uint8_t>(ctx, in, out, t_.clip_u8);
      case DType::i8: return run_t<int8_t>(ctx, in, out, t_.clip_s8);
      case DType::i32: return run_t<int32_t>(ctx, in, out, t_.clip_i32);
      default: return run_t<int64_t>(ctx, in, out, t_.clip_i64);
    }
  }
  std::string name() const override { return std::string("eltwise/clip_") + dtype_name(dt_) + "/" + t_.isa; }
  int inplace_input() const override { return 0; }

 private:
  template <class T>
  void run_t(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out,
             void (*clip)(const T*, T*, int64_t, T, T)) const {
    const T* x = in[0].as<const T>();
    T* y = out[0].as<T>();
    T lo = T(lo_), hi = T(hi_);
    if (min_input_ >= 0 && size_t(min_input_) < in.size() && in[min_input_].data) lo = *in[min_input_].as<const T>();
    if (max_input_ >= 0 && size_t(max_input_) < in.size() && in[max_input_].data) hi = *in[max_input_].as<const T>();
    split_elements(ctx, in[0].numel(), [&](int64_t b, int64_t e) { clip(x + b, y + b, e - b, lo, hi); });
  }

  DType dt_;
  const ek::Table& t_;
  int64_t lo_, hi_;
  int min_input_, max_input_;
};

/// The lowest and highest value of integer type dt; the value of a constant scalar of that type; as int64_t.
void int_range(DType dt, int64_t* lo, int64_t* hi) {
  switch (dt) {
    case DType::u8: *lo = 0, *hi = 255; break;
    case DType::i8: *lo = -128, *hi = 127; break;
    case DType::i32: *lo = std::numeric_limits<int32_t>::min(), *hi = std::numeric_limits<int32_t>::max(); break;
    default: *lo = std::numeric_limits<int64_t>::min(), *hi = std::numeric_limits<int64_t>::max(); break;
  }
}
int64_t int_scalar(const Tensor& t) {
  switch (t.dtype()) {
    case DType::u8: return *t.as<uint8_t>();
    case DType::i8: return *t.as<int8_t>();
    case DType::i32: return *t.as<int32_t>();
    default: return *t.as<int64_t>();
  }
}

std::unique_ptr<Kernel> make_int_clip(const KernelInfo& info, DType dt) {
  if (info.graph.opset() < 11)
    unsupported(info, std::string("input has type ") + dtype_name(dt) + ": Clip takes integers from opset 12 on");
  require_same_layout(info);
  if (info.output(0).dtype != dt)
    info.fail(std::string("output has type ") + dtype_name(info.output(0).dtype) + ", expected " + dtype_name(dt));
  int64_t bound[2];
  int_range(dt, &bound[0], &bound[1]);
  int runtime[2] = {-1, -1};
  for (int i = 1; i <= 2; ++i) {
    if (!info.has_input(i)) continue;
    require_dtype(info, i, dt, i == 1 ? "min" : "max");
    if (num_elements(info.in_shape(i)) != 1)
      info.fail(std::string(i == 1 ? "min" : "max") + " has shape " + shape_str(info.in_shape(i)) +
                ", expected a scalar");
    if (const Tensor* c = info.in_const(i))
      bound[i - 1] = int_scalar(*c);
    else
      runtime[i - 1] = i;
  }
  return std::make_unique<IntClipKernel>(dt, ek::table(info.isa), bound[0], bound[1], runtime[0], runtime[1]);
}

std::unique_ptr<Kernel> make_clip(const KernelInfo& info) {
  const DType dt = info.input(0).dtype;
  if (dt == DType::u8 || dt == DType::i8 || dt == DType::i32 || dt == DType::i64) return make_int_clip(info, dt);
  if (dt != DType::f32)
    unsupported(info, std::string("input '") + info.input(0).name + "' has type " + dtype_name(dt) +
                          ", only float32, uint8, int8, int32 and int64 are supported");
  const float lowest = std::numeric_limits<float>::lowest(), highest = std::numeric_limits<float>::max();
  if (info.graph.opset() < 11)
    return make_unary(info, UnaryKind::clip, info.node().attr_f("min", lowest), info.node().attr_f("max", highest));
  // Opset 11+: min and max are optional scalar inputs 1 and 2, constant (read now) or computed (read per run).
  float bound[2] = {lowest, highest};
  int runtime[2] = {-1, -1};
  for (int i = 1; i <= 2; ++i) {
    if (!info.has_input(i)) continue;
    require_dtype(info, i, DType::f32, i == 1 ? "min" : "max");
    if (num_elements(info.in_shape(i)) != 1)
      info.fail(std::string(i == 1 ? "min" : "max") + " has shape " + shape_str(info.in_shape(i)) +
                ", expected a scalar");
    if (const Tensor* c = info.in_const(i))
      bound[i - 1] = *c->as<float>();
    else
      runtime[i - 1] = i;
  }
  return make_unary(info, UnaryKind::clip, bound[0], bound[1], runtime[0], runtime[1]);
}

// ---------------------------------------------------------------------------------------------------------------
// Binary arithmetic with numpy broadcasting

/// Broadcast iteration plan. Both operands are aligned to the output's rank (leading 1s) and given element
/// strides, 0 along broadcast dims. Adjacent dims are merged when, for both operands, the outer stride equals
/// inner stride * inner size (then the pair walks memory like one dim): NCHW + C11 becomes [N, C, HW] with b
/// strides [0, 1, 0]. The innermost merged dim then has strides in {0, 1} for each operand, which is what the
/// vector loop takes; the outer dims are walked with an odometer.
struct Broadcast {
  std::vector<int64_t> dims, sa, sb;  // outer dims (inner excluded), operand strides
  int64_t inner = 1, inner_sa = 1, inner_sb = 1;
  int64_t outer = 1;

  static Broadcast make(const Shape& a, const Shape& b, const Shape& out) {
    const size_t r = out.size();
    std::vector<int64_t> d, xa, xb;
    auto strides_of = [&](const Shape& s) {
      std::vector<int64_t> st(r, 0);
      int64_t acc = 1;
      for (size_t k = 0; k < s.size(); ++k) {
        const size_t i = s.size() - 1 - k, o = r - 1 - k;
        st[o] = s[i] == 1 ? 0 : acc;
        acc *= s[i];
      }
      return st;
    };
    std::vector<int64_t> fa = strides_of(a), fb = strides_of(b);
    for (size_t i = 0; i < r; ++i) {
      if (out[i] == 1) continue;
      if (!d.empty() && xa.back() == fa[i] * out[i] && xb.back() == fb[i] * out[i]) {
        d.back() *= out[i];
        xa.back() = fa[i];
        xb.back() = fb[i];
      } else {
        d.push_back(out[i]);
        xa.push_back(fa[i]);
        xb.push_back(fb[i]);
      }
    }
    Broadcast p;
    if (!d.empty()) {
      p.inner = d.back();
      p.inner_sa = xa.back();
      p.inner_sb = xb.back();
      d.pop_back();
      xa.pop_back();
      xb.pop_back();
    }
    p.dims = d;
    p.sa = xa;
    p.sb = xb;
    for (int64_t v : d) p.outer *= v;
    return p;
  }

  /// Calls fn(out_offset, a_offset, b_offset) for outer rows [begin, end).
  template <class Fn>
  void for_rows(int64_t begin, int64_t end, Fn fn) const {
    const size_t k = dims.size();
    std::vector<int64_t> idx(k, 0);
    int64_t oa = 0, ob = 0, rem = begin;
    for (size_t i = k; i-- > 0;) {
      idx[i] = rem % dims[i];
      rem /= dims[i];
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    for (int64_t row = begin; row < end; ++row) {
      fn(row * inner, oa, ob);
      for (size_t i = k; i-- > 0;) {  // odometer step
        oa += sa[i];
        ob += sb[i];
        if (++idx[i] < dims[i]) break;
        oa -= sa[i] * dims[i];
        ob -= sb[i] * dims[i];
        idx[i] = 0;
      }
    }
  }
};

const char* binary_name(ek::BinaryOp op) {
  static const char* n[] = {"add", "sub", "mul", "div"};
  return n[int(op)];
}

template <class T>
void binary_int(ek::BinaryOp op, const T* a, int64_t sa, const T* b, int64_t sb, T* y, int64_t n,
                const std::string& where) {
  for (int64_t i = 0; i < n; ++i) {
    const T p = a[i * sa], q = b[i * sb];
    switch (op) {
      case ek::BinaryOp::add: y[i] = T(p + q); break;
      case ek::BinaryOp::sub: y[i] = T(p - q); break;
      case ek::BinaryOp::mul: y[i] = T(p * q); break;
      case ek::BinaryOp::div:
        // ONNX integer Div truncates toward zero, as C++ does.
        if (q == 0) throw Error(where + ": integer division by zero");
        y[i] = T(p / q);
        break;
    }
  }
}

class BinaryKernel final : public Kernel {
 public:
  BinaryKernel(ek::BinaryOp op, DType dt, Broadcast bc, const ek::Table& t, int inplace, std::string where)
      : op_(op), dt_(dt), bc_(std::move(bc)), t_(t), inplace_(inplace), where_(std::move(where)) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    switch (dt_) {
      case DType::f32: return run_t<float>(ctx, in, out);
      case DType::i32: return run_t<int32_t>(ctx, in, out);
      case DType::u8: return run_t<uint8_t>(ctx, in, out);
      default: return run_t<int64_t>(ctx, in, out);
    }
  }
  std::string name() const override {
    return std::string("eltwise/") + binary_name(op_) + "/" + (dt_ == DType::f32 ? t_.isa : dtype_name(dt_));
  }
  int inplace_input() const override { return inplace_; }

 private:
  template <class T>
  void run_t(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const {
    const T* a = in[0].as<const T>();
    const T* b = in[1].as<const T>();
    T* y = out[0].as<T>();
    auto inner = [&](int64_t oy, int64_t oa, int64_t ob, int64_t i0, int64_t n) {
      const T* pa = a + oa + i0 * bc_.inner_sa;
      const T* pb = b + ob + i0 * bc_.inner_sb;
      if constexpr (std::is_same_v<T, float>)
        t_.binary(op_, pa, bc_.inner_sa, pb, bc_.inner_sb, y + oy + i0, n);
      else
        binary_int<T>(op_, pa, bc_.inner_sa, pb, bc_.inner_sb, y + oy + i0, n, where_);
    };
    if (bc_.outer == 1) {
      // One long row (same shapes, or a scalar operand): split the row itself.
      split_elements(ctx, bc_.inner, [&](int64_t b0, int64_t e0) { inner(0, 0, 0, b0, e0 - b0); });
      return;
    }
    split_work(ctx, bc_.outer, bc_.inner, [&](int64_t r0, int64_t r1) {
      bc_.for_rows(r0, r1, [&](int64_t oy, int64_t oa, int64_t ob) { inner(oy, oa, ob, 0, bc_.inner); });
    });
  }

  ek::BinaryOp op_;
  DType dt_;
  Broadcast bc_;
  const ek::Table& t_;
  int inplace_;
  std::string where_;
};

template <ek::BinaryOp Op>
std::unique_ptr<Kernel> make_binary(const KernelInfo& info) {
  if (info.num_inputs() != 2) info.fail("expected 2 inputs, got " + std::to_string(info.num_inputs()));
  const Value &a = info.input(0), &b = info.input(1), &y = info.output(0);
  if (a.dtype != b.dtype)
    info.fail(std::string("inputs have different types ") + dtype_name(a.dtype) + " and " + dtype_name(b.dtype));
  // Integer types for shape arithmetic (int64, int32) and uint8 (wrapping, as numpy does).
  if (a.dtype != DType::f32 && a.dtype != DType::i32 && a.dtype != DType::i64 && a.dtype != DType::u8)
    unsupported(info, std::string("type ") + dtype_name(a.dtype) + " is not supported (float32, int32, int64, uint8 are)");
  const Shape sa = a.shape(), sb = b.shape(), sy = y.shape();
  if (broadcast_shapes(info.graph, info.node_id, sa, sb) != sy)
    info.fail("output shape " + shape_str(sy) + " is not the broadcast of " + shape_str(sa) + " and " + shape_str(sb));
  const bool plain = a.layout == Layout::plain && b.layout == Layout::plain && y.layout == Layout::plain;
  const bool nhwc = a.layout == Layout::nhwc && b.layout == Layout::nhwc && y.layout == Layout::nhwc &&
                    sa.size() == 4 && sb.size() == 4 && sy.size() == 4;
  if (!plain && !nhwc)
    unsupported(info, "mixed or non-plain layouts (inputs " + std::string(layout_name(a.layout)) + " " + shape_str(sa) +
                          " and " + layout_name(b.layout) + " " + shape_str(sb) + ", output " + layout_name(y.layout) +
                          ")");
  // All three NHWC: broadcasting commutes with permuting the axes, so broadcast the physical shapes
  // [N, H, W, C] (the squeeze-excitation scale x * s[N, C, 1, 1] becomes [N, H, W, C] * [N, 1, 1, C]).
  auto physical = [&](const Shape& s) { return nhwc ? Shape{s[0], s[2], s[3], s[1]} : s; };
  Broadcast bc = Broadcast::make(physical(sa), physical(sb), physical(sy));
  const int inplace = sa == sy ? 0 : sb == sy ? 1 : -1;
  return std::make_unique<BinaryKernel>(Op, a.dtype, std::move(bc), ek::table(info.isa), inplace,
                                        info.graph.where(info.node_id));
}

// ---------------------------------------------------------------------------------------------------------------
// Softmax

class SoftmaxKernel final : public Kernel {
 public:
  SoftmaxKernel(int64_t outer, int64_t len, int64_t inner, const ek::Table& t)
      : outer_(outer), len_(len), inner_(inner), t_(t) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    const int64_t block = len_ * inner_;
    split_work(ctx, outer_, block * 8, [&](int64_t b, int64_t e) {
      if (inner_ == 1)
        t_.softmax_rows(x + b * len_, y + b * len_, e - b, len_);
      else
        for (int64_t o = b; o < e; ++o) t_.softmax_strided(x + o * block, y + o * block, len_, inner_);
    });
  }
  std::string name() const override { return std::string("eltwise/softmax/") + t_.isa; }
  int inplace_input() const override { return 0; }

 private:
  int64_t outer_, len_, inner_;
  const ek::Table& t_;
};

std::unique_ptr<Kernel> make_softmax(const KernelInfo& info) {
  require_dtype(info, 0, DType::f32);
  require_plain(info);
  const Shape s = info.in_shape(0);
  const int64_t rank = int64_t(s.size());
  auto prod = [&](int64_t b, int64_t e) {
    int64_t p = 1;
    for (int64_t i = b; i < e; ++i) p *= s[i];
    return p;
  };
  if (rank == 0) info.fail("input is a scalar, expected rank >= 1");
  if (info.graph.opset() < 13) {
    // Opsets 1-12: the input is seen as 2-D [prod(dims < axis), prod(dims >= axis)], softmax over each row.
    const int64_t axis = normalize_axis(info.graph, info.node_id, info.node().attr_i("axis", 1), rank);
    return std::make_unique<SoftmaxKernel>(prod(0, axis), prod(axis, rank), 1, ek::table(info.isa));
  }
  const int64_t axis = normalize_axis(info.graph, info.node_id, info.node().attr_i("axis", -1), rank);
  return std::make_unique<SoftmaxKernel>(prod(0, axis), s[axis], prod(axis + 1, rank), ek::table(info.isa));
}

// ---------------------------------------------------------------------------------------------------------------
// BatchNormalization (inference)

// y = (x - mean) / sqrt(var + eps) * scale + B  =  x * a + b  with  a = scale / sqrt(var + eps),
// b = B - mean * a  (per channel). With constant parameters a and b are computed once here; otherwise per run
// into the workspace.
class BatchNormKernel final : public Kernel {
 public:
  BatchNormKernel(int64_t n, int64_t c, int64_t inner, bool nhwc, float eps, std::vector<float> ab,
                  const ek::Table& t)
      : n_(n), c_(c), inner_(inner), nhwc_(nhwc), eps_(eps), ab_(std::move(ab)), t_(t) {}

  static void fold(const float* scale, const float* bias, const float* mean, const float* var, float eps, int64_t c,
                   float* a, float* b) {
    for (int64_t i = 0; i < c; ++i) {
      a[i] = scale[i] / std::sqrt(var[i] + eps);
      b[i] = bias[i] - mean[i] * a[i];
    }
  }

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* a = ab_.data();
    if (ab_.empty()) {
      float* ws = static_cast<float*>(ctx.workspace);
      fold(in[1].as<const float>(), in[2].as<const float>(), in[3].as<const float>(), in[4].as<const float>(), eps_,
           c_, ws, ws + c_);
      a = ws;
    }
    const float* b = a + c_;
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    if (nhwc_) {
      // Channels innermost: each of the n*inner pixels is one row of c values.
      split_work(ctx, n_ * inner_, c_, [&](int64_t r0, int64_t r1) {
        t_.scale_shift_channels(x + r0 * c_, y + r0 * c_, r1 - r0, c_, a, b);
      });
    } else {
      split_work(ctx, n_ * c_, inner_, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const int64_t ch = p % c_;
          t_.scale_shift(x + p * inner_, y + p * inner_, inner_, a[ch], b[ch]);
        }
      });
    }
  }
  size_t workspace_bytes() const override { return ab_.empty() ? size_t(2 * c_) * sizeof(float) : 0; }
  std::string name() const override { return std::string("eltwise/batchnorm/") + t_.isa; }
  int inplace_input() const override { return 0; }

 private:
  int64_t n_, c_, inner_;
  bool nhwc_;
  float eps_;
  std::vector<float> ab_;  // a[c] then b[c], when the parameters are constants
  const ek::Table& t_;
};

std::unique_ptr<Kernel> make_batchnorm(const KernelInfo& info) {
  const Node& node = info.node();
  if (info.num_inputs() != 5) info.fail("expected 5 inputs (X, scale, B, mean, var), got " + std::to_string(info.num_inputs()));
  if (node.attr_i("training_mode", 0) != 0) unsupported(info, "training_mode=1 is not supported (inference only)");
  if (node.has_attr("spatial") && node.attr_i("spatial", 1) == 0)
    unsupported(info, "spatial=0 (per-activation statistics) is not supported");
  int outputs = 0;
  for (int o : node.outputs) outputs += o >= 0;
  if (outputs > 1) unsupported(info, "the training outputs (running mean/var) are not supported");
  for (int i = 0; i < 5; ++i) require_dtype(info, i, DType::f32);
  require_same_layout(info);
  const Shape s = info.in_shape(0);
  if (s.size() < 2) info.fail("input has shape " + shape_str(s) + ", expected rank >= 2 (N x C x ...)");
  const int64_t c = s[1];
  for (int i = 1; i < 5; ++i)
    if (info.in_shape(i) != Shape{c})
      info.fail("input " + std::to_string(i) + " has shape " + shape_str(info.in_shape(i)) + ", expected [" +
                std::to_string(c) + "]");
  const bool nhwc = info.input(0).layout == Layout::nhwc;
  if (nhwc && s.size() != 4) unsupported(info, "nhwc layout needs a 4-D input");
  int64_t inner = 1;
  for (size_t i = 2; i < s.size(); ++i) inner *= s[i];
  const float eps = node.attr_f("epsilon", 1e-5f);
  std::vector<float> ab;
  if (info.in_const(1) && info.in_const(2) && info.in_const(3) && info.in_const(4)) {
    ab.resize(size_t(2 * c));
    BatchNormKernel::fold(info.in_const(1)->as<float>(), info.in_const(2)->as<float>(), info.in_const(3)->as<float>(),
                          info.in_const(4)->as<float>(), eps, c, ab.data(), ab.data() + c);
  }
  return std::make_unique<BatchNormKernel>(s[0], c, inner, nhwc, eps, std::move(ab), ek::table(info.isa));
}

// ---------------------------------------------------------------------------------------------------------------
// Identity, Dropout (inference)

/// Output 0 = input 0 (any dtype, any layout); Dropout's optional mask output is all true.
class PassThroughKernel final : public Kernel {
 public:
  PassThroughKernel(std::string op, int training_input) : op_(std::move(op)), training_input_(training_input) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    if (training_input_ >= 0 && size_t(training_input_) < in.size() && in[training_input_].data &&
        *in[training_input_].as<const bool>())
      throw Unsupported("Dropout with training_mode=true at run time is not supported (inference only)");
    copy_bytes(out[0].data, in[0].data, in[0].bytes());
    if (out.size() > 1 && out[1].data) std::memset(out[1].data, 1, out[1].bytes());  // mask: every element kept
  }
  std::string name() const override { return op_ + "/copy"; }
  int inplace_input() const override { return 0; }

 private:
  std::string op_;
  int training_input_;
};

std::unique_ptr<Kernel> make_identity(const KernelInfo& info) {
  if (info.num_inputs() != 1) info.fail("expected 1 input");
  if (info.input(0).layout != info.output(0).layout) unsupported(info, "input and output layouts differ");
  return std::make_unique<PassThroughKernel>("identity", -1);
}

std::unique_ptr<Kernel> make_dropout(const KernelInfo& info) {
  if (info.input(0).layout != info.output(0).layout) unsupported(info, "input and output layouts differ");
  if (info.node().outputs.size() > 1 && info.node().outputs[1] >= 0 && info.output(1).dtype != DType::boolean)
    unsupported(info, std::string("mask output of type ") + dtype_name(info.output(1).dtype) + " is not supported");
  // Opset 12+: training_mode is input 2; a constant true asks for random dropping, which inference does not do.
  // With a constant ratio of 0, training mode keeps every element and scales by 1 / (1 - 0): the identity.
  int training_input = -1;
  if (info.has_input(2) && !dropout_ratio_is_zero(info.graph, info.node())) {
    if (info.input(2).dtype != DType::boolean) info.fail("training_mode must be a bool scalar");
    if (const Tensor* t = info.in_const(2)) {
      if (*t->as<bool>()) unsupported(info, "training_mode=true is not supported (inference only)");
    } else {
      training_input = 2;
    }
  }
  return std::make_unique<PassThroughKernel>("dropout", training_input);
}

}  // namespace

void register_eltwise(KernelRegistry& r) {
  r.add("", "Relu", make_relu);
  r.add("", "Clip", make_clip);
  r.add("", "LeakyRelu", make_leaky_relu);
  r.add("", "Sigmoid", make_sigmoid);
  r.add("", "Add", make_binary<ek::BinaryOp::add>);
  r.add("", "Sub", make_binary<ek::BinaryOp::sub>);
  r.add("", "Mul", make_binary<ek::BinaryOp::mul>);
  r.add("", "Div", make_binary<ek::BinaryOp::div>);
  r.add("", "Softmax", make_softmax);
  r.add("", "BatchNormalization", make_batchnorm);
  r.add("", "Identity", make_identity);
  r.add("", "Dropout", make_dropout);
}

}  // namespace octet::ops
