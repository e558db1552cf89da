// Shape inference tests: one graph per case built directly in the IR, every output shape checked against the
// value worked out by hand from the ONNX spec; then a sweep over ONNX's own node test models.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "graph/onnx_import.h"
#include "graph/op_attrs.h"
#include "graph/shape_inference.h"
#include "graph/tensor_proto.h"

using namespace octet;
namespace fs = std::filesystem;

namespace {

Attribute ai(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i;
  a.i = v;
  return a;
}
Attribute af(float v) {
  Attribute a;
  a.kind = Attribute::Kind::f;
  a.f = v;
  return a;
}
Attribute as(const std::string& v) {
  Attribute a;
  a.kind = Attribute::Kind::s;
  a.s = v;
  return a;
}
Attribute aints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::ints;
  a.ints = std::move(v);
  return a;
}

// A graph under construction: inputs with concrete shapes, constants, one node at a time.
struct G {
  Graph g;
  explicit G(int64_t opset = 13) {
    g.path = "t.onnx";
    g.opsets[""] = opset;
  }
  int in(const std::string& name, Shape s, DType dt = DType::f32) {
    int id = g.add_value(name, dt);
    g.values[id].set_shape(s);
    g.inputs.push_back(id);
    return id;
  }
  int ints(const std::string& name, std::vector<int64_t> v, std::optional<Shape> s = std::nullopt) {
    auto t = std::make_shared<Tensor>(DType::i64, s ? *s : Shape{int64_t(v.size())});
    std::copy(v.begin(), v.end(), t->as<int64_t>());
    return g.add_constant(name, t);
  }
  int scalar(const std::string& name, float v) {
    auto t = std::make_shared<Tensor>(DType::f32, Shape{});
    *t->as<float>() = v;
    return g.add_constant(name, t);
  }
  // Adds node `op` reading value ids `ins` (-1 = absent) with `nout` outputs, and infers it.
  int node(const std::string& op, std::vector<int> ins, std::map<std::string, Attribute> attrs = {}, int nout = 1,
           const std::string& domain = "") {
    Node n;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.op_type = op;
    n.domain = domain;
    n.inputs = std::move(ins);
    n.attrs = std::move(attrs);
    for (int i = 0; i < nout; ++i) n.outputs.push_back(g.add_value(n.name + "_out" + std::to_string(i)));
    return g.add_node(std::move(n));
  }
  int run(const std::string& op, std::vector<int> ins, std::map<std::string, Attribute> attrs = {}, int nout = 1,
          const std::string& domain = "") {
    int id = node(op, std::move(ins), std::move(attrs), nout, domain);
    infer_node(g, id);
    return id;
  }
  const Value& out(int node, int i = 0) const { return g.values[g.nodes[node].outputs[i]]; }
  Shape shape(int node, int i = 0) const { return out(node, i).shape(); }
  int out_id(int node, int i = 0) const { return g.nodes[node].outputs[i]; }
  std::vector<int64_t> value_i64(int node) const {
    const Tensor* t = out(node).constant.get();
    REQUIRE(t);
    REQUIRE(t->dtype() == DType::i64);
    return std::vector<int64_t>(t->as<int64_t>(), t->as<int64_t>() + t->numel());
  }
};

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Unsupported& e) {
    return std::string("UNSUPPORTED: ") + e.what();
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

}  // namespace

