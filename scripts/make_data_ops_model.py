#!/usr/bin/python3
"""Exports a small torch model that exercises octet's data-movement and spatial ops, for the peer check in
tests/cli/data_ops_peer.sh (octet vs ONNX Runtime on the same file, every opset form torch emits).

    /usr/bin/python3 scripts/make_data_ops_model.py OPSET OUT_DIR [--size H W]

Writes OUT_DIR/model.onnx and OUT_DIR/input.pb (TensorProto "input", [1, 3, H, W] uniform [0, 1), seed 0).
The model: dilated and depthwise convs, then as separate outputs nearest / bilinear / bicubic interpolation
(Upsample at opset 9, Resize-10, Resize-11/13 with scales or sizes, align_corners), ConvTranspose (group,
dilation, output_padding), Pad (reflect / replicate / constant), Split, MaxPool / AveragePool with ceil_mode,
and from opset 11 TopK, CumSum, DepthToSpace (pixel_shuffle), Tile + strided Slice (repeat and indexing), from 14
Trilu. Random weights: the check compares two engines, not accuracy.

torch's Pad export passes the pads through Cast(to=int64) of an int64 tensor; OUT_DIR/model_no_cast.onnx has
those no-op casts as Identity, for builds without a Cast kernel.
"""

import argparse
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper


class DataOps(nn.Module):
    def __init__(self, opset, size):
        super().__init__()
        self.opset = opset
        # An upsampling to a fixed, non-integer-ratio size (Upsample and Resize-10 get scales out / in).
        self.fixed = (2 * size[0] + 1, 2 * size[1] + 3)
        self.c1 = nn.Conv2d(3, 8, 3, padding=2, dilation=2)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, groups=2)
        self.up2 = nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1, dilation=2)

    def forward(self, x):
        y = self.dw(F.relu(self.c1(x)))
        outs = [F.interpolate(y, scale_factor=2.0, mode="nearest"),
                F.interpolate(y, size=self.fixed, mode="bilinear", align_corners=False),
                self.up(y), self.up2(y),
                F.pad(y, (1, 2, 0, 1), mode="reflect"), F.pad(y, (1, 1, 2, 1), mode="replicate"),
                F.pad(y, (2, 0, 1, 3), value=0.5)]
        if self.opset >= 11:
            outs += [F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=True),
                     F.interpolate(y, size=(7, 30), mode="bicubic", align_corners=False),
                     torch.topk(y.flatten(1), 5, dim=1).values, torch.cumsum(y, dim=1),
                     F.pixel_shuffle(y, 2), y.repeat(1, 2, 1, 1)[:, 3:11, 2:-1:2, 1:]]
        if self.opset >= 14:
            outs.append(torch.tril(y))
        a, b = torch.split(y, [3, 5], dim=1)
        outs += [a * 2, b, F.max_pool2d(y, 3, 2, ceil_mode=True)]
        if self.opset >= 10:  # opset 9's export pads explicitly, which ONNX Runtime rejects (pad >= kernel)
            outs.append(F.avg_pool2d(y, 3, 2, 1, ceil_mode=True, count_include_pad=False))
        return tuple(outs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("opset", type=int)
    ap.add_argument("out_dir")
    ap.add_argument("--size", type=int, nargs=2, default=[12, 14])
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    torch.manual_seed(0)
    x = torch.rand(1, 3, *a.size)
    path = os.path.join(a.out_dir, "model.onnx")
    torch.onnx.export(DataOps(a.opset, a.size).eval(), x, path, opset_version=a.opset, input_names=["input"])
    with open(os.path.join(a.out_dir, "input.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x.numpy(), "input").SerializeToString())
    m = onnx.load(path)
    for n in m.graph.node:
        if n.op_type == "Cast" and n.attribute[0].i == onnx.TensorProto.INT64:
            n.op_type = "Identity"
            del n.attribute[:]
    onnx.save(m, os.path.join(a.out_dir, "model_no_cast.onnx"))


if __name__ == "__main__":
    main()
