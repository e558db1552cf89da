// Loader tests: small ModelProtos built with the generated classes, serialized to a temp folder and loaded.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <unistd.h>
#include <variant>

#include "graph/onnx_import.h"
#include "graph/tensor_proto.h"
#include "onnx/onnx.pb.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

// A fresh folder per test case under the system temp dir, removed at the end.
struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() / ("octet-loader-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string serialize(const onnx::ModelProto& m) {
  std::string s;
  REQUIRE(m.SerializeToString(&s));
  return s;
}

// A model with opset `opset` and an empty graph named "g".
onnx::ModelProto empty_model(int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("octet-tests");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

void add_tensor_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name,
                      int elem, std::vector<std::variant<int64_t, std::string>> dims, bool with_shape = true) {
  onnx::ValueInfoProto* vi = list->Add();
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  if (!with_shape) return;
  auto* shape = tt->mutable_shape();
  for (auto& d : dims) {
    auto* dim = shape->add_dim();
    if (std::holds_alternative<int64_t>(d)) dim->set_dim_value(std::get<int64_t>(d));
    else dim->set_dim_param(std::get<std::string>(d));
  }
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> in,
                          std::vector<std::string> out, const std::string& name = "") {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  return n;
}

Graph load_model(const TempDir& td, const onnx::ModelProto& m, const std::string& file = "m.onnx") {
  const std::string path = td.path(file);
  write_bytes(path, serialize(m));
  return load_onnx(path);
}

// The message of the Error thrown by f (fails the test if none is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("no octet::Error thrown");
  return "";
}

// Whether `part` is in message `s`; prints both when not, so a failing CHECK shows the actual message.
bool contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return true;
  std::cerr << "expected '" << part << "' in message:\n  " << s << "\n";
  return false;
}

const Tensor& constant_of(const Graph& g, const std::string& name) {
  const int id = g.find_value(name);
  REQUIRE(id >= 0);
  REQUIRE(g.values[id].constant);
  return *g.values[id].constant;
}

}  // namespace

