#!/usr/bin/env python3
"""Small int8 models for octet's quantized-execution tests, and a QDQ ResNet-50 for speed.

  /usr/bin/python3 scripts/make_qdq_models.py                  # -> tests/data/qdq/*.onnx + input_*.pb
  /usr/bin/python3 scripts/make_qdq_models.py --resnet50 IN.onnx OUT.onnx

Small models (weights random, fixed seeds):
  qdq_net.onnx   ONNX Runtime's static-quantizer QDQ layout: Q->DQ on every activation, s8 weights per output
                 channel (DQ axis 0), int32 bias behind a DQ with scale = s_x * s_w, u8 activations; Relu after a
                 Conv folded into the Q (zero point 0, as ORT's quantizer does). Net: conv3x3-conv3x3-residual
                 QDQ Add + Relu - strided 1x1 conv - depthwise 3x3 - 1x1 conv with an FP32-style Add(conv, DQ(skip))
                 + Relu before its Q - MaxPool - GlobalAveragePool - Flatten - Gemm.
  qop_net.onnx   QOperator: QuantizeLinear, QLinearConv x2, com.microsoft QLinearAdd, QLinearGlobalAveragePool,
                 Reshape on u8, QLinearMatMul, DequantizeLinear.
Weights use 7 bits (|w| <= 63, ORT's reduce_range): ONNX Runtime's AVX2 u8s8 kernels add two u8 x s8 products
in a saturating int16 (vpmaddubsw), so full 8-bit weights would make ORT's reference inexact on this machine;
octet's kernels are exact either way. Activation ranges come from a float (fake-quantized) forward pass in
torch on the test input, so the quantization is realistic.
Reference outputs: scripts run ORT via bench/ort_bench.js run mode (see tests/data/qdq/README.md).
"""
import argparse
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "qdq")


def act_params(t, relu=False):
    """u8 asymmetric per-tensor scale/zero point covering [min(t, 0), max(t, 0)] (relu: zero point 0)."""
    lo = 0.0 if relu else min(float(t.min()), 0.0)
    hi = max(float(t.max()), 1e-3)
    scale = np.float32((hi - lo) / 255.0)
    zp = int(np.clip(round(-lo / float(scale)), 0, 255))
    return scale, zp


def fake_quant(t, scale, zp):
    q = torch.clamp(torch.round(t / float(scale)) + zp, 0, 255)
    return (q - zp) * float(scale)


class Builder:
    def __init__(self, seed, wbits=7):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.qmax = 2 ** (wbits - 1) - 1
        self.n = 0

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def qdq(self, name, t, relu=False):
        """Q -> DQ on activation `name` (torch value t); returns the DQ output name and the fake-quantized value."""
        s, z = act_params(t, relu)
        sn = self.const(name + "_scale", np.array(s, np.float32))
        zn = self.const(name + "_zp", np.array(z, np.uint8))
        self.nodes.append(helper.make_node("QuantizeLinear", [name, sn, zn], [name + "_q"], name=name + "_Q"))
        self.nodes.append(helper.make_node("DequantizeLinear", [name + "_q", sn, zn], [name + "_dq"],
                                           name=name + "_DQ"))
        self.scales = getattr(self, "scales", {})
        self.scales[name + "_dq"] = s
        return name + "_dq", fake_quant(t, s, z)

    def weights(self, name, w, b, sx):
        """s8 per-channel weights and int32 bias (scale sx * sw) behind DQs; returns names and dequantized values."""
        oc = w.shape[0]
        amax = np.abs(w.reshape(oc, -1)).max(axis=1)
        sw = (np.maximum(amax, 1e-8) / self.qmax).astype(np.float32)
        shape = (oc,) + (1,) * (w.ndim - 1)
        wq = np.clip(np.round(w / sw.reshape(shape)), -self.qmax, self.qmax).astype(np.int8)
        sb = (np.float32(sx) * sw).astype(np.float32)
        bq = np.round(b / sb).astype(np.int32)
        wn = self.const(name + "_w_q", wq)
        self.const(name + "_w_scale", sw)
        self.const(name + "_w_zp", np.zeros(oc, np.int8))
        self.nodes.append(helper.make_node("DequantizeLinear", [wn, name + "_w_scale", name + "_w_zp"],
                                           [name + "_w"], name=name + "_w_DQ", axis=0))
        self.const(name + "_b_q", bq)
        self.const(name + "_b_scale", sb)
        self.const(name + "_b_zp", np.zeros(oc, np.int32))
        self.nodes.append(helper.make_node("DequantizeLinear", [name + "_b_q", name + "_b_scale", name + "_b_zp"],
                                           [name + "_b"], name=name + "_b_DQ", axis=0))
        wd = torch.from_numpy(wq.astype(np.float32) * sw.reshape(shape))
        bd = torch.from_numpy(bq.astype(np.float32) * sb)
        return name + "_w", name + "_b", wd, bd

    def conv(self, name, xn, x, ic, oc, k, stride=1, pad=0, group=1):
        w = self.rng.normal(0, 1.0 / np.sqrt(ic // group * k * k), (oc, ic // group, k, k)).astype(np.float32)
        b = self.rng.normal(0, 0.1, oc).astype(np.float32)
        wn, bn, wd, bd = self.weights(name, w, b, self.scales[xn])
        self.nodes.append(helper.make_node("Conv", [xn, wn, bn], [name], name=name, kernel_shape=[k, k],
                                           strides=[stride, stride], pads=[pad] * 4, group=group))
        return name, F.conv2d(x, wd, bd, stride=stride, padding=pad, groups=group)


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name))
    print("wrote", name)


