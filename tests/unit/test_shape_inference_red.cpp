// Shape inference of the reduction, normalisation, matmul-family and recurrent ops in each opset form whose
// semantics differ, checked against shapes worked out by hand from the ONNX spec, and the errors.
#include <doctest/doctest.h>

#include <optional>

#include "graph/shape_inference.h"

using namespace octet;

namespace {

struct G {
  Graph g;
  explicit G(int64_t opset) {
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
  int run(const std::string& op, std::vector<int> ins, std::map<std::string, Attribute> attrs = {}, int nout = 1) {
    Node n;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.op_type = op;
    n.inputs = std::move(ins);
    n.attrs = std::move(attrs);
    for (int i = 0; i < nout; ++i) n.outputs.push_back(g.add_value(n.name + "_out" + std::to_string(i)));
    int id = g.add_node(std::move(n));
    infer_node(g, id);
    return id;
  }
  const Value& out(int node, int i = 0) const { return g.values[g.nodes[node].outputs[i]]; }
  Shape shape(int node, int i = 0) const { return out(node, i).shape(); }
};

Attribute ai(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i, a.i = v;
  return a;
}
Attribute aints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::ints, a.ints = std::move(v);
  return a;
}
Attribute as(std::string v) {
  Attribute a;
  a.kind = Attribute::Kind::s, a.s = std::move(v);
  return a;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Unsupported& e) {
    return std::string("UNSUPPORTED: ") + e.what();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
bool has(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return true;
  MESSAGE("expected '" << part << "' in: " << s);
  return false;
}

}  // namespace

TEST_SUITE("shape_inference") {
  TEST_CASE("Reduce*: axes attribute (opset 11), ReduceSum axes input (13), every op's input (18), keepdims, folding") {
    G t11(11);
    const int x = t11.in("x", {2, 3, 4, 5});
    CHECK(t11.shape(t11.run("ReduceMean", {x}, {{"axes", aints({1, -1})}})) == Shape{2, 1, 4, 1});
    CHECK(t11.shape(t11.run("ReduceMax", {x}, {{"axes", aints({0})}, {"keepdims", ai(0)}})) == Shape{3, 4, 5});
    CHECK(t11.shape(t11.run("ReduceL2", {x}, {{"keepdims", ai(0)}})) == Shape{});
    CHECK(t11.shape(t11.run("ReduceSum", {x}, {{"axes", aints({2})}})) == Shape{2, 3, 1, 5});
    CHECK(has(error_of([&] {
                t11.run("ReduceSum", {x}, {{"axes", aints({4})}});
              }),
              "axis 4 is out of range for rank 4"));
    CHECK(has(error_of([&] { t11.run("ReduceProd", {x}, {{"axes", aints({1, 1})}}); }), "appears twice"));
    CHECK(has(error_of([&] { t11.run("ReduceSum", {x, t11.ints("ax", {1})}); }), "expected 1"));  // no input before 13

    G t13(13);
    const int y = t13.in("y", {2, 3, 4});
    CHECK(t13.shape(t13.run("ReduceSum", {y, t13.ints("a", {-1})}, {{"keepdims", ai(0)}})) == Shape{2, 3});
    CHECK(t13.shape(t13.run("ReduceSum", {y})) == Shape{1, 1, 1});
    CHECK(t13.shape(t13.run("ReduceSum", {y, t13.ints("e", {})}, {{"noop_with_empty_axes", ai(1)}})) == Shape{2, 3, 4});
    CHECK(has(error_of([&] { t13.run("ReduceSum", {y}, {{"axes", aints({1})}}); }), "takes axes as input 1"));
    CHECK(has(error_of([&] { t13.run("ReduceSum", {y, t13.in("rt", {1}, DType::i64)}); }), "must be a constant"));
    // ReduceMean keeps its attribute until 18.
    CHECK(t13.shape(t13.run("ReduceMean", {y}, {{"axes", aints({1})}})) == Shape{2, 1, 4});
    // Small int64 constants fold (shape arithmetic): prod of a shape's tail.
    const int sh = t13.ints("shape", {2, 3, 4});
    const int p = t13.run("ReduceProd", {sh}, {{"axes", aints({0})}, {"keepdims", ai(0)}});
    REQUIRE(t13.out(p).constant);
    CHECK(*t13.out(p).constant->as<int64_t>() == 24);

    G t18(18);
    const int z = t18.in("z", {2, 3, 4});
    CHECK(t18.shape(t18.run("ReduceMean", {z, t18.ints("a", {0, 2})})) == Shape{1, 3, 1});
    CHECK(t18.shape(t18.run("ReduceLogSumExp", {z}, {{"noop_with_empty_axes", ai(1)}})) == Shape{2, 3, 4});
  }

  TEST_CASE("ArgMax / ArgMin: int64, keepdims, select_last_index only from opset 12") {
    G t(13);
    const int x = t.in("x", {2, 3, 4});
    const int a = t.run("ArgMax", {x}, {{"axis", ai(-1)}, {"select_last_index", ai(1)}});
    CHECK(t.shape(a) == Shape{2, 3, 1});
    CHECK(t.out(a).dtype == DType::i64);
    CHECK(t.shape(t.run("ArgMin", {x}, {{"keepdims", ai(0)}})) == Shape{3, 4});
    G t11(11);
    const int y = t11.in("y", {2, 3});
    CHECK(has(error_of([&] { t11.run("ArgMax", {y}, {{"select_last_index", ai(1)}}); }), "exists from opset 12"));
  }

  TEST_CASE("LayerNormalization (17): Mean / InvStdDev shapes; InstanceNorm, LpNorm, MVN; softmax family axes") {
    G t(17);
    const int x = t.in("x", {2, 5, 8});
    const int ln = t.run("LayerNormalization", {x, t.in("s", {8}), t.in("b", {8})}, {{"axis", ai(-1)}}, 3);
    CHECK(t.shape(ln) == Shape{2, 5, 8});
    CHECK(t.shape(ln, 1) == Shape{2, 5, 1});
    CHECK(t.shape(ln, 2) == Shape{2, 5, 1});
    const int ln1 = t.run("LayerNormalization", {x, t.in("s2", {5, 8})}, {{"axis", ai(1)}}, 3);
    CHECK(t.shape(ln1, 1) == Shape{2, 1, 1});
    CHECK(has(error_of([&] { t.run("LayerNormalization", {x, t.in("s3", {5})}); }), "does not broadcast"));
    CHECK(t.shape(t.run("InstanceNormalization", {t.in("i", {2, 3, 4, 4}), t.in("is", {3}), t.in("ib", {3})})) ==
          Shape{2, 3, 4, 4});
    CHECK(has(error_of([&] {
                t.run("InstanceNormalization", {t.in("i2", {2, 3, 4}), t.in("is2", {4}), t.in("ib2", {3})});
              }),
              "expected [3]"));
    CHECK(has(error_of([&] { t.run("LpNormalization", {x}, {{"p", ai(3)}}); }), "expected 1 or 2"));
    CHECK(t.shape(t.run("MeanVarianceNormalization", {t.in("m", {2, 3, 4, 4})})) == Shape{2, 3, 4, 4});
    for (const char* op : {"LogSoftmax", "Hardmax"}) {
      CHECK(t.shape(t.run(op, {x}, {{"axis", ai(-3)}})) == Shape{2, 5, 8});
      CHECK(has(error_of([&] { t.run(op, {x}, {{"axis", ai(3)}}); }), "out of range"));
    }
    G t10(10);  // LayerNormalization is opset 17
    const int y = t10.in("y", {2, 4});
    CHECK(has(error_of([&] { t10.run("LayerNormalization", {y, t10.in("s", {4})}); }), "UNSUPPORTED"));
  }

  TEST_CASE("Gemm: C required before opset 11, optional from 11; Einsum output shapes") {
    G t10(10);
    const int a = t10.in("a", {3, 4}), b = t10.in("b", {4, 5});
    CHECK(has(error_of([&] { t10.run("Gemm", {a, b}); }), "input C is required before opset 11"));
    CHECK(t10.shape(t10.run("Gemm", {a, b, t10.in("c", {5})})) == Shape{3, 5});
    G t(12);
    const int q = t.in("q", {2, 3, 5, 8}), k = t.in("k", {2, 3, 7, 8});
    auto eq = [](const char* e) { return std::map<std::string, Attribute>{{"equation", as(e)}}; };
    CHECK(t.shape(t.run("Einsum", {q, k}, eq("bhid,bhjd->bhij"))) == Shape{2, 3, 5, 7});
    CHECK(t.shape(t.run("Einsum", {q, k}, eq("...id,...jd"))) == Shape{2, 3, 5, 7});  // implicit: ellipsis, i, j
    CHECK(t.shape(t.run("Einsum", {t.in("m", {4, 4})}, eq("ii->i"))) == Shape{4});
    CHECK(t.shape(t.run("Einsum", {t.in("v", {6}), t.in("w", {6})}, eq("i,i"))) == Shape{});
    CHECK(t.shape(t.run("Einsum", {t.in("e1", {2, 1, 4, 5}), t.in("e2", {3, 5, 6})}, eq("...ij,...jk->...ik"))) ==
          Shape{2, 3, 4, 6});
    CHECK(has(error_of([&] { t.run("Einsum", {q, k}, eq("bhid,bhjd->bhiz")); }), "in no operand"));
  }

  TEST_CASE("LSTM / GRU / RNN: output shapes in both layouts (layout from opset 14), input shape errors") {
    G t(14);
    const int x = t.in("x", {7, 2, 5});  // seq 7, batch 2, input 5
    const int l = t.run("LSTM", {x, t.in("w", {2, 12, 5}), t.in("r", {2, 12, 3})},
                        {{"hidden_size", ai(3)}, {"direction", as("bidirectional")}}, 3);
    CHECK(t.shape(l) == Shape{7, 2, 2, 3});
    CHECK(t.shape(l, 1) == Shape{2, 2, 3});
    CHECK(t.shape(l, 2) == Shape{2, 2, 3});
    const int xb = t.in("xb", {2, 7, 5});  // layout 1: batch first
    const int g = t.run("GRU", {xb, t.in("gw", {1, 9, 5}), t.in("gr", {1, 9, 3})},
                        {{"hidden_size", ai(3)}, {"layout", ai(1)}}, 2);
    CHECK(t.shape(g) == Shape{2, 7, 1, 3});
    CHECK(t.shape(g, 1) == Shape{2, 1, 3});
    CHECK(t.shape(t.run("RNN", {x, t.in("nw", {1, 4, 5}), t.in("nr", {1, 4, 4})}, {{"hidden_size", ai(4)}}, 2), 1) ==
          Shape{1, 2, 4});
    CHECK(has(error_of([&] {
                t.run("LSTM", {x, t.in("bw", {1, 12, 6}), t.in("br", {1, 12, 3})}, {{"hidden_size", ai(3)}});
              }),
              "has shape 1x12x6, expected 1x12x5"));
    CHECK(has(error_of([&] {
                t.run("GRU", {x, t.in("dw", {1, 9, 5}), t.in("dr", {1, 9, 3})}, {{"direction", as("sideways")}});
              }),
              "direction 'sideways'"));
    G t7(7);  // layout is ignored before 14 (the attribute does not exist there)
    const int x7 = t7.in("x", {7, 2, 5});
    CHECK(t7.shape(t7.run("RNN", {x7, t7.in("w", {1, 4, 5}), t7.in("r", {1, 4, 4})}, {{"hidden_size", ai(4)}})) ==
          Shape{7, 1, 2, 4});
  }

}  // TEST_SUITE