TEST_SUITE("shape_inference") {

TEST_CASE("window_geometry: explicit pads, auto_pad SAME_UPPER/SAME_LOWER/VALID, dilations, ceil_mode") {
  G t;
  int x = t.in("x", {1, 1, 5, 5});
  auto geo = [&](std::map<std::string, Attribute> attrs, Shape xs = {1, 1, 5, 5}) {
    int id = t.node("MaxPool", {x}, std::move(attrs));
    return window_geometry(t.g, id, xs);
  };
  // SAME: out = ceil(5/2) = 3, total pad = (3-1)*2 + 2 - 5 = 1, the odd pixel at the end (UPPER) or begin (LOWER).
  auto su = geo({{"kernel_shape", aints({2, 2})}, {"strides", aints({2, 2})}, {"auto_pad", as("SAME_UPPER")}});
  CHECK(su.out == std::vector<int64_t>{3, 3});
  CHECK(su.pads_begin == std::vector<int64_t>{0, 0});
  CHECK(su.pads_end == std::vector<int64_t>{1, 1});
  auto sl = geo({{"kernel_shape", aints({2, 2})}, {"strides", aints({2, 2})}, {"auto_pad", as("SAME_LOWER")}});
  CHECK(sl.out == std::vector<int64_t>{3, 3});
  CHECK(sl.pads_begin == std::vector<int64_t>{1, 1});
  CHECK(sl.pads_end == std::vector<int64_t>{0, 0});
  // SAME with stride 1 and kernel 4: total 3 -> UPPER 1/2, LOWER 2/1.
  auto s4 = geo({{"kernel_shape", aints({4, 4})}, {"auto_pad", as("SAME_LOWER")}});
  CHECK(s4.out == std::vector<int64_t>{5, 5});
  CHECK(s4.pads_begin == std::vector<int64_t>{2, 2});
  CHECK(s4.pads_end == std::vector<int64_t>{1, 1});
  // VALID: floor((5 - 3) / 2) + 1 = 2.
  auto v = geo({{"kernel_shape", aints({3, 3})}, {"strides", aints({2, 2})}, {"auto_pad", as("VALID")}});
  CHECK(v.out == std::vector<int64_t>{2, 2});
  // Explicit asymmetric pads [top, left, bottom, right] = [1, 0, 2, 0]: H = (5+3-3)/1+1 = 6, W = 3.
  auto p = geo({{"kernel_shape", aints({3, 3})}, {"pads", aints({1, 0, 2, 0})}});
  CHECK(p.out == std::vector<int64_t>{6, 3});
  CHECK(p.pads_begin == std::vector<int64_t>{1, 0});
  CHECK(p.pads_end == std::vector<int64_t>{2, 0});
  // Dilation 2, kernel 2: extent 3 -> out 3.
  CHECK(geo({{"kernel_shape", aints({2, 2})}, {"dilations", aints({2, 2})}}).out == std::vector<int64_t>{3, 3});
  // ceil_mode on 6: floor((6-3)/2)+1 = 2, ceil -> 3.
  CHECK(geo({{"kernel_shape", aints({3, 3})}, {"strides", aints({2, 2})}}, {1, 1, 6, 6}).out ==
        std::vector<int64_t>{2, 2});
  auto cm = geo({{"kernel_shape", aints({3, 3})}, {"strides", aints({2, 2})}, {"ceil_mode", ai(1)}}, {1, 1, 6, 6});
  CHECK(cm.out == std::vector<int64_t>{3, 3});
  CHECK(cm.ceil_mode);
  // The last-window rule: in 5, k 2, s 3, pads 0/1: ceil(4/3)+1 = 3, but window 3 would start at 6 >= 5 + 0
  // (entirely in the end padding), so it is dropped: 2.
  CHECK(geo({{"kernel_shape", aints({2, 2})}, {"strides", aints({3, 3})}, {"pads", aints({0, 0, 1, 1})},
             {"ceil_mode", ai(1)}})
            .out == std::vector<int64_t>{2, 2});
  // Errors.
  CHECK(contains(error_of([&] { geo({{"kernel_shape", aints({2})}}); }), "'kernel_shape' has 1 values, expected 2"));
  CHECK(contains(error_of([&] { geo({{"kernel_shape", aints({2, 2})}, {"pads", aints({1, 1})}}); }),
                 "'pads' has 2 values, expected 4"));
  CHECK(contains(error_of([&] { geo({{"kernel_shape", aints({7, 7})}}); }), "output would be empty"));
  CHECK(contains(error_of([&] { geo({{"kernel_shape", aints({2, 2})}, {"auto_pad", as("SAME")}}); }),
                 "auto_pad 'SAME'"));
  CHECK(contains(error_of([&] { geo({{"kernel_shape", aints({2, 2})}, {"strides", aints({0, 1})}}); }),
                 "strides [0,1] must be positive"));
  CHECK(contains(error_of([&] { geo({}); }), "'kernel_shape' is required"));
}

TEST_CASE("normalize_axis and broadcast_shapes") {
  G t;
  int n = t.node("Relu", {t.in("x", {1})});
  CHECK(normalize_axis(t.g, n, -1, 4) == 3);
  CHECK(normalize_axis(t.g, n, 0, 4) == 0);
  CHECK(contains(error_of([&] { normalize_axis(t.g, n, 4, 4); }), "axis 4 is out of range for rank 4"));
  CHECK(contains(error_of([&] { normalize_axis(t.g, n, -5, 4); }), "axis -5 is out of range"));
  CHECK(broadcast_shapes(t.g, n, {2, 3, 4}, {3, 1}) == Shape{2, 3, 4});
  CHECK(broadcast_shapes(t.g, n, {4, 1, 5}, {3, 1}) == Shape{4, 3, 5});
  CHECK(broadcast_shapes(t.g, n, {}, {2, 2}) == Shape{2, 2});
  CHECK(broadcast_shapes(t.g, n, {0, 1}, {1, 3}) == Shape{0, 3});
  CHECK(contains(error_of([&] { broadcast_shapes(t.g, n, {2, 3}, {4, 3}); }), "shapes 2x3 and 4x3 do not broadcast"));
}

TEST_CASE("Conv 1-D and 2-D, groups, SAME padding, bias and channel errors") {
  G t;
  int x = t.in("x", {1, 3, 224, 224});
  int w = t.in("w", {64, 3, 7, 7});
  int c = t.run("Conv", {x, w}, {{"strides", aints({2, 2})}, {"pads", aints({3, 3, 3, 3})}});
  CHECK(t.shape(c) == Shape{1, 64, 112, 112});
  CHECK(t.out(c).dtype == DType::f32);
  // auto_pad SAME_UPPER, stride 2: ceil(224/2) = 112 whatever the kernel.
  c = t.run("Conv", {x, w}, {{"strides", aints({2, 2})}, {"auto_pad", as("SAME_UPPER")}});
  CHECK(t.shape(c) == Shape{1, 64, 112, 112});
  // kernel_shape attribute agreeing with W; bias of M.
  int b = t.in("b", {64});
  c = t.run("Conv", {x, w, b}, {{"kernel_shape", aints({7, 7})}});
  CHECK(t.shape(c) == Shape{1, 64, 218, 218});
  // 1-D with dilation 2: extent 5, 10 - 5 + 1 = 6.
  int x1 = t.in("x1", {2, 4, 10});
  int w1 = t.in("w1", {8, 4, 3});
  CHECK(t.shape(t.run("Conv", {x1, w1})) == Shape{2, 8, 8});
  CHECK(t.shape(t.run("Conv", {x1, w1}, {{"dilations", aints({2})}})) == Shape{2, 8, 6});
  // Depthwise: 32 groups of one channel.
  int xd = t.in("xd", {1, 32, 8, 8});
  int wd = t.in("wd", {32, 1, 3, 3});
  CHECK(t.shape(t.run("Conv", {xd, wd}, {{"group", ai(32)}, {"pads", aints({1, 1, 1, 1})}})) == Shape{1, 32, 8, 8});

  int wbad = t.in("wbad", {16, 64, 3, 3});
  CHECK(error_of([&] { t.run("Conv", {x, wbad}); }) ==
        "t.onnx: node 'Conv_6' (Conv): weight 'wbad' has 64 input channels, input 'x' has 3 (group 1)");
  CHECK(contains(error_of([&] { t.run("Conv", {xd, wd}, {{"group", ai(2)}}); }),
                 "weight 'wd' has 2 input channels (1 per group), input 'xd' has 32 (group 2)"));
  CHECK(contains(error_of([&] { t.run("Conv", {x, w, t.in("b2", {32})}); }),
                 "bias 'b2' has shape 32, expected 64 (one per output channel)"));
  CHECK(contains(error_of([&] { t.run("Conv", {t.in("x3", {3, 224, 224}), w}); }),
                 "input 'x3' has rank 3, expected 4 (weight 'w' is 64x3x7x7)"));
  CHECK(contains(error_of([&] { t.run("Conv", {x, w}, {{"kernel_shape", aints({3, 3})}}); }),
                 "does not match the weight shape"));
  // Unknown shapes are reported, not dereferenced.
  int sym = t.g.add_value("sym", DType::f32);
  t.g.values[sym].has_shape = true;
  t.g.values[sym].dims = {Dim{-1, "N"}, Dim{3, ""}, Dim{8, ""}, Dim{8, ""}};
  CHECK(contains(error_of([&] { t.run("Conv", {sym, w}); }), "input 'sym' has symbolic dimensions"));
}

TEST_CASE("BatchNormalization: inference form only") {
  G t(15);
  int x = t.in("x", {2, 4, 5, 5});
  int s = t.in("s", {4}), b = t.in("b", {4}), m = t.in("m", {4}), v = t.in("v", {4});
  CHECK(t.shape(t.run("BatchNormalization", {x, s, b, m, v}, {{"epsilon", af(1e-5f)}})) == Shape{2, 4, 5, 5});
  CHECK(contains(error_of([&] { t.run("BatchNormalization", {x, s, b, m, v}, {{"training_mode", ai(1)}}); }),
                 "UNSUPPORTED: t.onnx: node 'BatchNormalization_1' (BatchNormalization): training_mode = 1"));
  CHECK(contains(error_of([&] { t.run("BatchNormalization", {x, s, b, m, v}, {}, 3); }), "UNSUPPORTED"));
  CHECK(contains(error_of([&] { t.run("BatchNormalization", {x, t.in("s3", {3}), b, m, v}); }),
                 "scale 's3' has shape 3, expected 4 (one per channel)"));
  CHECK(contains(error_of([&] { t.run("BatchNormalization", {x, s, b, m}); }), "has 4 inputs, expected 5"));
}

TEST_CASE("element-wise: Relu, Sigmoid, LeakyRelu, Clip (both opset styles), Add/Sub/Mul/Div broadcasting") {
  G t(13);
  int x = t.in("x", {2, 3, 4});
  for (const char* op : {"Relu", "Sigmoid", "LeakyRelu"}) {
    int n = t.run(op, {x});
    CHECK(t.shape(n) == Shape{2, 3, 4});
    CHECK(t.out(n).dtype == DType::f32);
  }
  // Clip from opset 11: optional scalar inputs.
  CHECK(t.shape(t.run("Clip", {x, t.scalar("lo", 0.f), t.scalar("hi", 6.f)})) == Shape{2, 3, 4});
  CHECK(t.shape(t.run("Clip", {x, -1, t.scalar("hi2", 6.f)})) == Shape{2, 3, 4});
  CHECK(contains(error_of([&] { t.run("Clip", {x, t.in("lo3", {3})}); }),
                 "input 'lo3' has shape 3, expected a scalar"));
  G o(6);
  int xo = o.in("x", {1, 8});
  CHECK(o.shape(o.run("Clip", {xo}, {{"min", af(0)}, {"max", af(6)}})) == Shape{1, 8});
  CHECK(contains(error_of([&] { o.run("Clip", {xo, o.scalar("lo", 0.f)}); }), "has 2 inputs, expected 1"));

  int y = t.in("y", {3, 1});
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) CHECK(t.shape(t.run(op, {x, y})) == Shape{2, 3, 4});
  CHECK(t.shape(t.run("Add", {t.in("a", {4, 1, 5}), y})) == Shape{4, 3, 5});
  CHECK(t.shape(t.run("Mul", {x, t.scalar("k", 2.f)})) == Shape{2, 3, 4});
  CHECK(contains(error_of([&] { t.run("Add", {t.in("p", {2, 3}), t.in("q", {4, 3})}); }),
                 "shapes 2x3 and 4x3 do not broadcast"));
  CHECK(contains(error_of([&] { t.run("Add", {x, t.in("i", {1}, DType::i64)}); }),
                 "input 'i' has type int64, expected float32 like input 'x'"));
  // Integer inputs are inferred the same (the kernel factory decides what runs).
  int xi = t.in("xi", {5}, DType::i32);
  CHECK(t.out(t.run("Add", {xi, xi})).dtype == DType::i32);
}