def make_qdq_net(x0):
    b = Builder(1)
    xn, x = b.qdq("input", x0)
    c1, y = b.conv("conv1", xn, x, 8, 16, 3, pad=1)
    c1, y1 = b.qdq(c1, y, relu=True)                     # Relu folded into the Q (zero point 0)
    c2, y = b.conv("conv2", c1, y1, 16, 16, 3, pad=1)
    c2, y = b.qdq(c2, y)
    b.nodes.append(helper.make_node("Add", [c2, c1], ["add1"], name="add1"))
    b.nodes.append(helper.make_node("Relu", ["add1"], ["relu1"], name="relu1"))
    r1, y = b.qdq("relu1", torch.relu(y + y1), relu=True)
    c3, y = b.conv("conv3", r1, y, 16, 32, 1, stride=2)    # strided 1x1: im2col path
    c3, y3 = b.qdq(c3, y)
    c4, y = b.conv("conv4", c3, y3, 32, 32, 3, pad=1, group=32)  # depthwise
    c4, y = b.qdq(c4, y, relu=False)
    c5, y = b.conv("conv5", c4, y, 32, 32, 1)               # pointwise, + residual + relu before its Q
    b.nodes.append(helper.make_node("Add", [c5, c3], ["add2"], name="add2"))
    b.nodes.append(helper.make_node("Relu", ["add2"], ["relu2"], name="relu2"))
    r2, y = b.qdq("relu2", torch.relu(y + y3), relu=True)
    b.nodes.append(helper.make_node("MaxPool", [r2], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2]))
    y = F.max_pool2d(y, 2)
    s, z = act_params(y, relu=True)
    # MaxPool keeps its input's parameters (ORT: "direct 8-bit" op); reuse the relu2 scale.
    b.nodes.append(helper.make_node("QuantizeLinear", ["pool", "relu2_scale", "relu2_zp"], ["pool_q"], name="pool_Q"))
    b.nodes.append(helper.make_node("DequantizeLinear", ["pool_q", "relu2_scale", "relu2_zp"], ["pool_dq"],
                                    name="pool_DQ"))
    b.scales["pool_dq"] = b.scales[r2]
    b.nodes.append(helper.make_node("GlobalAveragePool", ["pool_dq"], ["gap"], name="gap"))
    gn, y = b.qdq("gap", y.mean(dim=(2, 3), keepdim=True), relu=True)
    b.nodes.append(helper.make_node("Flatten", [gn], ["flat"], name="flatten"))
    b.nodes.append(helper.make_node("QuantizeLinear", ["flat", "gap_scale", "gap_zp"], ["flat_q"], name="flat_Q"))
    b.nodes.append(helper.make_node("DequantizeLinear", ["flat_q", "gap_scale", "gap_zp"], ["flat_dq"],
                                    name="flat_DQ"))
    b.scales["flat_dq"] = b.scales[gn]
    y = y.flatten(1)
    w = b.rng.normal(0, 0.3, (10, 32)).astype(np.float32)
    bias = b.rng.normal(0, 0.1, 10).astype(np.float32)
    wn, bn, wd, bd = b.weights("fc", w, bias, b.scales["flat_dq"])
    b.nodes.append(helper.make_node("Gemm", ["flat_dq", wn, bn], ["fc"], name="fc", transB=1))
    fn, y = b.qdq("fc", y @ wd.T + bd)
    b.nodes.append(helper.make_node("Identity", [fn], ["output"], name="out"))
    g = helper.make_graph(b.nodes, "qdq_net", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 8, 16, 16])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])], initializer=b.inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "qdq_net.onnx")


