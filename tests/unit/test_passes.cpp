// Graph passes: each pass on small hand-built graphs, checked structurally (node counts, fusion fields, wiring,
// graph output names) and numerically: a naive reference interpreter below evaluates the graph before and after
// the passes (it understands fused epilogues and treats Reorder as the identity on logical values).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <algorithm>
#include <string>
#include <vector>

#include "engine/session.h"
#include "graph/passes.h"

using namespace octet;

namespace {

// ---- graph building ----------------------------------------------------------------------------------------

float rnd(uint32_t& s) {
  s = s * 1664525u + 1013904223u;
  return float((s >> 8) & 0xFFFF) / 65536.0f * 2.0f - 1.0f;  // [-1, 1)
}

std::shared_ptr<Tensor> random_tensor(const Shape& shape, uint32_t seed, float lo = -1, float hi = 1) {
  auto t = std::make_shared<Tensor>(DType::f32, shape);
  for (int64_t i = 0; i < t->numel(); ++i) t->as<float>()[i] = lo + (rnd(seed) + 1.0f) * 0.5f * (hi - lo);
  return t;
}

Attribute attr_i(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i;
  a.i = v;
  return a;
}
Attribute attr_f(float v) {
  Attribute a;
  a.kind = Attribute::Kind::f;
  a.f = v;
  return a;
}
Attribute attr_ints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}

struct Builder {
  Graph g;
  uint32_t seed = 1;

  int input(const std::string& name, const Shape& s) {
    int v = g.add_value(name, DType::f32);
    g.values[v].set_shape(s);
    g.inputs.push_back(v);
    return v;
  }
  int constant(const std::string& name, const Shape& s, float lo = -1, float hi = 1) {
    return g.add_constant(name, random_tensor(s, seed++ * 7919u, lo, hi));
  }
  int constant_data(const std::string& name, const Shape& s, std::vector<float> data) {
    auto t = std::make_shared<Tensor>(DType::f32, s);
    for (size_t i = 0; i < data.size(); ++i) t->as<float>()[i] = data[i];
    return g.add_constant(name, t);
  }
  // Adds node `op` named `name`; its one output value is named `name` with shape `out`. Returns the value id.
  int node(const std::string& op, const std::string& name, std::vector<int> in, const Shape& out,
           std::map<std::string, Attribute> attrs = {}) {
    int v = g.add_value(name, DType::f32);
    g.values[v].set_shape(out);
    Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {v};
    n.attrs = std::move(attrs);
    g.add_node(std::move(n));
    return v;
  }
  void output(int v) { g.outputs.push_back(v); }
};

int live_nodes(const Graph& g) {
  int n = 0;
  for (const Node& x : g.nodes) n += !x.dead;
  return n;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& x : g.nodes) n += !x.dead && x.op_type == op;
  return n;
}

const Node& only_node(const Graph& g, const std::string& op) {
  REQUIRE(count_op(g, op) == 1);
  for (const Node& x : g.nodes)
    if (!x.dead && x.op_type == op) return x;
  throw std::logic_error("unreachable");
}

const Node& producer_of(const Graph& g, const std::string& value) {
  int v = g.find_value(value);
  REQUIRE(v >= 0);
  REQUIRE(g.values[v].producer >= 0);
  return g.nodes[g.values[v].producer];
}

std::string name_of(const Graph& g, int v) { return v < 0 ? "" : g.values[v].name; }

// Runs one pass until it changes nothing, as optimize() does; returns the number of rewrites.
int run_pass(Graph& g, PassFn pass) {
  int n = 0;
  while (pass(g, nullptr)) ++n;
  return n;
}

// ---- reference interpreter -----------------------------------------------------------------------------------

using Buf = std::vector<float>;

float act(const Fusion& f, float y) {
  if (f.activation == "Relu") return y > 0 ? y : 0;
  if (f.activation == "Clip") return std::fmin(std::fmax(y, f.alpha), f.beta);
  if (f.activation == "LeakyRelu") return y >= 0 ? y : f.alpha * y;
  if (f.activation == "Sigmoid") return 1.0f / (1.0f + std::exp(-y));
  // One-input float math ops (they follow an nhwc input; not fused).
  if (f.activation == "HardSwish") return y * std::fmin(std::fmax(y / 6 + 0.5f, 0.f), 1.f);
  if (f.activation == "HardSigmoid") return std::fmin(std::fmax(0.2f * y + 0.5f, 0.f), 1.f);
  if (f.activation == "Tanh") return std::tanh(y);
  if (f.activation == "Erf") return std::erf(y);
  REQUIRE(f.activation.empty());
  return y;
}

struct Interp {
  const Graph& g;
  std::vector<Buf> val;
  Shape shape(int v) const { return g.values[v].shape(); }
  const Buf& in(int v) {
    REQUIRE(v >= 0);
    if (g.values[v].constant) {
      const Tensor& t = *g.values[v].constant;
      val[v].assign(t.as<float>(), t.as<float>() + t.numel());
    }
    return val[v];
  }

  // out = act(op + bias + residual): the epilogue of a fused node, applied to the raw op result.
  void epilogue(const Node& n, Buf& y) {
    if (n.fusion.residual_input >= 0) {
      const Buf& r = in(n.inputs[n.fusion.residual_input]);
      REQUIRE(r.size() == y.size());
      for (size_t i = 0; i < y.size(); ++i) y[i] += r[i];
    }
    for (float& e : y) e = act(n.fusion, e);
  }