TEST_CASE("pooling: MaxPool (ceil_mode, dilations, auto_pad, Indices), AveragePool, GlobalAveragePool") {
  G t(12);
  int x = t.in("x", {1, 64, 112, 112});
  CHECK(t.shape(t.run("MaxPool", {x}, {{"kernel_shape", aints({3, 3})}, {"strides", aints({2, 2})},
                                        {"pads", aints({1, 1, 1, 1})}})) == Shape{1, 64, 56, 56});
  int x6 = t.in("x6", {1, 2, 6, 6});
  CHECK(t.shape(t.run("MaxPool", {x6}, {{"kernel_shape", aints({3, 3})}, {"strides", aints({2, 2})},
                                         {"ceil_mode", ai(1)}})) == Shape{1, 2, 3, 3});
  CHECK(t.shape(t.run("MaxPool", {x6}, {{"kernel_shape", aints({2, 2})}, {"dilations", aints({2, 2})}})) ==
        Shape{1, 2, 4, 4});
  CHECK(t.shape(t.run("MaxPool", {x6}, {{"kernel_shape", aints({3, 3})}, {"strides", aints({4, 4})},
                                         {"auto_pad", as("SAME_LOWER")}})) == Shape{1, 2, 2, 2});
  CHECK(t.shape(t.run("MaxPool", {t.in("x1", {1, 3, 9})}, {{"kernel_shape", aints({2})}, {"strides", aints({2})}})) ==
        Shape{1, 3, 4});
  // MaxPool's Indices output: int64, Y's shape.
  const int mi = t.run("MaxPool", {x6}, {{"kernel_shape", aints({2, 2})}}, 2);
  CHECK(t.out(mi, 1).dtype == DType::i64);
  CHECK(t.out(mi, 1).shape() == Shape{1, 2, 5, 5});
  // int8 / uint8 inputs (opset 12) keep their type.
  CHECK(t.out(t.run("MaxPool", {t.in("q", {1, 1, 4, 4}, DType::u8)}, {{"kernel_shape", aints({2, 2})}})).dtype ==
        DType::u8);

  // AveragePool: pads counted or not only changes values, not shapes.
  int a = t.run("AveragePool", {x6}, {{"kernel_shape", aints({3, 3})}, {"pads", aints({1, 1, 1, 1})},
                                      {"count_include_pad", ai(1)}});
  CHECK(t.shape(a) == Shape{1, 2, 6, 6});
  CHECK(window_geometry(t.g, a, {1, 2, 6, 6}).count_include_pad);
  CHECK(t.shape(t.run("AveragePool", {x6}, {{"kernel_shape", aints({2, 2})}, {"strides", aints({2, 2})},
                                             {"pads", aints({1, 1, 1, 1})}, {"ceil_mode", ai(1)}})) ==
        Shape{1, 2, 4, 4});
  CHECK(t.shape(t.run("AveragePool", {x6}, {{"kernel_shape", aints({5, 5})}, {"auto_pad", as("VALID")}})) ==
        Shape{1, 2, 2, 2});

  CHECK(t.shape(t.run("GlobalAveragePool", {t.in("f", {2, 512, 7, 7})})) == Shape{2, 512, 1, 1});
  CHECK(t.shape(t.run("GlobalAveragePool", {t.in("f1", {2, 8, 7})})) == Shape{2, 8, 1});
  CHECK(contains(error_of([&] { t.run("GlobalAveragePool", {t.in("f2", {2, 8})}); }),
                 "has rank 2, expected 3 or more"));
}

