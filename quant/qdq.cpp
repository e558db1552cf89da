#include "quant/qdq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "engine/plan.h"
#include "graph/passes.h"
#include "graph/shape_inference.h"
#include "graph/upgrade_opset.h"
#include "kernels/dispatch.h"

namespace octet::quant {

namespace {

bool all_inputs_constant(const Graph& g, const Node& n) {
  for (int v : n.inputs)
    if (v >= 0 && !g.values[v].constant) return false;
  return true;
}

std::string unique_name(const Graph& g, const std::string& base) { return g.unique_value_name(base); }

const Tensor* f32_constant(const Graph& g, int v) {
  if (v < 0 || !g.values[v].constant || g.values[v].constant->dtype() != DType::f32) return nullptr;
  return g.values[v].constant.get();
}

int input(const Node& n, size_t i) { return i < n.inputs.size() ? n.inputs[i] : -1; }

bool one_of(const std::string& op, std::initializer_list<const char*> ops) {
  for (const char* o : ops)
    if (op == o) return true;
  return false;
}

}  // namespace

Graph prepare_model(const Graph& model, const std::vector<Shape>& input_shapes) {
  // Shapes on a scratch copy (with shape subgraphs folded to constants, as the engine does), so the passes can
  // run on a copy that keeps every node.
  Graph s = model;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    Value& v = s.values[s.inputs[i]];
    if (i < input_shapes.size() && !input_shapes[i].empty()) {
      v.set_shape(input_shapes[i]);
      continue;
    }
    if (!v.has_shape)
      throw Error(model.path + ": input '" + v.name + "' has no shape in the model; give one with --shape " + v.name +
                  "=...");
    for (Dim& d : v.dims)
      if (!d.known()) d.value = 1;
  }
  for (int n : s.topo_order()) {
    infer_node(s, n);
    if (all_inputs_constant(s, s.nodes[n])) evaluate_constant_node(s, n, kernels::max_isa());
  }
  Graph g = model;
  std::vector<std::pair<bool, std::vector<Dim>>> saved(g.values.size());
  for (size_t v = 0; v < g.values.size(); ++v) {
    saved[v] = {g.values[v].has_shape, g.values[v].dims};
    if (g.values[v].dtype == DType::undefined) g.values[v].dtype = s.values[v].dtype;
    g.values[v].has_shape = s.values[v].has_shape;
    g.values[v].dims = s.values[v].dims;
  }
  // Per-channel DequantizeLinear needs opset 13: an older model is rewritten into opset 13's forms first (with
  // the shapes just inferred, so a Softmax over the last axis keeps its single node), as ORT's quantizer does.
  if (g.opset("") < 13) upgrade_default_opset(g, 13);
  while (pass_remove_identity(g) || pass_fold_batchnorm(g)) {
  }
  for (size_t v = 0; v < saved.size(); ++v) {
    if (g.values[v].constant) continue;
    g.values[v].has_shape = saved[v].first;
    g.values[v].dims = saved[v].second;
  }
  g.compact();
  return g;
}

std::vector<std::string> QdqPlan::calibrated(const Graph& g) const {
  std::vector<std::string> r;
  for (const auto& [v, root] : activations)
    if (v == root) r.push_back(g.values[v].name);
  return r;
}