  // Direct 2-D convolution, explicit pads and strides, groups.
  Buf conv(const Node& n) {
    const Shape xs = shape(n.inputs[0]), ws = shape(n.inputs[1]), ys = shape(n.outputs[0]);
    const Buf &x = in(n.inputs[0]), &w = in(n.inputs[1]);
    const bool has_b = n.inputs.size() > 2 && n.inputs[2] >= 0;
    const Buf b = has_b ? in(n.inputs[2]) : Buf(ws[0], 0.0f);
    const auto st = n.attr_ints("strides", {1, 1}), pd = n.attr_ints("pads", {0, 0, 0, 0});
    const int64_t grp = n.attr_i("group", 1), cg = ws[1], mg = ws[0] / grp;
    Buf y(num_elements(ys));
    for (int64_t b0 = 0; b0 < ys[0]; ++b0)
      for (int64_t m = 0; m < ys[1]; ++m)
        for (int64_t oh = 0; oh < ys[2]; ++oh)
          for (int64_t ow = 0; ow < ys[3]; ++ow) {
            double acc = b[m];
            const int64_t g0 = m / mg;
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t kh = 0; kh < ws[2]; ++kh)
                for (int64_t kw = 0; kw < ws[3]; ++kw) {
                  int64_t ih = oh * st[0] - pd[0] + kh, iw = ow * st[1] - pd[1] + kw;
                  if (ih < 0 || iw < 0 || ih >= xs[2] || iw >= xs[3]) continue;
                  acc += double(x[((b0 * xs[1] + g0 * cg + c) * xs[2] + ih) * xs[3] + iw]) *
                         w[((m * cg + c) * ws[2] + kh) * ws[3] + kw];
                }
            y[((b0 * ys[1] + m) * ys[2] + oh) * ys[3] + ow] = float(acc);
          }
    return y;
  }

  Buf gemm(const Node& n, bool matmul) {
    const Shape as = shape(n.inputs[0]), bs = shape(n.inputs[1]);
    const Buf &a = in(n.inputs[0]), &bm = in(n.inputs[1]);
    const bool ta = !matmul && n.attr_i("transA", 0), tb = !matmul && n.attr_i("transB", 0);
    const float alpha = matmul ? 1.0f : n.attr_f("alpha", 1.0f), beta = matmul ? 0.0f : n.attr_f("beta", 1.0f);
    const int64_t M = ta ? as[1] : as[0], K = ta ? as[0] : as[1], N = tb ? bs[0] : bs[1];
    Buf c;
    if (!matmul && n.inputs.size() > 2 && n.inputs[2] >= 0) c = in(n.inputs[2]);
    Buf y(M * N);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += double(ta ? a[k * M + i] : a[i * K + k]) * (tb ? bm[j * K + k] : bm[k * N + j]);
        double cv = c.empty() ? 0.0 : c.size() == 1 ? c[0] : c.size() == size_t(N) ? c[j] : c[i * N + j];
        y[i * N + j] = float(alpha * acc + beta * cv);
      }
    return y;
  }

  Buf batchnorm(const Node& n) {
    const Shape xs = shape(n.inputs[0]);
    const Buf& x = in(n.inputs[0]);
    const Buf &sc = in(n.inputs[1]), &bb = in(n.inputs[2]), &mu = in(n.inputs[3]), &var = in(n.inputs[4]);
    const float eps = n.attr_f("epsilon", 1e-5f);
    int64_t inner = 1;
    for (size_t d = 2; d < xs.size(); ++d) inner *= xs[d];
    Buf y(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      int64_t c = (int64_t(i) / inner) % xs[1];
      y[i] = (x[i] - mu[c]) / std::sqrt(var[c] + eps) * sc[c] + bb[c];
    }
    return y;
  }

  Buf run_node(const Node& n) {
    const std::string& op = n.op_type;
    if (op == "Conv") return conv(n);
    if (op == "Gemm" || op == "MatMul") return gemm(n, op == "MatMul");
    if (op == "BatchNormalization") return batchnorm(n);
    if (op == "Identity" || op == "Dropout" || op == "Reorder" || op == "Flatten") return in(n.inputs[0]);
    if (op == "Add" || op == "Sub" || op == "Mul") {
      const Buf &a = in(n.inputs[0]), &b = in(n.inputs[1]);
      REQUIRE(a.size() == b.size());
      Buf y(a.size());
      for (size_t i = 0; i < a.size(); ++i) y[i] = op == "Add" ? a[i] + b[i] : op == "Sub" ? a[i] - b[i] : a[i] * b[i];
      return y;
    }
    if (op == "GlobalAveragePool") {
      const Shape xs = shape(n.inputs[0]);
      const Buf& x = in(n.inputs[0]);
      const int64_t hw = xs[2] * xs[3];
      Buf y(xs[0] * xs[1], 0.0f);
      for (size_t i = 0; i < x.size(); ++i) y[i / hw] += x[i] / float(hw);
      return y;
    }
    Fusion f;  // element-wise activations: the same maths as a fused epilogue
    f.activation = op;
    if (op == "LeakyRelu") f.alpha = n.attr_f("alpha", 0.01f);
    if (op == "Clip") {
      f.alpha = n.has_attr("min") ? n.attr_f("min", 0)
                : n.inputs.size() > 1 && n.inputs[1] >= 0 ? in(n.inputs[1])[0]
                                                            : -std::numeric_limits<float>::infinity();
      f.beta = n.has_attr("max") ? n.attr_f("max", 0)
               : n.inputs.size() > 2 && n.inputs[2] >= 0 ? in(n.inputs[2])[0]
                                                           : std::numeric_limits<float>::infinity();
    }
    Buf y = in(n.inputs[0]);
    for (float& e : y) e = act(f, e);
    return y;
  }

  explicit Interp(const Graph& graph) : g(graph), val(graph.values.size()) {}

  std::vector<Buf> run(const std::vector<Buf>& inputs) {
    for (size_t i = 0; i < inputs.size(); ++i) val[g.inputs[i]] = inputs[i];
    for (int id : g.topo_order()) {
      const Node& n = g.nodes[id];
      Buf y = run_node(n);
      if (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") epilogue(n, y);
      REQUIRE(int64_t(y.size()) == num_elements(shape(n.outputs[0])));
      val[n.outputs[0]] = std::move(y);
    }
    std::vector<Buf> out;
    for (int v : g.outputs) out.push_back(in(v));
    return out;
  }
};

std::vector<Buf> evaluate(const Graph& g, uint32_t seed = 99) {
  std::vector<Buf> inputs;
  for (int v : g.inputs) {
    auto t = random_tensor(g.values[v].shape(), seed++);
    inputs.emplace_back(t->as<float>(), t->as<float>() + t->numel());
  }
  return Interp(g).run(inputs);
}

// Max |a - b| / max(1, |b|) over all outputs.
double max_rel_diff(const std::vector<Buf>& a, const std::vector<Buf>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t o = 0; o < a.size(); ++o) {
    REQUIRE(a[o].size() == b[o].size());
    for (size_t i = 0; i < a[o].size(); ++i)
      m = std::max(m, std::fabs(double(a[o][i]) - b[o][i]) / std::max(1.0, std::fabs(double(b[o][i]))));
  }
  return m;
}

// Graph output names, in order.
std::vector<std::string> output_names(const Graph& g) {
  std::vector<std::string> s;
  for (int v : g.outputs) s.push_back(g.values[v].name);
  return s;
}

// conv 3x3 pad 1 from c_in to c_out channels on an 8x8 (or given) image; with or without bias.
int conv3x3(Builder& b, const std::string& name, int x, int64_t c_in, int64_t c_out, bool bias = true,
            int64_t hw = 8, int64_t group = 1) {
  std::vector<int> in = {x, b.constant(name + ".w", {c_out, c_in / group, 3, 3}, -0.5f, 0.5f)};
  if (bias) in.push_back(b.constant(name + ".b", {c_out}));
  return b.node("Conv", name, in, {1, c_out, hw, hw},
                {{"pads", attr_ints({1, 1, 1, 1})}, {"kernel_shape", attr_ints({3, 3})}, {"group", attr_i(group)}});
}

