// The inference context shared by the files that implement shape inference (graph/shape_inference.cpp, the
// foundation's ops; graph/shape_inference_data.cpp, data movement and spatial ops): checked access to one node's
// inputs and outputs, and the constant folding of small integer tensors. Internal to graph/.
#pragma once

#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "graph/ir.h"

namespace octet::infer {

// Integer tensors up to this many elements are evaluated during inference (they are shapes, not data).
inline constexpr int64_t kMaxFoldElements = 1024;

inline std::string ints_str(const std::vector<int64_t>& v) {
  std::string r = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) r += ',';
    r += std::to_string(v[i]);
  }
  return r + "]";
}

inline bool is_index_type(DType t) { return t == DType::i64 || t == DType::i32; }

// The node being inferred, with checked access to its inputs and outputs.
class Ctx {
 public:
  Ctx(Graph& g, int id) : g(g), id(id), node(g.nodes[id]), opset(g.opset(node.domain)) {}

  Graph& g;
  const int id;
  const Node& node;
  const int64_t opset;

  [[noreturn]] void fail(const std::string& msg) const { g.fail(id, msg); }
  [[noreturn]] void unsupported(const std::string& msg) const { throw Unsupported(g.where(id) + ": " + msg); }

  bool has_in(int i) const { return i < int(node.inputs.size()) && node.inputs[i] >= 0; }
  const Value& in(int i) const {
    if (!has_in(i)) fail("input " + std::to_string(i) + " is required but absent");
    return g.values[node.inputs[i]];
  }
  std::string in_name(int i) const { return "input '" + in(i).name + "'"; }
  DType dtype(int i) const { return in(i).dtype; }
  Shape shape(int i) const {
    const Value& v = in(i);
    if (!v.shape_known())
      fail(in_name(i) + (v.has_shape ? " has symbolic dimensions" : " has an unknown shape") +
           "; input shapes must be bound before shape inference");
    return v.shape();
  }
  Shape shape_rank(int i, size_t rank) const {
    Shape s = shape(i);
    if (s.size() != rank)
      fail(in_name(i) + " has rank " + std::to_string(s.size()) + ", expected " + std::to_string(rank));
    return s;
  }
  const Tensor* constant(int i) const { return has_in(i) ? g.values[node.inputs[i]].constant.get() : nullptr; }

  // The integer values of a constant input (shape, axes, indices); Unsupported when computed at run time.
  std::vector<int64_t> const_ints(int i, const char* role) const {
    const Tensor* t = constant(i);
    if (!t) unsupported(std::string("the '") + role + "' input (" + in(i).name + ") must be a constant");
    return tensor_ints(*t, i);
  }
  std::vector<int64_t> tensor_ints(const Tensor& t, int i) const {
    if (t.dtype() == DType::i64) return std::vector<int64_t>(t.as<int64_t>(), t.as<int64_t>() + t.numel());
    if (t.dtype() == DType::i32) return std::vector<int64_t>(t.as<int32_t>(), t.as<int32_t>() + t.numel());
    fail(in_name(i) + " has type " + dtype_name(t.dtype()) + ", expected int64");
  }

  // Number of inputs the node has (present or not): checks the op's arity.
  void arity(int lo, int hi) const {
    const int n = int(node.inputs.size());
    if (n < lo || n > hi)
      fail("has " + std::to_string(n) + " inputs, expected " +
           (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)));
    for (int i = 0; i < lo; ++i)
      if (!has_in(i)) fail("input " + std::to_string(i) + " is required but absent");
  }
  void same_dtype(int a, int b) const {
    if (dtype(a) != dtype(b))
      fail(in_name(b) + " has type " + dtype_name(dtype(b)) + ", expected " + dtype_name(dtype(a)) + " like " +
           in_name(a));
  }

  bool has_out(int i) const { return i < int(node.outputs.size()) && node.outputs[i] >= 0; }
  void set_out(int i, DType dt, const Shape& s) const {
    if (!has_out(i)) return;
    for (int64_t d : s)
      if (d < 0) fail("computed a negative dimension in output shape " + shape_str(s));
    Value& v = g.values[node.outputs[i]];
    v.dtype = dt;
    v.set_shape(s);
    v.constant.reset();
  }
  void set_const(int i, Tensor t) const {
    if (!has_out(i)) return;
    set_out(i, t.dtype(), t.shape());
    g.values[node.outputs[i]].constant = std::make_shared<const Tensor>(std::move(t));
  }
  // Output 0 has input `i`'s elements in a new shape (Reshape, Flatten, Unsqueeze, Squeeze, Identity): when the
  // input is a small integer constant, so is the output.
  void fold_same_bytes(int i, const Shape& out) const {
    const Tensor* t = constant(i);
    if (!t || !is_index_type(t->dtype()) || t->numel() > kMaxFoldElements) return;
    Tensor r(t->dtype(), out);
    std::memcpy(r.data(), t->data(), t->bytes());
    set_const(0, std::move(r));
  }
};

/// One row of an op table: (domain, op type) with the opset versions whose semantics `infer` implements.
struct OpEntry {
  const char* domain;
  const char* op_type;
  int64_t min_opset, max_opset;
  void (*infer)(Ctx&);
};

/// The data-movement and spatial ops' rows (graph/shape_inference_data.cpp).
std::span<const OpEntry> data_op_table();

}  // namespace octet::infer
