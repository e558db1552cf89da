// assign_layout: chooses the physical layout of each value and inserts Reorder nodes where a producer writes one
// layout and a consumer reads another.
//
// A value's Value::layout is the layout its producer writes and every reader reads. With Layout::nhwc preferred:
//  - Conv with a 4-D f32 input writes nhwc and reads nhwc (input 0 and its fused residual). Cost rule for a Conv
//    whose input comes plain (a graph input, a Reshape, ...): reordering costs one pass over N*C*H*W elements,
//    the conv itself N*K*C*R*S*P*Q/group MACs, so the Reorder is always the cheaper part: insert it.
//  - Ops that compute the same per element / per channel in any order follow their nhwc input 0: Relu, Clip,
//    LeakyRelu, Sigmoid, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization (its parameters stay plain),
//    Resize / Upsample (per-axis resampling, done over the physical N, H, W, C order; roi/scales/sizes stay plain),
//    and the one-input float math ops (Tanh, Erf, HardSwish, HardSigmoid, Elu, ...).
//  - Add/Sub/Mul/Div run nhwc when both inputs are nhwc and have the output's shape (no broadcasting, so both
//    operands walk memory in the same order).
//  - Everything else (Flatten, Reshape, Concat, Gemm, Softmax, ...) reads and writes plain.
//  - Graph inputs, graph outputs and constants are plain. A graph output computed nhwc keeps its name: its
//    producer writes "<name>_nhwc" and a Reorder "<name>_to_plain" writes the output.
// A Reorder (domain "octet") is inserted once per value and target layout: node "<value>_to_nhwc" or
// "<value>_to_plain"; its input and output values carry the two layouts.
#include <map>

#include "graph/passes.h"
#include "graph/passes/pass_util.h"

