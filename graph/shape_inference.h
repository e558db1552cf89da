// Graph-side op registry: which ONNX ops octet knows (names, opsets) and how each one's output types and
// shapes follow from its inputs.
#pragma once

#include <string>
#include <vector>

#include "graph/ir.h"

namespace octet {

/// Default-domain opsets: every op's definition was checked against opsets up to kCheckedOpset (ONNX 1.12).
/// A model may import a newer opset, up to kNewestKnownOpset: an op whose definition did not change since
/// kCheckedOpset (or changed only by admitting new element types) runs as before; one whose semantics changed
/// is refused naming its new version and what changed (op_refusal).
constexpr int64_t kMinOpset = 7;
constexpr int64_t kCheckedOpset = 17;
constexpr int64_t kNewestKnownOpset = 22;

/// True when octet has shape inference for this op at this opset (domain "" = ai.onnx).
bool op_known(const std::string& domain, const std::string& op_type, int64_t opset);

/// One row of the op table: an op and the opset range of the definition octet implements (a range checked up to
/// kCheckedOpset reads kNewestKnownOpset: later opsets run it while its definition is unchanged).
struct KnownOp {
  std::string domain, op_type;
  int64_t min_opset = 0, max_opset = 0;
};
/// Every row of the table, in table order (an op may have several rows), for `octet ops` and docs/operators.md.
std::vector<KnownOp> known_ops();

/// Why this op at this opset is not run: "" when op_known(); else e.g. "Resize-18 (opset 19 of the model):
/// antialias, axes and keep_aspect_ratio_policy added after opset 17" or "Foo (opset 13)".
std::string op_refusal(const std::string& domain, const std::string& op_type, int64_t opset);

/// Sets dtype and shape of every output of node `id` from its inputs' dtypes, shapes and (where the op needs
/// them, e.g. Reshape's `shape`) constant data. Inputs must already be inferred with concrete shapes.
/// Throws Error via g.fail(id, ...) when the inputs do not fit the op:
///   "m.onnx: node 'c1' (Conv): input 'x' has rank 3, expected 4".
void infer_node(Graph& g, int id);

/// Lists every op of the graph that op_known() rejects, one "Op (opset N) at node 'name'" each.
std::vector<std::string> unknown_ops(const Graph& g);

}  // namespace octet