int batchnorm(Builder& b, const std::string& name, int x, int64_t c, const Shape& out) {
  return b.node("BatchNormalization", name,
                {x, b.constant(name + ".scale", {c}, 0.5f, 2.0f), b.constant(name + ".bias", {c}),
                 b.constant(name + ".mean", {c}), b.constant(name + ".var", {c}, 0.1f, 3.0f)},
                out, {{"epsilon", attr_f(1e-3f)}});
}

}  // namespace

TEST_SUITE("passes") {

TEST_CASE("remove_identity: readers of an Identity read its input") {
  Builder b;
  int x = b.input("x", {1, 4});
  int r1 = b.node("Relu", "r1", {x}, {1, 4});
  int id = b.node("Identity", "id", {r1}, {1, 4});
  int r2 = b.node("Relu", "r2", {id}, {1, 4});
  b.output(r2);
  CHECK(run_pass(b.g, pass_remove_identity) == 1);
  CHECK(live_nodes(b.g) == 2);
  CHECK(name_of(b.g, producer_of(b.g, "r2").inputs[0]) == "r1");
  b.g.compact();
  CHECK(output_names(b.g) == std::vector<std::string>{"r2"});
  CHECK(b.g.topo_order().size() == 2);
}

TEST_CASE("remove_identity: an Identity writing a graph output keeps the output's name") {
  Builder b;
  int x = b.input("x", {2, 3});
  int r = b.node("Relu", "r", {x}, {2, 3});
  int s = b.node("Sigmoid", "s", {r}, {2, 3});  // a second reader of r
  int y = b.node("Identity", "y", {r}, {2, 3});
  b.output(y);
  b.output(s);
  const auto before = evaluate(b.g);
  CHECK(run_pass(b.g, pass_remove_identity) == 1);
  b.g.compact();
  CHECK(live_nodes(b.g) == 2);
  CHECK(output_names(b.g) == std::vector<std::string>{"y", "s"});
  CHECK(producer_of(b.g, "y").name == "r");  // Relu now writes y ...
  CHECK(name_of(b.g, producer_of(b.g, "s").inputs[0]) == "y");  // ... and its other reader reads y
  CHECK(max_rel_diff(evaluate(b.g), before) == 0.0);
}

TEST_CASE("remove_identity: an input passed straight to an output, or an output copied to another, stays") {
  Builder b;
  int x = b.input("x", {2});
  int y = b.node("Identity", "y", {x}, {2});
  b.output(y);
  int r = b.node("Relu", "r", {x}, {2});
  int z = b.node("Identity", "z", {r}, {2});
  b.output(r);
  b.output(z);
  CHECK(run_pass(b.g, pass_remove_identity) == 0);
  CHECK(live_nodes(b.g) == 3);
}

TEST_CASE("remove_identity: Dropout only in inference with its mask unused") {
  Builder b;
  int x = b.input("x", {4});
  int d1 = b.node("Dropout", "d1", {x}, {4});  // inference: removed
  int mask_used = b.node("Dropout", "d2", {d1}, {4});
  int mask = b.g.add_value("d2_mask", DType::boolean);
  b.g.values[mask].set_shape({4});
  b.g.nodes.back().outputs.push_back(mask);
  b.g.values[mask].producer = int(b.g.nodes.size()) - 1;
  auto on = std::make_shared<Tensor>(DType::boolean, Shape{});
  *on->as<uint8_t>() = 1;
  int train = b.g.add_constant("training", on);
  int ratio = b.constant_data("ratio", {}, {0.5f});
  int d3 = b.node("Dropout", "d3", {mask_used, ratio, train}, {4});  // training mode: kept
  b.output(d3);
  b.output(mask);
  CHECK(run_pass(b.g, pass_remove_identity) == 1);
  CHECK(b.g.nodes[0].dead);
  CHECK(name_of(b.g, b.g.nodes[1].inputs[0]) == "x");
  CHECK(count_op(b.g, "Dropout") == 2);
}

TEST_CASE("fold_batchnorm: Conv + BN folds and matches the unfolded graph") {
  for (bool bias : {true, false})
    for (int64_t group : {1, 2}) {
      CAPTURE(bias);
      CAPTURE(group);
      Builder b;
      int x = b.input("x", {1, 4, 8, 8});
      int c = conv3x3(b, "conv", x, 4, 6, bias, 8, group);
      b.output(batchnorm(b, "bn", c, 6, {1, 6, 8, 8}));
      const auto before = evaluate(b.g);
      CHECK(run_pass(b.g, pass_fold_batchnorm) == 1);
      b.g.compact();
      CHECK(live_nodes(b.g) == 1);
      const Node& conv = only_node(b.g, "Conv");
      CHECK(conv.fusion.parts == std::vector<std::string>{"bn"});
      CHECK(name_of(b.g, conv.outputs[0]) == "bn");  // the BN's output value, so its name, survives
      CHECK(output_names(b.g) == std::vector<std::string>{"bn"});
      REQUIRE(conv.inputs.size() == 3);
      CHECK(b.g.values[conv.inputs[1]].constant);
      CHECK(b.g.values[conv.inputs[2]].constant);
      CHECK(b.g.values[conv.inputs[2]].shape() == Shape{6});
      CHECK(max_rel_diff(evaluate(b.g), before) < 1e-5);
    }
}

TEST_CASE("fold_batchnorm: Gemm + BN folds for transB 0 and 1, with and without C") {
  for (int64_t trans_b : {0, 1})
    for (int c_kind : {0, 1, 2}) {  // no C, C of N values, scalar C
      CAPTURE(trans_b);
      CAPTURE(c_kind);
      Builder b;
      int a = b.input("a", {3, 5});
      std::vector<int> in = {a, b.constant("B", trans_b ? Shape{4, 5} : Shape{5, 4})};
      if (c_kind == 1) in.push_back(b.constant("C", {1, 4}));
      if (c_kind == 2) in.push_back(b.constant("C", {1}));
      int y = b.node("Gemm", "gemm", in, {3, 4},
                     {{"transB", attr_i(trans_b)}, {"alpha", attr_f(0.75f)}, {"beta", attr_f(1.5f)}});
      b.output(batchnorm(b, "bn", y, 4, {3, 4}));
      const auto before = evaluate(b.g);
      CHECK(run_pass(b.g, pass_fold_batchnorm) == 1);
      b.g.compact();
      const Node& gemm = only_node(b.g, "Gemm");
      CHECK(live_nodes(b.g) == 1);
      CHECK(gemm.attr_f("beta", 0) == 1.0f);
      CHECK(gemm.attr_f("alpha", 0) == 0.75f);
      CHECK(max_rel_diff(evaluate(b.g), before) < 1e-5);
    }
}

TEST_CASE("fold_batchnorm: no fold when the conv output has another reader, is a graph output, or BN is not constant") {
  SUBCASE("two readers") {
    Builder b;
    int x = b.input("x", {1, 2, 8, 8});
    int c = conv3x3(b, "conv", x, 2, 2);
    b.output(batchnorm(b, "bn", c, 2, {1, 2, 8, 8}));
    b.output(b.node("Relu", "r", {c}, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fold_batchnorm) == 0);
  }
  SUBCASE("conv output is a graph output") {
    Builder b;
    int x = b.input("x", {1, 2, 8, 8});
    int c = conv3x3(b, "conv", x, 2, 2);
    b.output(batchnorm(b, "bn", c, 2, {1, 2, 8, 8}));
    b.output(c);
    CHECK(run_pass(b.g, pass_fold_batchnorm) == 0);
  }
  SUBCASE("BN scale computed at run time") {
    Builder b;
    int x = b.input("x", {1, 2, 8, 8});
    int scale = b.input("scale", {2});
    int c = conv3x3(b, "conv", x, 2, 2);
    b.output(b.node("BatchNormalization", "bn",
                    {c, scale, b.constant("bb", {2}), b.constant("m", {2}), b.constant("v", {2}, 0.5f, 1.0f)},
                    {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fold_batchnorm) == 0);
  }
  SUBCASE("BN after something else than Conv/Gemm stays") {
    Builder b;
    int x = b.input("x", {1, 2, 8, 8});
    int r = b.node("Relu", "r", {x}, {1, 2, 8, 8});
    b.output(batchnorm(b, "bn", r, 2, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fold_batchnorm) == 0);
  }
  SUBCASE("conv already carrying an activation") {
    Builder b;
    int x = b.input("x", {1, 2, 8, 8});
    int c = conv3x3(b, "conv", x, 2, 2);
    b.g.nodes.back().fusion.activation = "Relu";
    b.output(batchnorm(b, "bn", c, 2, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fold_batchnorm) == 0);
  }
}

TEST_CASE("fuse_activation: each activation kind fuses and the numbers are unchanged") {
  struct Case {
    std::string op;
    std::map<std::string, Attribute> attrs;
    int clip_inputs;  // Clip opset 11+: 0 none, 1 min only, 2 min and max
    std::string producer;
    float alpha, beta;
  };
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<Case> cases = {
      {"Relu", {}, 0, "Conv", 0, 0},
      {"Sigmoid", {}, 0, "Gemm", 0, 0},
      {"LeakyRelu", {{"alpha", attr_f(0.2f)}}, 0, "MatMul", 0.2f, 0},
      {"LeakyRelu", {}, 0, "Conv", 0.01f, 0},
      {"Clip", {{"min", attr_f(-0.1f)}, {"max", attr_f(0.3f)}}, 0, "Conv", -0.1f, 0.3f},
      {"Clip", {}, 2, "Conv", 0.0f, 6.0f},
      {"Clip", {}, 1, "Gemm", 0.0f, inf},
      {"Clip", {}, 0, "Conv", -inf, inf},
  };
  for (const Case& k : cases) {
    CAPTURE(k.op);
    CAPTURE(k.producer);
    CAPTURE(k.clip_inputs);
    Builder b;
    int y;
    Shape s;
    if (k.producer == "Conv") {
      y = conv3x3(b, "op", b.input("x", {1, 3, 8, 8}), 3, 4);
      s = {1, 4, 8, 8};
    } else {
      std::vector<int> in = {b.input("a", {2, 6}), b.constant("B", {6, 5})};
      if (k.producer == "Gemm") in.push_back(b.constant("C", {5}));
      y = b.node(k.producer, "op", in, {2, 5});
      s = {2, 5};
    }
    std::vector<int> in = {y};
    if (k.clip_inputs >= 1) in.push_back(b.constant_data("lo", {}, {k.alpha}));
    if (k.clip_inputs >= 2) in.push_back(b.constant_data("hi", {}, {k.beta}));
    b.output(b.node(k.op, "act", in, s, k.attrs));
    const auto before = evaluate(b.g);
    CHECK(run_pass(b.g, pass_fuse_activation) == 1);
    b.g.compact();
    const Node& op = only_node(b.g, k.producer);
    CHECK(live_nodes(b.g) == 1);
    CHECK(op.fusion.activation == k.op);
    if (k.op == "Clip" || k.op == "LeakyRelu") CHECK(op.fusion.alpha == k.alpha);
    if (k.op == "Clip") CHECK(op.fusion.beta == k.beta);
    CHECK(op.fusion.parts == std::vector<std::string>{"act"});
    CHECK(output_names(b.g) == std::vector<std::string>{"act"});
    CHECK(max_rel_diff(evaluate(b.g), before) < 1e-6);
  }
}

TEST_CASE("fuse_activation: no fusion for two readers, a graph output, a run-time Clip bound, or a second activation") {
  SUBCASE("two readers") {
    Builder b;
    int c = conv3x3(b, "conv", b.input("x", {1, 2, 8, 8}), 2, 2);
    b.output(b.node("Relu", "r", {c}, {1, 2, 8, 8}));
    b.output(b.node("Sigmoid", "s", {c}, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fuse_activation) == 0);
  }
  SUBCASE("conv output is a graph output") {
    Builder b;
    int c = conv3x3(b, "conv", b.input("x", {1, 2, 8, 8}), 2, 2);
    b.output(b.node("Relu", "r", {c}, {1, 2, 8, 8}));
    b.output(c);
    CHECK(run_pass(b.g, pass_fuse_activation) == 0);
  }
  SUBCASE("Clip min from a graph input") {
    Builder b;
    int c = conv3x3(b, "conv", b.input("x", {1, 2, 8, 8}), 2, 2);
    b.output(b.node("Clip", "clip", {c, b.input("lo", {})}, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fuse_activation) == 0);
  }
  SUBCASE("Relu -> Relu: only the first fuses") {
    Builder b;
    int c = conv3x3(b, "conv", b.input("x", {1, 2, 8, 8}), 2, 2);
    int r = b.node("Relu", "r1", {c}, {1, 2, 8, 8});
    b.output(b.node("Relu", "r2", {r}, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fuse_activation) == 1);
    CHECK(live_nodes(b.g) == 2);
  }
}

TEST_CASE("fuse_residual then fuse_activation: the ResNet block relu(conv(x) + b + skip) becomes one Conv") {
  for (bool skip_first : {false, true})
    for (bool bias : {true, false}) {
      CAPTURE(skip_first);
      CAPTURE(bias);
      Builder b;
      int x = b.input("x", {1, 4, 8, 8});
      int c1 = conv3x3(b, "conv1", x, 4, 4);
      int r1 = b.node("Relu", "relu1", {c1}, {1, 4, 8, 8});
      int c2 = conv3x3(b, "conv2", r1, 4, 4, bias);
      int add = b.node("Add", "add", skip_first ? std::vector<int>{x, c2} : std::vector<int>{c2, x}, {1, 4, 8, 8});
      b.output(b.node("Relu", "relu2", {add}, {1, 4, 8, 8}));
      const auto before = evaluate(b.g);
      CHECK(run_pass(b.g, pass_fuse_residual) == 1);
      CHECK(run_pass(b.g, pass_fuse_activation) == 2);
      b.g.compact();
      CHECK(live_nodes(b.g) == 2);
      const Node& conv2 = producer_of(b.g, "relu2");
      CHECK(conv2.name == "conv2");
      REQUIRE(conv2.fusion.residual_input == 3);  // after the bias slot, even when the bias is absent
      CHECK(conv2.inputs.size() == 4);
      CHECK(name_of(b.g, conv2.inputs[3]) == "x");
      CHECK((conv2.inputs[2] >= 0) == bias);
      CHECK(conv2.fusion.activation == "Relu");
      CHECK(conv2.fusion.parts == std::vector<std::string>{"add", "relu2"});
      CHECK(producer_of(b.g, "relu1").fusion.activation == "Relu");
      CHECK(output_names(b.g) == std::vector<std::string>{"relu2"});
      CHECK(max_rel_diff(evaluate(b.g), before) < 1e-6);
    }
}

TEST_CASE("fuse_residual: no fusion for a broadcast skip, a conv with an activation, or a second reader") {
  SUBCASE("broadcast") {
    Builder b;
    int c = conv3x3(b, "conv", b.input("x", {1, 2, 8, 8}), 2, 2);
    b.output(b.node("Add", "add", {c, b.input("s", {1, 2, 1, 1})}, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fuse_residual) == 0);
  }
  SUBCASE("conv with activation: relu(conv) + skip != relu(conv + skip)") {
    Builder b;
    int x = b.input("x", {1, 2, 8, 8});
    int c = conv3x3(b, "conv", x, 2, 2);
    b.g.nodes.back().fusion.activation = "Relu";
    b.output(b.node("Add", "add", {c, x}, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fuse_residual) == 0);
  }
  SUBCASE("second reader") {
    Builder b;
    int x = b.input("x", {1, 2, 8, 8});
    int c = conv3x3(b, "conv", x, 2, 2);
    b.output(b.node("Add", "add", {c, x}, {1, 2, 8, 8}));
    b.output(b.node("Relu", "r", {c}, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fuse_residual) == 0);
  }
  SUBCASE("Add(y, y)") {
    Builder b;
    int c = conv3x3(b, "conv", b.input("x", {1, 2, 8, 8}), 2, 2);
    b.output(b.node("Add", "add", {c, c}, {1, 2, 8, 8}));
    CHECK(run_pass(b.g, pass_fuse_residual) == 0);
  }
}

TEST_CASE("fuse_residual: two convs into one Add: one takes the other as residual, no cycle") {
  Builder b;
  int x = b.input("x", {1, 2, 8, 8});
  int c1 = conv3x3(b, "c1", x, 2, 2);
  int c2 = conv3x3(b, "c2", x, 2, 2);
  b.output(b.node("Add", "add", {c1, c2}, {1, 2, 8, 8}));
  const auto before = evaluate(b.g);
  CHECK(run_pass(b.g, pass_fuse_residual) == 1);
  CHECK(b.g.topo_order().size() == 2);
  CHECK(max_rel_diff(evaluate(b.g), before) < 1e-6);
}

TEST_CASE("fuse_residual: a conv whose skip is its own input reads it twice; the order stays valid") {
  // relu1 feeds conv2 and the Add: after fusion conv2 reads relu1 as input 0 and as residual (x + conv(x)).
  Builder b;
  int x = b.input("x", {1, 2, 8, 8});
  int r = b.node("Relu", "relu1", {x}, {1, 2, 8, 8});
  int c = conv3x3(b, "conv2", r, 2, 2);
  b.output(b.node("Add", "add", {r, c}, {1, 2, 8, 8}));
  const auto before = evaluate(b.g);
  CHECK(run_pass(b.g, pass_fuse_residual) == 1);
  const Node& conv = producer_of(b.g, "add");
  CHECK(conv.inputs[0] == conv.inputs[3]);
  CHECK(b.g.topo_order().size() == 2);
  CHECK(max_rel_diff(evaluate(b.g), before) < 1e-6);
}

TEST_CASE("eliminate_dead: unread chains go, graph outputs and their producers stay") {
  Builder b;
  int x = b.input("x", {4});
  int r = b.node("Relu", "r", {x}, {4});
  int s1 = b.node("Sigmoid", "s1", {r}, {4});
  b.node("Relu", "s2", {s1}, {4});  // s1 -> s2 unread
  b.output(b.node("Relu", "out", {r}, {4}));
  CHECK(run_pass(b.g, pass_eliminate_dead) == 2);
  b.g.compact();
  CHECK(live_nodes(b.g) == 2);
  CHECK(b.g.find_value("s1") < 0);
  CHECK(output_names(b.g) == std::vector<std::string>{"out"});
}

// Checks the layout invariants: graph inputs, outputs and constants plain; a Reorder changes layout; every op
// that is not layout-aware reads and writes plain; a nhwc op's outputs are nhwc.
void check_layouts(const Graph& g) {
  for (int v : g.inputs) CHECK(g.values[v].layout == Layout::plain);
  for (int v : g.outputs) CHECK(g.values[v].layout == Layout::plain);
  for (const Value& v : g.values)
    if (v.constant) CHECK(v.layout == Layout::plain);
  static const std::set<std::string> aware = {"Conv", "Relu", "Clip", "LeakyRelu", "Sigmoid", "MaxPool", "AveragePool",
                                              "GlobalAveragePool", "BatchNormalization", "Add", "Sub", "Mul", "Div",
                                              "HardSwish", "Tanh", "Erf", "HardSigmoid"};
  for (const Node& n : g.nodes) {
    if (n.dead) continue;
    CAPTURE(n.name);
    if (n.op_type == "Reorder") {
      CHECK(n.domain == "octet");
      CHECK(g.values[n.inputs[0]].layout != g.values[n.outputs[0]].layout);
      CHECK(g.values[n.inputs[0]].shape() == g.values[n.outputs[0]].shape());
      continue;
    }
    const Layout out = g.values[n.outputs[0]].layout;
    if (!aware.count(n.op_type)) CHECK(out == Layout::plain);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] < 0) continue;
      const Layout in = g.values[n.inputs[i]].layout;
      const bool activation_input = i == 0 || int(i) == n.fusion.residual_input ||
                                    (n.op_type != "Conv" && n.op_type != "BatchNormalization" && n.op_type != "Clip");
      CHECK(in == (activation_input ? out : Layout::plain));
    }
  }
}

