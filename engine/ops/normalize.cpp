// Normalisation: LayerNormalization (opset 17), InstanceNormalization, LpNormalization,
// MeanVarianceNormalization, and the softmax relatives LogSoftmax and Hardmax (Softmax itself is in eltwise.cpp).
//
//   LayerNorm:    over dims [axis, rank): y = (x - m) / sqrt(v + eps) * scale + B, optional Mean / InvStdDev outputs
//   InstanceNorm: over the spatial dims of each (n, c): the same with scale[c], B[c]
//   LpNorm:       y = x / ||x||_p along one axis, p in {1, 2}
//   MVN:          y = (x - E[x]) / (sqrt(E[(x - E[x])^2]) + 1e-9) over `axes` (ONNX's function body: epsilon added
//                 to the standard deviation, not the variance)
//   LogSoftmax / Hardmax: before opset 13 the input is coerced to 2-D [prod(d[:axis]), prod(d[axis:])] (axis
//                 default 1); from 13 along the single axis `axis` (default -1). Hardmax: 1 at the first maximum.
#include <cmath>

#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"
#include "kernels/reduce/reduce.h"

namespace octet::ops {
namespace {

namespace kr = kernels::reduce;

int64_t prod(const Shape& s, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) p *= s[i];
  return p;
}

/// Expands src (shape s, broadcastable to `target`) into a dense target-shaped array.
void expand_to(const float* src, const std::vector<int64_t>& st, const Shape& target, float* dst) {
  const int64_t n = num_elements(target);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = 0;
    for (size_t d = target.size(); d-- > 0;) {
      off += (rem % target[d]) * st[d];
      rem /= target[d];
    }
    dst[i] = src[off];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// LayerNormalization

class LayerNormKernel final : public Kernel {
 public:
  struct Param {
    int input = -1;           // -1: absent (bias 0)
    bool dense = true;        // already [len] elements: read in place
    std::vector<int64_t> st;  // else broadcast strides to the normalised shape
  };
  LayerNormKernel(int64_t outer, Shape norm, float eps, Param scale, Param bias, const kr::Table& t)
      : outer_(outer),
        norm_(std::move(norm)),
        len_(num_elements(norm_)),
        eps_(eps),
        scale_(std::move(scale)),
        bias_(std::move(bias)),
        t_(t) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    float* ws = static_cast<float*>(ctx.workspace);
    auto param = [&](const Param& p, float* slot) -> const float* {
      if (p.input < 0) return nullptr;
      const float* src = in[size_t(p.input)].as<const float>();
      if (p.dense) return src;
      expand_to(src, p.st, norm_, slot);
      return slot;
    };
    const float* scale = param(scale_, ws);
    const float* bias = param(bias_, ws + len_);
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    float* mean = out.size() > 1 ? out[1].as<float>() : nullptr;
    float* inv = out.size() > 2 ? out[2].as<float>() : nullptr;
    split_work(ctx, outer_, len_ * 4, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r)
        t_.normalize_row(x + r * len_, y + r * len_, len_, eps_, scale, bias, true, mean ? mean + r : nullptr,
                         inv ? inv + r : nullptr);
    });
  }
  size_t workspace_bytes() const override { return size_t(2 * len_) * sizeof(float); }
  std::string name() const override { return std::string("layernorm/") + t_.isa; }
  int inplace_input() const override { return 0; }

 private:
  int64_t outer_;
  Shape norm_;
  int64_t len_;
  float eps_;
  Param scale_, bias_;
  const kr::Table& t_;
};