TEST_CASE("Flatten, Reshape (0, -1, allowzero), Transpose, Concat") {
  G t(14);
  int x = t.in("x", {2, 3, 4, 5});
  CHECK(t.shape(t.run("Flatten", {x})) == Shape{2, 60});
  CHECK(t.shape(t.run("Flatten", {x}, {{"axis", ai(0)}})) == Shape{1, 120});
  CHECK(t.shape(t.run("Flatten", {x}, {{"axis", ai(2)}})) == Shape{6, 20});
  CHECK(t.shape(t.run("Flatten", {x}, {{"axis", ai(-1)}})) == Shape{24, 5});
  CHECK(t.shape(t.run("Flatten", {x}, {{"axis", ai(4)}})) == Shape{120, 1});
  CHECK(contains(error_of([&] { t.run("Flatten", {x}, {{"axis", ai(5)}}); }), "axis 5 is out of range for rank 4"));

  auto reshape = [&](std::vector<int64_t> spec, std::map<std::string, Attribute> attrs = {}) {
    return t.shape(t.run("Reshape", {x, t.ints("s" + std::to_string(t.g.values.size()), spec)}, attrs));
  };
  CHECK(reshape({0, -1}) == Shape{2, 60});
  CHECK(reshape({-1}) == Shape{120});
  CHECK(reshape({0, 0, -1, 1}) == Shape{2, 3, 20, 1});
  CHECK(reshape({-1, 4, 5}) == Shape{6, 4, 5});
  CHECK(reshape({2, 3, 20}, {{"allowzero", ai(1)}}) == Shape{2, 3, 20});
  CHECK(contains(error_of([&] { reshape({0, -1}, {{"allowzero", ai(1)}}); }), "has both 0 and -1 with allowzero"));
  CHECK(contains(error_of([&] { reshape({0, 24}, {{"allowzero", ai(1)}}); }), "cannot reshape 2x3x4x5 (120 elements)"));
  CHECK(contains(error_of([&] { reshape({-1, -1}); }), "more than one -1"));
  CHECK(contains(error_of([&] { reshape({7, -1}); }), "cannot reshape 2x3x4x5 (120 elements) to [7,-1]"));
  CHECK(contains(error_of([&] { reshape({0, 0, 0, 0, 0}); }), "copies dim 4 (0) but the input 2x3x4x5 has rank 4"));
  // allowzero makes 0 a real size: an empty tensor reshaped to 0x7.
  G z(14);
  int e = z.in("e", {0, 3});
  CHECK(z.shape(z.run("Reshape", {e, z.ints("s", {0, 7})}, {{"allowzero", ai(1)}})) == Shape{0, 7});
  CHECK(z.shape(z.run("Reshape", {e, z.ints("s2", {0, 7})})) == Shape{0, 7});  // 0 copies dim 0 = 0
  // A shape computed at run time is Unsupported.
  CHECK(contains(error_of([&] { t.run("Reshape", {x, t.in("dyn", {2}, DType::i64)}); }),
                 "UNSUPPORTED: t.onnx: node 'Reshape_16' (Reshape): the 'shape' input (dyn) must be a constant"));

  CHECK(t.shape(t.run("Transpose", {x})) == Shape{5, 4, 3, 2});
  CHECK(t.shape(t.run("Transpose", {x}, {{"perm", aints({0, 2, 3, 1})}})) == Shape{2, 4, 5, 3});
  CHECK(contains(error_of([&] { t.run("Transpose", {x}, {{"perm", aints({0, 1, 1, 2})}}); }),
                 "perm [0,1,1,2] is not a permutation"));

  int y = t.in("y", {2, 7, 4, 5});
  CHECK(t.shape(t.run("Concat", {x, y, x}, {{"axis", ai(1)}})) == Shape{2, 13, 4, 5});
  CHECK(t.shape(t.run("Concat", {x, x}, {{"axis", ai(-1)}})) == Shape{2, 3, 4, 10});
  CHECK(contains(error_of([&] { t.run("Concat", {x, y}, {{"axis", ai(0)}}); }),
                 "input 'y' has shape 2x7x4x5, which differs from input 'x' (2x3x4x5) outside axis 0"));
  CHECK(contains(error_of([&] { t.run("Concat", {x, t.in("r3", {2, 3, 4})}, {{"axis", ai(0)}}); }),
                 "input 'r3' has rank 3, expected 4"));
  CHECK(contains(error_of([&] { t.run("Concat", {x, y}); }), "attribute 'axis' is required"));
}