std::vector<std::string> reorder_names(const Graph& g) {
  std::vector<std::string> s;
  for (const Node& n : g.nodes)
    if (!n.dead && n.op_type == "Reorder") s.push_back(n.name);
  std::sort(s.begin(), s.end());
  return s;
}

TEST_CASE("assign_layouts: conv chains go nhwc, with a Reorder at every kind of boundary") {
  Builder b;
  const Shape s4 = {1, 4, 8, 8};
  int x = b.input("x", {1, 3, 8, 8});
  int x2 = b.input("x2", s4);
  int c1 = conv3x3(b, "c1", x, 3, 4);                          // graph input -> conv: x_to_nhwc
  int r1 = b.node("Relu", "r1", {c1}, s4);                     // follows its nhwc input
  int bn = batchnorm(b, "bn", r1, 4, s4);                      // BN as an op: nhwc, parameters plain
  int c2 = conv3x3(b, "c2", bn, 4, 4);
  int a = b.node("Add", "a", {bn, c2}, s4);                    // both inputs nhwc: nhwc
  int clip = b.node("Clip", "clip", {a, b.constant_data("lo", {}, {0.0f})}, s4);
  int gap = b.node("GlobalAveragePool", "gap", {clip}, {1, 4, 1, 1});
  int fl = b.node("Flatten", "fl", {gap}, {1, 4});             // nhwc -> Flatten: gap_to_plain
  int gm = b.node("Gemm", "gm", {fl, b.constant("W", {4, 2})}, {1, 2});
  int m = b.node("Mul", "m", {r1, x2}, s4);                    // one plain input: plain, r1_to_plain
  int c3 = conv3x3(b, "c3", m, 4, 4);                          // plain value -> conv: m_to_nhwc
  b.g.nodes.back().inputs.push_back(x2);                       // residual x2 (graph input): x2_to_nhwc
  b.g.nodes.back().fusion.residual_input = 3;
  b.output(gm);
  b.output(a);                                                 // nhwc graph output: a_to_plain
  b.output(m);
  b.output(c3);                                                // c3_to_plain
  const auto before = evaluate(b.g);
  const int nodes_before = live_nodes(b.g);

  REQUIRE(assign_layouts(b.g, Layout::nhwc));
  check_layouts(b.g);
  CHECK(reorder_names(b.g) == std::vector<std::string>{"a_to_plain", "c3_to_plain", "gap_to_plain", "m_to_nhwc",
                                                      "r1_to_plain", "x2_to_nhwc", "x_to_nhwc"});
  CHECK(live_nodes(b.g) == nodes_before + 7);
  CHECK(output_names(b.g) == std::vector<std::string>{"gm", "a", "m", "c3"});
  for (const char* v : {"c1", "r1", "bn", "c2", "a_nhwc", "clip", "gap", "c3_nhwc"}) {
    CAPTURE(v);
    REQUIRE(b.g.find_value(v) >= 0);
    CHECK(b.g.values[b.g.find_value(v)].layout == Layout::nhwc);
  }
  for (const char* v : {"x", "x2", "fl", "gm", "a", "m", "c3", "W"}) {
    CAPTURE(v);
    CHECK(b.g.values[b.g.find_value(v)].layout == Layout::plain);
  }
  // The nhwc output keeps its name: c2's Add writes a_nhwc, read by clip, and a Reorder writes "a".
  CHECK(producer_of(b.g, "a").op_type == "Reorder");
  CHECK(name_of(b.g, producer_of(b.g, "clip").inputs[0]) == "a_nhwc");
  // x2 is read plain by the Mul and nhwc by c3 (residual): one Reorder serves the nhwc reader.
  CHECK(name_of(b.g, producer_of(b.g, "m").inputs[1]) == "x2");
  CHECK(name_of(b.g, producer_of(b.g, "c3_nhwc").inputs[3]) == "x2_to_nhwc");
  CHECK(max_rel_diff(evaluate(b.g), before) == 0.0);
  b.g.compact();
  check_layouts(b.g);
  CHECK(max_rel_diff(evaluate(b.g), before) == 0.0);

  CHECK_FALSE(assign_layouts(b.g, Layout::nhwc));  // a second call adds nothing
  CHECK(reorder_names(b.g).size() == 7);
  (void)c2;
  (void)gap;
  (void)fl;
  (void)clip;
  (void)c3;
}