std::unique_ptr<Kernel> make_layer_norm(const KernelInfo& info) {
  require_plain(info);
  require_dtype(info, 0, DType::f32);
  const Node& n = info.node();
  const Shape s = info.in_shape(0);
  if (s.empty()) info.fail("input is a scalar, expected rank >= 1");
  const int64_t axis = normalize_axis(info.graph, info.node_id, n.attr_i("axis", -1), int64_t(s.size()));
  const Shape norm(s.begin() + axis, s.end());
  auto param = [&](int i, const char* what) {
    LayerNormKernel::Param p;
    if (!info.has_input(i)) return p;
    require_dtype(info, i, DType::f32, what);
    const Shape ps = info.in_shape(i);
    bool ok = ps.size() <= norm.size();
    for (size_t k = 0; ok && k < ps.size(); ++k)
      ok = ps[ps.size() - 1 - k] == 1 || ps[ps.size() - 1 - k] == norm[norm.size() - 1 - k];
    if (!ok)
      info.fail(std::string(what) + " '" + info.input(i).name + "' has shape " + shape_str(ps) +
                ", which does not broadcast to the normalised shape " + shape_str(norm));
    p.input = i;
    p.dense = num_elements(ps) == num_elements(norm);
    if (!p.dense) p.st = broadcast_strides(ps, norm);
    return p;
  };
  if (!info.has_input(1)) info.fail("Scale (input 1) is required");
  return std::make_unique<LayerNormKernel>(prod(s, 0, size_t(axis)), norm, n.attr_f("epsilon", 1e-5f),
                                           param(1, "Scale"), param(2, "B"), kr::table(info.isa));
}

// ---------------------------------------------------------------------------------------------------------------
// InstanceNormalization

class InstanceNormKernel final : public Kernel {
 public:
  InstanceNormKernel(int64_t n, int64_t c, int64_t len, float eps, const kr::Table& t)
      : n_(n), c_(c), len_(len), eps_(eps), t_(t) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    const float* scale = in[1].as<const float>();
    const float* bias = in[2].as<const float>();
    float* y = out[0].as<float>();
    split_work(ctx, n_ * c_, len_ * 4, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r)
        t_.normalize_row(x + r * len_, y + r * len_, len_, eps_, scale + r % c_, bias + r % c_, false, nullptr,
                         nullptr);
    });
  }
  std::string name() const override { return std::string("instancenorm/") + t_.isa; }
  int inplace_input() const override { return 0; }

 private:
  int64_t n_, c_, len_;
  float eps_;
  const kr::Table& t_;
};

std::unique_ptr<Kernel> make_instance_norm(const KernelInfo& info) {
  require_plain(info);
  if (info.num_inputs() != 3) info.fail("expected 3 inputs (input, scale, B)");
  for (int i = 0; i < 3; ++i) require_dtype(info, i, DType::f32);
  const Shape s = info.in_shape(0);
  if (s.size() < 3) info.fail("input has shape " + shape_str(s) + ", expected N x C x D1 ...");
  for (int i = 1; i < 3; ++i)
    if (info.in_shape(i) != Shape{s[1]})
      info.fail(std::string(i == 1 ? "scale" : "B") + " '" + info.input(i).name + "' has shape " +
                shape_str(info.in_shape(i)) + ", expected [" + std::to_string(s[1]) + "]");
  return std::make_unique<InstanceNormKernel>(s[0], s[1], prod(s, 2, s.size()), info.node().attr_f("epsilon", 1e-5f),
                                              kr::table(info.isa));
}

// ---------------------------------------------------------------------------------------------------------------
// LpNormalization: the norms by the reduction kernels into the workspace, then one division pass.

class LpNormKernel final : public Kernel {
 public:
  LpNormKernel(int p, int64_t outer, int64_t len, int64_t inner, const kr::Table& t)
      : p_(p), outer_(outer), len_(len), inner_(inner), t_(t) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    float* norm = static_cast<float*>(ctx.workspace);
    const kr::Op op = p_ == 1 ? kr::Op::sum_abs : kr::Op::sum_sq;
    split_work(ctx, outer_, len_ * inner_, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const float* xo = x + o * len_ * inner_;
        float* no = norm + o * inner_;
        if (inner_ == 1)
          t_.rows(op, xo, no, 1, len_);
        else
          t_.strided(op, xo, no, len_, inner_, inner_);
        if (p_ == 2)
          for (int64_t i = 0; i < inner_; ++i) no[i] = std::sqrt(no[i]);
        float* yo = y + o * len_ * inner_;
        for (int64_t l = 0; l < len_; ++l)
          for (int64_t i = 0; i < inner_; ++i) yo[l * inner_ + i] = xo[l * inner_ + i] / no[i];
      }
    });
  }
  size_t workspace_bytes() const override { return size_t(outer_ * inner_) * sizeof(float); }
  std::string name() const override { return "lpnorm/l" + std::to_string(p_) + "/" + t_.isa; }

 private:
  int p_;
  int64_t outer_, len_, inner_;
  const kr::Table& t_;
};

