// Shape inference of the data-movement and spatial ops, every opset form whose semantics differ (Slice 1-9
// attributes vs 10+ inputs, Split 2-12 attribute vs 13+ input, Pad 2-10 vs 11+, TopK 1 / 10 / 11, Upsample 7 / 9,
// Resize 10 / 11 / 13, GatherND 11 vs 12+ batch_dims, ScatterND 16 reduction), the folding of small integer
// constants (Slice, Split, Expand, Tile, Range, ConstantOfShape, Size) and the errors, each naming the node.
// Expected shapes are worked out by hand from the ONNX operator spec.
#include <doctest/doctest.h>

#include <iostream>
#include <optional>

#include "graph/shape_inference.h"

using namespace octet;

namespace {

Attribute ai(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i, a.i = v;
  return a;
}
Attribute as(const std::string& v) {
  Attribute a;
  a.kind = Attribute::Kind::s, a.s = v;
  return a;
}
Attribute aints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::ints, a.ints = std::move(v);
  return a;
}
Attribute afloats(std::vector<float> v) {
  Attribute a;
  a.kind = Attribute::Kind::floats, a.floats = std::move(v);
  return a;
}

struct G {
  Graph g;
  explicit G(int64_t opset) {
    g.path = "t.onnx";
    g.opsets[""] = opset;
  }
  int in(const std::string& name, Shape s, DType dt = DType::f32) {
    const int id = g.add_value(name, dt);
    g.values[id].set_shape(s);
    g.inputs.push_back(id);
    return id;
  }
  int ints(const std::string& name, std::vector<int64_t> v, std::optional<Shape> s = std::nullopt) {
    auto t = std::make_shared<Tensor>(DType::i64, s ? *s : Shape{int64_t(v.size())});
    std::copy(v.begin(), v.end(), t->as<int64_t>());
    return g.add_constant(name, t);
  }
  int floats(const std::string& name, std::vector<float> v, std::optional<Shape> s = std::nullopt) {
    auto t = std::make_shared<Tensor>(DType::f32, s ? *s : Shape{int64_t(v.size())});
    std::copy(v.begin(), v.end(), t->as<float>());
    return g.add_constant(name, t);
  }
  int run(const std::string& op, std::vector<int> ins, std::map<std::string, Attribute> attrs = {}, int nout = 1) {
    Node n;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.op_type = op;
    n.inputs = std::move(ins);
    n.attrs = std::move(attrs);
    for (int i = 0; i < nout; ++i) n.outputs.push_back(g.add_value(n.name + "_out" + std::to_string(i)));
    const int id = g.add_node(std::move(n));
    infer_node(g, id);
    return id;
  }
  const Value& out(int node, int i = 0) const { return g.values[g.nodes[node].outputs[size_t(i)]]; }
  Shape shape(int node, int i = 0) const { return out(node, i).shape(); }
  int out_id(int node, int i = 0) const { return g.nodes[node].outputs[size_t(i)]; }
  std::vector<int64_t> value(int node, int i = 0) const {
    const Tensor* t = out(node, i).constant.get();
    REQUIRE_MESSAGE(t, "output was not folded");
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
bool contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return true;
  std::cerr << "expected '" << part << "' in message:\n  " << s << "\n";
  return false;
}

}  // namespace