TEST_CASE("assign_layouts: the one-input float math ops follow their nhwc input (MobileNetV3's HardSwish)") {
  Builder b;
  const Shape s4 = {1, 4, 8, 8};
  int c1 = conv3x3(b, "c1", b.input("x", s4), 4, 4);
  int hs = b.node("HardSwish", "hs", {c1}, s4);
  int th = b.node("Tanh", "th", {hs}, s4);
  int er = b.node("Erf", "er", {th}, s4);
  int hg = b.node("HardSigmoid", "hg", {er}, s4);
  b.output(conv3x3(b, "c2", hg, 4, 4));
  const auto before = evaluate(b.g);
  REQUIRE(assign_layouts(b.g, Layout::nhwc));
  check_layouts(b.g);
  CHECK(reorder_names(b.g) == std::vector<std::string>{"c2_to_plain", "x_to_nhwc"});
  for (const char* v : {"hs", "th", "er", "hg"}) {
    CAPTURE(v);
    CHECK(b.g.values[b.g.find_value(v)].layout == Layout::nhwc);
  }
  CHECK(max_rel_diff(evaluate(b.g), before) == 0.0);
}

TEST_CASE("assign_layouts: plain preference, and graphs without convs, change nothing") {
  Builder b;
  int c = conv3x3(b, "c", b.input("x", {1, 2, 8, 8}), 2, 2);
  b.output(b.node("Relu", "r", {c}, {1, 2, 8, 8}));
  CHECK_FALSE(assign_layouts(b.g, Layout::plain));
  Builder b2;
  b2.output(b2.node("Relu", "r", {b2.input("x", {1, 2, 8, 8})}, {1, 2, 8, 8}));
  CHECK_FALSE(assign_layouts(b2.g, Layout::nhwc));
  CHECK(live_nodes(b2.g) == 1);
}

