// Output dtypes and shapes of the ops octet knows, one small function per op, looked up in a table keyed by
// (domain, op type) with the opset range each function implements.
//
// Besides shapes, inference computes the value of small integer tensors that describe shapes (Shape, and
// Gather/Unsqueeze/Squeeze/Concat/Reshape/Flatten/Identity/Add/Sub/Mul/Div over such constants) and stores it in
// Value::constant, because exporters build Reshape's `shape` input that way (Shape -> Gather -> Unsqueeze ->
// Concat -> Reshape) and Reshape needs its value. The nodes stay in the graph; constant folding removes them.
#include "graph/shape_inference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "graph/infer_ctx.h"
#include "graph/einsum.h"
#include "graph/op_attrs.h"

namespace octet {

namespace {

using infer::Ctx;
using infer::OpEntry;
using infer::is_index_type;
using infer::ints_str;
using infer::kMaxFoldElements;


// ---- element-wise -----------------------------------------------------------------------------------------

void infer_unary(Ctx& c) {  // Relu, Sigmoid, LeakyRelu, Reorder: same dtype and shape
  c.arity(1, 1);
  c.set_out(0, c.dtype(0), c.shape(0));
}

void infer_identity(Ctx& c) {
  c.arity(1, 1);
  c.set_out(0, c.dtype(0), c.shape(0));
  c.fold_same_bytes(0, c.shape(0));
}

void infer_clip(Ctx& c) {
  // Before opset 11 min/max are attributes; from 11 they are optional scalar inputs of the data's type.
  c.arity(1, c.opset < 11 ? 1 : 3);
  for (int i = 1; i < 3; ++i) {
    if (!c.has_in(i)) continue;
    c.same_dtype(0, i);
    if (num_elements(c.shape(i)) != 1)
      c.fail(c.in_name(i) + " has shape " + shape_str(c.shape(i)) + ", expected a scalar");
  }
  c.set_out(0, c.dtype(0), c.shape(0));
}

// ---- constant folding of small element-wise computations (ops-elt) ------------------------------------------
//
// Exporters compute shapes with element-wise ops on small tensors: Shape -> Gather -> Cast(float) -> Mul(scale)
// -> Floor -> Cast(int64) for Resize sizes, Equal / Where for Reshape's 0 / -1 rules, Max / Min for clamps. When
// every input is a small constant of type int64, int32, bool or float32, the output is computed here (int64
// arithmetic for integers, double for floats: a double +, -, *, /, sqrt of float operands rounded once to float
// is the correctly rounded float result, so this agrees with the kernels bit for bit) and stored as the output's
// constant, so Reshape / Expand / Resize see its value during inference.

struct Num {
  int64_t i;  // the value as an integer (a float input: truncated toward zero, saturated, NaN -> 0)
  double f;   // the value as a double
};
Num num_of_int(int64_t v) { return {v, double(v)}; }
Num num_of_float(double v) {
  int64_t i = 0;
  if (v >= 9.2233720368547758e18)
    i = std::numeric_limits<int64_t>::max();
  else if (v <= -9.2233720368547758e18)
    i = std::numeric_limits<int64_t>::min();
  else if (v == v)
    i = int64_t(v);
  return {i, v};
}

bool foldable_dtype(DType t) { return t == DType::i64 || t == DType::i32 || t == DType::boolean || t == DType::f32; }

Num read_num(const Tensor& t, int64_t k) {
  switch (t.dtype()) {
    case DType::i64:
      return num_of_int(t.as<int64_t>()[k]);
    case DType::i32:
      return num_of_int(t.as<int32_t>()[k]);
    case DType::boolean:
      return num_of_int(t.as<uint8_t>()[k] != 0);
    default:
      return num_of_float(t.as<float>()[k]);
  }
}

// Flat index into an operand of shape s broadcast to `out`, for the output's flat index `flat`: walk the output
// index from the last dim; a dim of size 1 (or one the operand lacks) contributes nothing.
int64_t broadcast_offset(const Shape& s, const Shape& out, int64_t flat) {
  int64_t off = 0, stride = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t ko = out.size() - 1 - k;
    const int64_t idx = flat % out[ko];
    flat /= out[ko];
    if (k < s.size()) {
      const int64_t dim = s[s.size() - 1 - k];
      if (dim != 1) off += idx * stride;
      stride *= dim;
    }
  }
  return off;
}

/// One output element from the inputs' elements; `ints` is true when every input has an integer (or bool) type.
/// Returns false to leave the node to run time (integer division by zero).
using FoldOp = bool (*)(const Num* a, int n, bool ints, Num& r);

/// Output 0 = op over the broadcast of all inputs, when all of them are small foldable constants.
void fold_elementwise(Ctx& c, const Shape& out, DType out_dt, FoldOp op) {
  const int n = int(c.node.inputs.size());
  if (!foldable_dtype(out_dt) || num_elements(out) > kMaxFoldElements) return;
  bool ints = true;
  for (int i = 0; i < n; ++i) {
    const Tensor* t = c.constant(i);
    if (!t || t->empty() || !foldable_dtype(t->dtype())) return;
    ints &= t->dtype() != DType::f32;
  }
  Tensor r(out_dt, out);
  std::vector<Num> args(static_cast<size_t>(n));
  for (int64_t e = 0; e < r.numel(); ++e) {
    for (int i = 0; i < n; ++i) args[i] = read_num(*c.constant(i), broadcast_offset(c.constant(i)->shape(), out, e));
    Num v;
    if (!op(args.data(), n, ints, v)) return;
    switch (out_dt) {
      case DType::i64:
        r.as<int64_t>()[e] = v.i;
        break;
      case DType::i32:
        r.as<int32_t>()[e] = int32_t(v.i);
        break;
      case DType::boolean:
        r.as<uint8_t>()[e] = v.f != 0;
        break;
      default:
        r.as<float>()[e] = float(v.f);
        break;
    }
  }
  c.set_const(0, std::move(r));
}

// Add / Sub / Mul / Div: integers wrap as int64 (then narrow to the type), Div truncates toward zero.
bool fold_arith(const Num* a, int, bool ints, Num& r, char op) {
  if (ints) {
    const uint64_t x = uint64_t(a[0].i), y = uint64_t(a[1].i);
    switch (op) {
      case '+':
        r = num_of_int(int64_t(x + y));
        return true;
      case '-':
        r = num_of_int(int64_t(x - y));
        return true;
      case '*':
        r = num_of_int(int64_t(x * y));
        return true;
      default:
        if (a[1].i == 0) return false;
        r = num_of_int(a[1].i == -1 ? int64_t(0 - x) : a[0].i / a[1].i);
        return true;
    }
  }
  const double x = a[0].f, y = a[1].f;
  r = num_of_float(op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y);
  return true;
}
bool fold_add(const Num* a, int n, bool ints, Num& r) { return fold_arith(a, n, ints, r, '+'); }
bool fold_sub(const Num* a, int n, bool ints, Num& r) { return fold_arith(a, n, ints, r, '-'); }
bool fold_mul(const Num* a, int n, bool ints, Num& r) { return fold_arith(a, n, ints, r, '*'); }
bool fold_div(const Num* a, int n, bool ints, Num& r) { return fold_arith(a, n, ints, r, '/'); }

FoldOp arith_fold_op(const std::string& op) {
  return op == "Add" ? fold_add : op == "Sub" ? fold_sub : op == "Mul" ? fold_mul : fold_div;
}

void infer_binary(Ctx& c) {  // Add, Sub, Mul, Div: numpy broadcasting, same dtype
  c.arity(2, 2);
  c.same_dtype(0, 1);
  const Shape out = broadcast_shapes(c.g, c.id, c.shape(0), c.shape(1));
  c.set_out(0, c.dtype(0), out);
  fold_elementwise(c, out, c.dtype(0), arith_fold_op(c.node.op_type));
}

void infer_softmax(Ctx& c) {
  // Before opset 13 the input is seen as 2-D [prod(d[:axis]), prod(d[axis:])] with axis default 1; from 13
  // softmax runs along one axis, default -1. Either way the output has the input's shape.
  c.arity(1, 1);
  const Shape x = c.shape(0);
  const int64_t rank = int64_t(x.size());
  normalize_axis(c.g, c.id, c.node.attr_i("axis", c.opset < 13 ? 1 : -1), rank);
  c.set_out(0, c.dtype(0), x);
}

void infer_dropout(Ctx& c) {
  // Inference mode only: output = data, mask = all true. From opset 12 ratio and training_mode are inputs.
  c.arity(1, c.opset < 12 ? 1 : 3);
  if (c.has_in(2)) {
    const Tensor* t = c.constant(2);
    if (!t) c.unsupported("training_mode input '" + c.in(2).name + "' is not a constant (training is not supported)");
    if (t->numel() != 1 || t->dtype() != DType::boolean)
      c.fail(c.in_name(2) + " must be a boolean scalar");
    // Training mode drops each element with probability `ratio`: with a constant ratio of 0 it is the identity.
    if (*t->as<uint8_t>() != 0 && !dropout_ratio_is_zero(c.g, c.node))
      c.unsupported("training_mode = true with a ratio other than a constant 0 (random dropping) is not supported "
                    "(inference only)");
  }
  const Shape x = c.shape(0);
  c.set_out(0, c.dtype(0), x);
  // The mask is bool from opset 10, the data's type before.
  c.set_out(1, c.opset < 10 ? c.dtype(0) : DType::boolean, x);
}

// ---- convolution and normalisation -------------------------------------------------------------------------

void infer_conv(Ctx& c) {
  c.arity(2, 3);
  const Shape x = c.shape(0), w = c.shape(1);
  // The weight M x C/group x k... fixes the rank the input must have.
  if (w.size() < 3)
    c.fail("weight '" + c.in(1).name + "' has shape " + shape_str(w) + ", expected M x C/group x kernel dims");
  if (x.size() != w.size())
    c.fail(c.in_name(0) + " has rank " + std::to_string(x.size()) + ", expected " + std::to_string(w.size()) +
           " (weight '" + c.in(1).name + "' is " + shape_str(w) + ")");
  const WindowGeometry geo = window_geometry(c.g, c.id, x, &w);
  const int64_t C = x[1], M = w[0], group = geo.group;
  if (w[1] * group != C) {
    std::string per = group == 1 ? "" : " (" + std::to_string(w[1]) + " per group)";
    c.fail("weight '" + c.in(1).name + "' has " + std::to_string(w[1] * group) + " input channels" + per +
           ", input '" + c.in(0).name + "' has " + std::to_string(C) + " (group " + std::to_string(group) + ")");
  }
  if (M % group != 0)
    c.fail("weight '" + c.in(1).name + "' has " + std::to_string(M) + " output channels, not a multiple of group " +
           std::to_string(group));
  c.same_dtype(0, 1);
  if (c.has_in(2)) {
    const Shape b = c.shape(2);
    if (b != Shape{M})
      c.fail("bias '" + c.in(2).name + "' has shape " + shape_str(b) + ", expected " + std::to_string(M) +
             " (one per output channel)");
  }
  Shape out{x[0], M};
  out.insert(out.end(), geo.out.begin(), geo.out.end());
  c.set_out(0, c.dtype(0), out);
}

void infer_batchnorm(Ctx& c) {
  // y = scale * (x - mean) / sqrt(var + epsilon) + B per channel (inference form).
  c.arity(5, 5);
  if (c.node.attr_i("training_mode", 0) != 0)
    c.unsupported("training_mode = 1 is not supported (inference only)");
  for (size_t i = 1; i < c.node.outputs.size(); ++i)
    if (c.has_out(int(i)))
      c.unsupported("the training outputs (running mean/var, saved statistics) are not supported");
  if (c.opset < 9 && c.node.attr_i("spatial", 1) == 0)
    c.unsupported("spatial = 0 (per-activation statistics) is not supported");
  const Shape x = c.shape(0);
  if (x.size() < 2) c.fail(c.in_name(0) + " has rank " + std::to_string(x.size()) + ", expected N x C x ...");
  const char* roles[] = {"", "scale", "B", "mean", "var"};
  for (int i = 1; i < 5; ++i) {
    const Shape s = c.shape(i);
    if (s != Shape{x[1]})
      c.fail(std::string(roles[i]) + " '" + c.in(i).name + "' has shape " + shape_str(s) + ", expected " +
             std::to_string(x[1]) + " (one per channel)");
  }
  c.set_out(0, c.dtype(0), x);
}

// ---- pooling ----------------------------------------------------------------------------------------------

void infer_pool(Ctx& c) {  // MaxPool, AveragePool
  c.arity(1, 1);
  const bool is_max = c.node.op_type == "MaxPool";
  if (c.has_out(1) && !is_max) c.fail("has 2 outputs, AveragePool has one");
  const Shape x = c.shape(0);
  const WindowGeometry geo = window_geometry(c.g, c.id, x);
  Shape out{x[0], x[1]};
  out.insert(out.end(), geo.out.begin(), geo.out.end());
  c.set_out(0, c.dtype(0), out);
  // MaxPool's optional Indices (opset 8+): the flat int64 index of each selected input element, Y's shape.
  if (is_max) c.set_out(1, DType::i64, out);
}

void infer_global_pool(Ctx& c) {
  c.arity(1, 1);
  const Shape x = c.shape(0);
  if (x.size() < 3) c.fail(c.in_name(0) + " has rank " + std::to_string(x.size()) + ", expected 3 or more");
  Shape out(x.size(), 1);
  out[0] = x[0];
  out[1] = x[1];
  c.set_out(0, c.dtype(0), out);
}

// ---- shape manipulation -----------------------------------------------------------------------------------

void infer_flatten(Ctx& c) {
  // [d0..dn) -> [prod(d[:axis]), prod(d[axis:])], axis in [-r, r].
  c.arity(1, 1);
  const Shape x = c.shape(0);
  const int64_t r = int64_t(x.size());
  int64_t axis = c.node.attr_i("axis", 1);
  if (axis < -r || axis > r)
    c.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(r) + " (valid: " +
           std::to_string(-r) + ".." + std::to_string(r) + ")");
  if (axis < 0) axis += r;
  const Shape out{num_elements(Shape(x.begin(), x.begin() + axis)), num_elements(Shape(x.begin() + axis, x.end()))};
  c.set_out(0, c.dtype(0), out);
  c.fold_same_bytes(0, out);
}

