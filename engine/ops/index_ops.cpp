// Generators and index ops: ConstantOfShape, Range, Size, EyeLike, Trilu, CumSum, GatherElements, GatherND,
// ScatterND, OneHot, TopK. Plain layout; the index-driven ones check every index and fail with the node named.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "engine/kernel.h"
#include "engine/ops/data_util.h"
#include "engine/ops/ops.h"
#include "graph/data_op_attrs.h"
#include "graph/op_attrs.h"

namespace octet::ops {
namespace {

[[noreturn]] void bad_index(const std::string& where, int64_t k, int64_t dim) {
  throw Error(where + ": index " + std::to_string(k) + " is out of range [" + std::to_string(-dim) + ", " +
              std::to_string(dim - 1) + "]");
}

int64_t wrap_index(const std::string& where, int64_t k, int64_t dim) {
  if (k < -dim || k >= dim) bad_index(where, k, dim);
  return k < 0 ? k + dim : k;
}

/// [outer][n][inner] view of shape s around axis.
struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisView axis_view(const Shape& s, int64_t axis) {
  AxisView v;
  for (int64_t d = 0; d < axis; ++d) v.outer *= s[size_t(d)];
  v.n = s[size_t(axis)];
  for (size_t d = size_t(axis) + 1; d < s.size(); ++d) v.inner *= s[d];
  return v;
}

// ---- ConstantOfShape, Size, Range, EyeLike --------------------------------------------------------------------

/// Fills the output with one element repeated (ConstantOfShape's value, EyeLike's zeros before the diagonal).
class FillKernel final : public Kernel {
 public:
  FillKernel(std::string op, std::vector<unsigned char> elem) : op_(std::move(op)), elem_(std::move(elem)) {}
  void run(ExecContext&, std::span<const TensorView>, std::span<const TensorView> out) const override {
    char* y = static_cast<char*>(out[0].data);
    const int64_t n = out[0].numel();
    for (int64_t i = 0; i < n; ++i) std::memcpy(y + size_t(i) * elem_.size(), elem_.data(), elem_.size());
  }
  std::string name() const override { return "gen/" + op_; }

 private:
  std::string op_;
  std::vector<unsigned char> elem_;
};

std::unique_ptr<Kernel> make_constant_of_shape(const KernelInfo& info) {
  const Node& n = info.node();
  std::vector<unsigned char> elem(4, 0);  // default: float 0
  if (n.has_attr("value") && n.attrs.at("value").t) {
    const Tensor& v = *n.attrs.at("value").t;
    elem.assign(static_cast<const unsigned char*>(v.data()), static_cast<const unsigned char*>(v.data()) + v.bytes());
  }
  if (elem.size() != dtype_size(info.output(0).dtype)) info.fail("output type does not match the value attribute");
  return std::make_unique<FillKernel>("constant_of_shape", std::move(elem));
}

class SizeKernel final : public Kernel {
 public:
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    *out[0].as<int64_t>() = in[0].numel();
  }
  std::string name() const override { return "gen/size"; }
};

std::unique_ptr<Kernel> make_size(const KernelInfo& info) {
  if (info.output(0).dtype != DType::i64 || !info.out_shape(0).empty()) info.fail("output must be an int64 scalar");
  return std::make_unique<SizeKernel>();
}

class RangeKernel final : public Kernel {
 public:
  explicit RangeKernel(DType t) : t_(t) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    dispatch_numeric(t_, [&](auto tag) {
      using T = decltype(tag);
      const T start = *in[0].as<const T>(), delta = *in[2].as<const T>();
      T* y = out[0].as<T>();
      for (int64_t i = 0; i < out[0].numel(); ++i) y[i] = T(start + T(i) * delta);
    });
  }
  std::string name() const override { return "gen/range"; }

 private:
  DType t_;
};

std::unique_ptr<Kernel> make_range(const KernelInfo& info) {
  const DType t = info.input(0).dtype;
  if (t != DType::f32 && t != DType::f64 && t != DType::i16 && t != DType::i32 && t != DType::i64)
    unsupported(info, std::string("type ") + dtype_name(t) + " is not supported (float, double, int16/32/64)");
  return std::make_unique<RangeKernel>(t);
}