// x -> conv1 -> bn1 -> relu1 -> Identity -> conv2 -> bn2 -> Add(., x) -> relu2 -> Dropout -> y
Builder resnet_block() {
  Builder b;
  const Shape s = {1, 4, 8, 8};
  int x = b.input("x", s);
  int c1 = conv3x3(b, "conv1", x, 4, 4, false);
  int r1 = b.node("Relu", "relu1", {batchnorm(b, "bn1", c1, 4, s)}, s);
  int id = b.node("Identity", "id", {r1}, s);
  int c2 = conv3x3(b, "conv2", id, 4, 4);
  int add = b.node("Add", "add", {batchnorm(b, "bn2", c2, 4, s), x}, s);
  int r2 = b.node("Relu", "relu2", {add}, s);
  b.output(b.node("Dropout", "y", {r2}, s));
  return b;
}

TEST_CASE("optimize: the ResNet block becomes two fused Convs with unchanged numbers") {
  Builder b = resnet_block();
  const auto before = evaluate(b.g);
  PassReport r = optimize(b.g);
  CHECK(r.steps == 7);  // 2 removals, 2 BN folds, 1 residual, 2 activations
  CHECK_FALSE(r.limit_reached);
  CHECK(r.log.size() == 7);
  CHECK(b.g.nodes.size() == 2);  // compacted
  const Node& conv2 = producer_of(b.g, "y");
  CHECK(conv2.name == "conv2");
  CHECK(conv2.fusion.parts == std::vector<std::string>{"bn2", "add", "relu2"});
  CHECK(conv2.fusion.residual_input == 3);
  CHECK(name_of(b.g, conv2.inputs[3]) == "x");
  CHECK(max_rel_diff(evaluate(b.g), before) < 1e-5);

  REQUIRE(assign_layouts(b.g, Layout::nhwc));
  check_layouts(b.g);
  CHECK(reorder_names(b.g) == std::vector<std::string>{"x_to_nhwc", "y_to_plain"});
  CHECK(max_rel_diff(evaluate(b.g), before) < 1e-5);
}