void infer_reshape(Ctx& c) {
  c.arity(2, 2);
  const Shape x = c.shape(0);
  const Shape sshape = c.shape(1);
  if (sshape.size() != 1) c.fail(c.in_name(1) + " has shape " + shape_str(sshape) + ", expected a 1-D shape");
  const std::vector<int64_t> spec = c.const_ints(1, "shape");
  // 0 copies the input's dim at the same index (unless allowzero = 1, opset 14, makes it a real 0); one -1
  // takes whatever is left: numel(x) / prod(other dims).
  const bool allowzero = c.opset >= 14 && c.node.attr_i("allowzero", 0) != 0;
  Shape out(spec.size());
  int infer_at = -1;
  bool has_zero = false;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t s = spec[i];
    if (s == -1) {
      if (infer_at >= 0) c.fail("shape " + ints_str(spec) + " has more than one -1");
      infer_at = int(i);
      out[i] = 1;
    } else if (s == 0 && !allowzero) {
      if (i >= x.size())
        c.fail("shape " + ints_str(spec) + " copies dim " + std::to_string(i) + " (0) but the input " +
               shape_str(x) + " has rank " + std::to_string(x.size()));
      out[i] = x[i];
    } else if (s < 0) {
      c.fail("shape " + ints_str(spec) + " has an invalid dimension " + std::to_string(s));
    } else {
      has_zero |= s == 0;
      out[i] = s;
    }
  }
  if (allowzero && has_zero && infer_at >= 0)
    c.fail("shape " + ints_str(spec) + " has both 0 and -1 with allowzero = 1");
  const int64_t n = num_elements(x);
  if (infer_at >= 0) {
    const int64_t rest = num_elements(out);
    if (rest == 0 || n % rest != 0)
      c.fail("cannot reshape " + shape_str(x) + " (" + std::to_string(n) + " elements) to " + ints_str(spec));
    out[infer_at] = n / rest;
  }
  if (num_elements(out) != n)
    c.fail("cannot reshape " + shape_str(x) + " (" + std::to_string(n) + " elements) to " + ints_str(spec) + " (" +
           std::to_string(num_elements(out)) + " elements)");
  c.set_out(0, c.dtype(0), out);
  c.fold_same_bytes(0, out);
}