QdqPlan plan_qdq(const Graph& g, const std::set<std::string>& exclude) {
  if (g.opset("") < 13)
    throw Error(g.path + ": default-domain opset " + std::to_string(g.opset("")) +
                " is below 13, which per-channel DequantizeLinear needs (prepare_model upgrades it)");
  for (const std::string& name : exclude) {
    bool found = false;
    for (const Node& n : g.nodes) found |= !n.dead && n.name == name;
    if (!found) throw Error(g.path + ": --exclude names node '" + name + "', which the model does not have");
  }
  const auto cons = g.consumers();
  auto is_input = [&](int v) { return std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end(); };
  // Activations are the float tensors computed from the input's values. Not: data of the model (initializers,
  // Constant nodes - LayerNorm's epsilon, a Pow exponent - and what is computed from them only), nor what is
  // computed from the input's shape (Shape/Size and everything downstream of them: Resize scales built with
  // Concat, Swin's attention masks). Quantizing Resize's scales [1, 1, 2, 2] would turn 2 into 1.99 and a 20-pixel
  // map into 19.
  std::vector<bool> data_flow(g.values.size(), false);
  for (int v : g.inputs) data_flow[size_t(v)] = true;
  for (int id : g.topo_order()) {
    const Node& n = g.nodes[id];
    if (n.op_type == "Shape" || n.op_type == "Size") continue;
    bool any = false;
    for (int v : n.inputs) any |= v >= 0 && data_flow[size_t(v)];
    for (int o : n.outputs)
      if (o >= 0) data_flow[size_t(o)] = any;
  }
  auto float_activation = [&](int v) {
    return v >= 0 && data_flow[size_t(v)] && !g.values[v].constant && g.values[v].dtype == DType::f32;
  };
  QdqPlan plan;
  auto& act = plan.activations;
  auto mark = [&](int v) {
    if (float_activation(v) && !act.count(v)) act[v] = v;
  };
  auto mark_outputs = [&](const Node& n) {
    for (int o : n.outputs) mark(o);
  };
  for (int id : g.topo_order()) {
    const Node& n = g.nodes[id];
    if (!n.domain.empty() || exclude.count(n.name)) continue;
    const std::string& op = n.op_type;
    const int x = input(n, 0);
    if (one_of(op, {"Conv", "Gemm", "MatMul"})) {
      const Tensor* w = f32_constant(g, input(n, 1));
      int axis = -1;
      if (w && op == "Conv" && w->shape().size() >= 3) axis = 0;
      if (w && op == "Gemm" && w->shape().size() == 2) axis = n.attr_i("transB", 0) ? 0 : 1;
      if (w && op == "MatMul" && w->shape().size() == 2) axis = 1;
      if (axis >= 0 && float_activation(x)) {
        const int64_t channels = w->shape()[size_t(axis)];
        const Tensor* b = f32_constant(g, input(n, 2));
        bool bias = b && b->shape().size() == 1 && b->numel() == channels;
        if (op == "Gemm") bias = bias && n.attr_f("beta", 1.0f) == 1.0f;
        mark(x);
        mark_outputs(n);
        plan.weighted.push_back({id, axis, bias});
        continue;
      }
      // A weight computed at run time: both operands are activations.
      for (int v : n.inputs) mark(v);
      mark_outputs(n);
    } else if (one_of(op, {"Add", "Mul", "AveragePool", "GlobalAveragePool", "Concat", "Sigmoid", "LeakyRelu"})) {
      for (int v : n.inputs) mark(v);
      mark_outputs(n);
    } else if (one_of(op, {"Relu", "Clip"})) {
      // As ORT's QDQRemovableActivation: only after a tensor that is already quantized.
      if (!act.count(x) || n.outputs.empty() || !float_activation(n.outputs[0])) continue;
      const int y = n.outputs[0];
      bool shared = false;
      for (const auto& [v, root] : act) shared |= root == x && v != x;
      const bool removable = act.at(x) == x && !shared && cons[x].size() == 1 && !g.is_output(x) && !is_input(x) &&
                             g.values[x].producer >= 0;
      if (removable) {
        act.erase(x);
        plan.removed.push_back(id);
      }
      mark(y);
    } else if (one_of(op, {"MaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze"})) {
      if (!float_activation(x) || n.outputs.empty() || !float_activation(n.outputs[0])) continue;
      if (op == "MaxPool" && n.outputs.size() > 1 && n.outputs[1] >= 0 &&
          (!cons[n.outputs[1]].empty() || g.is_output(n.outputs[1])))
        continue;  // indices output: not a data move
      mark(x);
      if (!act.count(n.outputs[0])) act[n.outputs[0]] = act.at(x);
    }
  }
  return plan;
}

QuantizedWeight quantize_weight(const Tensor& w, int axis, int bits) {
  if (bits != 7 && bits != 8) throw Error("weight bits must be 7 or 8, not " + std::to_string(bits));
  const float qmax = float((1 << (bits - 1)) - 1);
  const Shape& s = w.shape();
  const int64_t C = s[size_t(axis)];
  int64_t inner = 1;  // elements between two consecutive indices of `axis`
  for (size_t d = size_t(axis) + 1; d < s.size(); ++d) inner *= s[d];
  const int64_t outer = w.numel() / (C * inner);
  const float* x = w.as<float>();
  auto at = [&](int64_t o, int64_t c, int64_t i) { return (o * C + c) * inner + i; };
  QuantizedWeight r{Tensor(DType::i8, s), std::vector<float>(size_t(C), 1.0f)};
  for (int64_t c = 0; c < C; ++c) {
    float m = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) m = std::max(m, std::fabs(x[at(o, c, i)]));
    const float scale = m > 0 ? m / qmax : 1.0f;
    r.scale[size_t(c)] = scale;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i)
        r.q.as<int8_t>()[at(o, c, i)] =
            int8_t(std::clamp(std::nearbyint(x[at(o, c, i)] / scale), -qmax, qmax));
  }
  return r;
}