TEST_CASE("optimize: the step limit keeps the first k rewrites, and every prefix computes the same") {
  Builder ref = resnet_block();
  const auto before = evaluate(ref.g);
  const std::vector<std::string> full_log = optimize(ref.g).log;
  for (int64_t k = 0; k <= 8; ++k) {
    CAPTURE(k);
    Builder b = resnet_block();
    PassOptions opt;
    opt.max_steps = k;
    PassReport r = optimize(b.g, opt);
    CHECK(r.steps == std::min<int64_t>(k, 7));
    CHECK(r.limit_reached == (k < 7));
    CHECK(std::equal(r.log.begin(), r.log.end(), full_log.begin()));
    CHECK(b.g.topo_order().size() == b.g.nodes.size());
    CHECK(max_rel_diff(evaluate(b.g), before) < 1e-5);
  }
}

TEST_CASE("optimize: disabled passes do not run") {
  Builder b = resnet_block();
  const auto before = evaluate(b.g);
  PassOptions opt;
  opt.disabled = {"fold_batchnorm", "remove_identity"};
  PassReport r = optimize(b.g, opt);
  CHECK(count_op(b.g, "BatchNormalization") == 2);
  CHECK(count_op(b.g, "Identity") == 1);
  CHECK(count_op(b.g, "Dropout") == 1);
  CHECK(count_op(b.g, "Relu") == 2);  // relu1 reads bn1, not a conv; relu2 reads the Add
  CHECK(r.steps == 0);  // conv2's reader is bn2: no residual, no activation either
  CHECK(max_rel_diff(evaluate(b.g), before) < 1e-6);
}

TEST_CASE("PassOptions::from_env reads OCTET_PASS_LIMIT and OCTET_DISABLE_PASSES, rejecting typos") {
  unsetenv("OCTET_PASS_LIMIT");
  unsetenv("OCTET_DISABLE_PASSES");
  CHECK(PassOptions::from_env().max_steps == -1);
  CHECK(PassOptions::from_env().disabled.empty());
  setenv("OCTET_PASS_LIMIT", "12", 1);
  setenv("OCTET_DISABLE_PASSES", "fuse_residual,,eliminate_dead", 1);
  PassOptions o = PassOptions::from_env();
  CHECK(o.max_steps == 12);
  CHECK(o.disabled == std::set<std::string>{"fuse_residual", "eliminate_dead"});
  setenv("OCTET_PASS_LIMIT", "3x", 1);
  CHECK_THROWS_AS(PassOptions::from_env(), Error);
  setenv("OCTET_PASS_LIMIT", "-1", 1);
  CHECK_THROWS_AS(PassOptions::from_env(), Error);
  setenv("OCTET_PASS_LIMIT", "0", 1);
  setenv("OCTET_DISABLE_PASSES", "fold_batchnrom", 1);
  CHECK_THROWS_WITH_AS(PassOptions::from_env(), doctest::Contains("unknown pass 'fold_batchnrom'"), Error);
  unsetenv("OCTET_PASS_LIMIT");
  unsetenv("OCTET_DISABLE_PASSES");
}

// A small CNN exercising every pass through the engine: conv+BN+relu, a residual block, Identity/Dropout, Clip in
// input style, a BN after a pool (stays an op), MaxPool, GAP, Flatten, Gemm + BN + LeakyRelu, a second output.
Graph engine_model() {
  Builder b;
  b.g.path = "passes_e2e.onnx";
  b.g.opsets[""] = 13;
  const Shape s8 = {2, 8, 12, 12}, s8h = {2, 8, 6, 6};
  int x = b.input("x", {2, 3, 12, 12});
  int c1 = conv3x3(b, "conv1", x, 3, 8, true, 12);
  int r1 = b.node("Relu", "relu1", {batchnorm(b, "bn1", c1, 8, s8)}, s8);
  int id = b.node("Identity", "id", {r1}, s8);
  int c2 = conv3x3(b, "conv2", id, 8, 8, false, 12);
  int add = b.node("Add", "add", {r1, batchnorm(b, "bn2", c2, 8, s8)}, s8);
  int r2 = b.node("Relu", "relu2", {add}, s8);
  int c3 = conv3x3(b, "conv3", r2, 8, 8, true, 12, 2);
  int clip = b.node("Clip", "clip", {c3, b.constant_data("lo", {}, {0.0f}), b.constant_data("hi", {}, {0.5f})}, s8);
  int mp = b.node("MaxPool", "pool", {clip}, s8h, {{"kernel_shape", attr_ints({2, 2})}, {"strides", attr_ints({2, 2})}});
  int bn3 = batchnorm(b, "bn3", mp, 8, s8h);
  int gap = b.node("GlobalAveragePool", "gap", {bn3}, {2, 8, 1, 1});
  int fl = b.node("Flatten", "flat", {gap}, {2, 8});
  int gm = b.node("Gemm", "fc", {fl, b.constant("fc.w", {5, 8}), b.constant("fc.b", {5})}, {2, 5},
                  {{"transB", attr_i(1)}});
  int lr = b.node("LeakyRelu", "lrelu", {batchnorm(b, "bn4", gm, 5, {2, 5})}, {2, 5}, {{"alpha", attr_f(0.1f)}});
  b.output(b.node("Dropout", "logits", {lr}, {2, 5}));
  b.output(r2);  // an intermediate that is also an output: relu2's Conv keeps writing it, in plain layout
  return std::move(b.g);
}

