// upgrade_default_opset: every rewrite computes what the old form computed. Each case builds a one-op graph at an
// old opset, runs it, upgrades a copy to opset 13 and runs that: the outputs must be the same bytes (the old form
// itself is checked against ONNX's node tests by the conformance suite).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "engine/session.h"
#include "graph/upgrade_opset.h"

using namespace octet;

namespace {

Attribute ints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}
Attribute floats(std::vector<float> v) {
  Attribute a;
  a.kind = Attribute::Kind::floats;
  a.floats = std::move(v);
  return a;
}
Attribute i(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i;
  a.i = v;
  return a;
}
Attribute f(float v) {
  Attribute a;
  a.kind = Attribute::Kind::f;
  a.f = v;
  return a;
}
Attribute s(std::string v) {
  Attribute a;
  a.kind = Attribute::Kind::s;
  a.s = std::move(v);
  return a;
}

// x [shape] -> op(attrs) -> outputs y0..y{n-1}, at `opset`. `extra`: constant inputs after x (e.g. scales).
Graph one_op(int64_t opset, const std::string& op, const Shape& shape, std::map<std::string, Attribute> attrs,
             int outputs = 1, std::vector<std::shared_ptr<Tensor>> extra = {}) {
  Graph g;
  g.path = "upgrade.onnx";
  g.opsets[""] = opset;
  const int x = g.add_value("x", DType::f32);
  g.values[x].set_shape(shape);
  g.inputs.push_back(x);
  Node n;
  n.name = "node";
  n.op_type = op;
  n.inputs = {x};
  for (size_t k = 0; k < extra.size(); ++k) n.inputs.push_back(g.add_constant("c" + std::to_string(k), extra[k]));
  for (int o = 0; o < outputs; ++o) {
    const int y = g.add_value("y" + std::to_string(o));
    n.outputs.push_back(y);
    g.outputs.push_back(y);
  }
  n.attrs = std::move(attrs);
  g.add_node(n);
  return g;
}

std::vector<Tensor> run(const Graph& g) {
  Session sess(g, SessionOptions{});
  const Shape shape = g.values[g.inputs[0]].shape();
  Tensor x(DType::f32, shape);
  for (int64_t k = 0; k < x.numel(); ++k) x.as<float>()[k] = std::sin(float(k) * 0.7f) * 3.f;
  return sess.run({x.view()});
}

// Runs g and its upgrade to 13; the outputs must be identical. Returns the upgrade log.
std::vector<std::string> same_after_upgrade(Graph g) {
  const std::vector<Tensor> want = run(g);
  Graph up = g;
  std::vector<std::string> log = upgrade_default_opset(up, 13);
  CHECK(up.opset("") == 13);
  const std::vector<Tensor> got = run(up);
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    CAPTURE(k);
    REQUIRE(got[k].shape() == want[k].shape());
    REQUIRE(got[k].dtype() == want[k].dtype());
    CHECK(std::memcmp(got[k].data(), want[k].data(), want[k].bytes()) == 0);
  }
  return log;
}