TEST_CASE("Gemm (transA/transB, C broadcast) and MatMul (batch broadcast, 1-D operands)") {
  G t(13);
  int a = t.in("a", {4, 3}), b = t.in("b", {3, 5});
  CHECK(t.shape(t.run("Gemm", {a, b})) == Shape{4, 5});
  CHECK(t.shape(t.run("Gemm", {t.in("at", {3, 4}), b}, {{"transA", ai(1)}})) == Shape{4, 5});
  CHECK(t.shape(t.run("Gemm", {a, t.in("bt", {5, 3})}, {{"transB", ai(1)}})) == Shape{4, 5});
  CHECK(t.shape(t.run("Gemm", {t.in("at2", {3, 4}), t.in("bt2", {5, 3})}, {{"transA", ai(1)}, {"transB", ai(1)}})) ==
        Shape{4, 5});
  for (Shape cs : {Shape{5}, Shape{1, 5}, Shape{4, 1}, Shape{4, 5}, Shape{}})
    CHECK(t.shape(t.run("Gemm", {a, b, t.in("c" + shape_str(cs), cs)})) == Shape{4, 5});
  CHECK(contains(error_of([&] { t.run("Gemm", {a, b, t.in("cbad", {3, 5})}); }),
                 "input 'cbad' has shape 3x5, which does not broadcast to 4x5"));
  CHECK(contains(error_of([&] { t.run("Gemm", {a, a}); }), "do not multiply: K = 3 vs 4"));
  CHECK(contains(error_of([&] { t.run("Gemm", {t.in("a3", {1, 4, 3}), b}); }), "input 'a3' has rank 3, expected 2"));

  CHECK(t.shape(t.run("MatMul", {t.in("m1", {2, 3, 4}), t.in("m2", {4, 5})})) == Shape{2, 3, 5});
  CHECK(t.shape(t.run("MatMul", {t.in("v4", {4}), t.in("w4", {4})})) == Shape{});
  CHECK(t.shape(t.run("MatMul", {t.in("v4b", {4}), t.in("m45", {4, 5})})) == Shape{5});
  CHECK(t.shape(t.run("MatMul", {t.in("m234", {2, 3, 4}), t.in("v4c", {4})})) == Shape{2, 3});
  CHECK(t.shape(t.run("MatMul", {t.in("b1", {2, 1, 3, 4}), t.in("b2", {5, 4, 6})})) == Shape{2, 5, 3, 6});
  CHECK(t.shape(t.run("MatMul", {t.in("v3", {3}), t.in("b3", {7, 3, 2})})) == Shape{7, 2});
  CHECK(contains(error_of([&] { t.run("MatMul", {t.in("k1", {2, 3}), t.in("k2", {4, 5})}); }),
                 "do not multiply: K = 3 vs 4"));
  CHECK(contains(error_of([&] { t.run("MatMul", {t.in("k3", {2, 2, 3}), t.in("k4", {3, 3, 5})}); }),
                 "do not broadcast"));
}