class EyeLikeKernel final : public Kernel {
 public:
  EyeLikeKernel(int64_t rows, int64_t cols, int64_t k, size_t es, uint64_t one)
      : rows_(rows), cols_(cols), k_(k), es_(es), one_(one) {}
  void run(ExecContext&, std::span<const TensorView>, std::span<const TensorView> out) const override {
    char* y = static_cast<char*>(out[0].data);
    std::memset(y, 0, size_t(rows_ * cols_) * es_);
    // Ones at (i, i + k) for the rows where that column exists.
    for (int64_t i = std::max<int64_t>(0, -k_); i < rows_ && i + k_ < cols_; ++i)
      std::memcpy(y + size_t(i * cols_ + i + k_) * es_, &one_, es_);
  }
  std::string name() const override { return "gen/eye_like"; }

 private:
  int64_t rows_, cols_, k_;
  size_t es_;
  uint64_t one_;
};

std::unique_ptr<Kernel> make_eye_like(const KernelInfo& info) {
  const Shape s = info.out_shape(0);
  if (s.size() != 2) info.fail("output must be 2-D");
  const size_t es = element_bytes(info, info.output(0));
  uint64_t one = 0;
  store_scalar(info.output(0).dtype, 1.0, &one);
  return std::make_unique<EyeLikeKernel>(s[0], s[1], info.node().attr_i("k", 0), es, one);
}

// ---- Trilu, CumSum --------------------------------------------------------------------------------------------

/// Per matrix of the last two dims: keep (i, j) where j - i >= k (upper) or j - i <= k (lower), zero elsewhere.
class TriluKernel final : public Kernel {
 public:
  TriluKernel(int64_t mats, int64_t rows, int64_t cols, size_t es, bool upper)
      : mats_(mats), rows_(rows), cols_(cols), es_(es), upper_(upper) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const int64_t k = in.size() > 1 && in[1].data ? *in[1].as<const int64_t>() : 0;
    const char* x = static_cast<const char*>(in[0].data);
    char* y = static_cast<char*>(out[0].data);
    for (int64_t m = 0; m < mats_; ++m)
      for (int64_t i = 0; i < rows_; ++i) {
        const size_t row = size_t((m * rows_ + i) * cols_) * es_;
        // Kept columns: upper [i + k, cols), lower [0, i + k]; clamp to the row.
        const int64_t b = upper_ ? std::clamp<int64_t>(i + k, 0, cols_) : 0;
        const int64_t e = upper_ ? cols_ : std::clamp<int64_t>(i + k + 1, 0, cols_);
        std::memset(y + row, 0, size_t(cols_) * es_);
        if (e > b) std::memcpy(y + row + size_t(b) * es_, x + row + size_t(b) * es_, size_t(e - b) * es_);
      }
  }
  std::string name() const override { return "index/trilu"; }

 private:
  int64_t mats_, rows_, cols_;
  size_t es_;
  bool upper_;
};

std::unique_ptr<Kernel> make_trilu(const KernelInfo& info) {
  require_plain(info);
  const Shape s = info.in_shape(0);
  const size_t es = element_bytes(info, info.input(0));
  const int64_t rows = s[s.size() - 2], cols = s.back();
  return std::make_unique<TriluKernel>(num_elements(s) / std::max<int64_t>(1, rows * cols), rows, cols, es,
                                       info.node().attr_i("upper", 1) != 0);
}

/// y[o][j][i] = sum of x[o][j'][i] over j' <= j (exclusive: j' < j; reverse: j' >= j / j' > j).
class CumSumKernel final : public Kernel {
 public:
  CumSumKernel(DType t, Shape s, bool exclusive, bool reverse, std::string where)
      : t_(t), s_(std::move(s)), exclusive_(exclusive), reverse_(reverse), where_(std::move(where)) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const int64_t r = int64_t(s_.size());
    int64_t axis = index_at(in[1], 0);
    if (axis < -r || axis >= r) throw Error(where_ + ": axis " + std::to_string(axis) + " is out of range");
    if (axis < 0) axis += r;
    const AxisView v = axis_view(s_, axis);
    dispatch_numeric(t_, [&](auto tag) {
      using T = decltype(tag);
      const T* x = in[0].as<const T>();
      T* y = out[0].as<T>();
      for (int64_t o = 0; o < v.outer; ++o)
        for (int64_t i = 0; i < v.inner; ++i) {
          T acc = T(0);
          for (int64_t jj = 0; jj < v.n; ++jj) {
            const int64_t j = reverse_ ? v.n - 1 - jj : jj;
            const int64_t off = (o * v.n + j) * v.inner + i;
            if (exclusive_) {
              y[off] = acc;
              acc = T(acc + x[off]);
            } else {
              acc = T(acc + x[off]);
              y[off] = acc;
            }
          }
        }
    });
  }
  std::string name() const override { return "index/cumsum"; }

 private:
  DType t_;
  Shape s_;
  bool exclusive_, reverse_;
  std::string where_;
};