namespace {

class Rewriter {
 public:
  Rewriter(Graph& g, const QdqPlan& plan, const std::map<std::string, QParams>& params, int weight_bits)
      : g_(g), plan_(plan), params_(params), weight_bits_(weight_bits) {
    for (const Node& n : g_.nodes) node_names_.insert(n.name);
  }

  QParams params_of(int root) const {
    auto it = params_.find(g_.values[root].name);
    if (it == params_.end())
      throw Error(g_.path + ": the calibration has no parameters for tensor '" + g_.values[root].name + "'");
    return it->second;
  }

  void remove_activations() {
    // The producer of x writes y; the Relu/Clip goes. Its effect stays: y's u8 range clamps at its min.
    for (int r : plan_.removed) {
      Node& n = g_.nodes[r];  // no node is added in this loop
      const int x = n.inputs[0], y = n.outputs[0], p = g_.values[x].producer;
      for (int& o : g_.nodes[p].outputs)
        if (o == x) o = y;
      g_.values[y].producer = p;
      g_.values[x].producer = -1;
      n.dead = true;
    }
  }

  // Weights (and biases) first, while every node still reads its original input (for s_x).
  void quantize_weights() {
    std::map<std::pair<int, int>, std::pair<int, std::vector<float>>> done;  // (w, axis) -> (DQ output, scales)
    for (const QdqPlan::Weighted& wn : plan_.weighted) {
      // Nodes are appended below: hold the node by id, never by reference.
      const int w = g_.nodes[wn.node].inputs[1];
      auto key = std::make_pair(w, wn.axis);
      if (!done.count(key)) {
        QuantizedWeight qw = quantize_weight(*g_.values[w].constant, wn.axis, weight_bits_);
        const int64_t C = int64_t(qw.scale.size());
        auto scale = std::make_shared<Tensor>(DType::f32, Shape{C});
        std::copy(qw.scale.begin(), qw.scale.end(), scale->as<float>());
        const std::string base = g_.values[w].name;
        const int dq = dequantize(base, std::make_shared<Tensor>(std::move(qw.q)), scale,
                                  std::make_shared<Tensor>(DType::i8, Shape{C}), wn.axis);
        done[key] = {dq, qw.scale};
      }
      const auto& [dq, s_w] = done[key];
      if (wn.bias) quantize_bias(wn.node, s_w);
      g_.nodes[wn.node].inputs[1] = dq;
    }
  }

  void quantize_activations() {
    std::map<int, std::pair<int, int>> qconst;  // root -> (scale, zero point) constants
    for (const auto& [v, root] : plan_.activations) {
      if (!qconst.count(root)) {
        const QParams p = params_of(root);
        auto s = std::make_shared<Tensor>(DType::f32, Shape{});
        *s->as<float>() = p.scale;
        auto z = std::make_shared<Tensor>(DType::u8, Shape{});
        *z->as<uint8_t>() = uint8_t(p.zero_point);
        const std::string name = g_.values[root].name;  // a copy: add_constant grows g_.values
        qconst[root] = {g_.add_constant(unique_name(g_, name + "_scale"), s),
                        g_.add_constant(unique_name(g_, name + "_zero_point"), z)};
      }
      const auto [s, z] = qconst[root];
      const std::string name = g_.values[v].name;
      const int q_out = g_.add_value(unique_name(g_, name + "_QuantizeLinear_Output"), DType::u8);
      int q_in = v, dq_out;
      if (g_.is_output(v)) {
        // A graph output keeps its name: its producer now writes "<name>_QuantizeLinear_Input", DQ writes the name.
        const int p = g_.values[v].producer;
        if (p < 0) continue;  // an input passed straight to an output: nothing computes it
        q_in = g_.add_value(unique_name(g_, name + "_QuantizeLinear_Input"), DType::f32);
        for (int& o : g_.nodes[p].outputs)
          if (o == v) o = q_in;
        g_.values[q_in].producer = p;
        // Other readers of the float tensor read the dequantized one (v), as ORT's quantizer does.
        dq_out = v;
      } else {
        dq_out = g_.add_value(unique_name(g_, name + "_DequantizeLinear_Output"), DType::f32);
        g_.replace_uses(v, dq_out);
      }
      add_node("QuantizeLinear", name + "_QuantizeLinear", {q_in, s, z}, q_out, -1);
      add_node("DequantizeLinear", name + "_DequantizeLinear", {q_out, s, z}, dq_out, -1);
    }
  }

