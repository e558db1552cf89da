// fuse_gelu: the exact GELU that exporters write before opset 20 (torch.onnx for nn.GELU(approximate='none'))
//   y = Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5)      or   y = Mul(Mul(x, 0.5), Add(Erf(Div(x, sqrt 2)), 1))
// becomes one octet.Gelu node, y = x / 2 * (1 + erf(x / sqrt 2)): one pass over the tensor instead of five (ViT,
// Swin, ConvNeXt, SVTR run it after every MLP's first Linear). Also accepted: Mul by 1/sqrt 2 for the Div, and
// every Add / Mul with its operands in either order. The constants are scalars within 1e-6 of their value; each
// intermediate is read only by the next node and is not a graph output; x is float32.
#include <cmath>

#include "graph/passes.h"
#include "graph/passes/pass_util.h"

namespace octet {

namespace {

using namespace passes;

using Consumers = std::vector<std::vector<int>>;

/// Whether value v is a float32 scalar constant within 1e-6 (relative) of `want`.
bool is_scalar(const Graph& g, int v, double want) {
  const Tensor* t = v >= 0 ? f32_constant(g, v) : nullptr;
  return t && t->numel() == 1 && std::fabs(double(*t->as<float>()) - want) <= 1e-6 * std::fabs(want);
}

/// For a two-input node, the input that is not `known` (or -1 when neither / both are).
int other_input(const Node& n, int known) {
  if (n.inputs.size() != 2) return -1;
  if (n.inputs[0] == known && n.inputs[1] != known) return n.inputs[1];
  if (n.inputs[1] == known && n.inputs[0] != known) return n.inputs[0];
  return -1;
}

/// The single node reading v (v not a graph output), of type op; else -1.
int sole_reader(const Graph& g, const Consumers& cons, int v, const char* op) {
  if (v < 0 || cons[v].size() != 1 || g.is_output(v)) return -1;
  const int r = cons[v][0];
  return is_op(g.nodes[r], op) && g.nodes[r].outputs.size() == 1 && g.nodes[r].outputs[0] >= 0 ? r : -1;
}

/// x of the scaling node d feeding Erf: Div(x, sqrt 2) or Mul(x, 1/sqrt 2) in either order; else -1.
int scaled_input(const Graph& g, const Node& d) {
  if (d.inputs.size() != 2 || d.outputs.size() != 1) return -1;
  if (is_op(d, "Div")) return is_scalar(g, d.inputs[1], M_SQRT2) ? d.inputs[0] : -1;
  if (!is_op(d, "Mul")) return -1;
  if (is_scalar(g, d.inputs[1], M_SQRT1_2)) return d.inputs[0];
  if (is_scalar(g, d.inputs[0], M_SQRT1_2)) return d.inputs[1];
  return -1;
}

struct GeluMatch {
  int x = -1, out = -1;
  std::vector<int> nodes;  // absorbed, in order
};

// Matches the pattern around Erf node e.
bool match(const Graph& g, const Consumers& cons, int e, GeluMatch& m) {
  const Node& erf = g.nodes[e];
  if (!is_op(erf, "Erf") || erf.inputs.size() != 1 || erf.outputs.size() != 1) return false;
  const int dv = erf.inputs[0];
  if (dv < 0 || g.values[dv].producer < 0 || cons[dv].size() != 1 || g.is_output(dv)) return false;
  const int d = g.values[dv].producer;
  const int x = scaled_input(g, g.nodes[d]);
  if (x < 0 || g.values[x].dtype != DType::f32 || g.values[x].constant) return false;
  const int a = sole_reader(g, cons, erf.outputs[0], "Add");
  if (a < 0 || !is_scalar(g, other_input(g.nodes[a], erf.outputs[0]), 1.0)) return false;
  const int av = g.nodes[a].outputs[0];
  const int m1 = sole_reader(g, cons, av, "Mul");
  if (m1 < 0) return false;
  const int p = other_input(g.nodes[m1], av);
  m.nodes = {d, e, a, m1};
  if (p == x) {  // (x * (1 + erf)) * 0.5
    const int m2 = sole_reader(g, cons, g.nodes[m1].outputs[0], "Mul");
    if (m2 < 0 || !is_scalar(g, other_input(g.nodes[m2], g.nodes[m1].outputs[0]), 0.5)) return false;
    m.nodes.push_back(m2);
    m.out = g.nodes[m2].outputs[0];
  } else {  // (x * 0.5) * (1 + erf): p is Mul(x, 0.5), read only by m1
    if (p < 0 || g.values[p].producer < 0 || cons[p].size() != 1 || g.is_output(p)) return false;
    const int h = g.values[p].producer;
    if (!is_op(g.nodes[h], "Mul") || !is_scalar(g, other_input(g.nodes[h], x), 0.5)) return false;
    m.nodes.insert(m.nodes.begin(), h);
    m.out = g.nodes[m1].outputs[0];
  }
  m.x = x;
  return true;
}

}  // namespace

bool pass_fuse_gelu(Graph& g, std::string* note) {
  const Consumers cons = g.consumers();
  for (size_t e = 0; e < g.nodes.size(); ++e) {
    GeluMatch m;
    if (g.nodes[e].dead || !match(g, cons, int(e), m)) continue;
    Node gelu;
    gelu.name = g.nodes[m.nodes.back()].name;
    gelu.op_type = "Gelu";
    gelu.domain = "octet";
    gelu.inputs = {m.x};
    gelu.outputs = {m.out};
    for (int id : m.nodes) {
      add_part(gelu, g.nodes[id]);
      g.nodes[id].dead = true;
      for (int o : g.nodes[id].outputs)
        if (o >= 0) g.values[o].producer = -1;
    }
    const std::string name = gelu.name;
    g.add_node(std::move(gelu));  // sets m.out's producer
    if (note) *note = "fuse_gelu: Div/Erf/Add/Mul/Mul into octet.Gelu '" + name + "'";
    return true;
  }
  return false;
}

}  // namespace octet
