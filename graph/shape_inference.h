// Graph-side op registry: which ONNX ops octet knows (names, opsets) and how each one's output types and
// shapes follow from its inputs.
#pragma once

#include <string>
#include <vector>

#include "graph/ir.h"

namespace octet {

/// True when octet has shape inference for this op at this opset (domain "" = ai.onnx).
bool op_known(const std::string& domain, const std::string& op_type, int64_t opset);

/// Sets dtype and shape of every output of node `id` from its inputs' dtypes, shapes and (where the op needs
/// them, e.g. Reshape's `shape`) constant data. Inputs must already be inferred with concrete shapes.
/// Throws Error via g.fail(id, ...) when the inputs do not fit the op:
///   "m.onnx: node 'c1' (Conv): input 'x' has rank 3, expected 4".
void infer_node(Graph& g, int id);

/// Lists every op of the graph that op_known() rejects, one "Op (opset N) at node 'name'" each.
std::vector<std::string> unknown_ops(const Graph& g);

}  // namespace octet