std::unique_ptr<Kernel> make_cumsum(const KernelInfo& info) {
  require_plain(info);
  const DType t = info.input(0).dtype;
  if (!dispatch_numeric(t, [](auto) {}) || t == DType::u8 || t == DType::i8 || t == DType::u16 || t == DType::i16)
    unsupported(info, std::string("type ") + dtype_name(t) + " is not supported");
  return std::make_unique<CumSumKernel>(t, info.in_shape(0), info.node().attr_i("exclusive", 0) != 0,
                                        info.node().attr_i("reverse", 0) != 0, info.graph.where(info.node_id));
}

// ---- GatherElements, GatherND, ScatterND ----------------------------------------------------------------------

/// out[idx] = data[idx with idx[axis] = indices[idx]].
class GatherElementsKernel final : public Kernel {
 public:
  GatherElementsKernel(Shape data, Shape idx, int64_t axis, size_t es, std::string where)
      : data_(std::move(data)), idx_(std::move(idx)), axis_(axis), es_(es), where_(std::move(where)) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const std::vector<int64_t> ds = strides_of(data_);
    const char* x = static_cast<const char*>(in[0].data);
    char* y = static_cast<char*>(out[0].data);
    std::vector<int64_t> i(idx_.size(), 0);
    const int64_t n = num_elements(idx_);
    for (int64_t e = 0; e < n; ++e) {
      int64_t off = 0;
      for (size_t d = 0; d < i.size(); ++d)
        off += (int64_t(d) == axis_ ? wrap_index(where_, index_at(in[1], e), data_[d]) : i[d]) * ds[d];
      std::memcpy(y + size_t(e) * es_, x + size_t(off) * es_, es_);
      for (size_t d = i.size(); d-- > 0;) {
        if (++i[d] < idx_[d]) break;
        i[d] = 0;
      }
    }
  }
  std::string name() const override { return "index/gather_elements"; }

 private:
  Shape data_, idx_;
  int64_t axis_;
  size_t es_;
  std::string where_;
};

std::unique_ptr<Kernel> make_gather_elements(const KernelInfo& info) {
  require_plain(info);
  const Shape d = info.in_shape(0);
  const int64_t axis = normalize_axis(info.graph, info.node_id, info.node().attr_i("axis", 0), int64_t(d.size()));
  return std::make_unique<GatherElementsKernel>(d, info.in_shape(1), axis, element_bytes(info, info.input(0)),
                                                info.graph.where(info.node_id));
}

/// The shared index walk of GatherND and ScatterND: `tuples` index tuples of `last` int64s, each selecting a
/// slice of `slice` elements of data; tuple t of batch b starts at b * batch_stride + sum_k idx_k * stride[k].
struct NdIndex {
  int64_t batches = 1, tuples_per_batch = 1, last = 0, slice = 1, batch_stride = 0;
  std::vector<int64_t> dims, strides;  // the indexed data dims and their strides
  std::string where;

  NdIndex(const Shape& data, const Shape& idx, int64_t b, std::string w) : where(std::move(w)) {
    last = idx.back();
    const std::vector<int64_t> st = strides_of(data);
    for (int64_t k = 0; k < b; ++k) batches *= data[size_t(k)];
    for (size_t k = size_t(b); k + 1 < idx.size(); ++k) tuples_per_batch *= idx[k];
    for (size_t k = size_t(b + last); k < data.size(); ++k) slice *= data[k];
    batch_stride = b > 0 ? st[size_t(b - 1)] : num_elements(data);
    for (int64_t k = 0; k < last; ++k) dims.push_back(data[size_t(b + k)]), strides.push_back(st[size_t(b + k)]);
  }
  // Element offset in data of tuple t (t counts over all batches).
  int64_t offset(const int64_t* idx, int64_t t) const {
    int64_t off = (t / tuples_per_batch) * batch_stride;
    for (int64_t k = 0; k < last; ++k)
      off += wrap_index(where, idx[t * last + k], dims[size_t(k)]) * strides[size_t(k)];
    return off;
  }
};

