#!/usr/bin/env python3
"""Writes the small hand-made models the error-handling tests use (tests/data/bad/). Run with Debian's python3
(python3-onnx). The outputs are committed; rerun after changing this file."""
import os
import onnx
from onnx import helper, TensorProto

out = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "bad")
os.makedirs(out, exist_ok=True)

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])

# Two ops octet does not know: the error must list both at once.
g = helper.make_graph([
    helper.make_node("Relu", ["x"], ["a"], name="relu0"),
    helper.make_node("FancyNewOp", ["a"], ["b"], name="fancy"),
    helper.make_node("Hardmax", ["b"], ["y"], name="hm"),
], "unknown_ops", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(out, "unknown_ops.onnx"))

# A node reading a tensor nobody produces.
g = helper.make_graph([helper.make_node("Relu", ["nowhere"], ["y"], name="dangling")], "dangling", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(out, "dangling_input.onnx"))

# A Conv whose weight does not fit the input's channels.
w = helper.make_tensor("w", TensorProto.FLOAT, [8, 5, 3, 3], [0.0] * (8 * 5 * 9))
y8 = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_bad", pads=[1, 1, 1, 1])],
                      "bad_conv", [x], [y8], initializer=[w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(out, "conv_channels.onnx"))
print("wrote", sorted(os.listdir(out)))
