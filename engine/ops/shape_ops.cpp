// Shape-manipulation ops: Flatten, Reshape, Squeeze, Unsqueeze (a copy, or nothing when the planner runs them in
// place), Transpose, Concat, Shape, Gather, Constant, and octet's internal Reorder (plain NCHW <-> NHWC).
//
// All are dtype-agnostic (they move bytes), except Gather's indices (int32/int64) and Shape's int64 output.
// Output shapes were inferred before the factory runs; kernels check only what they rely on.
#include <algorithm>
#include <numeric>

#include "engine/kernel.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"
#include "graph/op_attrs.h"

namespace octet::ops {
namespace {

/// Fails when an input or output has a dtype whose size is unknown (strings, undefined).
size_t element_size(const KernelInfo& info, const Value& v) {
  const size_t es = dtype_size(v.dtype);
  if (es == 0) unsupported(info, "'" + v.name + "' has type " + dtype_name(v.dtype) + ", which is not supported");
  return es;
}

// ---------------------------------------------------------------------------------------------------------------
// Flatten, Reshape, Squeeze, Unsqueeze: the bytes do not change, only the shape.

class ReshapeKernel final : public Kernel {
 public:
  explicit ReshapeKernel(std::string op) : op_(std::move(op)) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    copy_bytes(out[0].data, in[0].data, out[0].bytes());
  }
  std::string name() const override { return "shape/" + op_; }
  int inplace_input() const override { return 0; }

 private:
  std::string op_;
};

template <const char* Op>
std::unique_ptr<Kernel> make_reshape_like(const KernelInfo& info) {
  // In NHWC the same bytes would mean a different logical order after a reshape.
  if (info.input(0).layout != Layout::plain || info.output(0).layout != Layout::plain)
    unsupported(info, "only plain layout is supported");
  element_size(info, info.input(0));
  if (info.input(0).dtype != info.output(0).dtype) info.fail("output type differs from the input's");
  if (num_elements(info.in_shape(0)) != num_elements(info.out_shape(0)))
    info.fail("output shape " + shape_str(info.out_shape(0)) + " has a different element count than input shape " +
              shape_str(info.in_shape(0)));
  return std::make_unique<ReshapeKernel>(Op);
}

constexpr char kFlatten[] = "flatten", kReshape[] = "reshape", kSqueeze[] = "squeeze", kUnsqueeze[] = "unsqueeze";

// ---------------------------------------------------------------------------------------------------------------
// Transpose

/// out[i0..ik] = in[perm-ordered index]. Output dims are walked in order; each has the input stride of the
/// input dim it came from. Output dims whose input strides are also contiguous (stride[j] = stride[j+1] *
/// dim[j+1]) merge into one, so e.g. perm [0, 2, 3, 1] on NCHW becomes a batched 2-D transpose [N][HW][C].
class TransposeKernel final : public Kernel {
 public:
  TransposeKernel(std::vector<int64_t> dims, std::vector<int64_t> strides, size_t es)
      : dims_(std::move(dims)), strides_(std::move(strides)), es_(es) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    switch (es_) {
      case 1: return run_t<uint8_t>(ctx, in[0].data, out[0].data);
      case 2: return run_t<uint16_t>(ctx, in[0].data, out[0].data);
      case 4: return run_t<uint32_t>(ctx, in[0].data, out[0].data);
      default: return run_t<uint64_t>(ctx, in[0].data, out[0].data);
    }
  }
  std::string name() const override { return "shape/transpose"; }

 private:
  template <class T>
  void run_t(ExecContext& ctx, const void* src, void* dst) const {
    const T* x = static_cast<const T*>(src);
    T* y = static_cast<T*>(dst);
    const size_t k = dims_.size();
    if (k == 0) {
      *y = *x;
      return;
    }
    const int64_t inner = dims_.back(), inner_stride = strides_.back();
    int64_t outer = 1;
    for (size_t i = 0; i + 1 < k; ++i) outer *= dims_[i];
    split_work(ctx, outer, inner, [&](int64_t r0, int64_t r1) {
      std::vector<int64_t> idx(k, 0);
      int64_t off = 0, rem = r0;
      for (size_t i = k - 1; i-- > 0;) {
        idx[i] = rem % dims_[i];
        rem /= dims_[i];
        off += idx[i] * strides_[i];
      }
      for (int64_t r = r0; r < r1; ++r) {
        T* py = y + r * inner;
        const T* px = x + off;
        for (int64_t j = 0; j < inner; ++j) py[j] = px[j * inner_stride];
        for (size_t i = k - 1; i-- > 0;) {
          off += strides_[i];
          if (++idx[i] < dims_[i]) break;
          off -= strides_[i] * dims_[i];
          idx[i] = 0;
        }
      }
    });
  }