def make_qop_net(x0):
    rng = np.random.default_rng(2)
    inits, nodes = [], []

    def c(name, arr):
        inits.append(numpy_helper.from_array(arr, name))
        return name

    c("x_s", np.array(1 / 255, np.float32)), c("x_z", np.array(0, np.uint8))
    nodes.append(helper.make_node("QuantizeLinear", ["input", "x_s", "x_z"], ["xq"], name="q_in"))

    def qconv(name, xin, xs, xz, ic, oc, k, pad, ys, yz):
        w = rng.integers(-63, 64, (oc, ic, k, k)).astype(np.int8)
        c(name + "_w", w), c(name + "_ws", (rng.uniform(0.5, 1.5, oc) / 63 / np.sqrt(ic * k * k)).astype(np.float32))
        c(name + "_wz", np.zeros(oc, np.int8)), c(name + "_b", rng.integers(-200, 200, oc).astype(np.int32))
        c(name + "_ys", np.array(ys, np.float32)), c(name + "_yz", np.array(yz, np.uint8))
        nodes.append(helper.make_node("QLinearConv", [xin, xs, xz, name + "_w", name + "_ws", name + "_wz",
                                                      name + "_ys", name + "_yz", name + "_b"], [name + "_y"],
                                      name=name, kernel_shape=[k, k], pads=[pad] * 4))
        return name + "_y", name + "_ys", name + "_yz"

    a, as_, az = qconv("qc1", "xq", "x_s", "x_z", 8, 16, 3, 1, 0.01, 128)
    b_, bs, bz = qconv("qc2", a, as_, az, 16, 16, 1, 0, 0.012, 120)
    c("add_s", np.array(0.015, np.float32)), c("add_z", np.array(125, np.uint8))
    nodes.append(helper.make_node("QLinearAdd", [a, as_, az, b_, bs, bz, "add_s", "add_z"], ["add_y"], name="qadd",
                                  domain="com.microsoft"))
    c("gap_s", np.array(0.004, np.float32)), c("gap_z", np.array(128, np.uint8))
    nodes.append(helper.make_node("QLinearGlobalAveragePool", ["add_y", "add_s", "add_z", "gap_s", "gap_z"],
                                  ["gap_y"], name="qgap", domain="com.microsoft", channels_last=0))
    c("shape", np.array([1, 16], np.int64))
    nodes.append(helper.make_node("Reshape", ["gap_y", "shape"], ["flat"], name="reshape"))
    c("fc_w", rng.integers(-63, 64, (16, 10)).astype(np.int8)), c("fc_ws", np.array(0.01, np.float32))
    c("fc_wz", np.array(0, np.int8)), c("fc_ys", np.array(0.02, np.float32)), c("fc_yz", np.array(100, np.uint8))
    nodes.append(helper.make_node("QLinearMatMul", ["flat", "gap_s", "gap_z", "fc_w", "fc_ws", "fc_wz", "fc_ys",
                                                    "fc_yz"], ["fc_y"], name="qmatmul"))
    nodes.append(helper.make_node("DequantizeLinear", ["fc_y", "fc_ys", "fc_yz"], ["output"], name="dq_out"))
    g = helper.make_graph(nodes, "qop_net", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 8, 16, 16])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])], initializer=inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]),
         "qop_net.onnx")


