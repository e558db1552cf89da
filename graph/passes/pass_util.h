// Small queries shared by the passes (internal to graph/passes/).
#pragma once

#include <string>
#include <vector>

#include "graph/ir.h"

namespace octet::passes {

/// A live node of the default ONNX domain with this op type.
inline bool is_op(const Node& n, const char* op) { return !n.dead && n.domain.empty() && n.op_type == op; }

/// Input i of node n, or -1 when absent.
inline int input_or_none(const Node& n, size_t i) { return i < n.inputs.size() ? n.inputs[i] : -1; }

/// The f32 constant data of value v, or null when v is absent, computed at run time or not float.
inline const Tensor* f32_constant(const Graph& g, int v) {
  if (v < 0 || !g.values[v].constant) return nullptr;
  const Tensor* t = g.values[v].constant.get();
  return t->dtype() == DType::f32 ? t : nullptr;
}

/// True when node `consumer` is the one and only reader of value v and v is not a graph output: then the value
/// may disappear into a fused node.
inline bool only_read_by(const Graph& g, const std::vector<std::vector<int>>& cons, int v, int consumer) {
  return cons[v].size() == 1 && cons[v][0] == consumer && !g.is_output(v);
}

/// True when some live node reads v or v is a graph output.
inline bool is_used(const Graph& g, const std::vector<std::vector<int>>& cons, int v) {
  return v >= 0 && (!cons[v].empty() || g.is_output(v));
}

/// `base`, or `base_2`, `base_3`, ... : a value name not yet in the graph (Graph::unique_value_name).
inline std::string unique_value_name(const Graph& g, const std::string& base) { return g.unique_value_name(base); }

/// The fused node's record of what it absorbed, for `octet inspect`.
inline void add_part(Node& fused, const Node& absorbed) {
  fused.fusion.parts.push_back(absorbed.name.empty() ? absorbed.op_type : absorbed.name);
}

}  // namespace octet::passes