std::vector<Tensor> run_session(bool optimize_graph) {
  SessionOptions opt;
  opt.threads = 1;
  opt.optimize = optimize_graph;
  Session s(engine_model(), opt);
  Tensor x(DType::f32, {2, 3, 12, 12});
  uint32_t seed = 5;
  for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = rnd(seed);
  return s.run({x.view()});
}

double max_rel_diff_tensors(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  std::vector<Buf> x, y;
  for (const Tensor& t : a) x.emplace_back(t.as<float>(), t.as<float>() + t.numel());
  for (const Tensor& t : b) y.emplace_back(t.as<float>(), t.as<float>() + t.numel());
  return max_rel_diff(x, y);
}

TEST_CASE("engine: a model run with passes on matches the same model with passes off") {
  unsetenv("OCTET_PASS_LIMIT");
  unsetenv("OCTET_DISABLE_PASSES");
  const auto plain = run_session(false);
  const auto fused = run_session(true);
  REQUIRE(plain.size() == 2);
  CHECK(plain[0].shape() == Shape{2, 5});
  CHECK(plain[1].shape() == Shape{2, 8, 12, 12});
  CHECK(max_rel_diff_tensors(fused, plain) < 1e-4);

  SessionOptions opt;
  opt.threads = 1;
  Session s(engine_model(), opt);
  const auto report = s.describe();
  std::string fused_parts;
  for (const NodeReport& r : report) fused_parts += r.name + "[" + r.fused + "] ";
  CAPTURE(fused_parts);
  CHECK(std::count_if(report.begin(), report.end(), [](const NodeReport& r) { return r.op == "BatchNormalization"; }) == 1);
  CHECK(std::count_if(report.begin(), report.end(), [](const NodeReport& r) { return r.op == "Relu"; }) == 0);
  CHECK(std::count_if(report.begin(), report.end(), [](const NodeReport& r) { return r.op == "Identity"; }) == 0);
}

TEST_CASE("engine: every OCTET_PASS_LIMIT prefix of the rewrites computes the same outputs") {
  unsetenv("OCTET_DISABLE_PASSES");
  unsetenv("OCTET_PASS_LIMIT");
  const auto plain = run_session(false);
  Graph g = engine_model();
  for (int64_t k = 0; k <= 14; ++k) {
    CAPTURE(k);
    setenv("OCTET_PASS_LIMIT", std::to_string(k).c_str(), 1);
    CHECK(max_rel_diff_tensors(run_session(true), plain) < 1e-4);
  }
  unsetenv("OCTET_PASS_LIMIT");
}

TEST_CASE("explain_float_nodes: a quantized graph says why each float node was not lowered to int8") {
  // x -> Q -> DQ -> Conv (float weights) -> Q -> DQ -> Sigmoid -> Q -> DQ -> Conv (s8 weights) -> Q -> DQ -> y:
  // the first conv cannot be int8 (its weights are not s8 behind a DQ), Sigmoid has no int8 form, the second
  // conv is lowered to QConv; the Q at the start and the DQ at the end say where the int8 chain begins and ends.
  Builder b;
  auto scalar = [&](const std::string& name, DType t, float v) {
    auto c = std::make_shared<Tensor>(t, Shape{});
    if (t == DType::f32) *c->as<float>() = v;
    else *c->as<uint8_t>() = uint8_t(v);
    return b.g.add_constant(name, c);
  };
  const int s = scalar("s", DType::f32, 0.05f), z = scalar("z", DType::u8, 128);
  auto q = [&](const std::string& name, int v, const Shape& sh) {
    const int out = b.node("QuantizeLinear", name, {v, s, z}, sh);
    b.g.values[out].dtype = DType::u8;
    return out;
  };
  auto dq = [&](const std::string& name, int v, const Shape& sh) { return b.node("DequantizeLinear", name, {v, s, z}, sh); };
  const Shape sh{1, 4, 8, 8};
  int x = b.input("x", sh);
  int v = dq("dq0", q("q0", x, sh), sh);
  v = conv3x3(b, "conv_float_w", v, 4, 4);
  v = dq("dq1", q("q1", v, sh), sh);
  v = b.node("Sigmoid", "sig", {v}, sh);
  v = dq("dq2", q("q2", v, sh), sh);
  auto w = std::make_shared<Tensor>(DType::i8, Shape{4, 4, 3, 3});
  for (int64_t i = 0; i < w->numel(); ++i) w->as<int8_t>()[i] = int8_t(i % 7 - 3);
  const int wq = b.g.add_constant("w_s8", w);
  auto zw = std::make_shared<Tensor>(DType::i8, Shape{});
  *zw->as<int8_t>() = 0;
  const int wdq = b.node("DequantizeLinear", "w_dq", {wq, s, b.g.add_constant("zw", zw)}, {4, 4, 3, 3});
  v = b.node("Conv", "conv_int8", {v, wdq}, sh,
             {{"pads", attr_ints({1, 1, 1, 1})}, {"kernel_shape", attr_ints({3, 3})}});
  v = dq("dq3", q("q3", v, sh), sh);
  b.output(v);
  optimize(b.g);
  std::map<std::string, std::string> note;
  for (const Node& n : b.g.nodes) note[n.name] = n.note;
  CHECK(count_op(b.g, "QConv") == 1);
  CHECK(note["q0"] == "float -> u8: the start of an int8 chain");
  CHECK(note["conv_float_w"].find("stays float: weights are not a constant s8 tensor") == 0);
  CHECK(note["sig"] == "stays float: octet has no int8 form of Sigmoid");
  CHECK(note["dq1"] == "u8 -> float: the end of an int8 chain: read by Sigmoid");
  CHECK(note["dq3"] == "u8 -> float: the end of an int8 chain: its output is a graph output");
  CHECK(note["conv_int8"].empty());
  // A float model gets no notes at all.
  Builder f;
  f.output(conv3x3(f, "c", f.input("x", sh), 4, 4));
  optimize(f.g);
  for (const Node& n : f.g.nodes) CHECK(n.note.empty());
}

}  // TEST_SUITE