  std::vector<int64_t> dims_, strides_;
  size_t es_;
};

std::unique_ptr<Kernel> make_transpose(const KernelInfo& info) {
  require_plain(info);
  const size_t es = element_size(info, info.input(0));
  const Shape s = info.in_shape(0);
  const int64_t r = int64_t(s.size());
  std::vector<int64_t> perm = info.node().attr_ints("perm");
  if (perm.empty()) {
    perm.resize(size_t(r));
    for (int64_t i = 0; i < r; ++i) perm[size_t(i)] = r - 1 - i;  // default: reverse the dims
  }
  if (int64_t(perm.size()) != r) info.fail("perm has " + std::to_string(perm.size()) + " entries, expected " + std::to_string(r));
  std::vector<bool> seen(size_t(r), false);
  for (int64_t& p : perm) {
    p = normalize_axis(info.graph, info.node_id, p, r);
    if (seen[size_t(p)]) info.fail("perm repeats axis " + std::to_string(p));
    seen[size_t(p)] = true;
  }
  std::vector<int64_t> in_stride(size_t(r), 1);
  for (int64_t i = r - 2; i >= 0; --i) in_stride[size_t(i)] = in_stride[size_t(i + 1)] * s[size_t(i + 1)];
  std::vector<int64_t> dims, strides;
  for (int64_t i = 0; i < r; ++i) {
    const int64_t d = s[size_t(perm[size_t(i)])], st = in_stride[size_t(perm[size_t(i)])];
    if (d == 1) continue;
    if (!dims.empty() && strides.back() == st * d) {
      dims.back() *= d;
      strides.back() = st;
    } else {
      dims.push_back(d);
      strides.push_back(st);
    }
  }
  if (dims.empty() && num_elements(s) == 1) dims = {1}, strides = {1};
  if (num_elements(s) == 0) dims = {0}, strides = {1};
  return std::make_unique<TransposeKernel>(std::move(dims), std::move(strides), es);
}

// ---------------------------------------------------------------------------------------------------------------
// Concat

/// Viewing every input as [outer][dim_axis * inner], the output row o is the concatenation of the inputs' rows o.
class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(int64_t outer, std::vector<size_t> row_bytes) : outer_(outer), row_bytes_(std::move(row_bytes)) {}
  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    size_t out_row = 0;
    for (size_t b : row_bytes_) out_row += b;
    char* y = static_cast<char*>(out[0].data);
    split_work(ctx, outer_, int64_t(out_row / 4), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        char* py = y + size_t(o) * out_row;
        for (size_t i = 0; i < row_bytes_.size(); ++i) {
          if (row_bytes_[i]) std::memcpy(py, static_cast<const char*>(in[i].data) + size_t(o) * row_bytes_[i], row_bytes_[i]);
          py += row_bytes_[i];
        }
      }
    });
  }
  std::string name() const override { return "shape/concat"; }

 private:
  int64_t outer_;
  std::vector<size_t> row_bytes_;
};

