// Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax/ArgMin.
//
// The factory merges adjacent dims that are all kept or all reduced (dims of size 1 are dropped: reducing them
// changes nothing) and picks one of the kernel patterns of kernels/reduce:
//   [K, R]     -> rows    (LayerNorm's mean over the last axis, spatial means of NCHW)
//   [K, R, K'] -> strided (a channel mean of NCHW: [N][C][HW])
//   other      -> the input is permuted to [kept..., reduced...] in the workspace, then rows.
// The accumulation is the kernel's; the final map is applied here:
//   Mean = Sum / n,  L2 = sqrt(SumSquare),  LogSum = log(Sum)  (L1 is sum |x|, LogSumExp stable in the kernel).
// Integer inputs (shape arithmetic: Sum/Prod/Max/Min over int64/int32) and float64 take a scalar loop.
#include "kernels/reduce/reduce.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"

namespace octet::ops {
namespace {

namespace kr = kernels::reduce;

enum class Final { none, mean, sqrt, log };

struct ReduceSpec {
  kr::Op op;
  Final fin;
};

ReduceSpec spec_of(const std::string& t) {
  if (t == "ReduceSum") return {kr::Op::sum, Final::none};
  if (t == "ReduceMean") return {kr::Op::sum, Final::mean};
  if (t == "ReduceMax") return {kr::Op::max, Final::none};
  if (t == "ReduceMin") return {kr::Op::min, Final::none};
  if (t == "ReduceProd") return {kr::Op::prod, Final::none};
  if (t == "ReduceL1") return {kr::Op::sum_abs, Final::none};
  if (t == "ReduceL2") return {kr::Op::sum_sq, Final::sqrt};
  if (t == "ReduceLogSum") return {kr::Op::sum, Final::log};
  if (t == "ReduceLogSumExp") return {kr::Op::log_sum_exp, Final::none};
  return {kr::Op::sum_sq, Final::none};  // ReduceSumSquare
}

/// How the input is walked: outer x len x inner after merging, or a permutation first.
struct Pattern {
  int64_t outer = 1, len = 1, inner = 1;
  bool permute = false;
  // permute: source strides and sizes in the order [kept..., reduced...] (merged groups)
  std::vector<int64_t> dims, strides;
};

Pattern plan_pattern(const Shape& s, const std::vector<int64_t>& axes) {
  std::vector<char> red(s.size(), 0);
  for (int64_t a : axes) red[size_t(a)] = 1;
  // Merged groups: (size, reduced, stride of the group's innermost dim).
  struct G {
    int64_t size;
    bool red;
    int64_t stride;
  };
  std::vector<G> g;
  int64_t stride = 1;
  for (size_t k = s.size(); k-- > 0;) {
    if (s[k] != 1) {
      if (!g.empty() && g.back().red == bool(red[k]))
        g.back().size *= s[k];
      else
        g.push_back({s[k], bool(red[k]), stride});
    }
    stride *= s[k];
  }
  std::reverse(g.begin(), g.end());
  Pattern p;
  auto all = [&](bool r) {
    int64_t n = 1;
    for (const G& x : g) n *= x.red == r ? x.size : 1;
    return n;
  };
  const size_t n = g.size();
  if (n == 0 || (n == 1 && !g[0].red)) {  // nothing (of size > 1) reduced
    p.outer = all(false);
  } else if (g.back().red && n <= 2) {  // [R] or [K, R]
    p.outer = all(false), p.len = g.back().size;
  } else if (n <= 3 && !g.back().red && g[n - 2].red) {  // [R, K] or [K, R, K]
    p.outer = n == 3 ? g[0].size : 1, p.len = g[n - 2].size, p.inner = g[n - 1].size;
  } else {
    p.permute = true;
    for (bool r : {false, true})
      for (const G& x : g)
        if (x.red == r) p.dims.push_back(x.size), p.strides.push_back(x.stride);
    p.outer = all(false), p.len = all(true);
  }
  return p;
}

/// dst = src read through (dims, strides): the permuted copy, an odometer over the merged groups.
template <class T>
void gather(const T* src, T* dst, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides) {
  const size_t k = dims.size();
  std::vector<int64_t> idx(k, 0);
  const int64_t n = std::accumulate(dims.begin(), dims.end(), int64_t(1), std::multiplies<>());
  const int64_t last = dims[k - 1], ls = strides[k - 1];
  int64_t off = 0;
  for (int64_t i = 0; i < n; i += last) {
    for (int64_t j = 0; j < last; ++j) dst[i + j] = src[off + j * ls];
    for (size_t d = k - 1; d-- > 0;) {
      off += strides[d];
      if (++idx[d] < dims[d]) break;
      off -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

class ReduceKernel final : public Kernel {
 public:
  ReduceKernel(std::string op, ReduceSpec spec, Pattern p, DType dt, bool noop, const kr::Table& t)
      : op_(std::move(op)), spec_(spec), p_(std::move(p)), dt_(dt), noop_(noop), t_(t) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    if (noop_) return copy_bytes(out[0].data, in[0].data, in[0].bytes());
    if (dt_ == DType::i64) return run_scalar<int64_t>(in[0].as<const int64_t>(), out[0].as<int64_t>());
    if (dt_ == DType::i32) return run_scalar<int32_t>(in[0].as<const int32_t>(), out[0].as<int32_t>());
    if (dt_ == DType::f64) return run_scalar<double>(in[0].as<const double>(), out[0].as<double>());
    const float* x = in[0].as<const float>();
    float* y = out[0].as<float>();
    if (p_.permute) {
      gather(x, static_cast<float*>(ctx.workspace), p_.dims, p_.strides);
      x = static_cast<const float*>(ctx.workspace);
    }
    if (p_.inner == 1) {
      split_work(ctx, p_.outer, p_.len,
                 [&](int64_t b, int64_t e) { t_.rows(spec_.op, x + b * p_.len, y + b, e - b, p_.len); });
    } else if (p_.outer > 1) {
      const int64_t block = p_.len * p_.inner;
      split_work(ctx, p_.outer, block, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o)
          t_.strided(spec_.op, x + o * block, y + o * p_.inner, p_.len, p_.inner, p_.inner);
      });
    } else {  // one [len][inner] block: split its columns (in 64-float units, so vectors stay whole)
      const int64_t units = (p_.inner + 63) / 64;
      split_work(ctx, units, 64 * p_.len, [&](int64_t b, int64_t e) {
        const int64_t c0 = b * 64, c1 = std::min(p_.inner, e * 64);
        t_.strided(spec_.op, x + c0, y + c0, p_.len, c1 - c0, p_.inner);
      });
    }
    finish(y, p_.outer * p_.inner);
  }
  size_t workspace_bytes() const override { return p_.permute ? size_t(p_.outer * p_.len) * dtype_size(dt_) : 0; }
  std::string name() const override {
    const char* how = noop_ ? "copy" : p_.permute ? "permute+rows" : p_.inner == 1 ? "rows" : "strided";
    return "reduce/" + op_ + "/" + how + "/" + (dt_ == DType::f32 ? t_.isa : dtype_name(dt_));
  }

 private:
  void finish(float* y, int64_t n) const {
    switch (spec_.fin) {
      case Final::none:
        break;
      case Final::mean: {
        const float inv = 1.f / float(p_.len);
        for (int64_t i = 0; i < n; ++i) y[i] *= inv;
        break;
      }
      case Final::sqrt:
        for (int64_t i = 0; i < n; ++i) y[i] = std::sqrt(y[i]);
        break;
      case Final::log:
        for (int64_t i = 0; i < n; ++i) y[i] = std::log(y[i]);
        break;
    }
  }

  // The scalar path: integers (shape arithmetic: Sum / Prod / Max / Min, Mean truncating) and float64 (every
  // op, accumulated in double as the reference does).
  template <class T>
  void run_scalar(const T* x, T* y) const {
    std::vector<T> tmp;
    if (p_.permute) {
      tmp.resize(size_t(p_.outer * p_.len));
      gather(x, tmp.data(), p_.dims, p_.strides);
      x = tmp.data();
    }
    constexpr bool fp = std::is_floating_point_v<T>;
    const kr::Op op = spec_.op;
    for (int64_t o = 0; o < p_.outer; ++o)
      for (int64_t i = 0; i < p_.inner; ++i) {
        const T* q = x + o * p_.len * p_.inner + i;
        T acc = op == kr::Op::prod                               ? T(1)
                : op == kr::Op::max || op == kr::Op::log_sum_exp ? std::numeric_limits<T>::lowest()
                : op == kr::Op::min                              ? std::numeric_limits<T>::max()
                                                                 : T(0);
        if constexpr (fp) {
          if (op == kr::Op::max || op == kr::Op::log_sum_exp) acc = -std::numeric_limits<T>::infinity();
          if (op == kr::Op::min) acc = std::numeric_limits<T>::infinity();
        }
        for (int64_t l = 0; l < p_.len; ++l) {
          const T v = q[l * p_.inner];
          switch (op) {
            case kr::Op::prod:
              acc = T(acc * v);
              break;
            case kr::Op::max:
            case kr::Op::log_sum_exp:
              acc = std::max(acc, v);
              break;
            case kr::Op::min:
              acc = std::min(acc, v);
              break;
            case kr::Op::sum_abs:
              acc = T(acc + (v < 0 ? -v : v));
              break;
            case kr::Op::sum_sq:
              acc = T(acc + v * v);
              break;
            default:
              acc = T(acc + v);
              break;
          }
        }
        if constexpr (fp) {
          if (op == kr::Op::log_sum_exp && std::isfinite(acc)) {  // m + log(sum exp(x - m))
            T s = 0;
            for (int64_t l = 0; l < p_.len; ++l) s += std::exp(q[l * p_.inner] - acc);
            acc += std::log(s);
          }
          if (spec_.fin == Final::sqrt) acc = std::sqrt(acc);
          if (spec_.fin == Final::log) acc = std::log(acc);
        }
        y[o * p_.inner + i] = spec_.fin == Final::mean && p_.len ? T(acc / T(p_.len)) : acc;
      }
  }

  std::string op_;
  ReduceSpec spec_;
  Pattern p_;
  DType dt_;
  bool noop_;
  const kr::Table& t_;
};

std::unique_ptr<Kernel> make_reduce(const KernelInfo& info) {
  require_plain(info);
  const std::string& type = info.node().op_type;
  const ReduceSpec spec = spec_of(type);
  const DType dt = info.input(0).dtype;
  const bool int_ok =
      spec.op == kr::Op::sum || spec.op == kr::Op::prod || spec.op == kr::Op::max || spec.op == kr::Op::min;
  if (dt != DType::f32 && dt != DType::f64 &&
      !((dt == DType::i64 || dt == DType::i32) && int_ok && spec.fin != Final::log))
    unsupported(info, "input '" + info.input(0).name + "' has type " + dtype_name(dt) + ", only float32, float64" +
                          (int_ok ? ", int64 and int32 are supported" : " are supported"));
  const Shape s = info.in_shape(0);
  bool noop = false;
  const std::vector<int64_t> axes = reduce_axes(info.graph, info.node_id, int64_t(s.size()), &noop);
  const int64_t in_n = num_elements(s), out_n = num_elements(info.out_shape(0));
  Pattern p = plan_pattern(s, axes);
  if (!noop && p.outer * p.inner != out_n)
    info.fail("output has shape " + shape_str(info.out_shape(0)) + ", which does not match reducing " + shape_str(s) +
              " over its axes");
  if (noop && in_n != out_n) info.fail("noop_with_empty_axes: output must have the input's shape " + shape_str(s));
  return std::make_unique<ReduceKernel>(type.substr(6), spec, std::move(p), dt, noop, kr::table(info.isa));
}

// ---------------------------------------------------------------------------------------------------------------
// ArgMax / ArgMin

class ArgKernel final : public Kernel {
 public:
  ArgKernel(bool is_max, bool last, int64_t outer, int64_t len, int64_t inner)
      : is_max_(is_max), last_(last), outer_(outer), len_(len), inner_(inner) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const float* x = in[0].as<const float>();
    int64_t* y = out[0].as<int64_t>();
    split_work(ctx, outer_, len_ * inner_, [&](int64_t b, int64_t e) {
      kr::arg_reduce(is_max_, last_, x + b * len_ * inner_, y + b * inner_, e - b, len_, inner_);
    });
  }
  std::string name() const override { return std::string(is_max_ ? "argmax" : "argmin") + "/scalar"; }