TEST_CASE("Softmax axis defaults before and from opset 13; Identity; Dropout") {
  G old(11);
  int x = old.in("x", {2, 3, 4});
  CHECK(old.shape(old.run("Softmax", {x})) == Shape{2, 3, 4});  // axis 1: coerced to 2x12, shape unchanged
  CHECK(old.shape(old.run("Softmax", {x}, {{"axis", ai(-1)}})) == Shape{2, 3, 4});
  CHECK(contains(error_of([&] { old.run("Softmax", {x}, {{"axis", ai(3)}}); }), "axis 3 is out of range for rank 3"));
  // Default axis 1 needs rank >= 2 before 13; from 13 the default -1 works on a vector.
  CHECK(contains(error_of([&] { old.run("Softmax", {old.in("v", {5})}); }), "axis 1 is out of range for rank 1"));
  G n(13);
  CHECK(n.shape(n.run("Softmax", {n.in("v", {5})})) == Shape{5});
  CHECK(n.shape(n.run("Softmax", {n.in("x", {2, 3, 4})}, {{"axis", ai(1)}})) == Shape{2, 3, 4});

  CHECK(n.shape(n.run("Identity", {n.in("i", {7, 1})})) == Shape{7, 1});
  int d = n.run("Dropout", {n.in("d", {3, 4})}, {}, 2);
  CHECK(n.shape(d) == Shape{3, 4});
  CHECK(n.shape(d, 1) == Shape{3, 4});
  CHECK(n.out(d, 1).dtype == DType::boolean);
  int d2 = n.run("Dropout", {n.in("d2", {3}), n.scalar("ratio", 0.5f)});
  CHECK(n.shape(d2) == Shape{3});
  auto yes = std::make_shared<Tensor>(DType::boolean, Shape{});
  *yes->as<uint8_t>() = 1;
  int train = n.g.add_constant("train", yes);
  CHECK(contains(error_of([&] { n.run("Dropout", {n.in("d3", {3}), -1, train}); }),
                 "UNSUPPORTED: t.onnx: node 'Dropout_5' (Dropout): training_mode = true"));
  CHECK(n.shape(n.run("Dropout", {n.in("d4", {3}), n.scalar("zero", 0.f), train})) == Shape{3});  // ratio 0: y = x
  G nine(9);
  int d9 = nine.run("Dropout", {nine.in("x", {2, 2})}, {{"ratio", af(0.1f)}}, 2);
  CHECK(nine.out(d9, 1).dtype == DType::f32);  // mask of type T before opset 10
}

