// fuse_residual: Conv -> Add(conv_out, skip) becomes one Conv with skip as its residual input:
//   out = conv(x) + b + skip
// added in the conv's epilogue while the tile is in registers (the ResNet block's shortcut). An activation after
// the Add fuses next (fuse_activation), giving relu(conv(x) + b + skip). Addition commutes, so Add(skip, conv_out)
// fuses too.
//
// Conditions: the Conv carries no activation (act(conv) + skip != act(conv + skip)) and no residual yet; its output
// is read only by the Add and is not a graph output; skip is f32 with exactly the conv output's shape (no
// broadcasting in the epilogue). The residual goes after the bias slot (index >= 3; an absent bias stays -1) so
// inputs 0..2 keep their ONNX meaning.
//
// Order: the Conv now reads skip, so skip must not depend on the Conv's output or the graph would have a cycle.
// That cannot happen when the Add is conv_out's only reader (skip would depend on the Add's own output), but the
// check below makes it explicit.
#include "graph/passes.h"
#include "graph/passes/pass_util.h"

namespace octet {

namespace {

using namespace passes;

// Whether value v is computed (directly or through other nodes) from an output of node `node`.
bool depends_on(const Graph& g, int v, int node) {
  std::vector<char> seen(g.nodes.size(), 0);
  std::vector<int> stack{v};
  while (!stack.empty()) {
    const int cur = stack.back();
    stack.pop_back();
    const int p = g.values[cur].producer;
    if (p < 0 || g.nodes[p].dead || seen[p]) continue;
    if (p == node) return true;
    seen[p] = 1;
    for (int in : g.nodes[p].inputs)
      if (in >= 0) stack.push_back(in);
  }
  return false;
}

bool same_shape(const Value& a, const Value& b) {
  return a.shape_known() && b.shape_known() && a.shape() == b.shape();
}

}  // namespace

bool pass_fuse_residual(Graph& g, std::string* note) {
  const auto cons = g.consumers();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& add = g.nodes[i];
    if (!is_op(add, "Add") || add.num_inputs() != 2 || add.outputs.size() != 1 || add.outputs[0] < 0) continue;
    const int out = add.outputs[0];
    for (int side = 0; side < 2; ++side) {
      const int y = add.inputs[side], skip = add.inputs[1 - side];
      if (y == skip || !only_read_by(g, cons, y, int(i))) continue;
      const int p = g.values[y].producer;
      if (p < 0) continue;
      Node& conv = g.nodes[p];
      if (!is_op(conv, "Conv") || conv.outputs.size() != 1 || conv.outputs[0] != y) continue;
      if (!conv.fusion.activation.empty() || conv.fusion.residual_input >= 0) continue;
      const Value &yv = g.values[y], &sv = g.values[skip], &ov = g.values[out];
      if (yv.dtype != DType::f32 || sv.dtype != DType::f32 || ov.dtype != DType::f32) continue;
      if (!same_shape(yv, sv) || !same_shape(yv, ov)) continue;
      if (depends_on(g, skip, p)) continue;
      if (conv.inputs.size() < 3) conv.inputs.resize(3, -1);
      conv.fusion.residual_input = int(conv.inputs.size());
      conv.inputs.push_back(skip);
      add.dead = true;
      conv.outputs[0] = out;
      g.values[out].producer = p;
      g.values[y].producer = -1;
      add_part(conv, add);
      if (note) *note = "fuse_residual: '" + add.name + "' (Add) into '" + conv.name + "'";
      return true;
    }
  }
  return false;
}

}  // namespace octet