void infer_transpose(Ctx& c) {
  c.arity(1, 1);
  const Shape x = c.shape(0);
  std::vector<int64_t> perm(x.size());
  std::iota(perm.rbegin(), perm.rend(), 0);  // default: reverse the dims
  perm = c.node.attr_ints("perm", perm);
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> ident(x.size());
  std::iota(ident.begin(), ident.end(), 0);
  if (sorted != ident)
    c.fail("perm " + ints_str(perm) + " is not a permutation of the " + std::to_string(x.size()) + " input dims");
  Shape out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[perm[i]];
  c.set_out(0, c.dtype(0), out);
}

void infer_concat(Ctx& c) {
  const int n = int(c.node.inputs.size());
  if (n < 1) c.fail("has no inputs");
  if (!c.node.has_attr("axis")) c.fail("attribute 'axis' is required");
  Shape out = c.shape(0);
  const int64_t axis = normalize_axis(c.g, c.id, c.node.attr_i("axis", 0), int64_t(out.size()));
  for (int i = 1; i < n; ++i) {
    c.same_dtype(0, i);
    const Shape s = c.shape_rank(i, out.size());
    for (size_t d = 0; d < s.size(); ++d)
      if (int64_t(d) != axis && s[d] != out[d])
        c.fail(c.in_name(i) + " has shape " + shape_str(s) + ", which differs from " + c.in_name(0) + " (" +
               shape_str(c.shape(0)) + ") outside axis " + std::to_string(axis));
    out[axis] += s[axis];
  }
  c.set_out(0, c.dtype(0), out);

  // Constant shape pieces concatenate into a constant shape: copy blocks of inner * len bytes per outer step.
  if (!is_index_type(c.dtype(0)) || num_elements(out) > kMaxFoldElements) return;
  for (int i = 0; i < n; ++i)
    if (!c.constant(i)) return;
  Tensor r(c.dtype(0), out);
  const size_t es = dtype_size(r.dtype());
  const int64_t outer = num_elements(Shape(out.begin(), out.begin() + axis));
  const int64_t inner = num_elements(Shape(out.begin() + axis + 1, out.end()));
  char* dst = static_cast<char*>(r.data());
  for (int64_t o = 0; o < outer; ++o)
    for (int i = 0; i < n; ++i) {
      const Tensor* t = c.constant(i);
      const size_t block = size_t(t->shape()[axis] * inner) * es;
      std::memcpy(dst, static_cast<const char*>(t->data()) + size_t(o) * block, block);
      dst += block;
    }
  c.set_const(0, std::move(r));
}

void infer_shape(Ctx& c) {
  // Output: the input's dims[start:end] as int64 (start/end from opset 15, clamped like Python slices).
  c.arity(1, 1);
  const Shape x = c.shape(0);
  const int64_t r = int64_t(x.size());
  int64_t start = c.opset >= 15 ? c.node.attr_i("start", 0) : 0;
  int64_t end = c.opset >= 15 ? c.node.attr_i("end", r) : r;
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  const int64_t len = std::max<int64_t>(0, end - start);
  Tensor t(DType::i64, Shape{len});
  for (int64_t i = 0; i < len; ++i) t.as<int64_t>()[i] = x[start + i];
  c.set_const(0, std::move(t));
}

void infer_gather(Ctx& c) {
  // out = data.shape[:axis] + indices.shape + data.shape[axis+1:]; indices may be negative (counted from the end).
  c.arity(2, 2);
  const Shape data = c.shape(0), idx = c.shape(1);
  if (data.empty()) c.fail(c.in_name(0) + " is a scalar, expected rank 1 or more");
  if (!is_index_type(c.dtype(1)))
    c.fail(c.in_name(1) + " has type " + dtype_name(c.dtype(1)) + ", expected int32 or int64");
  const int64_t axis = normalize_axis(c.g, c.id, c.node.attr_i("axis", 0), int64_t(data.size()));
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  c.set_out(0, c.dtype(0), out);

  const Tensor* ti = c.constant(1);
  if (!ti) return;
  const std::vector<int64_t> iv = c.tensor_ints(*ti, 1);
  const int64_t size = data[axis];
  for (int64_t v : iv)
    if (v < -size || v >= size)
      c.fail("index " + std::to_string(v) + " is out of range for axis " + std::to_string(axis) + " of size " +
             std::to_string(size));
  const Tensor* td = c.constant(0);
  if (!td || !is_index_type(td->dtype()) || num_elements(out) > kMaxFoldElements) return;
  // Copy blocks: for each outer index and each gathered index, `inner` elements.
  Tensor r(td->dtype(), out);
  const size_t es = dtype_size(r.dtype());
  const int64_t outer = num_elements(Shape(data.begin(), data.begin() + axis));
  const int64_t inner = num_elements(Shape(data.begin() + axis + 1, data.end()));
  const char* src = static_cast<const char*>(td->data());
  char* dst = static_cast<char*>(r.data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t v : iv) {
      const int64_t j = v < 0 ? v + size : v;
      std::memcpy(dst, src + size_t((o * size + j) * inner) * es, size_t(inner) * es);
      dst += size_t(inner) * es;
    }
  c.set_const(0, std::move(r));
}

// Axes of Unsqueeze/Squeeze: an attribute before opset 13, a constant input from 13. `present` is false when
// neither is given (Squeeze then removes every 1).
std::vector<int64_t> read_axes(Ctx& c, bool& present) {
  if (c.opset < 13) {
    c.arity(1, 1);
    present = c.node.has_attr("axes");
    return c.node.attr_ints("axes");
  }
  c.arity(1, 2);
  present = c.has_in(1);
  return present ? c.const_ints(1, "axes") : std::vector<int64_t>{};
}

void infer_unsqueeze(Ctx& c) {
  bool present = false;
  std::vector<int64_t> axes = read_axes(c, present);
  if (!present) c.fail("axes are required");
  const Shape x = c.shape(0);
  // Axes index the output, whose rank is rank(x) + len(axes).
  const int64_t r = int64_t(x.size() + axes.size());
  std::vector<char> is_new(size_t(r), 0);
  for (int64_t a : axes) {
    const int64_t n = normalize_axis(c.g, c.id, a, r);
    if (is_new[n]) c.fail("axes " + ints_str(axes) + " name dimension " + std::to_string(n) + " twice");
    is_new[n] = 1;
  }
  Shape out(static_cast<size_t>(r));
  for (int64_t i = 0, k = 0; i < r; ++i) out[i] = is_new[i] ? 1 : x[k++];
  c.set_out(0, c.dtype(0), out);
  c.fold_same_bytes(0, out);
}

void infer_squeeze(Ctx& c) {
  bool present = false;
  const std::vector<int64_t> axes = read_axes(c, present);
  const Shape x = c.shape(0);
  std::vector<char> drop(x.size(), 0);
  if (!present) {
    for (size_t i = 0; i < x.size(); ++i) drop[i] = x[i] == 1;
  } else {
    for (int64_t a : axes) {
      const int64_t n = normalize_axis(c.g, c.id, a, int64_t(x.size()));
      if (x[n] != 1)
        c.fail("cannot squeeze axis " + std::to_string(a) + " of " + c.in_name(0) + " (shape " + shape_str(x) +
               "): its size is " + std::to_string(x[n]) + ", not 1");
      drop[n] = 1;
    }
  }
  Shape out;
  for (size_t i = 0; i < x.size(); ++i)
    if (!drop[i]) out.push_back(x[i]);
  c.set_out(0, c.dtype(0), out);
  c.fold_same_bytes(0, out);
}

void infer_constant(Ctx& c) {
  c.arity(0, 0);
  const Node& n = c.node;
  int given = 0;
  for (const char* k : {"value", "sparse_value", "value_float", "value_floats", "value_int", "value_ints",
                        "value_string", "value_strings"})
    given += n.has_attr(k);
  if (given != 1) c.fail("exactly one value attribute is required, got " + std::to_string(given));
  if (n.has_attr("sparse_value")) c.unsupported("sparse_value is not supported");
  if (n.has_attr("value_string") || n.has_attr("value_strings")) c.unsupported("string constants are not supported");
  if (n.has_attr("value")) {
    const Attribute& a = n.attrs.at("value");
    if (a.kind != Attribute::Kind::t || !a.t) c.fail("attribute 'value' is not a tensor");
    Tensor t(a.t->dtype(), a.t->shape());
    std::memcpy(t.data(), a.t->data(), a.t->bytes());
    c.set_const(0, std::move(t));
  } else if (n.has_attr("value_float") || n.has_attr("value_int")) {
    const bool f = n.has_attr("value_float");
    Tensor t(f ? DType::f32 : DType::i64, Shape{});
    if (f) *t.as<float>() = n.attr_f("value_float", 0);
    else *t.as<int64_t>() = n.attr_i("value_int", 0);
    c.set_const(0, std::move(t));
  } else if (n.has_attr("value_floats")) {
    const std::vector<float> v = n.attr_floats("value_floats");
    Tensor t(DType::f32, Shape{int64_t(v.size())});
    std::copy(v.begin(), v.end(), t.as<float>());
    c.set_const(0, std::move(t));
  } else {
    const std::vector<int64_t> v = n.attr_ints("value_ints");
    Tensor t(DType::i64, Shape{int64_t(v.size())});
    std::copy(v.begin(), v.end(), t.as<int64_t>());
    c.set_const(0, std::move(t));
  }
}