TEST_SUITE("onnx_import") {

TEST_CASE("initializers in typed fields and raw_data decode to the same values for every dtype") {
  TempDir td;
  onnx::ModelProto m = empty_model();
  onnx::GraphProto* g = m.mutable_graph();
  using TP = onnx::TensorProto;
  auto init = [&](const std::string& name, int dt, std::vector<int64_t> dims) {
    TP* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(dt);
    for (int64_t d : dims) t->add_dims(d);
    return t;
  };
  // Typed fields.
  { auto* t = init("f32", TP::FLOAT, {2, 2}); for (float v : {1.5f, -2.f, 3.25f, 0.f}) t->add_float_data(v); }
  { auto* t = init("f64", TP::DOUBLE, {3}); for (double v : {1e300, -0.5, 2.0}) t->add_double_data(v); }
  // f16 bit patterns: 1.0 = 0x3C00, -2.0 = 0xC000.
  { auto* t = init("f16", TP::FLOAT16, {2}); t->add_int32_data(0x3C00); t->add_int32_data(0xC000); }
  { auto* t = init("i8", TP::INT8, {3}); for (int v : {-128, 0, 127}) t->add_int32_data(v); }
  { auto* t = init("u8", TP::UINT8, {2}); for (int v : {0, 255}) t->add_int32_data(v); }
  { auto* t = init("i16", TP::INT16, {2}); for (int v : {-32768, 32767}) t->add_int32_data(v); }
  { auto* t = init("i32", TP::INT32, {2}); for (int v : {-7, 1 << 30}) t->add_int32_data(v); }
  { auto* t = init("i64", TP::INT64, {2}); for (int64_t v : {int64_t(-1), int64_t(1) << 40}) t->add_int64_data(v); }
  { auto* t = init("b", TP::BOOL, {3}); for (int v : {1, 0, 1}) t->add_int32_data(v); }
  { init("scalar", TP::FLOAT, {})->add_float_data(42.f); }
  // raw_data (little endian) for the same values.
  auto raw = [&](const std::string& name, int dt, std::vector<int64_t> dims, const void* p, size_t n) {
    init(name, dt, dims)->set_raw_data(std::string(static_cast<const char*>(p), n));
  };
  const float rf[] = {1.5f, -2.f, 3.25f, 0.f};
  raw("f32_raw", TP::FLOAT, {2, 2}, rf, sizeof rf);
  const double rd[] = {1e300, -0.5, 2.0};
  raw("f64_raw", TP::DOUBLE, {3}, rd, sizeof rd);
  const uint16_t rh[] = {0x3C00, 0xC000};
  raw("f16_raw", TP::FLOAT16, {2}, rh, sizeof rh);
  const int8_t ri8[] = {-128, 0, 127};
  raw("i8_raw", TP::INT8, {3}, ri8, sizeof ri8);
  const uint8_t ru8[] = {0, 255};
  raw("u8_raw", TP::UINT8, {2}, ru8, sizeof ru8);
  const int16_t ri16[] = {-32768, 32767};
  raw("i16_raw", TP::INT16, {2}, ri16, sizeof ri16);
  const int32_t ri32[] = {-7, 1 << 30};
  raw("i32_raw", TP::INT32, {2}, ri32, sizeof ri32);
  const int64_t ri64[] = {-1, int64_t(1) << 40};
  raw("i64_raw", TP::INT64, {2}, ri64, sizeof ri64);
  const uint8_t rb[] = {1, 0, 1};
  raw("b_raw", TP::BOOL, {3}, rb, sizeof rb);
  raw("empty_raw", TP::FLOAT, {0, 3}, nullptr, 0);

  Graph gr = load_model(td, m);
  auto check = [&](const std::string& name, DType dt, Shape shape, const void* expect) {
    CAPTURE(name);
    for (const std::string& n : {name, name + "_raw"}) {
      const Tensor& t = constant_of(gr, n);
      CHECK(t.dtype() == dt);
      CHECK(t.shape() == shape);
      CHECK(std::memcmp(t.data(), expect, t.bytes()) == 0);
      CHECK(gr.find_value(n) >= 0);
    }
  };
  check("f32", DType::f32, {2, 2}, rf);
  check("f64", DType::f64, {3}, rd);
  check("f16", DType::f16, {2}, rh);
  check("i8", DType::i8, {3}, ri8);
  check("u8", DType::u8, {2}, ru8);
  check("i16", DType::i16, {2}, ri16);
  check("i32", DType::i32, {2}, ri32);
  check("i64", DType::i64, {2}, ri64);
  check("b", DType::boolean, {3}, rb);
  CHECK(constant_of(gr, "scalar").shape() == Shape{});
  CHECK(*constant_of(gr, "scalar").as<float>() == 42.f);
  CHECK(constant_of(gr, "empty_raw").shape() == Shape{0, 3});
  CHECK(gr.inputs.empty());
}

TEST_CASE("an initializer whose data does not match its dims is an error naming it") {
  TempDir td;
  for (bool raw : {false, true}) {
    onnx::ModelProto m = empty_model();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("conv1.weight");
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(2);
    t->add_dims(3);
    if (raw) t->set_raw_data(std::string(20, '\0'));  // 5 floats, 6 needed
    else for (int i = 0; i < 5; ++i) t->add_float_data(1.f);
    const std::string msg = error_of([&] { load_model(td, m); });
    CAPTURE(msg);
    CHECK(contains(msg, "m.onnx: initializer 'conv1.weight'"));
    CHECK(contains(msg, raw ? "20 bytes" : "5 values"));
    CHECK(contains(msg, raw ? "needs 24" : "needs 6"));
  }
  // Negative dims.
  onnx::ModelProto m = empty_model();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(-2);
  CHECK(contains(error_of([&] { load_model(td, m); }), "negative dimension"));
}

TEST_CASE("external data is read from the model's folder; escaping paths are rejected") {
  TempDir td;
  // weights.bin: 8 junk bytes, then 6 floats 0..5, then junk.
  std::string bin(8, 'x');
  float vals[6] = {0, 1, 2, 3, 4, 5};
  bin.append(reinterpret_cast<const char*>(vals), sizeof vals);
  bin.append("tail");
  fs::create_directories(td.dir / "data");
  write_bytes(td.path("data/weights.bin"), bin);
  auto model_with = [&](const std::string& location, const std::string& offset, const std::string& length) {
    onnx::ModelProto m = empty_model();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("w");
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(2);
    t->add_dims(3);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* k, const std::string& v) {
      if (v.empty()) return;
      auto* e = t->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    add("offset", offset);
    add("length", length);
    return m;
  };

  Graph g = load_model(td, model_with("data/weights.bin", "8", "24"));
  const Tensor& w = constant_of(g, "w");
  REQUIRE(w.shape() == Shape{2, 3});
  for (int i = 0; i < 6; ++i) CHECK(w.as<float>()[i] == float(i));

  // Without length: the rest of the file from offset, which here is 4 bytes too long.
  CHECK(contains(error_of([&] { load_model(td, model_with("data/weights.bin", "8", "")); }), "28 bytes"));
  CHECK(contains(error_of([&] { load_model(td, model_with("data/weights.bin", "8", "100")); }), "too few"));
  CHECK(contains(error_of([&] { load_model(td, model_with("data/missing.bin", "", "")); }), "cannot open external"));
  CHECK(contains(error_of([&] { load_model(td, model_with("data/weights.bin", "x", "")); }), "'offset'"));

  // Escapes: "..", an absolute path, a symlink pointing out of the folder.
  fs::create_directories(td.dir / "model");
  std::string msg = error_of([&] { load_model(td, model_with("../data/weights.bin", "8", "24"), "model/m.onnx"); });
  CHECK(contains(msg, "initializer 'w'"));
  CHECK(contains(msg, "escapes the model's folder"));
  msg = error_of([&] { load_model(td, model_with(td.path("data/weights.bin"), "8", "24"), "model/m.onnx"); });
  CHECK(contains(msg, "absolute path"));
  fs::create_symlink(td.dir / "data", td.dir / "model" / "link");
  msg = error_of([&] { load_model(td, model_with("link/weights.bin", "8", "24"), "model/m.onnx"); });
  CHECK(contains(msg, "resolves outside the model's folder"));

  CHECK(contains(error_of([&] { load_model(td, model_with("data", "", "")); }), "is not a regular file"));
  // From memory with a base folder given with a trailing slash.
  {
    const std::string b = serialize(model_with("data/weights.bin", "8", "24"));
    Graph gm = load_onnx_buffer(b.data(), b.size(), "mem.onnx", td.dir.string() + "/");
    CHECK(constant_of(gm, "w").as<float>()[5] == 5.f);
  }
  // From memory without a base folder, external data is refused.
  const std::string bytes = serialize(model_with("data/weights.bin", "8", "24"));
  msg = error_of([&] { load_onnx_buffer(bytes.data(), bytes.size(), "mem.onnx", ""); });
  CHECK(contains(msg, "mem.onnx: initializer 'w': external data"));
}

TEST_CASE("missing, empty, truncated and garbage files give an Error naming the file") {
  TempDir td;
  std::string msg = error_of([&] { load_onnx(td.path("nope.onnx")); });
  CHECK(contains(msg, td.path("nope.onnx") + ": cannot open file"));
  msg = error_of([&] { load_onnx(td.dir.string()); });
  CHECK(contains(msg, "is a directory"));

  write_bytes(td.path("empty.onnx"), "");
  CHECK(contains(error_of([&] { load_onnx(td.path("empty.onnx")); }), "empty.onnx: file is empty"));

  // A real model: conv weights in raw_data, one Relu.
  onnx::ModelProto m = empty_model();
  auto* g = m.mutable_graph();
  add_tensor_value(g->mutable_input(), "x", 1, {int64_t(1), int64_t(3), int64_t(8), int64_t(8)});
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(1);
  for (int64_t d : {4, 3, 3, 3}) w->add_dims(d);
  w->set_raw_data(std::string(4 * 3 * 3 * 3 * 4, '\1'));
  add_node(g, "Conv", {"x", "w"}, {"y"}, "conv");
  add_node(g, "Relu", {"y"}, {"z"}, "relu");
  add_tensor_value(g->mutable_output(), "z", 1, {});
  auto* meta = m.add_metadata_props();
  meta->set_key("labels");
  meta->set_value("a\nb");
  const std::string bytes = serialize(m);

  write_bytes(td.path("half.onnx"), bytes.substr(0, bytes.size() / 2));
  msg = error_of([&] { load_onnx(td.path("half.onnx")); });
  CHECK(msg == td.path("half.onnx") + ": not a valid ONNX model (protobuf parse failed; truncated?)");

  // Every prefix either loads (cut between top-level fields) or throws Error: never a crash.
  int errors = 0, loaded = 0;
  for (size_t n = 1; n < bytes.size(); ++n) {
    try {
      load_onnx_buffer(bytes.data(), n, "cut.onnx", "");
      ++loaded;
    } catch (const Error& e) {
      CHECK(contains(e.what(), "cut.onnx: "));
      ++errors;
    }
  }
  CHECK(errors > 0);
  CHECK(loaded + errors == int(bytes.size()) - 1);

  // Garbage: random bytes, and random flips of the real model.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::string junk = trial < 100 ? std::string(1 + rng() % 300, '\0') : bytes;
    if (trial < 100) for (char& c : junk) c = char(rng());
    else for (int k = 0; k < 4; ++k) junk[rng() % junk.size()] = char(rng());
    try {
      load_onnx_buffer(junk.data(), junk.size(), "junk.onnx", "");
    } catch (const Error& e) {
      CHECK(contains(e.what(), "junk.onnx: "));
    }
  }
  write_bytes(td.path("garbage.onnx"), "this is not a protobuf \xff\xff\xff\xff");
  msg = error_of([&] { load_onnx(td.path("garbage.onnx")); });
  CHECK(contains(msg, "garbage.onnx: not a valid ONNX model"));

  // A valid protobuf without a graph.
  onnx::ModelProto nograph;
  nograph.set_ir_version(8);
  write_bytes(td.path("nograph.onnx"), serialize(nograph));
  CHECK(contains(error_of([&] { load_onnx(td.path("nograph.onnx")); }), "(no graph)"));
}

