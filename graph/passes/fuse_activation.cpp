// fuse_activation: Conv/Gemm/MatMul followed by an element-wise activation computes
//   out = act(op(x) + bias + residual)
// in one node: the activation is applied to each output element while it is still in registers, saving a full
// write and read of the tensor. The fused node takes over the activation's output value (and so its name).
//   Relu:      act(y) = max(y, 0)
//   Clip:      act(y) = min(max(y, lo), hi)   Fusion::alpha = lo, beta = hi (+-inf when a bound is absent)
//   LeakyRelu: act(y) = y >= 0 ? y : alpha * y  Fusion::alpha = alpha (default 0.01)
//   Sigmoid:   act(y) = 1 / (1 + exp(-y))
//   HardSigmoid: act(y) = max(0, min(1, alpha * y + beta))   Fusion::alpha, beta (defaults 0.2, 0.5)
//   HardSwish: act(y) = y * max(0, min(1, y / 6 + 1/2))   (MobileNetV3)
//   SiLU:      act(y) = y * sigmoid(y), exported as Mul(y, Sigmoid(y)): two nodes, both absorbed; activation
//              "Silu" (EfficientNet, RegNetY)
// Conditions: op's output is f32, read only by the activation and not a graph output (else the pre-activation
// values would be lost); op carries no activation yet; Clip's bounds are constants.
#include <limits>

#include "graph/passes.h"
#include "graph/passes/pass_util.h"

namespace octet {

namespace {

using namespace passes;

// A Clip bound: attribute (opset < 11), else input (opset >= 11, a constant scalar), else unbounded.
bool clip_bound(const Graph& g, const Node& clip, const char* attr, size_t input, float unbounded, float& out) {
  if (clip.has_attr(attr)) {
    out = clip.attr_f(attr, unbounded);
    return true;
  }
  const int v = input_or_none(clip, input);
  if (v < 0) {
    out = unbounded;
    return true;
  }
  const Tensor* t = f32_constant(g, v);
  if (!t || t->numel() != 1) return false;
  out = *t->as<float>();
  return true;
}

// Fills `f` with the activation of node `act`; false when it is not a fusable activation.
bool activation_of(const Graph& g, const Node& act, Fusion& f) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  if (is_op(act, "Relu") || is_op(act, "Sigmoid")) {
    f.activation = act.op_type;
    return true;
  }
  if (is_op(act, "LeakyRelu")) {
    f.activation = act.op_type;
    f.alpha = act.attr_f("alpha", 0.01f);
    return true;
  }
  if (is_op(act, "Clip")) {
    f.activation = act.op_type;
    return clip_bound(g, act, "min", 1, -inf, f.alpha) && clip_bound(g, act, "max", 2, inf, f.beta);
  }
  if (is_op(act, "HardSigmoid")) {
    f.activation = act.op_type;
    f.alpha = act.attr_f("alpha", 0.2f);
    f.beta = act.attr_f("beta", 0.5f);
    return true;
  }
  if (is_op(act, "HardSwish")) {
    f.activation = act.op_type;
    return true;
  }
  return false;
}

// y -> Sigmoid -> s, Mul(y, s) or Mul(s, y) -> out, with y read by exactly those two nodes and s only by the Mul:
// the Mul's node id, else -1.
int silu_mul(const Graph& g, const std::vector<std::vector<int>>& cons, int y, int sig) {
  const Node& s = g.nodes[sig];
  if (!is_op(s, "Sigmoid") || s.outputs.size() != 1 || s.outputs[0] < 0 || input_or_none(s, 0) != y) return -1;
  const int so = s.outputs[0];
  if (cons[so].size() != 1 || g.is_output(so) || g.is_output(y) || cons[y].size() != 2) return -1;
  const int m = cons[so][0];
  const Node& mul = g.nodes[m];
  if (!is_op(mul, "Mul") || mul.inputs.size() != 2 || mul.outputs.size() != 1 || mul.outputs[0] < 0) return -1;
  const bool pair = (mul.inputs[0] == y && mul.inputs[1] == so) || (mul.inputs[0] == so && mul.inputs[1] == y);
  if (!pair || !((cons[y][0] == sig && cons[y][1] == m) || (cons[y][0] == m && cons[y][1] == sig))) return -1;
  return m;
}

// The op whose f32 output y may take a fused activation: Conv / Gemm / MatMul writing only y, with none yet.
int fusable_producer(const Graph& g, int y) {
  const int p = g.values[y].producer;
  if (p < 0) return -1;
  const Node& op = g.nodes[p];
  if (!is_op(op, "Conv") && !is_op(op, "Gemm") && !is_op(op, "MatMul")) return -1;
  if (op.outputs.size() != 1 || op.outputs[0] != y || !op.fusion.activation.empty()) return -1;
  if (g.values[y].dtype != DType::f32) return -1;
  return p;
}

// Conv -> {Sigmoid, Mul} (SiLU) becomes the conv with activation "Silu"; true when one was fused.
bool fuse_silu(Graph& g, const std::vector<std::vector<int>>& cons, std::string* note) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].dead) continue;
    const int y = input_or_none(g.nodes[i], 0);
    if (y < 0) continue;
    const int p = fusable_producer(g, y);
    const int m = p < 0 ? -1 : silu_mul(g, cons, y, int(i));
    if (m < 0) continue;
    Node &op = g.nodes[p], &sig = g.nodes[i], &mul = g.nodes[m];
    op.fusion.activation = "Silu";
    const int out = mul.outputs[0];
    sig.dead = mul.dead = true;
    op.outputs[0] = out;
    g.values[out].producer = p;
    g.values[y].producer = -1;
    g.values[sig.outputs[0]].producer = -1;
    add_part(op, sig);
    add_part(op, mul);
    if (note) *note = "fuse_activation: '" + sig.name + "' and '" + mul.name + "' (SiLU) into '" + op.name + "'";
    return true;
  }
  return false;
}

}  // namespace

bool pass_fuse_activation(Graph& g, std::string* note) {
  const auto cons = g.consumers();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& act = g.nodes[i];
    if (act.dead || act.outputs.size() != 1 || act.outputs[0] < 0) continue;
    const int y = input_or_none(act, 0);
    if (y < 0 || !only_read_by(g, cons, y, int(i))) continue;
    const int p = fusable_producer(g, y);
    if (p < 0) continue;
    Node& op = g.nodes[p];
    Fusion f;
    if (!activation_of(g, act, f)) continue;
    op.fusion.activation = f.activation;
    op.fusion.alpha = f.alpha;
    op.fusion.beta = f.beta;
    const int out = act.outputs[0];
    act.dead = true;
    op.outputs[0] = out;
    g.values[out].producer = p;
    g.values[y].producer = -1;
    add_part(op, act);
    if (note) *note = "fuse_activation: '" + act.name + "' (" + act.op_type + ") into '" + op.name + "'";
    return true;
  }
  return fuse_silu(g, cons, note);
}

}  // namespace octet