// ---- matrix products --------------------------------------------------------------------------------------

void infer_gemm(Ctx& c) {
  // Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A (M x K), B' = transB ? B^T : B (K x N), C broadcast
  // to M x N (unidirectionally: C's shape must broadcast to M x N without growing it).
  c.arity(2, 3);
  // C is optional from opset 11; Gemm-7..10 require it (Gemm-7 dropped the broadcast attribute: C always
  // broadcasts).
  if (c.opset < 11 && !c.has_in(2)) c.fail("input C is required before opset 11");
  const Shape a = c.shape_rank(0, 2), b = c.shape_rank(1, 2);
  c.same_dtype(0, 1);
  const bool ta = c.node.attr_i("transA", 0) != 0, tb = c.node.attr_i("transB", 0) != 0;
  const int64_t M = ta ? a[1] : a[0], K = ta ? a[0] : a[1];
  const int64_t K2 = tb ? b[1] : b[0], N = tb ? b[0] : b[1];
  if (K != K2)
    c.fail("A " + shape_str(a) + (ta ? " (transposed)" : "") + " and B " + shape_str(b) +
           (tb ? " (transposed)" : "") + " do not multiply: K = " + std::to_string(K) + " vs " + std::to_string(K2));
  if (c.has_in(2)) {
    c.same_dtype(0, 2);
    const Shape cs = c.shape(2);
    bool fits = cs.size() <= 2;
    for (size_t k = 0; fits && k < cs.size(); ++k) {
      const int64_t want = k + 1 == cs.size() ? N : M;  // align from the right
      fits = cs[k] == 1 || cs[k] == want;
    }
    if (!fits)
      c.fail(c.in_name(2) + " has shape " + shape_str(cs) + ", which does not broadcast to " + shape_str({M, N}));
  }
  c.set_out(0, c.dtype(0), Shape{M, N});
}