 private:
  // Node names are unique in the written model (ONNX Runtime refuses a file with two nodes of one name): `base`,
  // else base_2, base_3, ...
  std::string unique_node_name(const std::string& base) {
    std::string name = base;
    for (int i = 2; node_names_.count(name); ++i) name = base + "_" + std::to_string(i);
    node_names_.insert(name);
    return name;
  }

  void add_node(const char* op, const std::string& name, std::vector<int> in, int out, int axis) {
    Node n;
    n.op_type = op;
    n.name = unique_node_name(name);
    n.inputs = std::move(in);
    n.outputs = {out};
    if (axis >= 0) {
      Attribute a;
      a.kind = Attribute::Kind::i;
      a.i = axis;
      n.attrs["axis"] = a;
    }
    g_.add_node(std::move(n));
  }

  // "<base>_quantized" (the integer initializer) -> DequantizeLinear(axis) -> "<base>_DequantizeLinear_Output".
  int dequantize(const std::string& base, std::shared_ptr<Tensor> q, std::shared_ptr<Tensor> scale,
                 std::shared_ptr<Tensor> zero, int axis) {
    const int qv = g_.add_constant(unique_name(g_, base + "_quantized"), q);
    const int sv = g_.add_constant(unique_name(g_, base + "_scale"), scale);
    const int zv = g_.add_constant(unique_name(g_, base + "_zero_point"), zero);
    const int out = g_.add_value(unique_name(g_, base + "_DequantizeLinear_Output"), DType::f32);
    add_node("DequantizeLinear", base + "_DequantizeLinear", {qv, sv, zv}, out, axis);
    return out;
  }

  // int32 bias: q[c] = round(b[c] / (s_x * s_w[c])), zero point 0, so that the int32 accumulator of
  // sum_k (x_q - z_x) * w_q, times s_x * s_w[c], plus q[c] * s_x * s_w[c] is the float conv + bias.
  void quantize_bias(int node, const std::vector<float>& s_w) {
    const int b = g_.nodes[node].inputs[2];
    const float s_x = params_of(plan_.activations.at(g_.nodes[node].inputs[0])).scale;
    const Tensor& bt = *g_.values[b].constant;
    const int64_t C = bt.numel();
    auto q = std::make_shared<Tensor>(DType::i32, Shape{C});
    auto scale = std::make_shared<Tensor>(DType::f32, Shape{C});
    for (int64_t c = 0; c < C; ++c) {
      const float bs = s_x * s_w[size_t(c)];
      scale->as<float>()[c] = bs;
      const double v = std::nearbyint(double(bt.as<float>()[c]) / double(bs));
      q->as<int32_t>()[c] = int32_t(std::clamp(v, double(std::numeric_limits<int32_t>::min()),
                                               double(std::numeric_limits<int32_t>::max())));
    }
    const std::string base = g_.values[b].name;  // a copy: dequantize() grows g_.values
    const int dq = dequantize(base, q, scale, std::make_shared<Tensor>(DType::i32, Shape{C}), 0);
    g_.nodes[node].inputs[2] = dq;
  }

  Graph& g_;
  const QdqPlan& plan_;
  const std::map<std::string, QParams>& params_;
  const int weight_bits_;
  std::set<std::string> node_names_;
};

}  // namespace

Graph apply_qdq(const Graph& prepared, const QdqPlan& plan, const std::map<std::string, QParams>& params,
                const std::string& note, int weight_bits) {
  Graph g = prepared;
  Rewriter r(g, plan, params, weight_bits);
  r.quantize_weights();
  r.remove_activations();
  r.quantize_activations();
  if (!note.empty()) g.metadata["octet.quantization"] = note;
  g.compact();
  return g;
}

}  // namespace octet::quant