std::unique_ptr<Kernel> make_concat(const KernelInfo& info) {
  // NHWC (every input and the output, 4-D; graph/passes/assign_layout.cpp): the same [outer][rows] copy over the
  // physical dims N, H, W, C, where logical axis a sits at position kNhwcPos[a] (a channel concat is rows of C_i).
  const bool nhwc = info.output(0).layout == Layout::nhwc;
  if (!nhwc) require_plain(info);
  const Shape so = info.out_shape(0);
  if (nhwc) {
    if (so.size() != 4) unsupported(info, "nhwc layout needs 4-D tensors");
    for (int i = 0; i < info.num_inputs(); ++i)
      if (info.has_input(i) && info.input(i).layout != Layout::nhwc)
        unsupported(info, "input '" + info.input(i).name + "' is plain, the output nhwc");
  }
  if (!info.node().has_attr("axis")) info.fail("attribute 'axis' is required");
  const int64_t axis = normalize_axis(info.graph, info.node_id, info.node().attr_i("axis", 0), int64_t(so.size()));
  const size_t es = element_size(info, info.output(0));
  static constexpr int64_t kNhwcPos[4] = {0, 3, 1, 2};
  const Shape phys = nhwc ? Shape{so[0], so[2], so[3], so[1]} : so;
  const int64_t pa = nhwc ? kNhwcPos[axis] : axis;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < pa; ++i) outer *= phys[size_t(i)];
  for (size_t i = size_t(pa) + 1; i < phys.size(); ++i) inner *= phys[i];
  std::vector<size_t> rows;
  int64_t total = 0;
  for (int i = 0; i < int(info.node().inputs.size()); ++i) {
    if (!info.has_input(i)) info.fail("input " + std::to_string(i) + " is missing");
    const Shape s = info.in_shape(i);
    if (info.input(i).dtype != info.output(0).dtype) info.fail("input " + std::to_string(i) + " has a different type");
    if (s.size() != so.size()) info.fail("input " + std::to_string(i) + " has shape " + shape_str(s) + ", rank differs from output " + shape_str(so));
    for (size_t d = 0; d < s.size(); ++d)
      if (int64_t(d) != axis && s[d] != so[d])
        info.fail("input " + std::to_string(i) + " has shape " + shape_str(s) + ", which does not match output " +
                  shape_str(so) + " outside axis " + std::to_string(axis));
    total += s[size_t(axis)];
    rows.push_back(size_t(s[size_t(axis)] * inner) * es);
  }
  if (total != so[size_t(axis)]) info.fail("inputs sum to " + std::to_string(total) + " along the axis, output has " + std::to_string(so[size_t(axis)]));
  return std::make_unique<ConcatKernel>(outer, std::move(rows));
}

// ---------------------------------------------------------------------------------------------------------------
// Shape, Constant: outputs known at compile time, copied out per run.

class ConstantKernel final : public Kernel {
 public:
  ConstantKernel(std::string op, std::shared_ptr<const Tensor> t) : op_(std::move(op)), t_(std::move(t)) {}
  void run(ExecContext&, std::span<const TensorView>, std::span<const TensorView> out) const override {
    copy_bytes(out[0].data, t_->data(), t_->bytes());
  }
  std::string name() const override { return "shape/" + op_; }

 private:
  std::string op_;
  std::shared_ptr<const Tensor> t_;
};

std::unique_ptr<Kernel> make_shape(const KernelInfo& info) {
  // The logical shape, whatever the physical layout. start/end (opset 15) slice it, clamped to [0, rank].
  const Shape s = info.in_shape(0);
  const int64_t r = int64_t(s.size());
  auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + r : v, int64_t(0), r); };
  const int64_t b = clamp(info.node().attr_i("start", 0)), e = clamp(info.node().attr_i("end", r));
  auto t = std::make_shared<Tensor>(DType::i64, Shape{std::max<int64_t>(0, e - b)});
  for (int64_t i = b; i < e; ++i) t->as<int64_t>()[i - b] = s[size_t(i)];
  if (info.output(0).dtype != DType::i64 || info.out_shape(0) != t->shape())
    info.fail("output must be int64 of shape " + shape_str(t->shape()));
  return std::make_unique<ConstantKernel>("shape", std::move(t));
}

