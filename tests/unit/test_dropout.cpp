// Dropout with a constant ratio of 0 and training_mode = true (how torchvision's Swin exports its attention
// dropout) is an identity: shape inference and the kernel accept it, remove_identity drops it. A non-zero ratio
// in training mode stays Unsupported.
#include <doctest/doctest.h>

#include "graph/passes.h"
#include "graph/shape_inference.h"
#include "op_test_util.h"

using namespace octet;
using namespace octet::test;

TEST_SUITE("eltwise") {
  TEST_CASE("Dropout(ratio = 0, training_mode = true) is an identity; ratio 0.1 in training mode is refused") {
    for (float ratio : {0.f, 0.1f}) {
      OpTest t("Dropout", 13);
      t.input(HostTensor::f32({2, 2}, {1, 2, 3, 4})).constant(HostTensor::f32({}, {ratio}));
      t.constant(HostTensor::of<uint8_t>(DType::boolean, {}, {1}))
          .output(DType::f32, {2, 2})
          .output(DType::boolean, {2, 2});
      if (ratio != 0.f) {
        CHECK_THROWS_AS(t.make(), Unsupported);
        continue;
      }
      t.run_on(kernels::detected_isa());
      CHECK(t.out(0).values<float>() == std::vector<float>{1, 2, 3, 4});
      CHECK(t.out(1).values<uint8_t>() == std::vector<uint8_t>{1, 1, 1, 1});
    }
    // Shape inference and remove_identity on a graph x -> Dropout(0, true) -> Relu.
    for (float ratio : {0.f, 0.1f}) {
      Graph g;
      g.path = "t.onnx";
      g.opsets[""] = 13;
      const int x = g.add_value("x", DType::f32);
      g.values[x].set_shape({3});
      g.inputs.push_back(x);
      auto r = std::make_shared<Tensor>(DType::f32, Shape{});
      *r->as<float>() = ratio;
      auto on = std::make_shared<Tensor>(DType::boolean, Shape{});
      *on->as<uint8_t>() = 1;
      Node d;
      d.name = "drop";
      d.op_type = "Dropout";
      d.inputs = {x, g.add_constant("ratio", r), g.add_constant("train", on)};
      d.outputs = {g.add_value("y", DType::f32)};
      const int id = g.add_node(d);
      if (ratio != 0.f) {
        CHECK_THROWS_AS(infer_node(g, id), Unsupported);
        continue;
      }
      infer_node(g, id);
      CHECK(g.values[d.outputs[0]].shape() == Shape{3});
      Node relu;
      relu.name = "relu";
      relu.op_type = "Relu";
      relu.inputs = {d.outputs[0]};
      relu.outputs = {g.add_value("z", DType::f32)};
      g.add_node(relu);
      g.outputs.push_back(relu.outputs[0]);
      CHECK(pass_remove_identity(g, nullptr));
      CHECK(g.nodes[0].dead);
      CHECK(g.nodes[1].inputs[0] == x);
    }
  }

}  // TEST_SUITE