std::unique_ptr<Kernel> make_lp_norm(const KernelInfo& info) {
  require_plain(info);
  require_dtype(info, 0, DType::f32);
  const Shape s = info.in_shape(0);
  if (s.empty()) info.fail("input is a scalar, expected rank >= 1");
  const int64_t axis = normalize_axis(info.graph, info.node_id, info.node().attr_i("axis", -1), int64_t(s.size()));
  const int64_t p = info.node().attr_i("p", 2);
  if (p != 1 && p != 2) info.fail("p = " + std::to_string(p) + ", expected 1 or 2");
  return std::make_unique<LpNormKernel>(int(p), prod(s, 0, size_t(axis)), s[size_t(axis)],
                                        prod(s, size_t(axis) + 1, s.size()), kr::table(info.isa));
}

// ---------------------------------------------------------------------------------------------------------------
// MeanVarianceNormalization: any set of axes. Each element's statistics slot is its index with the reduced dims
// dropped (an odometer over the input); moments accumulate in double.

class MvnKernel final : public Kernel {
 public:
  MvnKernel(Shape s, std::vector<char> red) : s_(std::move(s)), red_(std::move(red)) {
    int64_t stride = 1;
    slot_stride_.assign(s_.size(), 0);
    for (size_t d = s_.size(); d-- > 0;)
      if (!red_[d]) slot_stride_[d] = stride, stride *= s_[d];
    slots_ = stride;
  }
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    const int64_t n = num_elements(s_);
    const int64_t count = slots_ ? n / slots_ : 0;
    std::vector<double> mean(size_t(slots_), 0), var(size_t(slots_), 0);
    for_each(n, [&](int64_t i, int64_t k) { mean[size_t(k)] += x[i]; });
    for (double& m : mean) m /= double(count);
    for_each(n, [&](int64_t i, int64_t k) {
      const double d = x[i] - mean[size_t(k)];
      var[size_t(k)] += d * d;
    });
    for (double& v : var) v = std::sqrt(v / double(count)) + 1e-9;
    for_each(n, [&](int64_t i, int64_t k) { y[i] = float((x[i] - mean[size_t(k)]) / var[size_t(k)]); });
  }
  std::string name() const override { return "mvn/scalar"; }

 private:
  template <class Fn>
  void for_each(int64_t n, Fn fn) const {
    std::vector<int64_t> idx(s_.size(), 0);
    int64_t slot = 0;
    for (int64_t i = 0; i < n; ++i) {
      fn(i, slot);
      for (size_t d = s_.size(); d-- > 0;) {
        slot += slot_stride_[d];
        if (++idx[d] < s_[d]) break;
        slot -= slot_stride_[d] * s_[d];
        idx[d] = 0;
      }
    }
  }
  Shape s_;
  std::vector<char> red_;
  std::vector<int64_t> slot_stride_;
  int64_t slots_ = 1;
};

std::unique_ptr<Kernel> make_mvn(const KernelInfo& info) {
  require_plain(info);
  require_dtype(info, 0, DType::f32);
  const Shape s = info.in_shape(0);
  std::vector<char> red(s.size(), 0);
  for (int64_t a : info.node().attr_ints("axes", {0, 2, 3})) {
    const int64_t k = normalize_axis(info.graph, info.node_id, a, int64_t(s.size()));
    if (red[size_t(k)]++) info.fail("axis " + std::to_string(a) + " appears twice in axes");
  }
  return std::make_unique<MvnKernel>(s, std::move(red));
}

