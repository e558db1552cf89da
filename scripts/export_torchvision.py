#!/usr/bin/python3
"""Exports a torchvision architecture with random (seeded) weights to ONNX, BatchNormalization kept.

    /usr/bin/python3 scripts/export_torchvision.py ARCH [OUT.onnx] [--opset 13] [--size 224] [--seed 0]

ARCH: resnet50 (torchvision's ResNet-50 = v1.5, stride on the 3x3 conv), mobilenet_v2, or any other
zero-argument constructor in torchvision.models (e.g. resnet18, mobilenet_v3_small). OUT defaults to
build/models/ARCH.onnx; models are benchmark inputs, not committed. Speed does not depend on the weight
values, so random weights (torch.manual_seed) stand in for trained ones; no download is needed.

The export is the one issue 3 specifies for the speed bar: opset 13, do_constant_folding=False and
training=TrainingMode.PRESERVE with the model in eval() mode (the default export folds each
BatchNormalization into its conv), input "input" [N,3,224,224], output "output" [N,1000], batch axis
"N" dynamic. Needs Debian's python3-torch, python3-torchvision and python3-onnx.
"""

import argparse
import os
import sys

try:
    import onnx
    import torch
    import torchvision
except ImportError as e:
    sys.exit(f"{e}: run with /usr/bin/python3 and `apt-get install python3-torch python3-torchvision python3-onnx`")


def build(arch):
    ctor = getattr(torchvision.models, arch, None)
    if ctor is None or not callable(ctor) or arch.startswith("_") or arch[0].isupper():
        sys.exit(f"unknown torchvision architecture '{arch}' (e.g. resnet50, mobilenet_v2)")
    return ctor(weights=None)


def randomize_bn(model, gen):
    """Gives BatchNorm layers non-trivial running statistics and affine terms (fresh ones are mean 0,
    var 1, gamma 1, beta 0, which would hide BN-folding mistakes in a numeric comparison)."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("arch")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--size", type=int, default=224, help="input height and width")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = args.out or os.path.join(root, "build", "models", f"{args.arch}.onnx")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)

    torch.manual_seed(args.seed)
    model = build(args.arch)
    with torch.no_grad():
        randomize_bn(model, torch.Generator().manual_seed(args.seed + 1))
    model.eval()
    dummy = torch.zeros(1, 3, args.size, args.size)
    torch.onnx.export(model, dummy, out, opset_version=args.opset, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})

    proto = onnx.load(out)
    onnx.checker.check_model(proto)
    ops = {}
    for node in proto.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()) \
            and "BatchNormalization" not in ops:
        sys.exit(f"{out}: the export folded BatchNormalization away (ops: {ops})")
    print(f"wrote {out}: {os.path.getsize(out) / 1e6:.1f} MB, opset {args.opset}, "
          f"ops {dict(sorted(ops.items()))}")


if __name__ == "__main__":
    main()
