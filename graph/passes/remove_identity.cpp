// remove_identity: Identity and inference-time Dropout are copies, y = x; readers of y read x instead.
#include <algorithm>

#include "graph/op_attrs.h"
#include "graph/passes.h"
#include "graph/passes/pass_util.h"

namespace octet {

namespace {

using namespace passes;

// Dropout at inference is y = x (ONNX: "If training_mode is false, the output Y will be a copy of the input X").
// Its training_mode input (opset 12+) must be absent or a constant false, and its mask output unused: the mask
// would be all true, and keeping the node is simpler than materialising that.
bool is_inference_dropout(const Graph& g, const Node& n, const std::vector<std::vector<int>>& cons) {
  if (!is_op(n, "Dropout")) return false;
  // Training mode with a constant ratio of 0 keeps every element, scaled by 1 / (1 - 0): also y = x.
  int mode = input_or_none(n, 2);
  if (mode >= 0 && !dropout_ratio_is_zero(g, n)) {
    const Tensor* t = g.values[mode].constant.get();
    if (!t || t->numel() != 1 || t->dtype() != DType::boolean || *t->as<uint8_t>() != 0) return false;
  }
  for (size_t o = 1; o < n.outputs.size(); ++o)
    if (is_used(g, cons, n.outputs[o])) return false;
  return true;
}

bool is_graph_input(const Graph& g, int v) { return std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end(); }

}  // namespace

bool pass_remove_identity(Graph& g, std::string* note) {
  const auto cons = g.consumers();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (!is_op(n, "Identity") && !is_inference_dropout(g, n, cons)) continue;
    const int x = input_or_none(n, 0);
    const int y = n.outputs.empty() ? -1 : n.outputs[0];
    if (x < 0 || y < 0) continue;
    if (!g.is_output(y)) {
      // Readers of y read x: same data, one copy less.
      n.dead = true;
      g.replace_uses(y, x);
    } else {
      // y is a graph output and must keep its name. When x is written by a live node and is neither a graph
      // input, a graph output nor a constant, that node writes y directly and x's other readers read y (same
      // data). Otherwise (e.g. an input passed straight through to an output) the copy is the node's whole job:
      // keep it.
      const int p = g.values[x].producer;
      if (p < 0 || g.nodes[p].dead || g.values[x].constant || g.is_output(x) || is_graph_input(g, x)) continue;
      n.dead = true;
      for (int& o : g.nodes[p].outputs)
        if (o == x) o = y;
      g.values[y].producer = p;
      g.values[x].producer = -1;
      g.replace_uses(x, y);
    }
    if (note) *note = "remove_identity: '" + n.name + "' (" + n.op_type + ")";
    return true;
  }
  return false;
}

}  // namespace octet