TEST_CASE("Constant, Shape (start/end), Gather (axes, negative indices)") {
  G t(15);
  Attribute tv;
  tv.kind = Attribute::Kind::t;
  auto tt = std::make_shared<Tensor>(DType::f32, Shape{2, 2});
  tt->as<float>()[3] = 9.f;
  tv.t = tt;
  int c = t.run("Constant", {}, {{"value", tv}});
  CHECK(t.shape(c) == Shape{2, 2});
  REQUIRE(t.out(c).constant);
  CHECK(t.out(c).constant->as<float>()[3] == 9.f);
  CHECK(t.value_i64(t.run("Constant", {}, {{"value_ints", aints({4, -1})}})) == std::vector<int64_t>{4, -1});
  int cf = t.run("Constant", {}, {{"value_float", af(2.5f)}});
  CHECK(t.shape(cf) == Shape{});
  CHECK(*t.out(cf).constant->as<float>() == 2.5f);
  CHECK(t.value_i64(t.run("Constant", {}, {{"value_int", ai(-3)}})) == std::vector<int64_t>{-3});
  CHECK(contains(error_of([&] { t.run("Constant", {}, {{"value_int", ai(1)}, {"value_float", af(1)}}); }),
                 "exactly one value attribute is required, got 2"));

  int x = t.in("x", {2, 3, 4, 5});
  int s = t.run("Shape", {x});
  CHECK(t.shape(s) == Shape{4});
  CHECK(t.out(s).dtype == DType::i64);
  CHECK(t.value_i64(s) == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(t.value_i64(t.run("Shape", {x}, {{"start", ai(1)}, {"end", ai(-1)}})) == std::vector<int64_t>{3, 4});
  CHECK(t.value_i64(t.run("Shape", {x}, {{"start", ai(-10)}, {"end", ai(2)}})) == std::vector<int64_t>{2, 3});
  CHECK(t.shape(t.run("Shape", {x}, {{"start", ai(3)}, {"end", ai(1)}})) == Shape{0});
  G s13(13);  // start/end are ignored before opset 15
  CHECK(s13.value_i64(s13.run("Shape", {s13.in("x", {2, 3})}, {{"start", ai(1)}})) == std::vector<int64_t>{2, 3});

  int data = t.in("data", {5, 4, 3});
  int idx = t.in("idx", {2, 2}, DType::i64);
  CHECK(t.shape(t.run("Gather", {data, idx}, {{"axis", ai(1)}})) == Shape{5, 2, 2, 3});
  CHECK(t.shape(t.run("Gather", {data, idx})) == Shape{2, 2, 4, 3});
  CHECK(t.shape(t.run("Gather", {data, idx}, {{"axis", ai(-1)}})) == Shape{5, 4, 2, 2});
  CHECK(t.shape(t.run("Gather", {data, t.ints("i0", {-1}, Shape{})})) == Shape{4, 3});  // scalar index drops the axis
  CHECK(contains(error_of([&] { t.run("Gather", {data, t.ints("i5", {5})}); }),
                 "index 5 is out of range for axis 0 of size 5"));
  CHECK(contains(error_of([&] { t.run("Gather", {data, t.ints("i6", {-6})}); }), "index -6 is out of range"));
  CHECK(contains(error_of([&] { t.run("Gather", {data, idx}, {{"axis", ai(3)}}); }), "axis 3 is out of range"));
  // Gather over a constant shape is evaluated: Shape(x)[-1] = 5, Shape(x)[[0, 2]] = [2, 4].
  CHECK(t.value_i64(t.run("Gather", {t.out_id(s), t.ints("last", {-1}, Shape{})})) == std::vector<int64_t>{5});
  CHECK(t.value_i64(t.run("Gather", {t.out_id(s), t.ints("two", {0, 2})})) == std::vector<int64_t>{2, 4});
}

TEST_CASE("Unsqueeze / Squeeze with axes as attribute (opset 11) and as input (opset 13)") {
  G o(11);
  int x = o.in("x", {3, 4});
  CHECK(o.shape(o.run("Unsqueeze", {x}, {{"axes", aints({0, 3})}})) == Shape{1, 3, 4, 1});
  CHECK(o.shape(o.run("Unsqueeze", {x}, {{"axes", aints({-1})}})) == Shape{3, 4, 1});
  CHECK(contains(error_of([&] { o.run("Unsqueeze", {x}, {{"axes", aints({1, 1})}}); }), "name dimension 1 twice"));
  CHECK(contains(error_of([&] { o.run("Unsqueeze", {x}, {{"axes", aints({3})}}); }),
                 "axis 3 is out of range for rank 3"));
  int y = o.in("y", {1, 3, 1, 4});
  CHECK(o.shape(o.run("Squeeze", {y}, {{"axes", aints({0})}})) == Shape{3, 1, 4});
  CHECK(o.shape(o.run("Squeeze", {y})) == Shape{3, 4});
  CHECK(contains(error_of([&] { o.run("Squeeze", {y}, {{"axes", aints({1})}}); }),
                 "cannot squeeze axis 1 of input 'y' (shape 1x3x1x4): its size is 3, not 1"));

  G n(13);
  int a = n.in("a", {3, 4});
  CHECK(n.shape(n.run("Unsqueeze", {a, n.ints("ax", {-1, 0})})) == Shape{1, 3, 4, 1});
  CHECK(contains(error_of([&] { n.run("Unsqueeze", {a}); }), "axes are required"));
  CHECK(contains(error_of([&] { n.run("Unsqueeze", {a, n.in("dyn", {1}, DType::i64)}); }),
                 "UNSUPPORTED: t.onnx: node 'Unsqueeze_2' (Unsqueeze): the 'axes' input (dyn) must be a constant"));
  int b = n.in("b", {1, 3, 1, 4});
  CHECK(n.shape(n.run("Squeeze", {b, n.ints("sx", {2})})) == Shape{1, 3, 4});
  CHECK(n.shape(n.run("Squeeze", {b, n.ints("sx2", {-4, -2})})) == Shape{3, 4});
  CHECK(n.shape(n.run("Squeeze", {b})) == Shape{3, 4});
  CHECK(n.shape(n.run("Squeeze", {b, -1})) == Shape{3, 4});  // absent optional axes
}

TEST_CASE("shape computations exported as Shape -> Gather -> Unsqueeze -> Concat -> Reshape are evaluated") {
  // x.view(x.size(0), -1) as torch exports it with a dynamic batch.
  G t(13);
  int x = t.in("x", {2, 3, 4});
  int s = t.run("Shape", {x});
  int g = t.run("Gather", {t.out_id(s), t.ints("zero", {0}, Shape{})}, {{"axis", ai(0)}});
  CHECK(t.shape(g) == Shape{});
  int u = t.run("Unsqueeze", {t.out_id(g), t.ints("ax0", {0})});
  int mul = t.run("Mul", {t.out_id(u), t.ints("one", {1})});
  int cat = t.run("Concat", {t.out_id(mul), t.ints("minus1", {-1})}, {{"axis", ai(0)}});
  CHECK(t.value_i64(cat) == std::vector<int64_t>{2, -1});
  int r = t.run("Reshape", {x, t.out_id(cat)});
  CHECK(t.shape(r) == Shape{2, 12});
  CHECK(!t.out(r).constant);  // float data is never evaluated
  CHECK(t.value_i64(t.run("Div", {t.out_id(s), t.ints("two", {2})})) == std::vector<int64_t>{1, 1, 2});
  CHECK(!t.out(t.run("Div", {t.out_id(s), t.ints("z", {0})})).constant);  // division by zero is left to run time
}

TEST_CASE("Reorder (domain octet) keeps the logical shape; op_known and unknown_ops") {
  G t(13);
  int x = t.in("x", {1, 8, 4, 4});
  int r = t.run("Reorder", {x}, {}, 1, "octet");
  CHECK(t.shape(r) == Shape{1, 8, 4, 4});
  CHECK(t.out(r).dtype == DType::f32);

  for (const char* op : {"Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Add", "Sub", "Mul",
                         "Div", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Transpose",
                         "Concat", "Gemm", "MatMul", "Softmax", "Identity", "Dropout", "Constant", "Shape", "Gather",
                         "Unsqueeze", "Squeeze"})
    for (int64_t v : {7, 13, 17}) {
      CAPTURE(op);
      CHECK(op_known("", op, v) == !(std::string(op) == "Reshape" && v < 5));
      CHECK(op_known("ai.onnx", op, v));
      // Past the checked opsets an op runs while its definition is unchanged (AveragePool-19 added dilations).
      CHECK(op_known("", op, 18));
      CHECK(op_known("", op, 22) == (std::string(op) != "AveragePool"));
      CHECK(!op_known("", op, 23));
    }
  CHECK(op_refusal("", "AveragePool", 19) ==
        "AveragePool-19 (the model imports opset 19): dilations were added after opset 17, the newest octet "
        "implements");
  CHECK(op_refusal("", "AveragePool", 18) == "");
  CHECK(op_refusal("", "FancyOp", 19) == "FancyOp (opset 19)");
  CHECK(!op_known("", "Reshape", 4));
  CHECK(!op_known("", "RoiAlign", 16));
  CHECK(!op_known("com.microsoft", "Conv", 1));
  CHECK(op_known("octet", "Reorder", 0));

  t.node("RoiAlign", {x});
  t.node("FusedConv", {x}, {}, 1, "com.microsoft");
  const int dead = t.node("Einsum", {x});
  t.g.nodes[dead].dead = true;
  const auto unknown = unknown_ops(t.g);
  REQUIRE(unknown.size() == 2);
  CHECK(unknown[0] == "RoiAlign (opset 13) at node 'RoiAlign_1'");
  CHECK(unknown[1] == "com.microsoft.FusedConv (opset 0) at node 'FusedConv_2'");
  CHECK(contains(error_of([&] { infer_node(t.g, 1); }), "UNSUPPORTED: t.onnx: node 'RoiAlign_1' (RoiAlign): op RoiAlign"));
}

// Every ONNX backend node test whose ops are all known: load model.onnx, bind the input shapes from
// test_data_set_0/input_*.pb, infer every node and compare each graph output's dtype and shape with output_*.pb.
TEST_CASE("sweep: ONNX node test models infer the shapes of their reference outputs") {
  const fs::path root = "/usr/share/libonnx-testdata/data/node";
  if (!fs::exists(root)) {
    MESSAGE("libonnx-testdata not installed; sweep skipped");
    return;
  }
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root))
    if (fs::exists(e.path() / "model.onnx") && fs::exists(e.path() / "test_data_set_0")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  int total = 0, load_rejected = 0, unknown = 0, unsupported = 0, checked = 0, outputs_checked = 0;
  std::vector<std::string> failures;
  const bool verbose = std::getenv("OCTET_SWEEP_VERBOSE") != nullptr;  // lists every skipped case and why
  for (const fs::path& dir : cases) {
    ++total;
    const std::string name = dir.filename().string();
    Graph g;
    try {
      g = load_onnx((dir / "model.onnx").string());
    } catch (const Error& e) {
      ++load_rejected;  // opsets before 7, sequence types, string tensors
      if (verbose) std::cerr << "rejected " << e.what() << "\n";
      continue;
    }
    if (!unknown_ops(g).empty()) {
      ++unknown;
      continue;
    }
    try {
      const fs::path data = dir / "test_data_set_0";
      for (size_t i = 0; i < g.inputs.size(); ++i) {
        const fs::path pb = data / ("input_" + std::to_string(i) + ".pb");
        if (!fs::exists(pb)) throw Error(name + ": missing " + pb.string());
        const Tensor t = read_tensor_pb(pb.string());
        Value& v = g.values[g.inputs[i]];
        // numpy has no bfloat16: ONNX's test data stores bfloat16 tensors as uint16 with the same bits.
        const bool bf16_as_u16 = v.dtype == DType::bf16 && t.dtype() == DType::u16;
        if (v.dtype != t.dtype() && !bf16_as_u16)
          throw Error(name + ": input " + std::to_string(i) + " dtype differs from model");
        v.set_shape(t.shape());
        // Reshape's shape and (Un)Squeeze's axes arrive as int64 inputs in these tests; their data is known
        // when the model is compiled for them, so bind it as a constant the way a runner can.
        if (t.dtype() == DType::i64 && t.numel() <= 16)
          v.constant = std::make_shared<const Tensor>(read_tensor_pb(pb.string()));
      }
      for (int id : g.topo_order()) infer_node(g, id);
      for (size_t i = 0; i < g.outputs.size(); ++i) {
        const Tensor ref = read_tensor_pb((data / ("output_" + std::to_string(i) + ".pb")).string());
        const Value& v = g.values[g.outputs[i]];
        const bool same_type = v.dtype == ref.dtype() || (v.dtype == DType::bf16 && ref.dtype() == DType::u16);
        if (!same_type || !v.shape_known() || v.shape() != ref.shape())
          throw Error("output " + std::to_string(i) + " is " + dtype_name(v.dtype) + " " +
                      (v.shape_known() ? shape_str(v.shape()) : std::string("?")) + ", expected " +
                      dtype_name(ref.dtype()) + " " + shape_str(ref.shape()));
        ++outputs_checked;
      }
      ++checked;
    } catch (const Unsupported& e) {
      ++unsupported;
      if (verbose) std::cerr << "unsupported " << name << ": " << e.what() << "\n";
    } catch (const Error& e) {
      failures.push_back(name + ": " + e.what());
    }
  }
  MESSAGE("ONNX node tests: " << total << " cases, " << checked << " checked (" << outputs_checked
                              << " outputs), " << unsupported << " unsupported, " << unknown
                              << " with unknown ops, " << load_rejected << " rejected by the loader, "
                              << failures.size() << " failed");
  for (const std::string& f : failures) MESSAGE(f);
  CHECK(failures.empty());
  CHECK(checked >= 150);  // 157 when written (libonnx-testdata 1.12)
}

}  // TEST_SUITE
