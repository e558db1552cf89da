// Shape inference of the data-movement and spatial ops: Slice, Split, Pad, Expand, Tile, ConstantOfShape,
// Range, Size, EyeLike, Trilu, CumSum, GatherElements, GatherND, ScatterND, OneHot, DepthToSpace, SpaceToDepth,
// TopK, GlobalMaxPool, Upsample, Resize, ConvTranspose, LRN. Parameters are read by graph/data_op_attrs.h, the
// same code the kernels use.
//
// The ops exporters use in shape computations (Slice, Split, Expand, Tile, Range, ConstantOfShape, Size) fold small
// integer constants here, so a later Reshape / Expand / Resize sees the value.
#include <cmath>
#include <cstring>

#include "graph/data_op_attrs.h"
#include "graph/infer_ctx.h"
#include "graph/op_attrs.h"

namespace octet::infer {

namespace {

// Folds output `out` (shape os) of a node whose every output element copies one element of constant input `in`:
// src(idx) gives the input's flat index for the output multi-index idx. Only small integer tensors.
template <class F>
void fold_indexed(Ctx& c, int in, int out, const Shape& os, F src) {
  const Tensor* t = c.constant(in);
  if (!t || t->empty() || !is_index_type(t->dtype()) || num_elements(os) > kMaxFoldElements) return;
  Tensor r(t->dtype(), os);
  const size_t es = dtype_size(t->dtype());
  std::vector<int64_t> idx(os.size(), 0);
  for (int64_t e = 0; e < r.numel(); ++e) {
    std::memcpy(static_cast<char*>(r.data()) + size_t(e) * es,
                static_cast<const char*>(t->data()) + size_t(src(idx)) * es, es);
    for (size_t k = os.size(); k-- > 0;) {
      if (++idx[k] < os[k]) break;
      idx[k] = 0;
    }
  }
  c.set_const(out, std::move(r));
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// ---- slicing and copying ------------------------------------------------------------------------------------

void infer_slice(Ctx& c) {
  c.opset < 10 ? c.arity(1, 1) : c.arity(3, 5);
  const Shape x = c.shape(0);
  const std::vector<SliceDim> dims = slice_dims(c.g, c.id, x);
  Shape out;
  for (const SliceDim& d : dims) out.push_back(d.len);
  c.set_out(0, c.dtype(0), out);
  const std::vector<int64_t> st = strides_of(x);
  fold_indexed(c, 0, 0, out, [&](const std::vector<int64_t>& i) {
    int64_t off = 0;
    for (size_t k = 0; k < i.size(); ++k) off += (dims[k].start + i[k] * dims[k].step) * st[k];
    return off;
  });
}

void infer_split(Ctx& c) {
  c.opset < 13 ? c.arity(1, 1) : c.arity(1, 2);
  const Shape x = c.shape(0);
  const SplitSpec s = split_spec(c.g, c.id, x);
  const std::vector<int64_t> st = strides_of(x);
  int64_t begin = 0;
  for (size_t k = 0; k < s.sizes.size(); ++k) {
    Shape o = x;
    o[size_t(s.axis)] = s.sizes[k];
    c.set_out(int(k), c.dtype(0), o);
    if (c.has_out(int(k)))
      fold_indexed(c, 0, int(k), o, [&](const std::vector<int64_t>& i) {
        int64_t off = 0;
        for (size_t d = 0; d < i.size(); ++d) off += (i[d] + (int64_t(d) == s.axis ? begin : 0)) * st[d];
        return off;
      });
    begin += s.sizes[k];
  }
}

void infer_pad(Ctx& c) {
  c.opset < 11 ? c.arity(1, 1) : c.arity(2, 3);
  if (c.has_in(2)) c.same_dtype(0, 2);
  const Shape x = c.shape(0);
  const PadSpec p = pad_spec(c.g, c.id, x);
  Shape out = x;
  for (size_t d = 0; d < x.size(); ++d) out[d] += p.begin[d] + p.end[d];
  c.set_out(0, c.dtype(0), out);
}

void infer_expand(Ctx& c) {
  c.arity(2, 2);
  const Shape x = c.shape(0), out = expand_shape(c.g, c.id, x);
  c.set_out(0, c.dtype(0), out);
  // Right-aligned broadcast: a size-1 input dim reads index 0.
  const std::vector<int64_t> st = strides_of(x);
  fold_indexed(c, 0, 0, out, [&](const std::vector<int64_t>& i) {
    int64_t off = 0;
    for (size_t k = 0; k < x.size(); ++k) off += (x[k] == 1 ? 0 : i[k + out.size() - x.size()]) * st[k];
    return off;
  });
}

void infer_tile(Ctx& c) {
  c.arity(2, 2);
  const Shape x = c.shape(0);
  const std::vector<int64_t> rep = tile_repeats(c.g, c.id, x);
  Shape out = x;
  for (size_t d = 0; d < x.size(); ++d) out[d] *= rep[d];
  c.set_out(0, c.dtype(0), out);
  const std::vector<int64_t> st = strides_of(x);
  fold_indexed(c, 0, 0, out, [&](const std::vector<int64_t>& i) {
    int64_t off = 0;
    for (size_t k = 0; k < x.size(); ++k) off += (i[k] % x[k]) * st[k];
    return off;
  });
}

void infer_depth_to_space(Ctx& c) {
  // [N, C, H, W] -> [N, C / b^2, H * b, W * b]; DCR (default) takes the block index from the channel's high
  // part, CRD (opset 11+) from its low part.
  c.arity(1, 1);
  const Shape x = c.shape_rank(0, 4);
  const int64_t b = c.node.attr_i("blocksize", 0);
  if (b < 1) c.fail("attribute 'blocksize' must be a positive integer");
  const std::string mode = c.opset >= 11 ? c.node.attr_s("mode", "DCR") : "DCR";
  if (mode != "DCR" && mode != "CRD") c.fail("mode '" + mode + "' is not DCR or CRD");
  if (x[1] % (b * b)) c.fail("channels " + std::to_string(x[1]) + " are not a multiple of blocksize^2");
  c.set_out(0, c.dtype(0), Shape{x[0], x[1] / (b * b), x[2] * b, x[3] * b});
}

void infer_space_to_depth(Ctx& c) {
  c.arity(1, 1);
  const Shape x = c.shape_rank(0, 4);
  const int64_t b = c.node.attr_i("blocksize", 0);
  if (b < 1) c.fail("attribute 'blocksize' must be a positive integer");
  if (x[2] % b || x[3] % b)
    c.fail("spatial size " + std::to_string(x[2]) + "x" + std::to_string(x[3]) + " is not a multiple of blocksize " +
           std::to_string(b));
  c.set_out(0, c.dtype(0), Shape{x[0], x[1] * b * b, x[2] / b, x[3] / b});
}

// ---- generators -------------------------------------------------------------------------------------------

void infer_constant_of_shape(Ctx& c) {
  c.arity(1, 1);
  const Shape s = c.shape(0);
  if (s.size() != 1) c.fail(c.in_name(0) + " has shape " + shape_str(s) + ", expected a 1-D shape");
  const std::vector<int64_t> dims = c.const_ints(0, "input");
  for (int64_t d : dims)
    if (d < 0) c.fail("shape " + ints_str(dims) + " has a negative dimension");
  DType dt = DType::f32;
  const Tensor* v = nullptr;
  if (c.node.has_attr("value")) {
    v = c.node.attrs.at("value").t.get();
    if (!v || v->numel() != 1) c.fail("attribute 'value' must be a one-element tensor");
    dt = v->dtype();
  }
  if (dtype_size(dt) == 0) c.unsupported(std::string("value type ") + dtype_name(dt) + " is not supported");
  const Shape out(dims.begin(), dims.end());
  c.set_out(0, dt, out);
  if (!is_index_type(dt) || num_elements(out) > kMaxFoldElements) return;
  Tensor r(dt, out);
  for (int64_t i = 0; i < r.numel(); ++i)
    std::memcpy(static_cast<char*>(r.data()) + size_t(i) * dtype_size(dt), v->data(), dtype_size(dt));
  c.set_const(0, std::move(r));
}

double scalar_value(Ctx& c, int i) {
  const Tensor* t = c.constant(i);
  if (!t) c.unsupported(c.in_name(i) + " must be a constant (Range's length depends on its value)");
  if (t->numel() != 1) c.fail(c.in_name(i) + " has shape " + shape_str(t->shape()) + ", expected a scalar");
  switch (t->dtype()) {
    case DType::f32:
      return *t->as<float>();
    case DType::f64:
      return *t->as<double>();
    case DType::i16:
      return *t->as<int16_t>();
    case DType::i32:
      return *t->as<int32_t>();
    case DType::i64:
      return double(*t->as<int64_t>());
    default:
      c.fail(c.in_name(i) + " has type " + dtype_name(t->dtype()) + ", expected float, double, int16/32/64");
  }
}

void infer_range(Ctx& c) {
  // n = max(ceil((limit - start) / delta), 0); out[i] = start + i * delta.
  c.arity(3, 3);
  c.same_dtype(0, 1);
  c.same_dtype(0, 2);
  const double start = scalar_value(c, 0), limit = scalar_value(c, 1), delta = scalar_value(c, 2);
  if (delta == 0) c.fail("delta must not be 0");
  const int64_t n = std::max<int64_t>(0, int64_t(std::ceil((limit - start) / delta)));
  c.set_out(0, c.dtype(0), Shape{n});
  if (!is_index_type(c.dtype(0)) || n > kMaxFoldElements) return;
  Tensor r(c.dtype(0), Shape{n});
  const int64_t s = int64_t(start), d = int64_t(delta);
  for (int64_t i = 0; i < n; ++i) {
    if (r.dtype() == DType::i64)
      r.as<int64_t>()[i] = s + i * d;
    else
      r.as<int32_t>()[i] = int32_t(s + i * d);
  }
  c.set_const(0, std::move(r));
}

void infer_size(Ctx& c) {
  c.arity(1, 1);
  Tensor t(DType::i64, Shape{});
  *t.as<int64_t>() = num_elements(c.shape(0));
  c.set_const(0, std::move(t));
}

void infer_eye_like(Ctx& c) {
  c.arity(1, 1);
  const Shape x = c.shape_rank(0, 2);
  const DType dt = c.node.has_attr("dtype") ? DType(c.node.attr_i("dtype", 1)) : c.dtype(0);
  if (dtype_size(dt) == 0 || dt == DType::f16 || dt == DType::bf16)
    c.unsupported(std::string("output type ") + dtype_name(dt) + " is not supported");
  c.set_out(0, dt, x);
}

void infer_one_hot(Ctx& c) {
  // indices [d...] -> [d[:axis], depth, d[axis:]] of values' type (values = [off, on]).
  c.arity(3, 3);
  const Shape idx = c.shape(0);
  const Tensor* depth = c.constant(1);
  if (!depth) c.unsupported(c.in_name(1) + " (depth) must be a constant (it sets the output shape)");
  if (depth->numel() != 1) c.fail(c.in_name(1) + " (depth) must have one element");
  const Shape vs = c.shape(2);
  if (num_elements(vs) != 2 || vs.size() != 1) c.fail(c.in_name(2) + " has shape " + shape_str(vs) + ", expected [2]");
  const int64_t r = int64_t(idx.size()) + 1;
  int64_t axis = c.node.attr_i("axis", -1);
  if (axis < -r || axis >= r)
    c.fail("axis " + std::to_string(axis) + " is out of range for output rank " + std::to_string(r));
  if (axis < 0) axis += r;
  Tensor d(depth->dtype(), depth->shape());
  std::memcpy(d.data(), depth->data(), depth->bytes());
  double dv = 0;
  switch (d.dtype()) {
    case DType::f32:
      dv = *d.as<float>();
      break;
    case DType::f64:
      dv = *d.as<double>();
      break;
    case DType::i64:
      dv = double(*d.as<int64_t>());
      break;
    case DType::i32:
      dv = *d.as<int32_t>();
      break;
    case DType::u8:
      dv = *d.as<uint8_t>();
      break;
    case DType::i8:
      dv = *d.as<int8_t>();
      break;
    default:
      c.unsupported(std::string("depth of type ") + dtype_name(d.dtype()) + " is not supported");
  }
  if (dv < 1) c.fail("depth must be positive, got " + std::to_string(dv));
  Shape out = idx;
  out.insert(out.begin() + axis, int64_t(dv));
  c.set_out(0, c.dtype(2), out);
}

// ---- index ops --------------------------------------------------------------------------------------------

void require_index(Ctx& c, int i) {
  if (!is_index_type(c.dtype(i)))
    c.fail(c.in_name(i) + " has type " + dtype_name(c.dtype(i)) + ", expected int32 or int64");
}

void infer_gather_elements(Ctx& c) {
  c.arity(2, 2);
  require_index(c, 1);
  const Shape d = c.shape(0), i = c.shape(1);
  if (d.empty() || i.size() != d.size())
    c.fail(c.in_name(1) + " has shape " + shape_str(i) + ", expected rank " + std::to_string(d.size()) + " like " +
           c.in_name(0) + " " + shape_str(d));
  const int64_t axis = normalize_axis(c.g, c.id, c.node.attr_i("axis", 0), int64_t(d.size()));
  for (size_t k = 0; k < d.size(); ++k)
    if (int64_t(k) != axis && i[k] > d[k])
      c.fail(c.in_name(1) + " " + shape_str(i) + " is larger than the data " + shape_str(d) + " outside the axis");
  c.set_out(0, c.dtype(0), i);
}

void infer_gather_nd(Ctx& c) {
  // out = indices.shape[:-1] + data.shape[batch_dims + indices.shape[-1]:].
  c.arity(2, 2);
  if (c.dtype(1) != DType::i64) c.fail(c.in_name(1) + " has type " + dtype_name(c.dtype(1)) + ", expected int64");
  const Shape d = c.shape(0), i = c.shape(1);
  const int64_t b = c.opset >= 12 ? c.node.attr_i("batch_dims", 0) : 0;
  if (i.empty() || d.empty()) c.fail("data and indices must have rank 1 or more");
  if (b < 0 || b >= int64_t(std::min(d.size(), i.size())))
    c.fail("batch_dims " + std::to_string(b) + " must be less than both ranks");
  for (int64_t k = 0; k < b; ++k)
    if (d[size_t(k)] != i[size_t(k)]) c.fail("data and indices differ in batch dim " + std::to_string(k));
  const int64_t last = i.back();
  if (last < 1 || b + last > int64_t(d.size()))
    c.fail("indices' last dim " + std::to_string(last) + " must be in [1, " + std::to_string(d.size() - size_t(b)) +
           "]");
  Shape out(i.begin(), i.end() - 1);
  out.insert(out.end(), d.begin() + b + last, d.end());
  c.set_out(0, c.dtype(0), out);
}

void infer_scatter_nd(Ctx& c) {
  // updates.shape must be indices.shape[:-1] + data.shape[indices.shape[-1]:].
  c.arity(3, 3);
  if (c.dtype(1) != DType::i64) c.fail(c.in_name(1) + " has type " + dtype_name(c.dtype(1)) + ", expected int64");
  c.same_dtype(0, 2);
  const Shape d = c.shape(0), i = c.shape(1), u = c.shape(2);
  if (i.empty() || i.back() < 1 || i.back() > int64_t(d.size()))
    c.fail(c.in_name(1) + " has shape " + shape_str(i) + ", its last dim must be in [1, rank(data)]");
  Shape want(i.begin(), i.end() - 1);
  want.insert(want.end(), d.begin() + i.back(), d.end());
  if (u != want) c.fail(c.in_name(2) + " has shape " + shape_str(u) + ", expected " + shape_str(want));
  const std::string red = c.opset >= 16 ? c.node.attr_s("reduction", "none") : "none";
  if (red != "none" && red != "add" && red != "mul") c.fail("reduction '" + red + "' is not one of none, add, mul");
  c.set_out(0, c.dtype(0), d);
}

void infer_trilu(Ctx& c) {
  c.arity(1, 2);
  const Shape x = c.shape(0);
  if (x.size() < 2) c.fail(c.in_name(0) + " has rank " + std::to_string(x.size()) + ", expected 2 or more");
  if (c.has_in(1)) {
    if (c.dtype(1) != DType::i64 || num_elements(c.shape(1)) != 1)
      c.fail(c.in_name(1) + " (k) must be an int64 scalar");
  }
  c.set_out(0, c.dtype(0), x);
}

void infer_cumsum(Ctx& c) {
  c.arity(2, 2);
  require_index(c, 1);
  if (num_elements(c.shape(1)) != 1) c.fail(c.in_name(1) + " (axis) must be a scalar");
  c.set_out(0, c.dtype(0), c.shape(0));
}

void infer_topk(Ctx& c) {
  c.opset < 10 ? c.arity(1, 1) : c.arity(2, 2);
  const Shape x = c.shape(0);
  const TopKSpec s = topk_spec(c.g, c.id, x);
  Shape out = x;
  out[size_t(s.axis)] = s.k;
  c.set_out(0, c.dtype(0), out);
  c.set_out(1, DType::i64, out);
}

// ---- spatial ------------------------------------------------------------------------------------------------

void infer_global_max_pool(Ctx& c) {
  c.arity(1, 1);
  const Shape x = c.shape(0);
  if (x.size() < 3) c.fail(c.in_name(0) + " has rank " + std::to_string(x.size()) + ", expected 3 or more");
  Shape out(x.size(), 1);
  out[0] = x[0], out[1] = x[1];
  c.set_out(0, c.dtype(0), out);
}

void infer_resize(Ctx& c) {
  const bool upsample = c.node.op_type == "Upsample";
  if (upsample)
    c.opset < 9 ? c.arity(1, 1) : c.arity(2, 2);
  else
    c.opset < 11 ? c.arity(2, 2) : c.arity(1, 4);
  const Shape x = c.shape(0);
  const ResizeSpec s = resize_spec(c.g, c.id, x);
  c.set_out(0, c.dtype(0), s.out);
}

void infer_conv_transpose(Ctx& c) {
  c.arity(2, 3);
  c.same_dtype(0, 1);
  const Shape x = c.shape(0), w = c.shape(1);
  const ConvTransposeGeometry geo = conv_transpose_geometry(c.g, c.id, x, w);
  if (c.has_in(2) && c.shape(2) != Shape{geo.out_channels})
    c.fail("bias '" + c.in(2).name + "' has shape " + shape_str(c.shape(2)) + ", expected " +
           std::to_string(geo.out_channels) + " (one per output channel)");
  Shape out{x[0], geo.out_channels};
  out.insert(out.end(), geo.out.begin(), geo.out.end());
  c.set_out(0, c.dtype(0), out);
}

void infer_lrn(Ctx& c) {
  c.arity(1, 1);
  const Shape x = c.shape(0);
  if (x.size() < 3) c.fail(c.in_name(0) + " has rank " + std::to_string(x.size()) + ", expected N x C x spatial");
  if (c.node.attr_i("size", 0) < 1) c.fail("attribute 'size' is required and must be positive");
  c.set_out(0, c.dtype(0), x);
}

const OpEntry kDataOps[] = {
    {"", "Slice", 1, 17, infer_slice},
    {"", "Split", 2, 17, infer_split},
    {"", "Pad", 2, 17, infer_pad},
    {"", "Expand", 8, 17, infer_expand},
    {"", "Tile", 6, 17, infer_tile},
    {"", "DepthToSpace", 1, 17, infer_depth_to_space},
    {"", "SpaceToDepth", 1, 17, infer_space_to_depth},
    {"", "ConstantOfShape", 9, 17, infer_constant_of_shape},
    {"", "Range", 11, 17, infer_range},
    {"", "Size", 1, 17, infer_size},
    {"", "EyeLike", 9, 17, infer_eye_like},
    {"", "OneHot", 9, 17, infer_one_hot},
    {"", "GatherElements", 11, 17, infer_gather_elements},
    {"", "GatherND", 11, 17, infer_gather_nd},
    {"", "ScatterND", 11, 17, infer_scatter_nd},
    {"", "Trilu", 14, 17, infer_trilu},
    {"", "CumSum", 11, 17, infer_cumsum},
    {"", "TopK", 1, 17, infer_topk},
    {"", "GlobalMaxPool", 1, 17, infer_global_max_pool},
    {"", "Upsample", 7, 9, infer_resize},
    {"", "Resize", 10, 17, infer_resize},
    {"", "ConvTranspose", 1, 17, infer_conv_transpose},
    {"", "LRN", 1, 17, infer_lrn},
};

}  // namespace

std::span<const OpEntry> data_op_table() { return kDataOps; }

}  // namespace octet::infer