TEST_CASE("opset imports: default domain 7..22 (ops checked to 17, see op_refusal), other domains kept") {
  TempDir td;
  for (int64_t v : {6, 23, 1}) {
    onnx::ModelProto m = empty_model(v);
    const std::string msg = error_of([&] { load_model(td, m); });
    CAPTURE(msg);
    CHECK(contains(msg, "default-domain opset " + std::to_string(v) + " is not supported"));
  }
  onnx::ModelProto m = empty_model(7);
  m.mutable_opset_import(0)->set_domain("ai.onnx");
  auto* ms = m.add_opset_import();
  ms->set_domain("com.microsoft");
  ms->set_version(1);
  Graph g = load_model(td, m);
  CHECK(g.opset() == 7);
  CHECK(g.opset("ai.onnx") == 7);
  CHECK(g.opset("com.microsoft") == 1);

  // No default-domain import while a node uses it.
  onnx::ModelProto none;
  none.set_ir_version(3);
  add_tensor_value(none.mutable_graph()->mutable_input(), "x", 1, {int64_t(1)});
  add_node(none.mutable_graph(), "Relu", {"x"}, {"y"});
  CHECK(contains(error_of([&] { load_model(td, none); }), "no opset_import for the default ONNX domain"));
}

TEST_CASE("inputs, outputs, value_info, nodes, attributes and metadata are imported") {
  TempDir td;
  onnx::ModelProto m = empty_model(13);
  m.set_producer_name("pytorch");
  auto* meta = m.add_metadata_props();
  meta->set_key("labels");
  meta->set_value("cat\ndog");
  auto* g = m.mutable_graph();
  add_tensor_value(g->mutable_input(), "x", 1, {std::string("N"), int64_t(3), int64_t(4), int64_t(4)});
  add_tensor_value(g->mutable_input(), "noshape", 7, {}, /*with_shape=*/false);
  // "w" is also an initializer.
  add_tensor_value(g->mutable_input(), "w", 1, {int64_t(2), int64_t(3), int64_t(1), int64_t(1)});
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(1);
  for (int64_t d : {2, 3, 1, 1}) w->add_dims(d);
  for (int i = 0; i < 6; ++i) w->add_float_data(float(i));

  auto* conv = add_node(g, "Conv", {"x", "w", ""}, {"y"}, "");  // unnamed, absent bias
  using AP = onnx::AttributeProto;
  auto attr = [](onnx::NodeProto* n, const char* name, AP::AttributeType t) {
    AP* a = n->add_attribute();
    a->set_name(name);
    a->set_type(t);
    return a;
  };
  attr(conv, "alpha", AP::FLOAT)->set_f(0.25f);
  attr(conv, "group", AP::INT)->set_i(1);
  attr(conv, "auto_pad", AP::STRING)->set_s("SAME_UPPER");
  { auto* a = attr(conv, "strides", AP::INTS); a->add_ints(1); a->add_ints(1); }
  { auto* a = attr(conv, "scales", AP::FLOATS); a->add_floats(0.5f); a->add_floats(2.f); }
  { auto* a = attr(conv, "names", AP::STRINGS); a->add_strings("p"); a->add_strings("q"); }
  {
    auto* a = attr(conv, "value", AP::TENSOR);
    a->mutable_t()->set_data_type(7);
    a->mutable_t()->add_dims(2);
    a->mutable_t()->add_int64_data(5);
    a->mutable_t()->add_int64_data(-6);
  }
  { auto* a = attr(conv, "body", AP::GRAPH); a->mutable_g()->set_name("sub"); }
  { auto* a = conv->add_attribute(); a->set_name("legacy"); a->set_i(9); }  // type left unset (old exporters)
  auto* drop = add_node(g, "Dropout", {"y"}, {"d", ""}, "drop");
  drop->set_domain("ai.onnx");
  add_tensor_value(g->mutable_value_info(), "y", 1, {std::string("N"), int64_t(2), int64_t(4), int64_t(4)});
  add_tensor_value(g->mutable_output(), "d", 1, {std::string("N"), int64_t(2), int64_t(4), int64_t(4)});

  const std::string path = td.path("full.onnx");
  write_bytes(path, serialize(m));
  Graph gr = load_onnx(path);
  CHECK(gr.path == path);
  CHECK(gr.producer == "pytorch");
  CHECK(gr.metadata.at("labels") == "cat\ndog");

  // Graph inputs: "w" is an initializer, so a constant and not an input.
  REQUIRE(gr.inputs.size() == 2);
  const Value& x = gr.values[gr.inputs[0]];
  CHECK(x.name == "x");
  CHECK(x.dtype == DType::f32);
  REQUIRE(x.has_shape);
  REQUIRE(x.dims.size() == 4);
  CHECK(x.dims[0].symbol == "N");
  CHECK(!x.dims[0].known());
  CHECK(x.dims[1].value == 3);
  CHECK(!x.shape_known());
  const Value& ns = gr.values[gr.inputs[1]];
  CHECK(ns.dtype == DType::i64);
  CHECK(!ns.has_shape);
  CHECK(constant_of(gr, "w").as<float>()[5] == 5.f);

  REQUIRE(gr.nodes.size() == 2);
  const Node& c = gr.nodes[0];
  CHECK(c.name == "Conv_0");
  CHECK(c.op_type == "Conv");
  CHECK(c.domain == "");
  REQUIRE(c.inputs.size() == 3);
  CHECK(c.inputs[0] == gr.find_value("x"));
  CHECK(c.inputs[1] == gr.find_value("w"));
  CHECK(c.inputs[2] == -1);
  CHECK(c.num_inputs() == 2);
  CHECK(c.attr_f("alpha", 0) == 0.25f);
  CHECK(c.attr_i("group", 0) == 1);
  CHECK(c.attr_s("auto_pad", "") == "SAME_UPPER");
  CHECK(c.attr_ints("strides") == std::vector<int64_t>{1, 1});
  CHECK(c.attr_floats("scales") == std::vector<float>{0.5f, 2.f});
  CHECK(c.attrs.at("names").strings == std::vector<std::string>{"p", "q"});
  REQUIRE(c.attrs.at("value").kind == Attribute::Kind::t);
  CHECK(c.attrs.at("value").t->dtype() == DType::i64);
  CHECK(c.attrs.at("value").t->as<int64_t>()[1] == -6);
  CHECK(c.attrs.at("body").kind == Attribute::Kind::graph);
  CHECK(c.attrs.at("legacy").kind == Attribute::Kind::i);
  CHECK(c.attr_i("legacy", 0) == 9);

  const Node& d = gr.nodes[1];
  CHECK(d.name == "drop");
  CHECK(d.domain == "");
  REQUIRE(d.outputs.size() == 2);
  CHECK(d.outputs[1] == -1);
  CHECK(gr.values[d.inputs[0]].producer == 0);
  // value_info of an intermediate value.
  const Value& y = gr.values[gr.find_value("y")];
  CHECK(y.dtype == DType::f32);
  REQUIRE(y.dims.size() == 4);
  CHECK(y.dims[1].value == 2);
  REQUIRE(gr.outputs.size() == 1);
  CHECK(gr.values[gr.outputs[0]].name == "d");
  CHECK(gr.values[gr.outputs[0]].producer == 1);
  CHECK(gr.topo_order() == std::vector<int>{0, 1});
}

