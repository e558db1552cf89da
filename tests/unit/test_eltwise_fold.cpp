// Shape inference of the element-wise ops beyond the foundation's: output types and broadcast shapes, the
// folding of small constant shape computations (int64 / int32 / bool / float32), and the errors. Expected values
// are worked out by hand from the ONNX definitions.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <optional>

#include "graph/ir.h"
#include "graph/shape_inference.h"

using namespace octet;

namespace {

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
  template <class T>
  int konst(const std::string& name, DType dt, Shape s, std::vector<T> v) {
    auto t = std::make_shared<Tensor>(dt, s);
    REQUIRE(int64_t(v.size()) == t->numel());
    std::memcpy(t->data(), v.data(), v.size() * sizeof(T));
    return g.add_constant(name, t);
  }
  int i64(const std::string& name, std::vector<int64_t> v, std::optional<Shape> s = std::nullopt) {
    return konst(name, DType::i64, s ? *s : Shape{int64_t(v.size())}, v);
  }
  /// Adds node `op` over value ids `ins` and infers it; returns its output value id.
  int run(const std::string& op, std::vector<int> ins, std::map<std::string, Attribute> attrs = {}) {
    Node n;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.op_type = op;
    n.inputs = std::move(ins);
    n.attrs = std::move(attrs);
    n.outputs.push_back(g.add_value(n.name + "_out"));
    const int out = n.outputs[0];
    const int id = g.add_node(std::move(n));
    infer_node(g, id);
    return out;
  }
  const Value& v(int id) const { return g.values[id]; }
  std::vector<int64_t> ints(int id) const {
    const Tensor* t = v(id).constant.get();
    REQUIRE_MESSAGE(t, "value " << v(id).name << " was not folded");
    REQUIRE(t->dtype() == DType::i64);
    return std::vector<int64_t>(t->as<int64_t>(), t->as<int64_t>() + t->numel());
  }
};

Attribute ai(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i;
  a.i = v;
  return a;
}

}  // namespace

