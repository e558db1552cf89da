#include "graph/ir.h"

#include <algorithm>

namespace octet {

Shape Value::shape() const {
  if (!has_shape) throw Error("value '" + name + "' has no known shape");
  Shape s;
  for (const Dim& d : dims) {
    if (!d.known()) throw Error("value '" + name + "' has a symbolic dimension '" + d.symbol + "' that is not bound");
    s.push_back(d.value);
  }
  return s;
}

bool Value::shape_known() const {
  if (!has_shape) return false;
  return std::all_of(dims.begin(), dims.end(), [](const Dim& d) { return d.known(); });
}

void Value::set_shape(const Shape& s) {
  has_shape = true;
  dims.assign(s.size(), Dim{});
  for (size_t i = 0; i < s.size(); ++i) dims[i].value = s[i];
}

int64_t Node::attr_i(const std::string& k, int64_t def) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? def : it->second.i;
}
float Node::attr_f(const std::string& k, float def) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? def : it->second.f;
}
std::string Node::attr_s(const std::string& k, const std::string& def) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? def : it->second.s;
}
std::vector<int64_t> Node::attr_ints(const std::string& k, std::vector<int64_t> def) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? def : it->second.ints;
}
std::vector<float> Node::attr_floats(const std::string& k, std::vector<float> def) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? def : it->second.floats;
}
int Node::num_inputs() const {
  int n = int(inputs.size());
  while (n > 0 && inputs[n - 1] < 0) --n;
  return n;
}

int Graph::add_value(const std::string& name, DType dtype) {
  int id = int(values.size());
  Value v;
  v.name = name;
  v.dtype = dtype;
  values.push_back(std::move(v));
  if (!name.empty()) by_name_[name] = id;
  return id;
}

int Graph::add_constant(const std::string& name, std::shared_ptr<const Tensor> t) {
  int id = add_value(name, t->dtype());
  values[id].set_shape(t->shape());
  values[id].constant = std::move(t);
  return id;
}

int Graph::add_node(Node n) {
  int id = int(nodes.size());
  for (int o : n.outputs)
    if (o >= 0) values[o].producer = id;
  nodes.push_back(std::move(n));
  return id;
}

std::string Graph::unique_value_name(const std::string& base) const {
  if (find_value(base) < 0) return base;
  for (int i = 2;; ++i)
    if (std::string s = base + "_" + std::to_string(i); find_value(s) < 0) return s;
}

int Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

std::string Graph::where(int node) const {
  const Node& n = nodes[node];
  return path + ": node '" + n.name + "' (" + n.op_type + ")";
}

void Graph::fail(int node, const std::string& msg) const { throw Error(where(node) + ": " + msg); }

std::vector<int> Graph::topo_order() const {
  // Kahn's algorithm over live nodes; ties broken by original order so the result is stable.
  std::vector<int> pending(nodes.size(), 0);
  auto cons = consumers();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].dead) continue;
    const std::vector<int>& in = nodes[i].inputs;
    for (size_t k = 0; k < in.size(); ++k) {
      const int v = in[k];
      if (v < 0 || values[v].producer < 0 || nodes[values[v].producer].dead) continue;
      // A value read twice (Mul(x, x), a conv reading x as input and residual) counts once: consumers() lists
      // the node once, so it is decremented once.
      if (std::find(in.begin(), in.begin() + k, v) == in.begin() + k) ++pending[i];
    }
  }
  std::vector<int> order, ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!nodes[i].dead && pending[i] == 0) ready.push_back(int(i));
  std::reverse(ready.begin(), ready.end());
  while (!ready.empty()) {
    int n = ready.back();
    ready.pop_back();
    order.push_back(n);
    std::vector<int> next;
    for (int o : nodes[n].outputs) {
      if (o < 0) continue;
      for (int c : cons[o])
        if (--pending[c] == 0) next.push_back(c);
    }
    std::sort(next.rbegin(), next.rend());
    ready.insert(ready.end(), next.begin(), next.end());
    std::sort(ready.rbegin(), ready.rend());
  }
  size_t live = std::count_if(nodes.begin(), nodes.end(), [](const Node& n) { return !n.dead; });
  if (order.size() != live) throw Error(path + ": the graph has a cycle or a node reads an output of itself");
  return order;
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> c(values.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].dead) continue;
    for (int v : nodes[i].inputs)
      if (v >= 0 && (c[v].empty() || c[v].back() != int(i))) c[v].push_back(int(i));
  }
  return c;
}

bool Graph::is_output(int value) const { return std::find(outputs.begin(), outputs.end(), value) != outputs.end(); }

int64_t Graph::opset(const std::string& domain) const {
  auto it = opsets.find(domain == "ai.onnx" ? "" : domain);
  return it == opsets.end() ? 0 : it->second;
}

void Graph::replace_uses(int from, int to) {
  for (Node& n : nodes) {
    if (n.dead) continue;
    for (int& v : n.inputs)
      if (v == from) v = to;
  }
  for (int& v : outputs)
    if (v == from) v = to;
}

void Graph::compact() {
  std::vector<int> node_map(nodes.size(), -1), value_map(values.size(), -1);
  std::vector<char> used(values.size(), 0);
  for (int v : inputs) used[v] = 1;
  for (int v : outputs) used[v] = 1;
  for (const Node& n : nodes) {
    if (n.dead) continue;
    for (int v : n.inputs)
      if (v >= 0) used[v] = 1;
    for (int v : n.outputs)
      if (v >= 0) used[v] = 1;
  }
  std::vector<Value> nv;
  for (size_t i = 0; i < values.size(); ++i)
    if (used[i]) {
      value_map[i] = int(nv.size());
      nv.push_back(std::move(values[i]));
    }
  std::vector<Node> nn;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!nodes[i].dead) {
      node_map[i] = int(nn.size());
      nn.push_back(std::move(nodes[i]));
    }
  for (Node& n : nn) {
    for (int& v : n.inputs)
      if (v >= 0) v = value_map[v];
    for (int& v : n.outputs)
      if (v >= 0) v = value_map[v];
    if (n.fusion.residual_input >= int(n.inputs.size())) n.fusion.residual_input = -1;
  }
  for (Value& v : nv)
    if (v.producer >= 0) v.producer = node_map[v.producer];
  for (int& v : inputs) v = value_map[v];
  for (int& v : outputs) v = value_map[v];
  values = std::move(nv);
  nodes = std::move(nn);
  by_name_.clear();
  for (size_t i = 0; i < values.size(); ++i)
    if (!values[i].name.empty()) by_name_[values[i].name] = int(i);
}

}  // namespace octet