TEST_CASE("nodes out of file order still resolve; dangling inputs and duplicate outputs are errors") {
  TempDir td;
  {
    onnx::ModelProto m = empty_model();
    auto* g = m.mutable_graph();
    add_tensor_value(g->mutable_input(), "x", 1, {int64_t(2)});
    add_node(g, "Relu", {"a"}, {"b"}, "second");
    add_node(g, "Relu", {"x"}, {"a"}, "first");
    add_tensor_value(g->mutable_output(), "b", 1, {int64_t(2)});
    Graph gr = load_model(td, m);
    CHECK(gr.topo_order() == std::vector<int>{1, 0});
  }
  {
    onnx::ModelProto m = empty_model();
    auto* g = m.mutable_graph();
    add_tensor_value(g->mutable_input(), "x", 1, {int64_t(2)});
    add_node(g, "Add", {"x", "bias"}, {"y"}, "add1");
    add_tensor_value(g->mutable_output(), "y", 1, {int64_t(2)});
    const std::string msg = error_of([&] { load_model(td, m); });
    CHECK(msg == td.path("m.onnx") +
                     ": node 'add1' (Add): input 'bias' is not a graph input, an initializer or an output of any node");
  }
  {
    onnx::ModelProto m = empty_model();
    auto* g = m.mutable_graph();
    add_tensor_value(g->mutable_input(), "x", 1, {int64_t(2)});
    add_node(g, "Relu", {"x"}, {"y"}, "r1");
    add_node(g, "Sigmoid", {"x"}, {"y"}, "s1");
    add_tensor_value(g->mutable_output(), "y", 1, {int64_t(2)});
    const std::string msg = error_of([&] { load_model(td, m); });
    CHECK(contains(msg, "node 's1' (Sigmoid): output 'y' is already defined by node 'r1'"));
  }
  {
    onnx::ModelProto m = empty_model();
    auto* g = m.mutable_graph();
    add_tensor_value(g->mutable_input(), "x", 1, {int64_t(2)});
    add_node(g, "Relu", {"x"}, {"x"}, "r1");
    CHECK(contains(error_of([&] { load_model(td, m); }), "output 'x' is already defined by a graph input"));
  }
  {
    onnx::ModelProto m = empty_model();
    auto* g = m.mutable_graph();
    add_tensor_value(g->mutable_input(), "x", 1, {int64_t(2)});
    add_tensor_value(g->mutable_output(), "nothing", 1, {int64_t(2)});
    CHECK(contains(error_of([&] { load_model(td, m); }), "graph output 'nothing' is not produced"));
  }
  {
    // Sequence-typed graph input: valid ONNX, not supported.
    onnx::ModelProto m = empty_model();
    auto* vi = m.mutable_graph()->add_input();
    vi->set_name("seq");
    vi->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(1);
    try {
      load_model(td, m);
      FAIL("no error");
    } catch (const Unsupported& e) {
      CHECK(contains(e.what(), "value 'seq' is not a tensor"));
    }
  }
}

