#!/usr/bin/python3
"""Trains octet's demo model, a small residual CNN for Fashion-MNIST, and exports it to ONNX.

    /usr/bin/python3 scripts/train_demo.py [--epochs 4] [--out models/fmnist_resnet.onnx]
                                           [--images models/images] [--threads 1]

Needs Debian's python3-torch, python3-onnx, python3-numpy and dataset-fashion-mnist (CPU only; about
2.5 minutes of one core, longer when the machine is busy). Writes:
  - models/fmnist_resnet.onnx: opset 13, input "input" [N,1,28,28] float (pixels x/255), output "output"
    [N,10] logits; BatchNormalization nodes kept (the engine's BN-folding pass has something to do);
    metadata_props "labels" (10 lines) and octet's preprocessing hints "octet.resize", "octet.mean",
    "octet.std".
  - models/images/<test_idx>_<label>.png: 8 test images (28x28 8-bit gray), one per class for the
    first 8 classes.
and prints the PyTorch test accuracy (recorded in docs/models.md).
"""

import argparse
import os
import random
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

try:
    import onnx
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    sys.exit(f"{e}: run with /usr/bin/python3 and `apt-get install python3-torch python3-onnx`")

SEED = 20240601


class ConvBnRelu(nn.Sequential):
    def __init__(self, cin, cout, stride=1, relu=True):
        layers = [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """y = relu(bn(conv(relu(bn(conv(x))))) + x): the pattern octet fuses as Conv + Add + Relu."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(ConvBnRelu(channels, channels), ConvBnRelu(channels, channels, relu=False))

    def forward(self, x):
        return F.relu(self.body(x) + x)


class FmnistResNet(nn.Module):
    """28x28 -> strided conv 16 (14x14) -> residual 16 -> maxpool (7x7) -> conv 32 -> residual 32 ->
    global average pool -> flatten -> linear 10. About 2 MMAC per image: small enough to train on a
    2-core CPU in minutes, and it still has every op pattern the engine fuses."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            ConvBnRelu(1, 16, stride=2),
            ResidualBlock(16),
            nn.MaxPool2d(2),
            ConvBnRelu(16, 32),
            ResidualBlock(32),
            nn.AdaptiveAvgPool2d(1),  # exported as GlobalAveragePool
            nn.Flatten(),
        )
        self.classifier = nn.Linear(32, 10)  # exported as Gemm

    def forward(self, x):
        return self.classifier(self.features(x))


def to_tensor(images):
    """uint8 [N,28,28] -> float [N,1,28,28] in [0,1]: exactly octet's default for 1-channel input."""
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / x.shape[0]


def train(model, x, y, epochs, batch):
    steps_per_epoch = (x.shape[0] + batch - 1) // batch
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, epochs=epochs, steps_per_epoch=steps_per_epoch)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        model.train()
        start = time.time()
        perm = torch.randperm(x.shape[0], generator=gen)
        total_loss = 0.0
        for step in range(steps_per_epoch):
            idx = perm[step * batch:(step + 1) * batch]
            xb, yb = x[idx], y[idx]
            # Horizontal flip of half the batch: clothes are left-right symmetric, the labels are not changed.
            flip = torch.rand(xb.shape[0], generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item()
        print(f"epoch {epoch + 1}/{epochs}: loss {total_loss / steps_per_epoch:.4f}, "
              f"{time.time() - start:.1f} s", flush=True)


def export(model, path):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    # do_constant_folding=False and TrainingMode.PRESERVE with the model in eval mode keep each
    # BatchNormalization as a node (inference form, running statistics) instead of folding it into the conv.
    torch.onnx.export(model, dummy, path, opset_version=13, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    proto = onnx.load(path)
    meta = {
        "labels": "\n".join(fmnist.LABELS),
        # Preprocessing hints for `octet infer`: shorter side to 28, no crop needed, x/255 with no mean/std.
        "octet.resize": "28",
        "octet.mean": "0",
        "octet.std": "1",
    }
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = ("octet demo: small residual CNN for Fashion-MNIST (scripts/train_demo.py). "
                        "Input: [N,1,28,28] gray pixels / 255. Output: [N,10] logits.")
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, path)
    ops = {}
    for node in proto.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    if "BatchNormalization" not in ops:
        sys.exit(f"{path}: export folded BatchNormalization away (ops: {ops})")
    print(f"wrote {path}: {os.path.getsize(path)} bytes, ops {dict(sorted(ops.items()))}")


def write_samples(model, images, labels, out_dir, count=8):
    """Writes the first test image of each class 0..count-1 that the model classifies correctly."""
    os.makedirs(out_dir, exist_ok=True)
    with torch.no_grad():
        pred = model(to_tensor(images[:1000])).argmax(1).numpy()
    for cls in range(count):
        idx = next(i for i in range(1000) if labels[i] == cls and pred[i] == cls)
        path = os.path.join(out_dir, f"{idx}_{fmnist.slug(fmnist.LABELS[cls])}.png")
        fmnist.write_png_gray(path, images[idx])
        print(f"wrote {path}")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128)
    # One thread by default: torch's OpenMP threads spin at barriers, and on a shared 2-core machine two
    # of them ran 5x slower than one.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(root, "models", "fmnist_resnet.onnx"))
    ap.add_argument("--images", default=os.path.join(root, "models", "images"))
    args = ap.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    train_images, train_labels = fmnist.load("train")
    test_images, test_labels = fmnist.load("t10k")
    x_train, y_train = to_tensor(train_images), torch.from_numpy(train_labels.astype(np.int64))
    x_test, y_test = to_tensor(test_images), torch.from_numpy(test_labels.astype(np.int64))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    model = FmnistResNet()
    start = time.time()
    train(model, x_train, y_train, args.epochs, args.batch)
    acc = evaluate(model, x_test, y_test)
    print(f"PyTorch test accuracy: {acc * 100:.2f}% ({round(acc * 10000)}/10000), "
          f"training {time.time() - start:.0f} s")
    export(model, args.out)
    write_samples(model, test_images, test_labels, args.images)


if __name__ == "__main__":
    main()