TEST_SUITE("shape_inference_data") {
  TEST_CASE("Slice: opset 9 attributes and opset 10+ inputs agree; folding Shape -> Slice; non-constant starts") {
    for (int64_t opset : {7, 9, 10, 13}) {
      G t(opset);
      const int x = t.in("x", {2, 10, 6});
      int s;
      if (opset < 10) {
        s = t.run("Slice", {x},
                  {{"starts", aints({1, -4})}, {"ends", aints({INT64_MAX, 100})}, {"axes", aints({1, 2})}});
      } else {
        s = t.run("Slice", {x, t.ints("b", {1, -4}), t.ints("e", {INT64_MAX, 100}), t.ints("a", {1, -1})});
      }
      CHECK(t.shape(s) == Shape{2, 9, 4});
    }
    G t(13);
    const int x = t.in("x", {2, 10, 6, 7});
    // steps -2 on dim 1 from the end: indices 9, 7, 5, 3, 1 -> 5
    CHECK(t.shape(t.run("Slice", {x, t.ints("b", {-1}), t.ints("e", {INT64_MIN}), t.ints("a", {1}),
                                  t.ints("s", {-2})})) == Shape{2, 5, 6, 7});
    // empty: start past end
    CHECK(t.shape(t.run("Slice", {x, t.ints("b2", {5}), t.ints("e2", {2}), t.ints("a2", {2})})) == Shape{2, 10, 0, 7});
    // Shape(x) = [2, 10, 6, 7]; Slice [-3:-1] = [10, 6]; reversed = [7, 6, 10, 2]
    const int shp = t.run("Shape", {x});
    CHECK(t.value(t.run("Slice", {t.out_id(shp), t.ints("b3", {-3}), t.ints("e3", {-1})})) ==
          std::vector<int64_t>{10, 6});
    CHECK(t.value(t.run("Slice", {t.out_id(shp), t.ints("b4", {-1}), t.ints("e4", {INT64_MIN}), t.ints("a4", {0}),
                                  t.ints("s4", {-1})})) == std::vector<int64_t>{7, 6, 10, 2});
    const int starts = t.in("starts", {1}, DType::i64);
    CHECK(contains(error_of([&] {
                     t.run("Slice", {x, starts, t.ints("e5", {3})});
                   }),
                   "UNSUPPORTED: t.onnx: node 'Slice_5' (Slice): the 'starts' input ('starts') must be a constant"));
    CHECK(contains(error_of([&] {
                     t.run("Slice", {x, t.ints("b6", {0}), t.ints("e6", {1}), t.ints("a6", {0, 1})});
                   }),
                   "node 'Slice_6' (Slice): starts [0], ends [1], axes [0,1] and steps [1] must have the same length"));
    CHECK(contains(error_of([&] {
                     t.run("Slice", {x, t.ints("b7", {0, 0}), t.ints("e7", {1, 1}), t.ints("a7", {1, -3})});
                   }),
                   "axes [1,-3] repeat axis 1"));
  }

  TEST_CASE("Split: opset 2-12 attribute, 13+ input, equal parts, zero-size part, folding, errors") {
    for (int64_t opset : {2, 11, 13}) {
      G t(opset);
      const int x = t.in("x", {4, 6});
      const int s = opset < 13 ? t.run("Split", {x}, {{"axis", ai(-1)}, {"split", aints({1, 0, 5})}}, 3)
                               : t.run("Split", {x, t.ints("sp", {1, 0, 5})}, {{"axis", ai(-1)}}, 3);
      CHECK(t.shape(s, 0) == Shape{4, 1});
      CHECK(t.shape(s, 1) == Shape{4, 0});
      CHECK(t.shape(s, 2) == Shape{4, 5});
      const int e = t.run("Split", {x}, {}, 2);
      CHECK(t.shape(e, 1) == Shape{2, 6});
      CHECK(contains(error_of([&] { t.run("Split", {x}, {}, 3); }),
                     "axis 0 of size 4 does not split into 3 equal parts"));
    }
    G t(13);
    const int x = t.in("x", {1, 3, 8, 8});
    const int shp = t.run("Shape", {x});
    const int s = t.run("Split", {t.out_id(shp), t.ints("sp", {2, 2})}, {}, 2);
    CHECK(t.value(s, 0) == std::vector<int64_t>{1, 3});
    CHECK(t.value(s, 1) == std::vector<int64_t>{8, 8});
    CHECK(contains(error_of([&] {
                     t.run("Split", {t.out_id(shp), t.ints("sp2", {2, 3})}, {}, 2);
                   }),
                   "node 'Split_2' (Split): split [2,3] sums to 5, axis 0 has size 4"));
  }

  TEST_CASE("Pad: opset 2 attributes and opset 11 inputs, negative pads, bad pads and modes") {
    {
      G t(2);
      const int x = t.in("x", {1, 3, 4, 4});
      CHECK(t.shape(t.run("Pad", {x}, {{"pads", aints({0, 0, 1, 2, 0, 0, 3, -1})}})) == Shape{1, 3, 8, 5});
      CHECK(contains(error_of([&] {
                       t.run("Pad", {x}, {{"pads", aints({1, 1})}});
                     }),
                     "pads [1,1] has 2 values, expected 8"));
    }
    G t(11);
    const int x = t.in("x", {1, 3, 4, 4});
    CHECK(t.shape(t.run("Pad", {x, t.ints("p", {0, 0, 1, 1, 0, 0, 1, 1}), t.floats("v", {0}, Shape{})},
                        {{"mode", as("reflect")}})) == Shape{1, 3, 6, 6});
    CHECK(contains(error_of([&] {
                     t.run("Pad", {x, t.ints("p2", {0, 0, 0, 0, 0, 0, 0, 0})}, {{"mode", as("wrap")}});
                   }),
                   "mode 'wrap' is not one of constant, reflect, edge"));
    CHECK(contains(error_of([&] {
                     t.run("Pad", {x, t.ints("p3", {0, 0, -5, 0, 0, 0, 0, 0})});
                   }),
                   "crop dimension 2 below zero"));
  }

  TEST_CASE("Expand, Tile, ConstantOfShape, Range, Size fold small integer tensors") {
    G t(13);
    const int x = t.in("x", {2, 3, 5});
    const int shp = t.run("Shape", {x});
    // Expand (bidirectional): [3, 1] with shape [2, 1, 4] -> [2, 3, 4]
    CHECK(t.shape(t.run("Expand", {t.in("y", {3, 1}), t.ints("s", {2, 1, 4})})) == Shape{2, 3, 4});
    CHECK(t.value(t.run("Expand", {t.ints("one", {7}), t.ints("s2", {3})})) == std::vector<int64_t>{7, 7, 7});
    CHECK(t.value(t.run("Tile", {t.out_id(shp), t.ints("r", {2})})) == std::vector<int64_t>{2, 3, 5, 2, 3, 5});
    CHECK(contains(error_of([&] {
                     t.run("Tile", {x, t.ints("r2", {1, 2})});
                   }),
                   "repeats [1,2] has 2 values, the input has rank 3"));
    // ConstantOfShape: float 0 by default; an int64 value folds; shape [0] is an empty tensor
    const int z = t.run("ConstantOfShape", {t.out_id(shp)});
    CHECK(t.shape(z) == Shape{2, 3, 5});
    CHECK(t.out(z).dtype == DType::f32);
    auto v = std::make_shared<Tensor>(DType::i64, Shape{1});
    *v->as<int64_t>() = -1;
    Attribute va;
    va.kind = Attribute::Kind::t, va.t = v;
    CHECK(t.value(t.run("ConstantOfShape", {t.ints("s3", {3})}, {{"value", va}})) == std::vector<int64_t>{-1, -1, -1});
    CHECK(t.shape(t.run("ConstantOfShape", {t.ints("s4", {0})}, {{"value", va}})) == Shape{0});
    // Range: int64 folds (10, 7, 4, 1), float gives the shape ceil((1 - 0) / 0.3) = 4
    CHECK(t.value(t.run("Range", {t.ints("a", {10}, Shape{}), t.ints("b", {0}, Shape{}),
                                  t.ints("c", {-3}, Shape{})})) == std::vector<int64_t>{10, 7, 4, 1});
    CHECK(t.shape(t.run("Range", {t.floats("fa", {0}, Shape{}), t.floats("fb", {1}, Shape{}),
                                  t.floats("fc", {0.3f}, Shape{})})) == Shape{4});
    CHECK(t.shape(t.run("Range", {t.ints("a2", {5}, Shape{}), t.ints("b2", {0}, Shape{}),
                                  t.ints("c2", {1}, Shape{})})) == Shape{0});
    const int start = t.in("start", {}, DType::i64);
    CHECK(contains(error_of([&] {
                     t.run("Range", {start, t.ints("b3", {0}, Shape{}), t.ints("c3", {1}, Shape{})});
                   }),
                   "UNSUPPORTED"));
    const int sz = t.run("Size", {x});
    CHECK(t.value(sz) == std::vector<int64_t>{30});
    CHECK(t.shape(sz).empty());
  }

  TEST_CASE("TopK: opset 1-9 attribute, opset 10 input, opset 11 largest; k out of range") {
    {
      G t(7);  // TopK-1: k is an attribute (octet loads opset 7 and later)
      const int x = t.in("x", {3, 8});
      const int k = t.run("TopK", {x}, {{"k", ai(2)}}, 2);
      CHECK(t.shape(k, 0) == Shape{3, 2});
      CHECK(t.out(k, 1).dtype == DType::i64);
    }
    for (int64_t opset : {10, 11}) {
      G t(opset);
      const int x = t.in("x", {3, 8});
      const int k = t.run("TopK", {x, t.ints("k", {5})}, {{"largest", ai(0)}}, 2);
      CHECK(t.shape(k, 1) == Shape{3, 5});
      CHECK(contains(error_of([&] {
                       t.run("TopK", {x, t.ints("k2", {4})}, {{"axis", ai(0)}}, 2);
                     }),
                     "node 'TopK_1' (TopK): k = 4 is out of range for axis 0 of size 3"));
    }
  }

  TEST_CASE("Resize / Upsample: every opset's form, fractional scales floor, sizes, errors") {
    {
      G t(7);
      const int x = t.in("x", {1, 3, 5, 5});
      CHECK(t.shape(t.run("Upsample", {x}, {{"scales", afloats({1, 1, 2, 1.5f})}})) == Shape{1, 3, 10, 7});
    }
    {
      G t(9);
      const int x = t.in("x", {1, 3, 5, 5});
      CHECK(t.shape(t.run("Upsample", {x, t.floats("s", {1, 1, 2, 2})}, {{"mode", as("linear")}})) ==
            Shape{1, 3, 10, 10});
    }
    {
      G t(10);
      const int x = t.in("x", {1, 3, 5, 5});
      CHECK(t.shape(t.run("Resize", {x, t.floats("s", {1, 1, 0.5f, 0.7f})})) == Shape{1, 3, 2, 3});
      CHECK(contains(error_of([&] {
                       t.run("Resize", {x, t.floats("s2", {1, 1, 2, 2})}, {{"mode", as("cubic")}});
                     }),
                     "mode 'cubic' is not one of nearest, linear"));
    }
    for (int64_t opset : {11, 13, 17}) {
      G t(opset);
      const int x = t.in("x", {1, 3, 5, 5});
      const int empty = t.floats("e", {}, Shape{0});
      CHECK(t.shape(t.run("Resize", {x, empty, empty, t.ints("sz", {1, 3, 9, 2})}, {{"mode", as("cubic")}})) ==
            Shape{1, 3, 9, 2});
      CHECK(t.shape(t.run("Resize", {x, empty, t.floats("s", {1, 1, 1.9f, 2})})) == Shape{1, 3, 9, 10});
      CHECK(contains(error_of([&] {
                       t.run("Resize", {x, empty, t.floats("s3", {1, 1, 2, 2}), t.ints("sz3", {1, 3, 9, 2})});
                     }),
                     "exactly one of 'scales' and 'sizes' must be given"));
      CHECK(contains(error_of([&] {
                       t.run("Resize", {x, empty, t.floats("s4", {1, 1, 2, 2})},
                             {{"coordinate_transformation_mode", as("tf_crop_and_resize")}});
                     }),
                     "roi has 0 values, expected 8"));
      CHECK(contains(error_of([&] {
                       t.run("Resize", {x, empty, t.floats("s5", {1, 1, 2, 2})}, {{"nearest_mode", as("up")}});
                     }),
                     "nearest_mode 'up' is not one of"));
    }
    {
      G t(13);  // roi and scales optional from 13
      const int x = t.in("x", {2, 4, 6});
      CHECK(t.shape(t.run("Resize", {x, -1, -1, t.ints("sz", {2, 4, 12})})) == Shape{2, 4, 12});
      const int sc = t.in("scales", {3});
      CHECK(contains(error_of([&] {
                       t.run("Resize", {x, -1, sc});
                     }),
                     "UNSUPPORTED: t.onnx: node 'Resize_1' (Resize): the 'scales' input"));
    }
  }

  TEST_CASE("ConvTranspose: pads, output_padding, dilations, group, output_shape and auto_pad; errors") {
    G t(11);
    const int x = t.in("x", {1, 4, 5, 6});
    // out = s * (in - 1) + op + (k - 1) * d + 1 - pb - pe: H 2*4 + 1 + 2*2 + 1 - 1 - 2 = 11, W 2*5 + 0 + 5 - 0 = 15
    const int w = t.in("w", {4, 3, 3, 3});
    CHECK(t.shape(t.run("ConvTranspose", {x, w},
                        {{"strides", aints({2, 2})},
                         {"dilations", aints({2, 2})},
                         {"output_padding", aints({1, 0})},
                         {"pads", aints({1, 0, 2, 0})},
                         {"group", ai(2)}})) == Shape{1, 6, 11, 15});
    CHECK(t.shape(t.run("ConvTranspose", {x, w}, {{"strides", aints({3, 3})}, {"auto_pad", as("SAME_LOWER")}})) ==
          Shape{1, 3, 15, 18});
    CHECK(t.shape(t.run("ConvTranspose", {x, w},
                        {{"strides", aints({2, 2})}, {"output_shape", aints({1, 3, 10, 12})}})) == Shape{1, 3, 10, 12});
    const int w1 = t.in("w1", {4, 2, 3});
    CHECK(t.shape(t.run("ConvTranspose", {t.in("x1", {2, 4, 7}), w1})) == Shape{2, 2, 9});
    CHECK(contains(error_of([&] {
                     t.run("ConvTranspose", {x, t.in("w2", {3, 3, 3, 3})});
                   }),
                   "node 'ConvTranspose_4' (ConvTranspose): weight has shape 3x3x3x3: its first dim must equal the "
                   "input's 4 channels"));
    CHECK(contains(error_of([&] {
                     t.run("ConvTranspose", {x, w, t.in("b", {4})});
                   }),
                   "bias 'b' has shape 4, expected 3"));
  }

  TEST_CASE(
      "Index and generator ops: GatherElements, GatherND (11 vs 12 batch_dims), ScatterND (16 reduction), OneHot, "
      "EyeLike, Trilu, CumSum, DepthToSpace, SpaceToDepth, LRN, GlobalMaxPool") {
    G t(12);
    const int d = t.in("d", {2, 3, 4});
    CHECK(t.shape(t.run("GatherElements", {d, t.in("i", {2, 5, 4}, DType::i64)}, {{"axis", ai(1)}})) == Shape{2, 5, 4});
    CHECK(t.shape(t.run("GatherND", {d, t.in("i2", {2, 1}, DType::i64)}, {{"batch_dims", ai(1)}})) == Shape{2, 4});
    CHECK(t.shape(t.run("GatherND", {d, t.in("i3", {5, 2}, DType::i64)})) == Shape{5, 4});
    CHECK(contains(error_of([&] {
                     t.run("GatherND", {d, t.in("i4", {5, 4}, DType::i64)});
                   }),
                   "indices' last dim 4 must be in [1, 3]"));
    CHECK(t.shape(t.run("OneHot",
                        {t.in("oi", {2, 3}, DType::i64), t.floats("depth", {10}, Shape{}), t.floats("vals", {0, 1})},
                        {{"axis", ai(1)}})) == Shape{2, 10, 3});
    CHECK(t.shape(t.run("EyeLike", {t.in("e", {3, 5})})) == Shape{3, 5});
    CHECK(t.out(t.run("EyeLike", {t.in("e2", {3, 5})}, {{"dtype", ai(int64_t(DType::i64))}})).dtype == DType::i64);
    CHECK(t.shape(t.run("CumSum", {d, t.ints("ax", {-1}, Shape{})})) == Shape{2, 3, 4});
    const int img = t.in("img", {1, 8, 3, 5});
    CHECK(t.shape(t.run("DepthToSpace", {img}, {{"blocksize", ai(2)}, {"mode", as("CRD")}})) == Shape{1, 2, 6, 10});
    CHECK(contains(error_of([&] {
                     t.run("SpaceToDepth", {img}, {{"blocksize", ai(2)}});
                   }),
                   "is not a multiple of blocksize 2"));
    CHECK(t.shape(t.run("LRN", {img}, {{"size", ai(3)}})) == Shape{1, 8, 3, 5});
    CHECK(t.shape(t.run("GlobalMaxPool", {img})) == Shape{1, 8, 1, 1});
    {
      G s(16);
      const int dd = s.in("d", {4, 4});
      CHECK(s.shape(s.run("ScatterND", {dd, s.in("i", {3, 1}, DType::i64), s.in("u", {3, 4})},
                          {{"reduction", as("add")}})) == Shape{4, 4});
      CHECK(contains(error_of([&] {
                       s.run("ScatterND", {dd, s.in("i2", {3, 1}, DType::i64), s.in("u2", {3, 3})});
                     }),
                     "has shape 3x3, expected 3x4"));
      CHECK(contains(
          error_of([&] {
            s.run("ScatterND", {dd, s.in("i3", {3, 1}, DType::i64), s.in("u3", {3, 4})}, {{"reduction", as("max")}});
          }),
          "reduction 'max' is not one of none, add, mul"));
      CHECK(s.shape(s.run("Trilu", {dd, s.ints("k", {1}, Shape{})})) == Shape{4, 4});
    }
  }

}  // TEST_SUITE