TEST_CASE("read_tensor_pb / write_tensor_pb round trip and errors") {
  TempDir td;
  Tensor t(DType::f32, {2, 3});
  for (int i = 0; i < 6; ++i) t.as<float>()[i] = float(i) * 0.5f - 1.f;
  write_tensor_pb(td.path("t.pb"), t.view(), "input_0");
  std::string name;
  Tensor r = read_tensor_pb(td.path("t.pb"), &name);
  CHECK(name == "input_0");
  CHECK(r.dtype() == DType::f32);
  CHECK(r.shape() == Shape{2, 3});
  CHECK(std::memcmp(r.data(), t.data(), t.bytes()) == 0);

  // nhwc views are written in logical NCHW order: element (n,c,h,w) at ((n*H + h)*W + w)*C + c in memory.
  Tensor phys(DType::i32, {1, 2, 2, 3});  // storage for N=1, C=3, H=2, W=2 in NHWC
  for (int i = 0; i < 12; ++i) phys.as<int32_t>()[i] = i;
  TensorView v{DType::i32, {1, 3, 2, 2}, Layout::nhwc, phys.data()};
  write_tensor_pb(td.path("nhwc.pb"), v, "y");
  Tensor back = read_tensor_pb(td.path("nhwc.pb"));
  REQUIRE(back.shape() == Shape{1, 3, 2, 2});
  for (int c = 0; c < 3; ++c)
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 2; ++w) CHECK(back.as<int32_t>()[(c * 2 + h) * 2 + w] == (h * 2 + w) * 3 + c);

  CHECK(contains(error_of([&] { read_tensor_pb(td.path("none.pb")); }), "none.pb: cannot open file"));
  write_bytes(td.path("bad.pb"), "\x0a\xff\xff\xff");
  CHECK(contains(error_of([&] { read_tensor_pb(td.path("bad.pb")); }), "bad.pb: not a valid TensorProto"));
  // A string tensor: valid but Unsupported.
  onnx::TensorProto sp;
  sp.set_data_type(onnx::TensorProto::STRING);
  sp.add_dims(1);
  sp.add_string_data("hi");
  write_bytes(td.path("s.pb"), sp.SerializeAsString());
  CHECK_THROWS_AS(read_tensor_pb(td.path("s.pb")), Unsupported);
  CHECK(contains(error_of([&] { write_tensor_pb(td.path("nodir/x.pb"), t.view(), "x"); }), "cannot create file"));
}

}  // TEST_SUITE