 private:
  bool is_max_, last_;
  int64_t outer_, len_, inner_;
};

std::unique_ptr<Kernel> make_arg(const KernelInfo& info) {
  require_dtype(info, 0, DType::f32);
  require_plain(info);
  const Node& n = info.node();
  const Shape s = info.in_shape(0);
  if (s.empty()) info.fail("input is a scalar, expected rank >= 1");
  const int64_t axis = normalize_axis(info.graph, info.node_id, n.attr_i("axis", 0), int64_t(s.size()));
  if (info.out_shape(0).size() != (n.attr_i("keepdims", 1) ? s.size() : s.size() - 1) || s[size_t(axis)] == 0)
    info.fail("output has shape " + shape_str(info.out_shape(0)) + ", expected the input " + shape_str(s) +
              " reduced over axis " + std::to_string(axis) + " (of size > 0)");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[size_t(i)];
  for (size_t i = size_t(axis) + 1; i < s.size(); ++i) inner *= s[i];
  const bool last = info.graph.opset() >= 12 && n.attr_i("select_last_index", 0) != 0;
  return std::make_unique<ArgKernel>(n.op_type == "ArgMax", last, outer, s[size_t(axis)], inner);
}

}  // namespace

void register_reduce(KernelRegistry& r) {
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                         "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"})
    r.add("", op, make_reduce);
  r.add("", "ArgMax", make_arg);
  r.add("", "ArgMin", make_arg);
}

}  // namespace octet::ops