void infer_matmul(Ctx& c) {
  // numpy matmul: a 1-D A is a row vector [1, K] and a 1-D B a column [K, 1], the added dim removed from the
  // result; dims before the last two broadcast.
  c.arity(2, 2);
  c.same_dtype(0, 1);
  Shape a = c.shape(0), b = c.shape(1);
  if (a.empty() || b.empty())
    c.fail("MatMul operands must have rank 1 or more, got " + shape_str(a) + " and " + shape_str(b));
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  const int64_t M = a[a.size() - 2], K = a.back(), K2 = b[b.size() - 2], N = b.back();
  if (K != K2)
    c.fail(c.in_name(0) + " " + shape_str(c.shape(0)) + " and " + c.in_name(1) + " " + shape_str(c.shape(1)) +
           " do not multiply: K = " + std::to_string(K) + " vs " + std::to_string(K2));
  Shape out = broadcast_shapes(c.g, c.id, Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
  if (!a1) out.push_back(M);
  if (!b1) out.push_back(N);
  c.set_out(0, c.dtype(0), out);
}

// ---- reductions, normalisation, einsum, recurrent (ops-red; kernels in engine/ops/reduce.cpp, normalize.cpp,
// einsum.cpp, recurrent.cpp) -----------------------------------------------------------------------------------

// Small integer constants reduced (ReduceSum/Prod/Max/Min of shape pieces, e.g. a Flatten done by hand).
void fold_reduce(Ctx& c, const Shape& x, const std::vector<int64_t>& axes, const Shape& out) {
  const Tensor* t = c.constant(0);
  const std::string& op = c.node.op_type;
  if (!t || !is_index_type(t->dtype()) || t->numel() > kMaxFoldElements ||
      (op != "ReduceSum" && op != "ReduceProd" && op != "ReduceMax" && op != "ReduceMin"))
    return;
  const std::vector<int64_t> v = c.tensor_ints(*t, 0);
  std::vector<char> red(x.size(), 0);
  for (int64_t a : axes) red[size_t(a)] = 1;
  const int64_t n_out = num_elements(out);
  std::vector<int64_t> acc(size_t(n_out), op == "ReduceProd"  ? 1
                                          : op == "ReduceMax" ? std::numeric_limits<int64_t>::min()
                                          : op == "ReduceMin" ? std::numeric_limits<int64_t>::max()
                                                              : 0);
  for (int64_t i = 0; i < int64_t(v.size()); ++i) {
    int64_t rem = i, o = 0, stride = 1;  // the output slot: i's index with the reduced dims dropped
    for (size_t d = x.size(); d-- > 0;) {
      const int64_t k = rem % x[d];
      rem /= x[d];
      if (!red[d]) o += k * stride, stride *= x[d];
    }
    int64_t& a = acc[size_t(o)];
    a = op == "ReduceSum"    ? a + v[size_t(i)]
        : op == "ReduceProd" ? a * v[size_t(i)]
        : op == "ReduceMax"  ? std::max(a, v[size_t(i)])
                             : std::min(a, v[size_t(i)]);
  }
  Tensor r(t->dtype(), out);
  for (int64_t i = 0; i < n_out; ++i) {
    if (r.dtype() == DType::i64)
      r.as<int64_t>()[i] = acc[size_t(i)];
    else
      r.as<int32_t>()[i] = int32_t(acc[size_t(i)]);
  }
  c.set_const(0, std::move(r));
}

void infer_reduce(Ctx& c) {
  // Axes: an attribute, or the optional input 1 from opset 13 (ReduceSum) / 18 (the other Reduce* ops). keepdims
  // (default 1) keeps reduced dims as 1s; no axes reduce all dims, or nothing with noop_with_empty_axes = 1.
  const bool axes_input = c.opset >= (c.node.op_type == "ReduceSum" ? 13 : 18);
  c.arity(1, axes_input ? 2 : 1);
  const Shape x = c.shape(0);
  bool noop = false;
  const std::vector<int64_t> axes = reduce_axes(c.g, c.id, int64_t(x.size()), &noop);
  if (noop) {
    c.set_out(0, c.dtype(0), x);
    c.fold_same_bytes(0, x);
    return;
  }
  const bool keep = c.node.attr_i("keepdims", 1) != 0;
  std::vector<char> red(x.size(), 0);
  for (int64_t a : axes) red[size_t(a)] = 1;
  Shape out;
  for (size_t d = 0; d < x.size(); ++d)
    if (!red[d])
      out.push_back(x[d]);
    else if (keep)
      out.push_back(1);
  c.set_out(0, c.dtype(0), out);
  fold_reduce(c, x, axes, out);
}

void infer_arg_reduce(Ctx& c) {  // ArgMax, ArgMin: int64 indices along `axis` (default 0)
  c.arity(1, 1);
  const Shape x = c.shape(0);
  if (x.empty()) c.fail(c.in_name(0) + " is a scalar, expected rank >= 1");
  const int64_t axis = normalize_axis(c.g, c.id, c.node.attr_i("axis", 0), int64_t(x.size()));
  if (c.opset < 12 && c.node.attr_i("select_last_index", 0) != 0)
    c.fail("attribute 'select_last_index' exists from opset 12");
  if (x[size_t(axis)] == 0) c.fail("cannot take the arg-extreme over the empty axis " + std::to_string(axis));
  Shape out = x;
  if (c.node.attr_i("keepdims", 1) != 0)
    out[size_t(axis)] = 1;
  else
    out.erase(out.begin() + axis);
  c.set_out(0, DType::i64, out);
}

void infer_layer_norm(Ctx& c) {
  // Opset 17: normalised over dims [axis, rank); Scale and B broadcast to those dims; Mean and InvStdDev have
  // X's shape with the normalised dims set to 1 (stash_type's float).
  c.arity(2, 3);
  const Shape x = c.shape(0);
  if (x.empty()) c.fail(c.in_name(0) + " is a scalar, expected rank >= 1");
  const int64_t axis = normalize_axis(c.g, c.id, c.node.attr_i("axis", -1), int64_t(x.size()));
  const Shape norm(x.begin() + axis, x.end());
  for (int i = 1; i < 3; ++i) {
    if (!c.has_in(i)) continue;
    c.same_dtype(0, i);
    const Shape s = c.shape(i);
    bool ok = s.size() <= norm.size();
    for (size_t k = 0; ok && k < s.size(); ++k)
      ok = s[s.size() - 1 - k] == 1 || s[s.size() - 1 - k] == norm[norm.size() - 1 - k];
    if (!ok)
      c.fail(c.in_name(i) + " has shape " + shape_str(s) + ", which does not broadcast to the normalised dims " +
             shape_str(norm));
  }
  if (c.node.attr_i("stash_type", 1) != 1) c.unsupported("stash_type other than 1 (float) is not supported");
  c.set_out(0, c.dtype(0), x);
  Shape stat = x;
  for (size_t d = size_t(axis); d < stat.size(); ++d) stat[d] = 1;
  c.set_out(1, DType::f32, stat);
  c.set_out(2, DType::f32, stat);
}

void infer_instance_norm(Ctx& c) {  // per (n, c) over the spatial dims; scale and B are [C]
  c.arity(3, 3);
  const Shape x = c.shape(0);
  if (x.size() < 3) c.fail(c.in_name(0) + " has shape " + shape_str(x) + ", expected N x C x D1 ...");
  for (int i = 1; i < 3; ++i) {
    c.same_dtype(0, i);
    if (c.shape(i) != Shape{x[1]})
      c.fail(c.in_name(i) + " has shape " + shape_str(c.shape(i)) + ", expected [" + std::to_string(x[1]) + "]");
  }
  c.set_out(0, c.dtype(0), x);
}

void infer_lp_norm(Ctx& c) {  // along `axis` (default -1), p in {1, 2} (default 2)
  c.arity(1, 1);
  const Shape x = c.shape(0);
  if (x.empty()) c.fail(c.in_name(0) + " is a scalar, expected rank >= 1");
  normalize_axis(c.g, c.id, c.node.attr_i("axis", -1), int64_t(x.size()));
  const int64_t p = c.node.attr_i("p", 2);
  if (p != 1 && p != 2) c.fail("p = " + std::to_string(p) + ", expected 1 or 2");
  c.set_out(0, c.dtype(0), x);
}

void infer_mvn(Ctx& c) {  // over `axes` (default [0, 2, 3])
  c.arity(1, 1);
  const Shape x = c.shape(0);
  for (int64_t a : c.node.attr_ints("axes", {0, 2, 3})) normalize_axis(c.g, c.id, a, int64_t(x.size()));
  c.set_out(0, c.dtype(0), x);
}

void infer_einsum(Ctx& c) {  // opset 12: the output's dims are the output labels' sizes
  const int n = int(c.node.inputs.size());
  if (n < 1) c.fail("has no inputs");
  std::vector<Shape> shapes;
  for (int i = 0; i < n; ++i) {
    if (i) c.same_dtype(0, i);
    shapes.push_back(c.shape(i));
  }
  const EinsumEquation eq = parse_einsum(c.g, c.id, shapes);
  Shape out;
  for (int l : eq.out) out.push_back(eq.size_of(l));
  c.set_out(0, c.dtype(0), out);
}

void infer_recurrent(Ctx& c) {
  // LSTM (gates i o f c), GRU (z r h), RNN: X, W [dirs, G*hidden, input], R [dirs, G*hidden, hidden], B
  // [dirs, 2*G*hidden], sequence_lens [batch], initial_h [dirs, batch, hidden] (LSTM: initial_c, P [dirs,
  // 3*hidden]). layout (opset 14) = 1 puts batch first in X, Y, Y_h, Y_c. Outputs Y [seq, dirs, batch, hidden]
  // (layout 1: [batch, seq, dirs, hidden]), Y_h / Y_c [dirs, batch, hidden] ([batch, dirs, hidden]).
  const std::string& op = c.node.op_type;
  const int64_t gates = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
  c.arity(3, op == "LSTM" ? 8 : 6);
  const std::string dir = c.node.attr_s("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    c.fail("direction '" + dir + "' is not one of forward, reverse, bidirectional");
  const int64_t dirs = dir == "bidirectional" ? 2 : 1;
  const int64_t layout = c.opset >= 14 ? c.node.attr_i("layout", 0) : 0;
  if (layout != 0 && layout != 1) c.fail("layout = " + std::to_string(layout) + ", expected 0 or 1");
  const Shape x = c.shape_rank(0, 3), w = c.shape_rank(1, 3), r = c.shape_rank(2, 3);
  const int64_t seq = layout ? x[1] : x[0], batch = layout ? x[0] : x[1], input = x[2];
  const int64_t hidden = c.node.has_attr("hidden_size") ? c.node.attr_i("hidden_size", 0) : w[1] / gates;
  auto expect = [&](int i, const Shape& want) {
    if (!c.has_in(i)) return;
    if (i != 4) c.same_dtype(0, i);
    if (c.shape(i) != want)
      c.fail(c.in_name(i) + " has shape " + shape_str(c.shape(i)) + ", expected " + shape_str(want));
  };
  expect(1, {dirs, gates * hidden, input});
  expect(2, {dirs, gates * hidden, hidden});
  expect(3, {dirs, 2 * gates * hidden});
  expect(4, {batch});
  if (c.has_in(4) && !is_index_type(c.dtype(4))) c.fail(c.in_name(4) + " must be int32");
  const Shape state = layout ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden};
  expect(5, state);
  if (op == "LSTM") {
    expect(6, state);
    expect(7, {dirs, 3 * hidden});
  }
  (void)r;
  c.set_out(0, c.dtype(0), layout ? Shape{batch, seq, dirs, hidden} : Shape{seq, dirs, batch, hidden});
  c.set_out(1, c.dtype(0), state);
  if (op == "LSTM") c.set_out(2, c.dtype(0), state);
}

// ---- quantization: QDQ and QOperator ops (owner: qexec; engine/ops/qlinear.cpp, qconv.cpp) -------------------

// Output type of a quantizing op: its zero point's type, uint8 when the zero point is absent (ONNX default).
DType quant_type(Ctx& c, int zp) { return c.has_in(zp) ? c.dtype(zp) : DType::u8; }

void infer_quantize_linear(Ctx& c) {  // y = saturate(round(x / scale) + zp)
  c.arity(2, 3);
  c.set_out(0, quant_type(c, 2), c.shape(0));
}

void infer_dequantize_linear(Ctx& c) {  // y = (x - zp) * scale, float32
  c.arity(2, 3);
  if (c.has_in(2)) c.same_dtype(0, 2);
  c.set_out(0, DType::f32, c.shape(0));
}

void infer_qlinear_conv(Ctx& c) {  // x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, [B]: Conv's shapes
  c.arity(8, 9);
  const Shape x = c.shape(0), w = c.shape(3);
  if (w.size() < 3 || x.size() != w.size())
    c.fail(c.in_name(0) + " " + shape_str(x) + " and weight " + c.in_name(3) + " " + shape_str(w) +
           " do not describe a convolution (weight M x C/group x kernel, same rank as the input)");
  const WindowGeometry geo = window_geometry(c.g, c.id, x, &w);
  if (w[1] * geo.group != x[1])
    c.fail(c.in_name(3) + " has " + std::to_string(w[1] * geo.group) + " input channels, " + c.in_name(0) + " has " +
           std::to_string(x[1]));
  Shape out{x[0], w[0]};
  out.insert(out.end(), geo.out.begin(), geo.out.end());
  c.set_out(0, c.dtype(7), out);
}

void infer_qlinear_matmul(Ctx& c) {  // a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp: MatMul's shapes
  c.arity(8, 8);
  Shape a = c.shape(0), b = c.shape(3);
  if (a.size() < 2 || b.size() < 2 || a.back() != b[b.size() - 2])
    c.fail(c.in_name(0) + " " + shape_str(a) + " and " + c.in_name(3) + " " + shape_str(b) + " do not multiply");
  Shape out = broadcast_shapes(c.g, c.id, Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
  out.push_back(a[a.size() - 2]);
  out.push_back(b.back());
  c.set_out(0, c.dtype(7), out);
}

void infer_qlinear_add(Ctx& c) {  // com.microsoft: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, [y_zp]
  c.arity(7, 8);
  c.set_out(0, c.dtype(0), broadcast_shapes(c.g, c.id, c.shape(0), c.shape(3)));
}

void infer_qlinear_global_pool(Ctx& c) {  // com.microsoft: x, x_scale, x_zp, y_scale, y_zp
  c.arity(5, 5);
  if (c.node.attr_i("channels_last", 0) != 0) c.unsupported("channels_last = 1 is not supported");
  const Shape x = c.shape(0);
  if (x.size() < 3) c.fail(c.in_name(0) + " has rank " + std::to_string(x.size()) + ", expected 3 or more");
  Shape out(x.size(), 1);
  out[0] = x[0];
  out[1] = x[1];
  c.set_out(0, c.dtype(0), out);
}

// ---- element-wise ops beyond the foundation's (ops-elt; kernels in engine/ops/eltwise_math.cpp,
// broadcast_ops.cpp, cast.cpp) ------------------------------------------------------------------------------

bool is_float_type(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16; }
bool is_numeric_type(DType t) { return t != DType::boolean && t != DType::string && t != DType::undefined; }

void require_type(Ctx& c, int i, bool ok, const char* expected) {
  if (!ok) c.fail(c.in_name(i) + " has type " + dtype_name(c.dtype(i)) + ", expected " + expected);
}

/// The numpy broadcast of every input's shape (each pair checked; the error names the node and the shapes).
Shape broadcast_all(Ctx& c, int n) {
  Shape s = c.shape(0);
  for (int i = 1; i < n; ++i) s = broadcast_shapes(c.g, c.id, s, c.shape(i));
  return s;
}

bool fold_neg(const Num* a, int, bool ints, Num& r) {
  r = ints ? num_of_int(int64_t(0 - uint64_t(a[0].i))) : num_of_float(-a[0].f);
  return true;
}
bool fold_abs(const Num* a, int, bool ints, Num& r) {
  r = ints ? num_of_int(a[0].i < 0 ? int64_t(0 - uint64_t(a[0].i)) : a[0].i) : num_of_float(std::fabs(a[0].f));
  return true;
}
bool fold_sign(const Num* a, int, bool, Num& r) {
  r = a[0].f > 0 ? num_of_int(1) : a[0].f < 0 ? num_of_int(-1) : a[0];
  return true;
}
// Floor / Ceil / Round / Sqrt of a float: exact in double, then rounded to float once (exact for the first three).
bool fold_floor(const Num* a, int, bool, Num& r) { return r = num_of_float(std::floor(a[0].f)), true; }
bool fold_ceil(const Num* a, int, bool, Num& r) { return r = num_of_float(std::ceil(a[0].f)), true; }
bool fold_round(const Num* a, int, bool, Num& r) { return r = num_of_float(std::nearbyint(a[0].f)), true; }
bool fold_sqrt(const Num* a, int, bool, Num& r) { return r = num_of_float(std::sqrt(a[0].f)), true; }
bool fold_not(const Num* a, int, bool, Num& r) { return r = num_of_int(a[0].i == 0), true; }

FoldOp unary_fold_op(const std::string& op) {
  static const std::pair<const char*, FoldOp> ops[] = {
      {"Neg", fold_neg},   {"Abs", fold_abs},     {"Sign", fold_sign}, {"Floor", fold_floor},
      {"Ceil", fold_ceil}, {"Round", fold_round}, {"Sqrt", fold_sqrt}, {"Not", fold_not}};
  for (const auto& [name, f] : ops)
    if (op == name) return f;
  return nullptr;
}

// Exp, Log, Tanh, Erf, ... (float types only), and Abs / Neg / Sign (any numeric type): same shape and type.
void infer_unary_math(Ctx& c) {
  c.arity(1, 1);
  const std::string& op = c.node.op_type;
  const bool numeric = op == "Abs" || op == "Neg" || op == "Sign";
  require_type(c, 0, numeric ? is_numeric_type(c.dtype(0)) : is_float_type(c.dtype(0)),
               numeric ? "a numeric type" : "a floating-point type");
  const Shape x = c.shape(0);
  c.set_out(0, c.dtype(0), x);
  if (FoldOp f = unary_fold_op(op)) fold_elementwise(c, x, c.dtype(0), f);
}

void infer_not(Ctx& c) {
  c.arity(1, 1);
  require_type(c, 0, c.dtype(0) == DType::boolean, "bool");
  c.set_out(0, DType::boolean, c.shape(0));
  fold_elementwise(c, c.shape(0), DType::boolean, fold_not);
}

void infer_float_predicate(Ctx& c) {  // IsNaN, IsInf: float -> bool
  c.arity(1, 1);
  require_type(c, 0, is_float_type(c.dtype(0)), "a floating-point type");
  c.set_out(0, DType::boolean, c.shape(0));
}

bool fold_equal(const Num* a, int, bool ints, Num& r) {
  return r = num_of_int(ints ? a[0].i == a[1].i : a[0].f == a[1].f), true;
}
bool fold_less(const Num* a, int, bool ints, Num& r) {
  return r = num_of_int(ints ? a[0].i < a[1].i : a[0].f < a[1].f), true;
}
bool fold_greater(const Num* a, int, bool ints, Num& r) {
  return r = num_of_int(ints ? a[0].i > a[1].i : a[0].f > a[1].f), true;
}
bool fold_less_eq(const Num* a, int, bool ints, Num& r) {
  return r = num_of_int(ints ? a[0].i <= a[1].i : a[0].f <= a[1].f), true;
}
bool fold_greater_eq(const Num* a, int, bool ints, Num& r) {
  return r = num_of_int(ints ? a[0].i >= a[1].i : a[0].f >= a[1].f), true;
}
bool fold_and(const Num* a, int, bool, Num& r) { return r = num_of_int(a[0].i && a[1].i), true; }
bool fold_or(const Num* a, int, bool, Num& r) { return r = num_of_int(a[0].i || a[1].i), true; }
bool fold_xor(const Num* a, int, bool, Num& r) { return r = num_of_int((a[0].i != 0) != (a[1].i != 0)), true; }

// Equal (opset 7: bool / int; 11: + floats), Less / Greater (7: floats; 9: + ints), LessOrEqual /
// GreaterOrEqual (12): same-type inputs, numpy broadcasting, bool output.
void infer_compare(Ctx& c) {
  c.arity(2, 2);
  c.same_dtype(0, 1);
  const std::string& op = c.node.op_type;
  require_type(c, 0, op == "Equal" ? c.dtype(0) != DType::string : is_numeric_type(c.dtype(0)),
               op == "Equal" ? "a numeric type or bool" : "a numeric type");
  const Shape out = broadcast_all(c, 2);
  c.set_out(0, DType::boolean, out);
  const FoldOp f = op == "Equal"         ? fold_equal
                   : op == "Less"        ? fold_less
                   : op == "Greater"     ? fold_greater
                   : op == "LessOrEqual" ? fold_less_eq
                                         : fold_greater_eq;
  fold_elementwise(c, out, DType::boolean, f);
}

void infer_logic(Ctx& c) {  // And, Or, Xor: bool inputs, numpy broadcasting (opset 7)
  c.arity(2, 2);
  for (int i = 0; i < 2; ++i) require_type(c, i, c.dtype(i) == DType::boolean, "bool");
  const Shape out = broadcast_all(c, 2);
  c.set_out(0, DType::boolean, out);
  const std::string& op = c.node.op_type;
  fold_elementwise(c, out, DType::boolean, op == "And" ? fold_and : op == "Or" ? fold_or : fold_xor);
}

void infer_mod(Ctx& c) {  // opset 10: same-type inputs, numpy broadcasting; floats need fmod = 1
  c.arity(2, 2);
  c.same_dtype(0, 1);
  require_type(c, 0, is_numeric_type(c.dtype(0)), "a numeric type");
  if (is_float_type(c.dtype(0)) && c.node.attr_i("fmod", 0) == 0)
    c.fail(c.in_name(0) + " has type " + dtype_name(c.dtype(0)) + ", which needs attribute fmod = 1");
  c.set_out(0, c.dtype(0), broadcast_all(c, 2));
}

void infer_pow(Ctx& c) {
  // Opset 7: base and exponent have the same (float) type; from 12 the exponent may be any numeric type and the
  // base an int32 / int64 too. The output has the base's type.
  c.arity(2, 2);
  if (c.opset < 12) c.same_dtype(0, 1);
  require_type(c, 0, is_numeric_type(c.dtype(0)), "a numeric type");
  require_type(c, 1, is_numeric_type(c.dtype(1)), "a numeric type");
  c.set_out(0, c.dtype(0), broadcast_all(c, 2));
}

void infer_prelu(Ctx& c) {
  // Opset 7+: the slope broadcasts to X one way (the output is X's shape).
  c.arity(2, 2);
  c.same_dtype(0, 1);
  require_type(c, 0, is_numeric_type(c.dtype(0)), "a numeric type");
  const Shape x = c.shape(0), s = c.shape(1);
  if (broadcast_shapes(c.g, c.id, x, s) != x)
    c.fail("slope " + c.in_name(1) + " has shape " + shape_str(s) + ", which does not broadcast to X's shape " +
           shape_str(x));
  c.set_out(0, c.dtype(0), x);
}

bool fold_max(const Num* a, int n, bool ints, Num& r) {
  r = a[0];
  for (int k = 1; k < n; ++k)
    if (ints ? a[k].i > r.i : (a[k].f > r.f || a[k].f != a[k].f)) r = a[k];
  return true;
}
bool fold_min(const Num* a, int n, bool ints, Num& r) {
  r = a[0];
  for (int k = 1; k < n; ++k)
    if (ints ? a[k].i < r.i : (a[k].f < r.f || a[k].f != a[k].f)) r = a[k];
  return true;
}

void infer_variadic(Ctx& c) {
  // Max / Min / Sum / Mean: one or more same-type inputs; opset 6 wants equal shapes, 8+ broadcasts.
  const int n = int(c.node.inputs.size());
  if (n < 1) c.fail("has no inputs, expected 1 or more");
  c.arity(n, n);
  const std::string& op = c.node.op_type;
  const bool minmax = op == "Max" || op == "Min";
  for (int i = 0; i < n; ++i) {
    c.same_dtype(0, i);
    if (c.opset < 8 && c.shape(i) != c.shape(0))
      c.fail(c.in_name(i) + " has shape " + shape_str(c.shape(i)) + ", expected " + shape_str(c.shape(0)) +
             " (no broadcasting before opset 8)");
  }
  require_type(c, 0, minmax ? is_numeric_type(c.dtype(0)) : is_float_type(c.dtype(0)),
               minmax ? "a numeric type" : "a floating-point type");
  const Shape out = broadcast_all(c, n);
  c.set_out(0, c.dtype(0), out);
  if (minmax) fold_elementwise(c, out, c.dtype(0), op == "Max" ? fold_max : fold_min);
}

bool fold_where(const Num* a, int, bool, Num& r) { return r = a[0].i ? a[1] : a[2], true; }

void infer_where(Ctx& c) {  // opset 9: bool condition, X and Y of one type, all three broadcast
  c.arity(3, 3);
  require_type(c, 0, c.dtype(0) == DType::boolean, "bool");
  c.same_dtype(1, 2);
  const Shape out = broadcast_all(c, 3);
  c.set_out(0, c.dtype(1), out);
  fold_elementwise(c, out, c.dtype(1), fold_where);
}

bool fold_cast(const Num* a, int, bool, Num& r) { return r = a[0], true; }

// Cast (`to`) and CastLike (input 1's type, opset 15). The fold keeps each value's integer and double forms, so
// float -> int truncates toward zero and int -> float rounds to nearest, as the kernel does.
void infer_cast_to(Ctx& c, DType to) {
  const DType from = c.dtype(0);
  if (from == DType::string || to == DType::string)
    c.unsupported(std::string("casting ") + dtype_name(from) + " to " + dtype_name(to) +
                  " is not supported (octet has no string tensors)");
  if (dtype_size(to) == 0) c.fail("attribute 'to' = " + std::to_string(int(to)) + " is not a tensor element type");
  const Shape x = c.shape(0);
  c.set_out(0, to, x);
  fold_elementwise(c, x, to, fold_cast);
}

void infer_cast(Ctx& c) {
  c.arity(1, 1);
  if (!c.node.has_attr("to")) c.fail("attribute 'to' is required");
  const int64_t to = c.node.attr_i("to", 0);
  if (to <= 0 || to > 16) c.fail("attribute 'to' = " + std::to_string(to) + " is not a tensor element type");
  infer_cast_to(c, DType(to));
}

void infer_cast_like(Ctx& c) {
  c.arity(2, 2);
  infer_cast_to(c, c.dtype(1));
}

// ---- the table --------------------------------------------------------------------------------------------

constexpr int64_t kAny = std::numeric_limits<int64_t>::max();

// Default-domain ranges start at the op's oldest form we implement and end at 17, the highest opset we
// checked every op's definition against.
const OpEntry kOps[] = {
    {"", "Conv", 1, 17, infer_conv},
    {"", "BatchNormalization", 7, 17, infer_batchnorm},
    {"", "Relu", 6, 17, infer_unary},
    {"", "Clip", 6, 17, infer_clip},
    {"", "LeakyRelu", 6, 17, infer_unary},
    {"", "Sigmoid", 6, 17, infer_unary},
    {"", "Add", 7, 17, infer_binary},
    {"", "Sub", 7, 17, infer_binary},
    {"", "Mul", 7, 17, infer_binary},
    {"", "Div", 7, 17, infer_binary},
    {"", "MaxPool", 1, 17, infer_pool},
    {"", "AveragePool", 7, 17, infer_pool},
    {"", "GlobalAveragePool", 1, 17, infer_global_pool},
    {"", "Flatten", 1, 17, infer_flatten},
    {"", "Reshape", 5, 17, infer_reshape},
    {"", "Transpose", 1, 17, infer_transpose},
    {"", "Concat", 4, 17, infer_concat},
    {"", "Gemm", 7, 17, infer_gemm},
    {"", "MatMul", 1, 17, infer_matmul},
    {"", "Softmax", 1, 17, infer_softmax},
    {"", "Identity", 1, 17, infer_identity},
    {"", "Dropout", 7, 17, infer_dropout},
    {"", "Constant", 1, 17, infer_constant},
    {"", "Shape", 1, 17, infer_shape},
    {"", "Gather", 1, 17, infer_gather},
    {"", "Unsqueeze", 1, 17, infer_unsqueeze},
    {"", "Squeeze", 1, 17, infer_squeeze},
    // ops-elt: element-wise ops beyond the foundation's. Each function covers every version in its range (the
    // versions in between only widened the type lists); ops whose semantics changed check the opset inside
    // (Max / Min / Sum / Mean broadcast from 8, Pow's exponent type is free from 12).
    {"", "Abs", 6, 17, infer_unary_math},
    {"", "Neg", 6, 17, infer_unary_math},
    {"", "Exp", 6, 17, infer_unary_math},
    {"", "Log", 6, 17, infer_unary_math},
    {"", "Sqrt", 6, 17, infer_unary_math},
    {"", "Reciprocal", 6, 17, infer_unary_math},
    {"", "Tanh", 6, 17, infer_unary_math},
    {"", "Erf", 9, 17, infer_unary_math},
    {"", "Floor", 6, 17, infer_unary_math},
    {"", "Ceil", 6, 17, infer_unary_math},
    {"", "Round", 11, 17, infer_unary_math},
    {"", "Sin", 7, 17, infer_unary_math},
    {"", "Cos", 7, 17, infer_unary_math},
    {"", "Sign", 9, 17, infer_unary_math},
    {"", "Softplus", 1, 17, infer_unary_math},
    {"", "Softsign", 1, 17, infer_unary_math},
    {"", "Elu", 6, 17, infer_unary_math},
    {"", "Selu", 6, 17, infer_unary_math},
    {"", "Celu", 12, 17, infer_unary_math},
    {"", "HardSigmoid", 6, 17, infer_unary_math},
    {"", "HardSwish", 14, 17, infer_unary_math},
    {"", "ThresholdedRelu", 10, 17, infer_unary_math},
    {"", "IsNaN", 9, 17, infer_float_predicate},
    {"", "IsInf", 10, 17, infer_float_predicate},
    {"", "Not", 1, 17, infer_not},
    {"", "Pow", 7, 17, infer_pow},
    {"", "PRelu", 7, 17, infer_prelu},
    {"", "Max", 6, 17, infer_variadic},
    {"", "Min", 6, 17, infer_variadic},
    {"", "Sum", 6, 17, infer_variadic},
    {"", "Mean", 6, 17, infer_variadic},
    {"", "Mod", 10, 17, infer_mod},
    {"", "Equal", 7, 17, infer_compare},
    {"", "Less", 7, 17, infer_compare},
    {"", "Greater", 7, 17, infer_compare},
    {"", "LessOrEqual", 12, 17, infer_compare},
    {"", "GreaterOrEqual", 12, 17, infer_compare},
    {"", "And", 7, 17, infer_logic},
    {"", "Or", 7, 17, infer_logic},
    {"", "Xor", 7, 17, infer_logic},
    {"", "Where", 9, 17, infer_where},
    {"", "Cast", 6, 17, infer_cast},
    {"", "CastLike", 15, 17, infer_cast_like},
    {"", "Gelu", 20, 22, infer_unary_math},
    // Written by graph/passes/fuse_gelu.cpp for the erf pattern exporters emit before opset 20.
    {"octet", "Gelu", 0, kAny, infer_unary_math},
    // ops-red: reductions, normalisation, einsum, recurrent
    {"", "ReduceSum", 1, 17, infer_reduce},
    {"", "ReduceMean", 1, 17, infer_reduce},
    {"", "ReduceMax", 1, 17, infer_reduce},
    {"", "ReduceMin", 1, 17, infer_reduce},
    {"", "ReduceProd", 1, 17, infer_reduce},
    {"", "ReduceL1", 1, 17, infer_reduce},
    {"", "ReduceL2", 1, 17, infer_reduce},
    {"", "ReduceLogSum", 1, 17, infer_reduce},
    {"", "ReduceLogSumExp", 1, 17, infer_reduce},
    {"", "ReduceSumSquare", 1, 17, infer_reduce},
    {"", "ArgMax", 1, 17, infer_arg_reduce},
    {"", "ArgMin", 1, 17, infer_arg_reduce},
    {"", "LayerNormalization", 17, 17, infer_layer_norm},
    {"", "InstanceNormalization", 6, 17, infer_instance_norm},
    {"", "LpNormalization", 1, 17, infer_lp_norm},
    {"", "MeanVarianceNormalization", 9, 17, infer_mvn},
    {"", "LogSoftmax", 1, 17, infer_softmax},
    {"", "Hardmax", 1, 17, infer_softmax},
    {"", "Einsum", 12, 17, infer_einsum},
    {"", "LSTM", 7, 17, infer_recurrent},
    {"", "GRU", 7, 17, infer_recurrent},
    {"", "RNN", 7, 17, infer_recurrent},
    // Inserted by the layout pass: converts between plain and nhwc; the logical shape is unchanged.
    {"octet", "Reorder", 0, kAny, infer_unary},
    // Quantization (QDQ and QOperator). octet's internal int8 ops (QConv, QAdd, ...) are created by
    // graph/passes/lower_qdq.cpp after inference, with their outputs already typed and shaped.
    {"", "QuantizeLinear", 10, 19, infer_quantize_linear},
    {"", "DequantizeLinear", 10, 19, infer_dequantize_linear},
    {"", "QLinearConv", 10, 19, infer_qlinear_conv},
    {"", "QLinearMatMul", 10, 19, infer_qlinear_matmul},
    {"com.microsoft", "QLinearAdd", 1, kAny, infer_qlinear_add},
    {"com.microsoft", "QLinearGlobalAveragePool", 1, kAny, infer_qlinear_global_pool},
};

// Versions of default-domain ops after kCheckedOpset whose semantics changed (new attributes, inputs or modes that
// change what a node computes). Versions that only admit new element types (float8, int4, bfloat16, strings:
// Cast-19/21, Reshape-19/21, Conv-22, ...) are not listed: for the types octet runs they compute the same.
struct LaterVersion {
  const char* op_type;
  int64_t since;
  const char* what;
};
const LaterVersion kLaterVersions[] = {
    // Reduce*-18 (axes became an input, as ReduceSum's in 13) is implemented by infer_reduce / reduce_axes.
    {"Split", 18, "the num_outputs attribute was added"},
    {"Pad", 18, "the axes input was added"},
    {"Pad", 19, "the wrap mode was added"},
    {"Resize", 18, "antialias, axes and keep_aspect_ratio_policy were added"},
    {"Resize", 19, "the half_pixel_symmetric mode was added"},
    {"ScatterND", 18, "the max and min reductions were added"},
    {"ScatterElements", 18, "the max and min reductions were added"},
    {"AveragePool", 19, "dilations were added"},
    {"LpPool", 18, "ceil_mode was added"},
    {"GroupNormalization", 21, "scale and bias became per channel"},
    {"QuantizeLinear", 21, "blocked quantization and output_dtype were added"},
    {"DequantizeLinear", 21, "blocked quantization was added"},
};

// The newest changed version of a default-domain op that a model at `opset` uses, or null.
const LaterVersion* later_version(const std::string& op_type, int64_t opset) {
  const LaterVersion* r = nullptr;
  for (const LaterVersion& v : kLaterVersions)
    if (op_type == v.op_type && v.since <= opset && (!r || v.since > r->since)) r = &v;
  return r;
}

const OpEntry* find_op(const std::string& domain, const std::string& op_type, int64_t opset) {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  // Past the checked opsets, a row checked up to kCheckedOpset holds on while the op's definition has not changed.
  const bool newer = d.empty() && opset > kCheckedOpset;
  if (newer && (opset > kNewestKnownOpset || later_version(op_type, opset))) return nullptr;
  auto match = [&](const OpEntry& e) {
    const int64_t max = newer && e.max_opset >= kCheckedOpset ? kNewestKnownOpset : e.max_opset;
    return d == e.domain && op_type == e.op_type && opset >= e.min_opset && opset <= max;
  };
  for (const OpEntry& e : kOps)
    if (match(e)) return &e;
  for (const OpEntry& e : infer::data_op_table())  // graph/shape_inference_data.cpp
    if (match(e)) return &e;
  return nullptr;
}

}  // namespace

bool op_known(const std::string& domain, const std::string& op_type, int64_t opset) {
  return find_op(domain, op_type, opset) != nullptr;
}

std::vector<KnownOp> known_ops() {
  std::vector<KnownOp> r;
  auto add = [&](const OpEntry& e) {
    const bool dflt = std::string(e.domain).empty();
    r.push_back({e.domain, e.op_type, e.min_opset,
                 dflt && e.max_opset >= kCheckedOpset ? kNewestKnownOpset : e.max_opset});
  };
  for (const OpEntry& e : kOps) add(e);
  for (const OpEntry& e : infer::data_op_table()) add(e);  // graph/shape_inference_data.cpp
  return r;
}

std::string op_refusal(const std::string& domain, const std::string& op_type, int64_t opset) {
  if (op_known(domain, op_type, opset)) return "";
  const bool dflt = domain.empty() || domain == "ai.onnx";
  const std::string op = (dflt ? "" : domain + ".") + op_type;
  if (dflt && opset > kCheckedOpset && opset <= kNewestKnownOpset)
    if (const LaterVersion* v = later_version(op_type, opset);
        v && find_op(domain, op_type, kCheckedOpset))
      return op + "-" + std::to_string(v->since) + " (the model imports opset " + std::to_string(opset) +
             "): " + v->what + " after opset " + std::to_string(kCheckedOpset) + ", the newest octet implements";
  return op + " (opset " + std::to_string(opset) + ")";
}

void infer_node(Graph& g, int id) {
  const Node& n = g.nodes[id];
  const int64_t opset = g.opset(n.domain);
  const OpEntry* e = find_op(n.domain, n.op_type, opset);
  if (!e) throw Unsupported(g.where(id) + ": op " + op_refusal(n.domain, n.op_type, opset) + " is not supported");
  Ctx c(g, id);
  e->infer(c);
}

std::vector<std::string> unknown_ops(const Graph& g) {
  std::vector<std::string> r;
  for (const Node& n : g.nodes) {
    if (n.dead) continue;
    const std::string why = op_refusal(n.domain, n.op_type, g.opset(n.domain));
    if (!why.empty()) r.push_back(why + " at node '" + n.name + "'");
  }
  return r;
}

}  // namespace octet
