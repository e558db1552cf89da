// graph/onnx_export: load -> export -> load gives the same graph (nodes, attributes, constants bit for bit,
// dims with their symbols, opsets, metadata) and the same outputs through a Session.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/session.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"
#include "graph/tensor_proto.h"

using namespace octet;

namespace {

const std::string kModel = std::string(OCTET_SOURCE_DIR) + "/models/fmnist_resnet.onnx";
const std::string kDemo = std::string(OCTET_SOURCE_DIR) + "/tests/data/demo/";

void check_same_value(const Value& a, const Value& b) {
  CHECK(a.name == b.name);
  CHECK(a.dtype == b.dtype);
  CHECK(a.has_shape == b.has_shape);
  REQUIRE(a.dims.size() == b.dims.size());
  for (size_t d = 0; d < a.dims.size(); ++d) {
    CHECK(a.dims[d].value == b.dims[d].value);
    CHECK(a.dims[d].symbol == b.dims[d].symbol);
  }
  REQUIRE(bool(a.constant) == bool(b.constant));
  if (a.constant) {
    CHECK(a.constant->shape() == b.constant->shape());
    REQUIRE(a.constant->bytes() == b.constant->bytes());
    CHECK(std::memcmp(a.constant->data(), b.constant->data(), a.constant->bytes()) == 0);
  }
}

void check_same_graph(const Graph& a, const Graph& b) {
  CHECK(a.opsets == b.opsets);
  CHECK(a.metadata == b.metadata);
  CHECK(a.producer == b.producer);
  REQUIRE(a.inputs.size() == b.inputs.size());
  for (size_t i = 0; i < a.inputs.size(); ++i) check_same_value(a.values[a.inputs[i]], b.values[b.inputs[i]]);
  REQUIRE(a.outputs.size() == b.outputs.size());
  for (size_t i = 0; i < a.outputs.size(); ++i) check_same_value(a.values[a.outputs[i]], b.values[b.outputs[i]]);
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &x = a.nodes[i], &y = b.nodes[i];
    CHECK(x.name == y.name);
    CHECK(x.op_type == y.op_type);
    CHECK(x.domain == y.domain);
    REQUIRE(x.inputs.size() == y.inputs.size());
    for (size_t k = 0; k < x.inputs.size(); ++k) {
      REQUIRE((x.inputs[k] < 0) == (y.inputs[k] < 0));
      if (x.inputs[k] >= 0) check_same_value(a.values[x.inputs[k]], b.values[y.inputs[k]]);
    }
    REQUIRE(x.attrs.size() == y.attrs.size());
    for (const auto& [k, v] : x.attrs) {
      const Attribute& w = y.attrs.at(k);
      CHECK(int(v.kind) == int(w.kind));
      CHECK(v.i == w.i);
      CHECK(v.f == w.f);
      CHECK(v.s == w.s);
      CHECK(v.ints == w.ints);
      CHECK(v.floats == w.floats);
    }
  }
}

}  // namespace

TEST_SUITE("onnx_export") {

TEST_CASE("demo model: load -> export -> load is the same graph with the same outputs") {
  const Graph a = load_onnx(kModel);
  const std::string bytes = export_onnx_bytes(a);
  const Graph b = load_onnx_buffer(bytes.data(), bytes.size(), kModel, "");
  check_same_graph(a, b);
  CHECK(b.values[b.inputs[0]].dims[0].symbol == "N");

  Session sa(a, {}), sb(b, {});
  Tensor x = read_tensor_pb(kDemo + "input_batch4.pb");
  Tensor ya = std::move(sa.run({x.view()})[0]), yb = std::move(sb.run({x.view()})[0]);
  REQUIRE(ya.bytes() == yb.bytes());
  CHECK(std::memcmp(ya.data(), yb.data(), ya.bytes()) == 0);

  // Through a file, and a second round trip is byte-identical (the writer is deterministic).
  const std::string path = (std::filesystem::temp_directory_path() / "octet_test_export.onnx").string();
  save_onnx(b, path);
  const Graph c = load_onnx(path);
  check_same_graph(a, c);
  CHECK(export_onnx_bytes(c) == bytes);
  std::remove(path.c_str());
}

TEST_CASE("every attribute kind, absent optional inputs, tensor attributes and value_info survive") {
  Graph g;
  g.path = "t.onnx";
  g.opsets[""] = 13;
  g.opsets["com.example"] = 1;
  g.metadata["k"] = "v";
  const int x = g.add_value("x", DType::f32);
  g.values[x].has_shape = true;
  g.values[x].dims = {Dim{-1, "batch"}, Dim{3, ""}, Dim{-1, ""}};
  g.inputs.push_back(x);
  auto t = std::make_shared<Tensor>(DType::i64, Shape{2});
  t->as<int64_t>()[0] = 7;
  t->as<int64_t>()[1] = -9;
  const int c = g.add_constant("c", t);
  const int y = g.add_value("y", DType::f32);
  const int z = g.add_value("z", DType::f32);
  Node n;
  n.name = "n0";
  n.op_type = "Custom";
  n.domain = "com.example";
  n.inputs = {x, -1, c};
  n.outputs = {y};
  Attribute a;
  a.kind = Attribute::Kind::f; a.f = 0.5f; n.attrs["f"] = a;
  a = {}; a.kind = Attribute::Kind::i; a.i = -3; n.attrs["i"] = a;
  a = {}; a.kind = Attribute::Kind::s; a.s = "text"; n.attrs["s"] = a;
  a = {}; a.kind = Attribute::Kind::floats; a.floats = {1.5f, -2}; n.attrs["fs"] = a;
  a = {}; a.kind = Attribute::Kind::ints; a.ints = {1, 2, 3}; n.attrs["is"] = a;
  a = {}; a.kind = Attribute::Kind::strings; a.strings = {"a", "b"}; n.attrs["ss"] = a;
  a = {}; a.kind = Attribute::Kind::t; a.t = t; n.attrs["t"] = a;
  g.add_node(n);
  Node m;
  m.name = "n1";
  m.op_type = "Relu";
  m.inputs = {y};
  m.outputs = {z};
  g.add_node(m);
  g.values[y].has_shape = true;
  g.values[y].dims = {Dim{-1, "batch"}};
  g.outputs.push_back(z);

  const std::string bytes = export_onnx_bytes(g);
  const Graph b = load_onnx_buffer(bytes.data(), bytes.size(), "t.onnx", "");
  check_same_graph(g, b);
  const Node& bn = b.nodes[0];
  CHECK(bn.inputs[1] == -1);  // the absent optional input stays absent
  CHECK(bn.attrs.at("ss").strings == std::vector<std::string>{"a", "b"});
  REQUIRE(bn.attrs.at("t").t);
  CHECK(bn.attrs.at("t").t->as<int64_t>()[1] == -9);
  const Value& yb = b.values[b.find_value("y")];  // value_info kept
  CHECK(yb.dims[0].symbol == "batch");
  CHECK(ir_version_for_opset(13) == 7);
  CHECK(ir_version_for_opset(17) == 8);
}

TEST_CASE("compiled graphs are refused with the node named") {
  Graph g = load_onnx(kModel);
  g.nodes[0].fusion.activation = "Relu";
  CHECK_THROWS_WITH_AS(export_onnx_bytes(g), doctest::Contains("node '/features/features.0/features.0.0/Conv' (Conv): carries a fused epilogue"), Error);
  g = load_onnx(kModel);
  g.nodes[0].domain = "octet";
  CHECK_THROWS_WITH_AS(export_onnx_bytes(g), doctest::Contains("engine-internal"), Error);
}

}  // TEST_SUITE