std::unique_ptr<Kernel> make_constant(const KernelInfo& info) {
  const Node& n = info.node();
  std::shared_ptr<const Tensor> t;
  auto make = [](DType dt, Shape s) { return std::make_shared<Tensor>(dt, std::move(s)); };
  if (n.has_attr("value") && n.attrs.at("value").t) {
    t = n.attrs.at("value").t;
  } else if (n.has_attr("value_float")) {
    auto v = make(DType::f32, {});
    *v->as<float>() = n.attr_f("value_float", 0);
    t = v;
  } else if (n.has_attr("value_floats")) {
    const auto f = n.attr_floats("value_floats");
    auto v = make(DType::f32, {int64_t(f.size())});
    std::copy(f.begin(), f.end(), v->as<float>());
    t = v;
  } else if (n.has_attr("value_int")) {
    auto v = make(DType::i64, {});
    *v->as<int64_t>() = n.attr_i("value_int", 0);
    t = v;
  } else if (n.has_attr("value_ints")) {
    const auto iv = n.attr_ints("value_ints");
    auto v = make(DType::i64, {int64_t(iv.size())});
    std::copy(iv.begin(), iv.end(), v->as<int64_t>());
    t = v;
  } else {
    unsupported(info, "only the value, value_float(s) and value_int(s) attributes are supported");
  }
  if (info.output(0).dtype != t->dtype() || info.out_shape(0) != t->shape())
    info.fail("output is " + std::string(dtype_name(info.output(0).dtype)) + " " + shape_str(info.out_shape(0)) +
              ", the constant is " + dtype_name(t->dtype()) + " " + shape_str(t->shape()));
  return std::make_unique<ConstantKernel>("constant", std::move(t));
}

// ---------------------------------------------------------------------------------------------------------------
// Gather

/// data viewed as [outer][axis_dim][inner]; out[o][j][inner] = data[o][indices[j]][inner] for each index j.
class GatherKernel final : public Kernel {
 public:
  GatherKernel(int64_t outer, int64_t axis_dim, size_t block, int64_t count, bool i64, std::string where)
      : outer_(outer), axis_dim_(axis_dim), block_(block), count_(count), i64_(i64), where_(std::move(where)) {}
  void run(ExecContext&, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    const char* x = static_cast<const char*>(in[0].data);
    char* y = static_cast<char*>(out[0].data);
    for (int64_t o = 0; o < outer_; ++o)
      for (int64_t j = 0; j < count_; ++j) {
        int64_t k = i64_ ? in[1].as<const int64_t>()[j] : in[1].as<const int32_t>()[j];
        if (k < -axis_dim_ || k >= axis_dim_)
          throw Error(where_ + ": index " + std::to_string(k) + " is out of range [" + std::to_string(-axis_dim_) +
                      ", " + std::to_string(axis_dim_ - 1) + "]");
        if (k < 0) k += axis_dim_;
        std::memcpy(y + size_t(o * count_ + j) * block_, x + size_t(o * axis_dim_ + k) * block_, block_);
      }
  }
  std::string name() const override { return "shape/gather"; }

 private:
  int64_t outer_, axis_dim_;
  size_t block_;
  int64_t count_;
  bool i64_;
  std::string where_;
};

std::unique_ptr<Kernel> make_gather(const KernelInfo& info) {
  require_plain(info);
  const size_t es = element_size(info, info.input(0));
  const DType it = info.input(1).dtype;
  if (it != DType::i64 && it != DType::i32)
    info.fail(std::string("indices have type ") + dtype_name(it) + ", expected int32 or int64");
  const Shape s = info.in_shape(0);
  if (s.empty()) info.fail("data is a scalar, expected rank >= 1");
  const int64_t axis = normalize_axis(info.graph, info.node_id, info.node().attr_i("axis", 0), int64_t(s.size()));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[size_t(i)];
  for (size_t i = size_t(axis) + 1; i < s.size(); ++i) inner *= s[i];
  return std::make_unique<GatherKernel>(outer, s[size_t(axis)], size_t(inner) * es, num_elements(info.in_shape(1)),
                                        it == DType::i64, info.graph.where(info.node_id));
}

// ---------------------------------------------------------------------------------------------------------------
// Reorder (domain "octet"): NCHW <-> NHWC of a 4-D tensor, the boundary of the NHWC conv chain.

/// Per image, a [rows][cols] -> [cols][rows] transpose (NCHW -> NHWC: rows = C, cols = HW; back: swapped),
/// done in 32 x 32 tiles so both the reads and the writes stay within a few cache lines per tile row.
class ReorderKernel final : public Kernel {
 public:
  ReorderKernel(int64_t n, int64_t rows, int64_t cols, size_t es, bool to_nhwc)
      : n_(n), rows_(rows), cols_(cols), es_(es), to_nhwc_(to_nhwc) {}