namespace octet {

namespace {

using namespace passes;

bool is_reorder(const Node& n) { return !n.dead && n.domain == "octet" && n.op_type == "Reorder"; }

// A 4-D f32 value computed at run time.
bool is_4d_f32(const Graph& g, int v) {
  if (v < 0) return false;
  const Value& x = g.values[v];
  return x.dtype == DType::f32 && !x.constant && x.shape_known() && x.dims.size() == 4;
}

bool follows_input_layout(const Node& n) {
  static const char* ops[] = {"Relu",        "Clip",       "LeakyRelu",        "Sigmoid",
                              "MaxPool",     "AveragePool", "GlobalAveragePool", "BatchNormalization",
                              // data-movement ops that resample H / W with the channels as the inner dim
                              "Resize",      "Upsample"};
  for (const char* op : ops)
    if (is_op(n, op)) return true;
  // ops-elt: the one-input float math ops are the same function of every element (MobileNetV3's HardSwish,
  // EfficientNet's and ViT's activations sit between convs; a Reorder pair around each would cost two passes).
  static const char* unary[] = {"Abs",      "Neg",     "Exp",         "Log",       "Sqrt",           "Reciprocal",
                                "Tanh",     "Erf",     "Floor",       "Ceil",      "Round",          "Sin",
                                "Cos",      "Sign",    "Softplus",    "Softsign",  "Elu",            "Selu",
                                "Celu",     "HardSigmoid", "HardSwish", "ThresholdedRelu"};
  for (const char* op : unary)
    if (is_op(n, op) && n.num_inputs() == 1) return true;
  return false;
}

bool is_binary_eltwise(const Node& n) {
  return is_op(n, "Add") || is_op(n, "Sub") || is_op(n, "Mul") || is_op(n, "Div");
}

// Whether node n computes in nhwc, given the layouts already chosen for its inputs (called in topological order).
bool runs_nhwc(const Graph& g, const Node& n) {
  if (quant_layout_op(n)) return quant_runs_nhwc(g, n);  // int8 ops: rules in lower_qdq.cpp
  if (n.outputs.empty() || !is_4d_f32(g, n.outputs[0])) return false;
  for (size_t o = 1; o < n.outputs.size(); ++o)
    if (n.outputs[o] >= 0) return false;  // e.g. MaxPool's Indices: plain only
  const int x = input_or_none(n, 0);
  if (is_op(n, "Conv")) return is_4d_f32(g, x);
  if (follows_input_layout(n)) return is_4d_f32(g, x) && g.values[x].layout == Layout::nhwc;
  if (is_binary_eltwise(n) && n.num_inputs() == 2) {
    const Shape out = g.values[n.outputs[0]].shape();
    for (int v : n.inputs)
      if (!is_4d_f32(g, v) || g.values[v].layout != Layout::nhwc || g.values[v].shape() != out) return false;
    return true;
  }
  return false;
}

// The layout node n reads input slot i in.
Layout wanted_input_layout(const Graph& g, const Node& n, size_t i, bool nhwc) {
  if (is_reorder(n)) return g.values[n.inputs[i]].layout;
  if (!nhwc) return Layout::plain;
  if (quant_layout_op(n)) return quant_reads_nhwc(n, i) ? Layout::nhwc : Layout::plain;
  if (is_op(n, "Conv")) return i == 0 || int(i) == n.fusion.residual_input ? Layout::nhwc : Layout::plain;
  if (is_binary_eltwise(n)) return Layout::nhwc;
  return i == 0 ? Layout::nhwc : Layout::plain;
}

// Appends Reorder `from` -> `to` named `node_name`; returns the node id.
int add_reorder(Graph& g, int from, int to, const std::string& node_name) {
  Node r;
  r.name = node_name;
  r.op_type = "Reorder";
  r.domain = "octet";
  r.inputs = {from};
  r.outputs = {to};
  return g.add_node(std::move(r));
}

// A new value with v's dtype and shape (not its constant), in `layout`.
int copy_value(Graph& g, int v, const std::string& name, Layout layout) {
  const int id = g.add_value(unique_value_name(g, name), g.values[v].dtype);
  Value& nv = g.values[id];
  nv.has_shape = g.values[v].has_shape;
  nv.dims = g.values[v].dims;
  nv.layout = layout;
  return id;
}

}  // namespace

bool assign_layouts(Graph& g, Layout preferred) {
  if (preferred != Layout::nhwc) return false;
  for (const Node& n : g.nodes)
    if (is_reorder(n)) return false;  // already assigned: running twice would stack reorders

  // 1. Each node's layout, producers first.
  const std::vector<int> order = g.topo_order();
  std::vector<char> nhwc(g.nodes.size(), 0);
  bool changed = false;
  for (int id : order) {
    if (!runs_nhwc(g, g.nodes[id])) continue;
    nhwc[id] = 1;
    g.values[g.nodes[id].outputs[0]].layout = Layout::nhwc;
    changed = true;
  }
  if (!changed) return false;

  // 2. Graph outputs stay plain under their own name: the producer writes a new nhwc value instead, which the
  //    other readers read, and a Reorder writes the output.
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    const int v = g.outputs[k];
    if (g.values[v].layout != Layout::nhwc) continue;
    const std::string name = g.values[v].name;
    const int inner = copy_value(g, v, name + "_nhwc", Layout::nhwc);
    const int p = g.values[v].producer;
    for (int& o : g.nodes[p].outputs)
      if (o == v) o = inner;
    g.values[inner].producer = p;
    for (Node& n : g.nodes)
      if (!n.dead)
        for (int& in : n.inputs)
          if (in == v) in = inner;
    g.values[v].layout = Layout::plain;
    add_reorder(g, inner, v, name + "_to_plain");
  }

  // 3. Every other disagreement between a value's layout and a reader's gets one shared Reorder per target.
  std::map<std::pair<int, Layout>, int> converted;
  for (int id : order) {
    for (size_t i = 0; i < g.nodes[id].inputs.size(); ++i) {
      const int v = g.nodes[id].inputs[i];
      if (v < 0) continue;
      const Layout want = wanted_input_layout(g, g.nodes[id], i, nhwc[id]);
      if (g.values[v].layout == want) continue;
      auto it = converted.find({v, want});
      if (it == converted.end()) {
        const std::string name = g.values[v].name + (want == Layout::nhwc ? "_to_nhwc" : "_to_plain");
        const int to = copy_value(g, v, name, want);
        add_reorder(g, v, to, name);
        it = converted.emplace(std::make_pair(v, want), to).first;
      }
      g.nodes[id].inputs[i] = it->second;
    }
  }
  return true;
}

}  // namespace octet