def small_models():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 8, 16, 16)).astype(np.float32)
    onnx.save_tensor(numpy_helper.from_array(x, "input"), os.path.join(OUT, "input_0.pb"))
    x2 = np.random.default_rng(1).uniform(-1, 1, (1, 8, 16, 16)).astype(np.float32)
    onnx.save_tensor(numpy_helper.from_array(x2, "input"), os.path.join(OUT, "input_1.pb"))
    make_qdq_net(torch.from_numpy(x))
    make_qop_net(torch.from_numpy(x))


def fold_bn(m):
    """FP32 model with every Conv -> BatchNormalization folded (w' = w * g/sqrt(v+e), b' = (b - m) * g/sqrt(v+e) + beta)."""
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    prod = {o: n for n in g.node for o in n.output}
    readers = {}
    for n in g.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    nodes = []
    for n in g.node:
        c = prod.get(n.input[0]) if n.op_type == "BatchNormalization" else None
        if c is None or c.op_type != "Conv" or readers[n.input[0]] != 1:
            nodes.append(n)
            continue
        eps = next((a.f for a in n.attribute if a.name == "epsilon"), 1e-5)
        gamma, beta, mean, var = (inits[x] for x in n.input[1:5])
        f = gamma / np.sqrt(var + eps)
        w = inits[c.input[1]]
        b = inits[c.input[2]] if len(c.input) > 2 else np.zeros(w.shape[0], np.float32)
        inits[c.input[1]] = (w * f.reshape(-1, 1, 1, 1)).astype(np.float32)
        bn = c.name + "_bias"
        inits[bn] = ((b - mean) * f + beta).astype(np.float32)
        del c.input[2:]
        c.input.append(bn)
        c.output[0] = n.output[0]
    used = {i for n in nodes for i in n.input}
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in inits.items() if k in used)
    return m


def tensor_ranges(m, x, workdir):
    """min/max of every node output on input x, from ONNX Runtime (bench/ort_bench.js run mode)."""
    import subprocess
    import copy
    mm = copy.deepcopy(m)
    names = [o for n in mm.graph.node for o in n.output]
    del mm.graph.output[:]
    mm.graph.output.extend(helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in names)
    os.makedirs(workdir, exist_ok=True)
    onnx.save(mm, os.path.join(workdir, "all_outputs.onnx"))
    onnx.save_tensor(numpy_helper.from_array(x, "input"), os.path.join(workdir, "x.pb"))
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    subprocess.run(["node", os.path.join(root, "bench", "ort_bench.js"), os.path.join(workdir, "all_outputs.onnx"),
                    "--input", os.path.join(workdir, "x.pb"), "--out", workdir], check=True, stdout=subprocess.DEVNULL)
    r = {}
    for i, o in enumerate(names):
        t = numpy_helper.to_array(onnx.load_tensor(os.path.join(workdir, "output_%d.pb" % i)))
        r[o] = (float(t.min()), float(t.max()))
    r["input"] = (float(x.min()), float(x.max()))
    return r