class GatherNdKernel final : public Kernel {
 public:
  GatherNdKernel(NdIndex nd, size_t es) : nd_(std::move(nd)), es_(es) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const char* x = static_cast<const char*>(in[0].data);
    char* y = static_cast<char*>(out[0].data);
    const size_t bytes = size_t(nd_.slice) * es_;
    for (int64_t t = 0; t < nd_.batches * nd_.tuples_per_batch; ++t)
      std::memcpy(y + size_t(t) * bytes, x + size_t(nd_.offset(in[1].as<const int64_t>(), t)) * es_, bytes);
  }
  std::string name() const override { return "index/gather_nd"; }

 private:
  NdIndex nd_;
  size_t es_;
};

std::unique_ptr<Kernel> make_gather_nd(const KernelInfo& info) {
  require_plain(info);
  const int64_t b = info.graph.opset("") >= 12 ? info.node().attr_i("batch_dims", 0) : 0;
  return std::make_unique<GatherNdKernel>(
      NdIndex(info.in_shape(0), info.in_shape(1), b, info.graph.where(info.node_id)),
      element_bytes(info, info.input(0)));
}

/// out = data; then for each index tuple, out's slice = updates' slice (reduction none), or += / *= it.
class ScatterNdKernel final : public Kernel {
 public:
  ScatterNdKernel(NdIndex nd, DType t, int reduction) : nd_(std::move(nd)), t_(t), reduction_(reduction) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    copy_bytes(out[0].data, in[0].data, out[0].bytes());
    const int64_t* idx = in[1].as<const int64_t>();
    const int64_t tuples = nd_.batches * nd_.tuples_per_batch;
    if (reduction_ == 0) {
      const size_t es = dtype_size(t_), bytes = size_t(nd_.slice) * es;
      for (int64_t t = 0; t < tuples; ++t)
        std::memcpy(static_cast<char*>(out[0].data) + size_t(nd_.offset(idx, t)) * es,
                    static_cast<const char*>(in[2].data) + size_t(t) * bytes, bytes);
      return;
    }
    dispatch_numeric(t_, [&](auto tag) {
      using T = decltype(tag);
      T* y = out[0].as<T>();
      const T* u = in[2].as<const T>();
      for (int64_t t = 0; t < tuples; ++t) {
        T* py = y + nd_.offset(idx, t);
        const T* pu = u + t * nd_.slice;
        for (int64_t j = 0; j < nd_.slice; ++j) py[j] = reduction_ == 1 ? T(py[j] + pu[j]) : T(py[j] * pu[j]);
      }
    });
  }
  std::string name() const override { return "index/scatter_nd"; }

 private:
  NdIndex nd_;
  DType t_;
  int reduction_;  // 0 none, 1 add, 2 mul
};

std::unique_ptr<Kernel> make_scatter_nd(const KernelInfo& info) {
  require_plain(info);
  const DType t = info.input(0).dtype;
  element_bytes(info, info.input(0));
  const std::string red = info.graph.opset("") >= 16 ? info.node().attr_s("reduction", "none") : "none";
  const int r = red == "add" ? 1 : red == "mul" ? 2 : 0;
  if (r && !dispatch_numeric(t, [](auto) {}))
    unsupported(info, "reduction " + red + " on type " + dtype_name(t) + " is not supported");
  return std::make_unique<ScatterNdKernel>(
      NdIndex(info.in_shape(0), info.in_shape(1), 0, info.graph.where(info.node_id)), t, r);
}

// ---- OneHot -----------------------------------------------------------------------------------------------------

/// out[o][d][i] = indices[o][i] (negative + depth) == d ? on : off. Indices of any numeric type (truncated).
class OneHotKernel final : public Kernel {
 public:
  OneHotKernel(DType it, int64_t outer, int64_t depth, int64_t inner, size_t es)
      : it_(it), outer_(outer), depth_(depth), inner_(inner), es_(es) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const char* vals = static_cast<const char*>(in[2].data);  // [off, on]
    char* y = static_cast<char*>(out[0].data);
    std::vector<int64_t> idx(size_t(outer_ * inner_));
    dispatch_numeric(it_, [&](auto tag) {
      using T = decltype(tag);
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = int64_t(in[0].as<const T>()[i]);
    });
    for (int64_t o = 0; o < outer_; ++o)
      for (int64_t d = 0; d < depth_; ++d)
        for (int64_t i = 0; i < inner_; ++i) {
          int64_t k = idx[size_t(o * inner_ + i)];
          if (k < 0) k += depth_;
          std::memcpy(y + size_t((o * depth_ + d) * inner_ + i) * es_, vals + (k == d ? es_ : 0), es_);
        }
  }
  std::string name() const override { return "index/one_hot"; }

 private:
  DType it_;
  int64_t outer_, depth_, inner_;
  size_t es_;
};