TEST_SUITE("eltwise_fold") {

TEST_CASE("output types and broadcast shapes of the new ops") {
  G t(17);
  const int x = t.in("x", {2, 3, 4, 5}), c = t.in("c", {4, 1}), b = t.in("b", {3, 1, 1}, DType::boolean);
  const int k = t.in("k", {5}, DType::i64);
  CHECK(t.v(t.run("Tanh", {x})).shape() == Shape{2, 3, 4, 5});
  CHECK(t.v(t.run("IsNaN", {x})).dtype == DType::boolean);
  const int m = t.run("Max", {x, c, t.in("s", {})});
  CHECK(t.v(m).shape() == Shape{2, 3, 4, 5});
  const int lt = t.run("Less", {c, t.in("r", {5})});
  CHECK(t.v(lt).dtype == DType::boolean);
  CHECK(t.v(lt).shape() == Shape{4, 5});
  const int w = t.run("Where", {b, c, x});
  CHECK(t.v(w).shape() == Shape{2, 3, 4, 5});
  CHECK(t.v(w).dtype == DType::f32);
  const int p = t.run("Pow", {x, k});  // opset 12+: the exponent's type is free, the output is the base's
  CHECK(t.v(p).dtype == DType::f32);
  const int cast = t.run("Cast", {k}, {{"to", ai(int64_t(DType::f16))}});
  CHECK(t.v(cast).dtype == DType::f16);
  CHECK(t.v(t.run("CastLike", {x, k})).dtype == DType::i64);
  const int z = t.run("Sum", {t.in("z", {0, 5}), t.in("one", {1})});  // zero-size broadcasts to zero-size
  CHECK(t.v(z).shape() == Shape{0, 5});
}

TEST_CASE("opset semantics: Max before 8 needs equal shapes, Pow before 12 the same types, PRelu one-way") {
  {
    G t(7);
    const int x = t.in("x", {2, 3}), y = t.in("y", {3});
    CHECK_THROWS_WITH_AS(t.run("Max", {x, y}), doctest::Contains("no broadcasting before opset 8"), Error);
    CHECK(t.v(t.run("Add", {x, y})).shape() == Shape{2, 3});
  }
  {
    G t(8);
    CHECK(t.v(t.run("Max", {t.in("x", {2, 3}), t.in("y", {3})})).shape() == Shape{2, 3});
  }
  {
    G t(7);
    CHECK_THROWS_WITH_AS(t.run("Pow", {t.in("x", {2}), t.in("e", {1}, DType::i64)}),
                         doctest::Contains("has type int64, expected float32"), Error);
  }
  {
    G t(9);
    CHECK(t.v(t.run("PRelu", {t.in("x", {1, 3, 4, 4}), t.in("s", {3, 1, 1})})).shape() == Shape{1, 3, 4, 4});
    CHECK_THROWS_WITH_AS(t.run("PRelu", {t.in("x2", {3}), t.in("s2", {2, 3})}),
                         doctest::Contains("does not broadcast to X's shape 3"), Error);
  }
}

TEST_CASE("errors: wrong dtype, shapes that do not broadcast, Cast to string") {
  G t(13);
  const int x = t.in("x", {2, 3}), y = t.in("y", {4}), i = t.in("i", {2}, DType::i64);
  CHECK_THROWS_WITH_AS(t.run("Greater", {x, y}),
                       doctest::Contains("t.onnx: node 'Greater_0' (Greater): shapes 2x3 and 4 do not broadcast"), Error);
  CHECK_THROWS_WITH_AS(t.run("Where", {t.in("c", {2, 3}, DType::boolean), x, y}),
                       doctest::Contains("shapes 2x3 and 4 do not broadcast"), Error);
  CHECK_THROWS_WITH_AS(t.run("Erf", {i}), doctest::Contains("input 'i' has type int64, expected a floating-point type"), Error);
  CHECK_THROWS_WITH_AS(t.run("And", {x, x}), doctest::Contains("has type float32, expected bool"), Error);
  CHECK_THROWS_WITH_AS(t.run("Where", {x, x, x}), doctest::Contains("has type float32, expected bool"), Error);
  CHECK_THROWS_WITH_AS(t.run("Mod", {x, x}), doctest::Contains("needs attribute fmod = 1"), Error);
  CHECK_THROWS_WITH_AS(t.run("Cast", {x}, {{"to", ai(int64_t(DType::string))}}),
                       doctest::Contains("no string tensors"), Unsupported);
  CHECK_THROWS_WITH_AS(t.run("Cast", {x}, {{"to", ai(99)}}), doctest::Contains("is not a tensor element type"), Error);
}

TEST_CASE("folding: Shape -> Cast(float) -> Mul(scale) -> Floor -> Cast(int64), as exported for Resize sizes") {
  G t(13);
  const int x = t.in("x", {1, 3, 33, 47});
  const int s = t.run("Shape", {x});
  const int f = t.run("Cast", {s}, {{"to", ai(int64_t(DType::f32))}});
  REQUIRE(t.v(f).constant);
  const int scale = t.konst<float>("scale", DType::f32, {4}, {1.f, 1.f, 1.5f, 0.5f});
  const int m = t.run("Mul", {f, scale});
  REQUIRE(t.v(m).constant);
  const float* mv = t.v(m).constant->as<float>();
  CHECK(mv[2] == 49.5f);
  CHECK(mv[3] == 23.5f);
  const int fl = t.run("Floor", {m});
  const int sizes = t.run("Cast", {fl}, {{"to", ai(int64_t(DType::i64))}});
  CHECK(t.ints(sizes) == std::vector<int64_t>{1, 3, 49, 23});
  // float -> int64 truncates toward zero (no Floor): -2.5 -> -2.
  const int neg = t.run("Cast", {t.konst<float>("nf", DType::f32, {2}, {-2.5f, 2.9f})}, {{"to", ai(int64_t(DType::i64))}});
  CHECK(t.ints(neg) == std::vector<int64_t>{-2, 2});
}

TEST_CASE("folding: Equal / Where pick Reshape's dims, Max / Min clamp, int32 wraps, Div by zero waits") {
  G t(13);
  const int shape = t.i64("shape", {2, 0, 7});
  const int zero = t.i64("zero", {0}, Shape{});
  const int eq = t.run("Equal", {shape, zero});
  REQUIRE(t.v(eq).constant);
  CHECK(t.v(eq).dtype == DType::boolean);
  const int w = t.run("Where", {eq, t.i64("ones", {1}, Shape{1}), shape});
  CHECK(t.ints(w) == std::vector<int64_t>{2, 1, 7});
  CHECK(t.ints(t.run("Max", {shape, t.i64("three", {3}, Shape{}), t.i64("v", {1, 5, 1})})) == std::vector<int64_t>{3, 5, 7});
  CHECK(t.ints(t.run("Min", {shape, t.i64("four", {4}, Shape{})})) == std::vector<int64_t>{2, 0, 4});
  CHECK(t.ints(t.run("Neg", {shape})) == std::vector<int64_t>{-2, 0, -7});
  // Broadcast [2, 1] x [3] -> [2, 3].
  const int sub = t.run("Sub", {t.i64("col", {10, 20}, Shape{2, 1}), t.i64("row", {1, 2, 3})});
  CHECK(t.v(sub).shape() == Shape{2, 3});
  CHECK(t.ints(sub) == std::vector<int64_t>{9, 8, 7, 19, 18, 17});
  // int64 Div truncates toward zero; a zero divisor is left to run time (the kernel reports it).
  CHECK(t.ints(t.run("Div", {t.i64("n", {-7, 7}), t.i64("d", {2}, Shape{1})})) == std::vector<int64_t>{-3, 3});
  CHECK_FALSE(t.v(t.run("Div", {t.i64("n2", {1}), t.i64("d0", {0})})).constant);
  // int32 arithmetic wraps at 32 bits.
  const int big = t.konst<int32_t>("big", DType::i32, {1}, {2147483647});
  const int add = t.run("Add", {big, t.konst<int32_t>("one32", DType::i32, {1}, {1})});
  REQUIRE(t.v(add).constant);
  CHECK(*t.v(add).constant->as<int32_t>() == -2147483647 - 1);
  // Not / And / comparison chains stay bool constants.
  const int nt = t.run("Not", {eq});
  REQUIRE(t.v(nt).constant);
  CHECK(t.v(nt).constant->as<uint8_t>()[1] == 0);
  // A run-time input stops the fold.
  CHECK_FALSE(t.v(t.run("Max", {shape, t.in("rt", {3}, DType::i64)})).constant);
}

}  // TEST_SUITE