// ---------------------------------------------------------------------------------------------------------------
// LogSoftmax, Hardmax

/// [outer, len, inner] of the softmax-like op's axis under the node's opset (see the file comment).
void softmax_geometry(const KernelInfo& info, int64_t* outer, int64_t* len, int64_t* inner) {
  const Shape s = info.in_shape(0);
  if (s.empty()) info.fail("input is a scalar, expected rank >= 1");
  const int64_t rank = int64_t(s.size());
  const bool coerce = info.graph.opset() < 13;
  const int64_t axis = normalize_axis(info.graph, info.node_id, info.node().attr_i("axis", coerce ? 1 : -1), rank);
  *outer = prod(s, 0, size_t(axis));
  *len = coerce ? prod(s, size_t(axis), s.size()) : s[size_t(axis)];
  *inner = coerce ? 1 : prod(s, size_t(axis) + 1, s.size());
}

class LogSoftmaxKernel final : public Kernel {
 public:
  LogSoftmaxKernel(int64_t outer, int64_t len, int64_t inner, const kr::Table& t)
      : outer_(outer), len_(len), inner_(inner), t_(t) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    const int64_t block = len_ * inner_;
    split_work(ctx, outer_, block * 8, [&](int64_t b, int64_t e) {
      if (inner_ == 1) t_.log_softmax_rows(x + b * len_, y + b * len_, e - b, len_);
      // A strided axis (rare in exported models: heads put the class axis last) takes the scalar loop.
      else
        kr::log_softmax_ref(x + b * block, y + b * block, e - b, len_, inner_);
    });
  }
  std::string name() const override { return std::string("logsoftmax/") + (inner_ == 1 ? t_.isa : "scalar"); }
  int inplace_input() const override { return inner_ == 1 ? 0 : -1; }

 private:
  int64_t outer_, len_, inner_;
  const kr::Table& t_;
};

std::unique_ptr<Kernel> make_log_softmax(const KernelInfo& info) {
  require_plain(info);
  require_dtype(info, 0, DType::f32);
  int64_t outer, len, inner;
  softmax_geometry(info, &outer, &len, &inner);
  return std::make_unique<LogSoftmaxKernel>(outer, len, inner, kr::table(info.isa));
}

class HardmaxKernel final : public Kernel {
 public:
  HardmaxKernel(int64_t outer, int64_t len, int64_t inner) : outer_(outer), len_(len), inner_(inner) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    std::vector<int64_t> idx(static_cast<size_t>(outer_ * inner_));
    if (len_ > 0) kr::arg_reduce(true, false, x, idx.data(), outer_, len_, inner_);
    std::fill(y, y + outer_ * len_ * inner_, 0.f);
    for (int64_t o = 0; o < outer_; ++o)
      for (int64_t i = 0; i < inner_; ++i) y[(o * len_ + idx[size_t(o * inner_ + i)]) * inner_ + i] = 1.f;
  }
  std::string name() const override { return "hardmax/scalar"; }

 private:
  int64_t outer_, len_, inner_;
};

std::unique_ptr<Kernel> make_hardmax(const KernelInfo& info) {
  require_plain(info);
  require_dtype(info, 0, DType::f32);
  int64_t outer, len, inner;
  softmax_geometry(info, &outer, &len, &inner);
  return std::make_unique<HardmaxKernel>(outer, len, inner);
}

}  // namespace

void register_normalize(KernelRegistry& r) {
  r.add("", "LayerNormalization", make_layer_norm);
  r.add("", "InstanceNormalization", make_instance_norm);
  r.add("", "LpNormalization", make_lp_norm);
  r.add("", "MeanVarianceNormalization", make_mvn);
  r.add("", "LogSoftmax", make_log_softmax);
  r.add("", "Hardmax", make_hardmax);
}

}  // namespace octet::ops