std::unique_ptr<Kernel> make_one_hot(const KernelInfo& info) {
  require_plain(info);
  const Shape idx = info.in_shape(0), out = info.out_shape(0);
  const DType it = info.input(0).dtype;
  if (!dispatch_numeric(it, [](auto) {}))
    unsupported(info, std::string("indices of type ") + dtype_name(it) + " are not supported");
  int64_t axis = info.node().attr_i("axis", -1);
  if (axis < 0) axis += int64_t(out.size());
  const AxisView v = axis_view(out, axis);
  return std::make_unique<OneHotKernel>(it, v.outer, v.n, v.inner, element_bytes(info, info.output(0)));
}

// ---- TopK -------------------------------------------------------------------------------------------------------

/// Per (outer, inner) line along the axis: the k largest (or smallest) values, ties broken by the lower index
/// (ONNX's rule), in sorted order, with their int64 indices.
class TopKKernel final : public Kernel {
 public:
  TopKKernel(DType t, AxisView v, int64_t k, bool largest) : t_(t), v_(v), k_(k), largest_(largest) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    dispatch_numeric(t_, [&](auto tag) { run_t<decltype(tag)>(ctx, in, out); });
  }
  std::string name() const override { return "index/topk"; }

 private:
  template <class T>
  void run_t(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const {
    const T* x = in[0].as<const T>();
    T* y = out[0].as<T>();
    int64_t* yi = out.size() > 1 && out[1].data ? out[1].as<int64_t>() : nullptr;
    split_work(ctx, v_.outer * v_.inner, v_.n * 8, [&](int64_t l0, int64_t l1) {
      std::vector<int64_t> order(size_t(v_.n));
      for (int64_t l = l0; l < l1; ++l) {
        const int64_t o = l / v_.inner, i = l % v_.inner;
        const T* px = x + o * v_.n * v_.inner + i;
        std::iota(order.begin(), order.end(), 0);
        auto before = [&](int64_t a, int64_t b) {
          const T xa = px[a * v_.inner], xb = px[b * v_.inner];
          if (xa != xb) return largest_ ? xa > xb : xa < xb;
          return a < b;
        };
        std::partial_sort(order.begin(), order.begin() + k_, order.end(), before);
        for (int64_t j = 0; j < k_; ++j) {
          const int64_t off = (o * k_ + j) * v_.inner + i;
          y[off] = px[order[size_t(j)] * v_.inner];
          if (yi) yi[off] = order[size_t(j)];
        }
      }
    });
  }

  DType t_;
  AxisView v_;
  int64_t k_;
  bool largest_;
};

std::unique_ptr<Kernel> make_topk(const KernelInfo& info) {
  require_plain(info);
  const DType t = info.input(0).dtype;
  if (!dispatch_numeric(t, [](auto) {})) unsupported(info, std::string("type ") + dtype_name(t) + " is not supported");
  const Shape x = info.in_shape(0);
  const TopKSpec s = topk_spec(info.graph, info.node_id, x);
  return std::make_unique<TopKKernel>(t, axis_view(x, s.axis), s.k, s.largest);
}

}  // namespace

void register_index_ops(KernelRegistry& r) {
  r.add("", "ConstantOfShape", make_constant_of_shape);
  r.add("", "Size", make_size);
  r.add("", "Range", make_range);
  r.add("", "EyeLike", make_eye_like);
  r.add("", "Trilu", make_trilu);
  r.add("", "CumSum", make_cumsum);
  r.add("", "GatherElements", make_gather_elements);
  r.add("", "GatherND", make_gather_nd);
  r.add("", "ScatterND", make_scatter_nd);
  r.add("", "OneHot", make_one_hot);
  r.add("", "TopK", make_topk);
}

}  // namespace octet::ops