bool logged(const std::vector<std::string>& log, const std::string& what) {
  for (const std::string& l : log)
    if (l.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_SUITE("upgrade_opset") {
  TEST_CASE("attributes that became inputs: Squeeze, Unsqueeze, ReduceSum, Split, Clip, Pad, Slice, TopK") {
    CHECK(logged(same_after_upgrade(one_op(11, "Unsqueeze", {2, 3}, {{"axes", ints({0, -1})}})), "axes"));
    CHECK(logged(same_after_upgrade(one_op(11, "Squeeze", {2, 1, 3, 1}, {{"axes", ints({1, -1})}})), "axes"));
    CHECK(logged(same_after_upgrade(one_op(11, "ReduceSum", {2, 3, 4}, {{"axes", ints({1})}, {"keepdims", i(0)}})),
                 "axes"));
    CHECK(logged(same_after_upgrade(one_op(11, "Split", {2, 7}, {{"axis", i(1)}, {"split", ints({3, 4})}}, 2)),
                 "split"));
    CHECK(logged(same_after_upgrade(one_op(7, "Clip", {4, 5}, {{"min", f(-1.5f)}, {"max", f(2.f)}})), "min/max"));
    CHECK(logged(same_after_upgrade(one_op(9, "Clip", {4, 5}, {{"max", f(0.5f)}})), "min/max"));
    CHECK(logged(same_after_upgrade(one_op(9, "Pad", {1, 2, 3, 3},
                                           {{"pads", ints({0, 0, 1, 2, 0, 0, 2, 1})}, {"value", f(0.25f)}})),
                 "pads"));
    CHECK(logged(same_after_upgrade(one_op(7, "Pad", {1, 2, 4, 4},
                                           {{"pads", ints({0, 0, 1, 1, 0, 0, 1, 1})}, {"mode", s("reflect")}})),
                 "pads"));
    CHECK(logged(same_after_upgrade(one_op(9, "Slice", {4, 6, 5},
                                           {{"starts", ints({1, -4})}, {"ends", ints({3, 1000})}, {"axes", ints({0, 1})}})),
                 "starts"));
    CHECK(logged(same_after_upgrade(one_op(9, "TopK", {3, 8}, {{"k", i(3)}}, 2)), "k attribute"));
  }

  TEST_CASE("Softmax family before 13: the last axis keeps its node, another axis becomes Flatten/Softmax/Reshape") {
    for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
      CAPTURE(op);
      same_after_upgrade(one_op(11, op, {2, 5}, {}));  // default axis 1 = the last of a 2-D input
      CHECK(logged(same_after_upgrade(one_op(11, op, {2, 3, 4}, {})), "Flatten"));  // coerced [2, 12]
      CHECK(logged(same_after_upgrade(one_op(12, op, {2, 3, 4, 2}, {{"axis", i(2)}})), "Flatten"));
      same_after_upgrade(one_op(11, op, {2, 3, 4}, {{"axis", i(-1)}}));
    }
  }

  TEST_CASE("Upsample-7/9 and Resize-10 become Resize-13 with asymmetric coordinates") {
    CHECK(logged(same_after_upgrade(one_op(7, "Upsample", {1, 2, 3, 4}, {{"scales", floats({1, 1, 2, 3})}})),
                 "Upsample -> Resize"));
    CHECK(logged(same_after_upgrade(one_op(7, "Upsample", {1, 2, 3, 4},
                                           {{"scales", floats({1, 1, 2, 2})}, {"mode", s("linear")}})),
                 "linear"));
    auto scales = std::make_shared<Tensor>(DType::f32, Shape{4});
    const float sc[] = {1, 1, 3, 2};
    std::memcpy(scales->data(), sc, sizeof sc);
    CHECK(logged(same_after_upgrade(one_op(9, "Upsample", {1, 2, 3, 4}, {{"mode", s("nearest")}}, 1, {scales})),
                 "Upsample -> Resize"));
    CHECK(logged(same_after_upgrade(one_op(10, "Resize", {1, 2, 3, 4}, {{"mode", s("nearest")}}, 1, {scales})),
                 "Resize-10"));
    CHECK(logged(same_after_upgrade(one_op(10, "Resize", {1, 2, 3, 4}, {{"mode", s("linear")}}, 1, {scales})),
                 "Resize-10"));
  }

  TEST_CASE("unchanged ops only get the new opset; an inexpressible form is refused naming the node") {
    Graph g = one_op(9, "Relu", {2, 3}, {});
    CHECK(same_after_upgrade(g).empty());
    Graph bn = one_op(7, "Upsample", {1, 1, 2, 2}, {{"scales", floats({1, 1, 2, 2})}, {"mode", s("cubic")}});
    CHECK_THROWS_WITH_AS(upgrade_default_opset(bn, 13),
                         doctest::Contains("upgrade.onnx: node 'node' (Upsample): cannot upgrade to opset 13"),
                         Unsupported);
    Graph at13 = one_op(13, "Relu", {2, 3}, {});
    CHECK(upgrade_default_opset(at13, 13).empty());
    CHECK(at13.opset("") == 13);
  }
}