def qdq_model(m, ranges, wbits=8):
    """ORT static-quantizer QDQ layout of a BN-folded FP32 model: Relu folded into its producer's Q (zero point 0),
    Q->DQ on every activation, per-channel s8 weights, int32 bias; MaxPool/Flatten keep their input's parameters."""
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    qmax = 2 ** (wbits - 1) - 1
    readers = {}
    for n in g.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    prod = {o: n for n in g.node for o in n.output}
    # Relu removal: the producer writes the Relu's output, whose range starts at 0.
    nodes, relu_out = [], set()
    for n in g.node:
        p = prod.get(n.input[0]) if n.op_type == "Relu" else None
        if p is not None and readers[n.input[0]] == 1 and p.op_type in ("Conv", "Add"):
            p.output[0] = n.output[0]
            relu_out.add(n.output[0])
            continue
        nodes.append(n)
    params, out_nodes, new_inits = {}, [], []

    def const(name, arr):
        new_inits.append(numpy_helper.from_array(arr, name))
        return name

    def qdq(t, same_as=None):
        if same_as is not None:
            s, z = params[same_as]
        else:
            lo, hi = ranges[t]
            lo = 0.0 if t in relu_out else min(lo, 0.0)
            hi = max(hi, 1e-3)
            s = np.float32((hi - lo) / 255.0)
            z = int(np.clip(round(-lo / float(s)), 0, 255))
        params[t] = (s, z)
        sn, zn = const(t + "_scale", np.array(s, np.float32)), const(t + "_zp", np.array(z, np.uint8))
        out_nodes.append(helper.make_node("QuantizeLinear", [t, sn, zn], [t + "_q"], name=t + "_Q"))
        out_nodes.append(helper.make_node("DequantizeLinear", [t + "_q", sn, zn], [t + "_dq"], name=t + "_DQ"))

    qdq("input")
    for n in nodes:
        ins = list(n.input)
        ins[0] = ins[0] + "_dq"
        if n.op_type == "Add":
            ins[1] = ins[1] + "_dq"
        if n.op_type in ("Conv", "Gemm"):
            w, b = inits[n.input[1]], inits[n.input[2]]
            oc = w.shape[0]
            sw = (np.maximum(np.abs(w.reshape(oc, -1)).max(axis=1), 1e-8) / qmax).astype(np.float32)
            wq = np.clip(np.round(w / sw.reshape((oc,) + (1,) * (w.ndim - 1))), -qmax, qmax).astype(np.int8)
            sb = (params[n.input[0]][0] * sw).astype(np.float32)
            base = n.name.strip("/").replace("/", "_")
            const(base + "_w_q", wq), const(base + "_w_scale", sw), const(base + "_w_zp", np.zeros(oc, np.int8))
            const(base + "_b_q", np.round(b / sb).astype(np.int32)), const(base + "_b_scale", sb)
            const(base + "_b_zp", np.zeros(oc, np.int32))
            out_nodes.append(helper.make_node("DequantizeLinear", [base + "_w_q", base + "_w_scale", base + "_w_zp"],
                                              [base + "_w"], name=base + "_w_DQ", axis=0))
            out_nodes.append(helper.make_node("DequantizeLinear", [base + "_b_q", base + "_b_scale", base + "_b_zp"],
                                              [base + "_b"], name=base + "_b_DQ", axis=0))
            ins[1], ins[2] = base + "_w", base + "_b"
        del n.input[:]
        n.input.extend(ins)
        out_nodes.append(n)
        qdq(n.output[0], same_as=n.input[0][:-3] if n.op_type in ("MaxPool", "Flatten") else None)
    # The graph output is the last DQ's output under the model's output name.
    out_name = g.output[0].name
    for n in out_nodes:
        n.output[:] = [out_name + "_float" if o == out_name else o for o in n.output]
        n.input[:] = [out_name + "_float" if i == out_name else i for i in n.input]
    for n in out_nodes:
        if n.op_type == "DequantizeLinear" and n.output[0] == out_name + "_dq":
            n.output[0] = out_name
    del g.node[:]
    g.node.extend(out_nodes)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    g.initializer.extend(numpy_helper.from_array(inits[k], k) for k in inits if k in {i for n in out_nodes for i in n.input})
    return m


def resnet50(inp, outp, wbits=8):
    m = fold_bn(onnx.load(inp))
    x = np.random.default_rng(0).normal(0, 1, (1, 3, 224, 224)).astype(np.float32)
    ranges = tensor_ranges(m, x, "/tmp/make_qdq_ranges")
    q = qdq_model(m, ranges, wbits)
    onnx.checker.check_model(q)
    onnx.save(q, outp)
    print("wrote", outp)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resnet50", nargs=2, metavar=("IN", "OUT"),
                    help="write an ORT-style QDQ version of a FP32 torchvision ResNet (BN folded; activation ranges "
                         "from ONNX Runtime on one N(0,1) input: enough for speed, not a calibration)")
    ap.add_argument("--wbits", type=int, default=8,
                    help="weight bits (7 = ORT's reduce_range, exact in ORT's AVX2 kernels; default 8)")
    a = ap.parse_args()
    if a.resnet50:
        resnet50(*a.resnet50, wbits=a.wbits)
    else:
        small_models()