  void run(ExecContext& ctx, std::span<const TensorView> in, std::span<const TensorView> out) const override {
    switch (es_) {
      case 1: return run_t<uint8_t>(ctx, in[0].data, out[0].data);
      case 2: return run_t<uint16_t>(ctx, in[0].data, out[0].data);
      case 4: return run_t<uint32_t>(ctx, in[0].data, out[0].data);
      default: return run_t<uint64_t>(ctx, in[0].data, out[0].data);
    }
  }
  std::string name() const override { return to_nhwc_ ? "reorder/nchw_to_nhwc" : "reorder/nhwc_to_nchw"; }

 private:
  // Few rows (an RGB image to NHWC: C = 3): the tiles below would be one band of 3 rows per image - no work to
  // split, an inner loop of 3. Instead, per image, bands of columns with the row count a constant (unrolled).
  template <class T, int64_t R>
  void run_few_rows(ExecContext& ctx, const void* src, void* dst) const {
    constexpr int64_t B = 4096;
    const int64_t bands = (cols_ + B - 1) / B;
    split_work(ctx, n_ * bands, B * R, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t img = u / bands, c0 = (u % bands) * B, c1 = std::min(cols_, c0 + B);
        const T* x = static_cast<const T*>(src) + img * R * cols_;
        T* y = static_cast<T*>(dst) + img * R * cols_;
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t r = 0; r < R; ++r) y[c * R + r] = x[r * cols_ + c];
      }
    });
  }

  template <class T>
  void run_t(ExecContext& ctx, const void* src, void* dst) const {
    switch (rows_) {
      case 1: return run_few_rows<T, 1>(ctx, src, dst);
      case 2: return run_few_rows<T, 2>(ctx, src, dst);
      case 3: return run_few_rows<T, 3>(ctx, src, dst);
      case 4: return run_few_rows<T, 4>(ctx, src, dst);
      default: break;
    }
    constexpr int64_t B = 32;
    const int64_t tiles_r = (rows_ + B - 1) / B, plane = rows_ * cols_;
    // Work unit: one band of B source rows of one image.
    split_work(ctx, n_ * tiles_r, B * cols_, [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t img = u / tiles_r, r0 = (u % tiles_r) * B, r1 = std::min(rows_, r0 + B);
        const T* x = static_cast<const T*>(src) + img * plane;
        T* y = static_cast<T*>(dst) + img * plane;
        for (int64_t c0 = 0; c0 < cols_; c0 += B) {
          const int64_t c1 = std::min(cols_, c0 + B);
          for (int64_t c = c0; c < c1; ++c)
            for (int64_t r = r0; r < r1; ++r) y[c * rows_ + r] = x[r * cols_ + c];
        }
      }
    });
  }

  int64_t n_, rows_, cols_;
  size_t es_;
  bool to_nhwc_;
};

std::unique_ptr<Kernel> make_reorder(const KernelInfo& info) {
  const Value &x = info.input(0), &y = info.output(0);
  const Shape s = x.shape();
  if (s.size() != 4) info.fail("input has shape " + shape_str(s) + ", expected a 4-D tensor");
  if (y.shape() != s || y.dtype != x.dtype) info.fail("output must have the input's shape and type");
  const size_t es = element_size(info, x);
  const int64_t hw = s[2] * s[3];
  if (x.layout == Layout::plain && y.layout == Layout::nhwc)
    return std::make_unique<ReorderKernel>(s[0], s[1], hw, es, true);
  if (x.layout == Layout::nhwc && y.layout == Layout::plain)
    return std::make_unique<ReorderKernel>(s[0], hw, s[1], es, false);
  info.fail(std::string("Reorder from ") + layout_name(x.layout) + " to " + layout_name(y.layout) +
            ": expected plain -> nhwc or nhwc -> plain");
}

}  // namespace

void register_shape_ops(KernelRegistry& r) {
  r.add("", "Flatten", make_reshape_like<kFlatten>);
  r.add("", "Reshape", make_reshape_like<kReshape>);
  r.add("", "Squeeze", make_reshape_like<kSqueeze>);
  r.add("", "Unsqueeze", make_reshape_like<kUnsqueeze>);
  r.add("", "Transpose", make_transpose);
  r.add("", "Concat", make_concat);
  r.add("", "Shape", make_shape);
  r.add("", "Gather", make_gather);
  r.add("", "Constant", make_constant);
  r.add("octet", "Reorder", make_reorder);
}

}  // namespace octet::ops
