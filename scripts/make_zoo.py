#!/usr/bin/python3
"""Makes the model zoo test set: one model per vision family, in ONNX's backend-test layout.

    /usr/bin/python3 scripts/make_zoo.py [OUT_DIR] [--only NAME,...] [--jobs N] [--force] [--list] [--no-ref]
                                         [--update-sums]

For each case OUT_DIR/<name>/ gets model.onnx (torchvision architecture or a text detector / recogniser built
here from its paper's layer list, random weights from a fixed seed), test_data_set_K/input_0.pb (seeded
normal inputs; symbolic-size models get one data set per input size) and test_data_set_K/output_N.pb: ONNX
Runtime 1.30's outputs (bench/ort_bench.js run mode), checked against PyTorch's own outputs on the way. Then
`build/bin/octet conformance OUT_DIR/*` runs them all (tests/cli/zoo.sh does, with rtol 1e-3 / atol 1e-4).

Models are not committed (OUT_DIR defaults to build/zoo; ~2 GB, VGG and ViT are large). What is committed is
tests/data/zoo.sha256: for every case the SHA-256 of model.onnx and of each input file (deterministic for a
given torch / torchvision), and a rounded fingerprint of each reference output (sum and sum of squares to 3
significant digits, argmax of the flattened output), so a changed generator, exporter or peer is noticed.
The check fails when a fingerprint differs; a differing model hash (another torch build) is only reported.
`--update-sums` rewrites the file from this run. A case whose files in OUT_DIR already match the committed file
is kept as it is (`--force` remakes it).

Random weights: torchvision's own initialisation, plus non-trivial BatchNorm statistics (see
export_torchvision.py); the outputs are then far from constant, so a wrong kernel shows. Needs Debian's
python3-torch, python3-torchvision, python3-onnx, and node with bench/node_modules (bench/install_peer.sh).
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time

try:
    import numpy as np
    import onnx
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision
    from onnx import numpy_helper
except ImportError as e:
    sys.exit(f"{e}: run with /usr/bin/python3 after `scripts/setup.sh --models`")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUMS = os.path.join(ROOT, "tests", "data", "zoo.sha256")


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            if m.weight is not None:
                m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
                m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


# ---------------------------------------------------------------------------------------------------------------
# Text detection and recognition, from their papers' layer lists (small widths: these test ops, not accuracy).

class DBNet(nn.Module):
    """DBNet (Liao et al. 2020): ResNet-18 backbone, FPN neck (1x1 laterals, top-down nearest x2 upsampling and
    add, 3x3 smoothing), each level upsampled to 1/4 scale and concatenated, then the probability head
    Conv3x3-BN-ReLU, ConvTranspose 2x2/2-BN-ReLU, ConvTranspose 2x2/2, Sigmoid. The upsampling uses a different
    Resize mode per level (nearest, bilinear half-pixel, bilinear align-corners, bicubic) so one model
    exercises each coordinate transformation torch exports."""

    def __init__(self, inner=64):
        super().__init__()
        r = torchvision.models.resnet18(weights=None)
        self.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
        self.stages = nn.ModuleList([r.layer1, r.layer2, r.layer3, r.layer4])
        self.lateral = nn.ModuleList([nn.Conv2d(c, inner, 1) for c in (64, 128, 256, 512)])
        self.smooth = nn.ModuleList([nn.Conv2d(inner, inner // 4, 3, padding=1) for _ in range(4)])
        self.head = nn.Sequential(
            nn.Conv2d(inner, inner // 4, 3, padding=1, bias=False), nn.BatchNorm2d(inner // 4), nn.ReLU(),
            nn.ConvTranspose2d(inner // 4, inner // 4, 2, 2), nn.BatchNorm2d(inner // 4), nn.ReLU(),
            nn.ConvTranspose2d(inner // 4, 1, 2, 2), nn.Sigmoid())

    def forward(self, x):
        feats = []
        x = self.stem(x)
        for s in self.stages:
            x = s(x)
            feats.append(x)
        lat = [l(f) for l, f in zip(self.lateral, feats)]
        for i in (3, 2, 1):  # top-down: nearest x2 (Resize nearest, asymmetric) and add
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], scale_factor=2.0, mode="nearest")
        outs = [s(l) for s, l in zip(self.smooth, lat)]
        size = outs[0].shape[2:]
        outs[1] = F.interpolate(outs[1], size=size, mode="nearest")
        outs[2] = F.interpolate(outs[2], size=size, mode="bilinear", align_corners=False)
        outs[3] = F.interpolate(outs[3], size=size, mode="bilinear", align_corners=True)
        return self.head(torch.cat(outs, 1))


class CRNN(nn.Module):
    """CRNN (Shi et al. 2015): a VGG-style conv stack on a 32-pixel-high gray line (pools 2x2, 2x2, 2x1, 2x1
    collapse the height to 1), the width as the sequence, two bidirectional recurrent layers, a per-step
    classifier, LogSoftmax; outputs the log-probabilities [T, N, classes] and the greedy (ArgMax) path."""

    def __init__(self, classes=37, hidden=64, rnn="lstm"):
        super().__init__()

        def cbr(i, o, bn=False):
            return [nn.Conv2d(i, o, 3, padding=1)] + ([nn.BatchNorm2d(o)] if bn else []) + [nn.ReLU()]

        self.cnn = nn.Sequential(
            *cbr(1, 32), nn.MaxPool2d(2, 2), *cbr(32, 64), nn.MaxPool2d(2, 2),
            *cbr(64, 96, True), *cbr(96, 96), nn.MaxPool2d((2, 1), (2, 1)),
            *cbr(96, 128, True), *cbr(128, 128), nn.MaxPool2d((2, 1), (2, 1)),
            nn.Conv2d(128, 128, (2, 1)), nn.ReLU())
        cell = nn.LSTM if rnn == "lstm" else nn.GRU
        self.rnn1 = cell(128, hidden, bidirectional=True)
        self.rnn2 = cell(2 * hidden, hidden, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        f = self.cnn(x)                       # [N, C, 1, W/4]
        f = f.squeeze(2).permute(2, 0, 1)     # [T, N, C]
        f, _ = self.rnn1(f)
        f, _ = self.rnn2(f)
        logp = F.log_softmax(self.fc(f), dim=2)
        return logp, logp.argmax(2)


class SVTR(nn.Module):
    """A small SVTR-style recogniser (Du et al. 2022): two strided conv-BN-GELU patch embeddings (height /4),
    transformer blocks with explicit multi-head attention (Linear q/k/v, q.k^T / sqrt(d), Softmax, .v) and
    LayerNorm + GELU MLPs, mean over the height, a classifier and the ArgMax path."""

    def __init__(self, classes=37, dim=64, heads=4, depth=2):
        super().__init__()
        self.embed = nn.Sequential(
            nn.Conv2d(3, dim // 2, 3, 2, 1), nn.BatchNorm2d(dim // 2), nn.GELU(),
            nn.Conv2d(dim // 2, dim, 3, 2, 1), nn.BatchNorm2d(dim), nn.GELU())
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            self.blocks.append(nn.ModuleDict(dict(
                n1=nn.LayerNorm(dim), qkv=nn.Linear(dim, 3 * dim), proj=nn.Linear(dim, dim),
                n2=nn.LayerNorm(dim), fc1=nn.Linear(dim, 2 * dim), fc2=nn.Linear(2 * dim, dim))))
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        f = self.embed(x)                                  # [N, D, H/4, W/4]
        n, d, h, w = f.shape
        t = f.flatten(2).transpose(1, 2)                   # [N, L, D]
        for b in self.blocks:
            y = b["n1"](t)
            q, k, v = b["qkv"](y).reshape(n, -1, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
            y = (a @ v).transpose(1, 2).reshape(n, -1, d)
            t = t + b["proj"](y)
            t = t + b["fc2"](F.gelu(b["fc1"](b["n2"](t))))
        t = self.norm(t).reshape(n, h, w, d).mean(1)       # [N, W/4, D]
        logits = self.fc(t)
        return logits, logits.argmax(-1)


class SegOut(nn.Module):
    """torchvision's segmentation models return a dict; users export its "out"."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


# ---------------------------------------------------------------------------------------------------------------
# The cases. sizes: input shapes, one test data set each; dyn: the symbolic input dims (besides the batch).
# Opsets spread over 9..17 so every default-domain form the exporter writes is covered; `bn`: export with
# training=PRESERVE so BatchNormalization stays a node (the default export folds it into the conv).

def tv(arch):
    return lambda: getattr(torchvision.models, arch)(weights=None)


def seg(arch):
    return lambda: SegOut(getattr(torchvision.models.segmentation, arch)(weights=None, weights_backbone=None))


RGB224 = [(1, 3, 224, 224)]
CASES = [
    dict(name="alexnet", make=tv("alexnet"), opset=9, sizes=RGB224),
    dict(name="vgg11_bn", make=tv("vgg11_bn"), opset=10, sizes=RGB224, bn=True),
    dict(name="resnet18", make=tv("resnet18"), opset=11, sizes=RGB224),
    dict(name="resnext50_32x4d", make=tv("resnext50_32x4d"), opset=13, sizes=RGB224),
    dict(name="wide_resnet50_2", make=tv("wide_resnet50_2"), opset=13, sizes=RGB224),
    dict(name="densenet121", make=tv("densenet121"), opset=12, sizes=RGB224, bn=True),
    dict(name="googlenet", make=tv("googlenet"), opset=12, sizes=RGB224),
    # init_weights=False: torchvision's default truncated normal (std 0.1, fan-in blind) lets the random logits
    # reach 1e13, where float32 summation order alone moves single logits by more than rtol 1e-3; Kaiming
    # uniform (PyTorch's default) keeps them O(1).
    dict(name="inception_v3", make=lambda: torchvision.models.inception_v3(weights=None, init_weights=False),
         opset=13, sizes=[(1, 3, 299, 299)]),
    dict(name="squeezenet1_1", make=tv("squeezenet1_1"), opset=11, sizes=RGB224),
    dict(name="mobilenet_v2", make=tv("mobilenet_v2"), opset=13, sizes=RGB224),
    dict(name="mobilenet_v3_large", make=tv("mobilenet_v3_large"), opset=14, sizes=RGB224),
    dict(name="mobilenet_v3_small", make=tv("mobilenet_v3_small"), opset=17, sizes=RGB224),
    dict(name="mnasnet1_0", make=tv("mnasnet1_0"), opset=13, sizes=RGB224),
    dict(name="shufflenet_v2_x1_0", make=tv("shufflenet_v2_x1_0"), opset=11, sizes=RGB224),
    dict(name="efficientnet_b0", make=tv("efficientnet_b0"), opset=13, sizes=RGB224),
    dict(name="efficientnet_v2_s", make=tv("efficientnet_v2_s"), opset=15, sizes=RGB224),
    dict(name="regnet_x_400mf", make=tv("regnet_x_400mf"), opset=13, sizes=RGB224),
    dict(name="regnet_y_400mf", make=tv("regnet_y_400mf"), opset=16, sizes=RGB224),
    dict(name="convnext_tiny", make=tv("convnext_tiny"), opset=17, sizes=RGB224),
    dict(name="vit_b_16", make=tv("vit_b_16"), opset=13, sizes=RGB224),
    dict(name="swin_t", make=tv("swin_t"), opset=14, sizes=RGB224),
    dict(name="deeplabv3_mobilenet_v3_large", make=seg("deeplabv3_mobilenet_v3_large"), opset=13,
         sizes=[(1, 3, 256, 256), (1, 3, 240, 320)], dyn={2: "H", 3: "W"}),
    dict(name="lraspp_mobilenet_v3_large", make=seg("lraspp_mobilenet_v3_large"), opset=11,
         sizes=[(1, 3, 224, 224), (1, 3, 320, 256)], dyn={2: "H", 3: "W"}),
    dict(name="fcn_resnet50", make=seg("fcn_resnet50"), opset=17,
         sizes=[(1, 3, 192, 192), (1, 3, 160, 224)], dyn={2: "H", 3: "W"}),
    dict(name="dbnet_resnet18", make=DBNet, opset=13, sizes=[(1, 3, 320, 320), (1, 3, 256, 416)],
         dyn={2: "H", 3: "W"}, bn=True),
    dict(name="crnn_lstm", make=lambda: CRNN(rnn="lstm"), opset=13, sizes=[(1, 1, 32, 128), (2, 1, 32, 96)],
         dyn={3: "W"}, outputs=["logp", "path"]),
    dict(name="crnn_gru", make=lambda: CRNN(rnn="gru"), opset=14, sizes=[(1, 1, 32, 100)], dyn={3: "W"},
         outputs=["logp", "path"]),
    dict(name="svtr_tiny", make=SVTR, opset=17, sizes=[(1, 3, 32, 128), (1, 3, 32, 160)], dyn={3: "W"},
         outputs=["logits", "path"]),
    dict(name="svtr_tiny_op13", make=SVTR, opset=13, sizes=[(1, 3, 32, 128)], dyn={3: "W"},
         outputs=["logits", "path"]),
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def fingerprint(a):
    """Rounded summary of a reference output: stable across the last bits a CPU's summation order changes."""
    a = np.asarray(a, dtype=np.float64).ravel()
    r = lambda v: float(f"{v:.3g}")
    return f"sum={r(a.sum())} sq={r((a * a).sum())} argmax={int(a.argmax()) if a.size else -1}"


def randomize_zero_weights(model, gen):
    """Gives a layer whose weights are all zero (ViT's classification head is zero-initialised) random ones, so the
    model's output depends on everything before it; otherwise the reference is all zeros and checks nothing."""
    for m in model.modules():
        w = getattr(m, "weight", None)
        if isinstance(m, (nn.Linear, nn.Conv2d)) and w is not None and not bool(w.any()):
            bound = 1.0 / math.sqrt(w[0].numel())
            w.copy_(torch.rand(w.shape, generator=gen) * 2 * bound - bound)


def scale_head(model, shape, gen):
    """Scales the last Linear (else Conv2d) layer so the first output's largest value is 4 when it exceeds 10 on a
    random input. Random deep nets can end in logits of 100+ (Wide ResNet-50: 199), where the float32 rounding of
    the last sums alone is close to atol 1e-4; trained ones end in O(1) logits, and so do these then."""
    with torch.no_grad():
        y = model(torch.randn(shape, generator=gen))
        y = y[0] if isinstance(y, (tuple, list)) else y
        peak = float(y.abs().max())
        if peak <= 10:
            return
        last = [m for m in model.modules() if isinstance(m, nn.Linear)] or \
               [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        last[-1].weight.mul_(4 / peak)
        if last[-1].bias is not None:
            last[-1].bias.mul_(4 / peak)


def export(case, out_dir, seed=0):
    torch.manual_seed(seed)
    model = case["make"]()
    with torch.no_grad():
        randomize_bn(model, torch.Generator().manual_seed(seed + 1))
        randomize_zero_weights(model, torch.Generator().manual_seed(seed + 2))
    model.eval()
    scale_head(model, case["sizes"][0], torch.Generator().manual_seed(seed + 3))
    outs = case.get("outputs", ["output"])
    dyn = {0: "N", **case.get("dyn", {})}
    axes = {"input": dyn}
    for o in outs:
        axes[o] = {}  # output dims: let the exporter name them (symbolic where they depend on the input)
    path = os.path.join(out_dir, "model.onnx")
    kw = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False) if case.get("bn") else {}
    torch.onnx.export(model, torch.zeros(case["sizes"][0]), path, opset_version=case["opset"],
                      input_names=["input"], output_names=outs, dynamic_axes=axes, **kw)
    onnx.checker.check_model(onnx.load(path))
    return model


def write_pb(path, name, arr):
    t = numpy_helper.from_array(np.ascontiguousarray(arr), name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def committed_sums():
    want = {}
    if os.path.exists(SUMS):
        for line in open(SUMS):
            if line.strip() and not line.startswith("#"):
                v, k = line.rstrip("\n").rsplit("  ", 1)
                want[k] = v
    return want


def up_to_date(case, root):
    """The case's files as a previous run left them, when every hash and fingerprint matches the committed file;
    else None. Saves re-exporting the zoo on every test run."""
    want = committed_sums()
    name = case["name"]
    lines = []
    for k in [f"{name}/model.onnx"] + [f"{name}/test_data_set_{i}/input_0.pb" for i in range(len(case["sizes"]))]:
        p = os.path.join(root, k)
        if k not in want or not os.path.exists(p) or sha256(p) != want[k]:
            return None
        lines.append(f"{want[k]}  {k}")
    outs = [k for k in want if k.startswith(f"{name}/test_data_set_") and "/output_" in k]
    if not outs:
        return None
    for k in outs:
        p = os.path.join(root, k)
        if not os.path.exists(p):
            return None
        fp = fingerprint(numpy_helper.to_array(onnx.load_tensor(p)))
        if fp != want[k]:
            return None
        lines.append(f"{fp}  {k}")
    return lines


def make_case(case, root, ref=True, force=False):
    if ref and not force:
        lines = up_to_date(case, root)
        if lines:
            print(f"{case['name']}: up to date", flush=True)
            return lines
    d = os.path.join(root, case["name"])
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    t0 = time.time()
    model = export(case, d)
    sums = [f"{sha256(os.path.join(d, 'model.onnx'))}  {case['name']}/model.onnx"]
    gen = torch.Generator().manual_seed(1234)
    worst = 0.0
    for k, shape in enumerate(case["sizes"]):
        ds = os.path.join(d, f"test_data_set_{k}")
        os.makedirs(ds)
        x = torch.randn(shape, generator=gen)
        write_pb(os.path.join(ds, "input_0.pb"), "input", x.numpy())
        sums.append(f"{sha256(os.path.join(ds, 'input_0.pb'))}  {case['name']}/test_data_set_{k}/input_0.pb")
        if not ref:
            continue
        with torch.no_grad():
            want = model(x)
        want = list(want) if isinstance(want, (tuple, list)) else [want]
        subprocess.run(["node", os.path.join(ROOT, "bench", "ort_bench.js"), os.path.join(d, "model.onnx"),
                        "--input", os.path.join(ds, "input_0.pb"), "--out", ds, "--threads", "1"],
                       check=True, stdout=subprocess.DEVNULL)
        for i, w in enumerate(want):
            got = numpy_helper.to_array(onnx.load_tensor(os.path.join(ds, f"output_{i}.pb")))
            w = w.numpy()
            if got.shape != w.shape:
                sys.exit(f"{case['name']}: ORT output {i} has shape {got.shape}, PyTorch {w.shape}")
            if np.issubdtype(w.dtype, np.floating):
                err = float(np.abs(got - w).max() / max(1e-6, float(np.abs(w).max())))
                worst = max(worst, err)
                # The zoo test allows |octet - ORT| <= 1e-4 + 1e-3 |ORT| per element: the two references must
                # agree twice as closely, or the model is too ill-conditioned for the tolerance to mean anything.
                slack = float((np.abs(got - w) - 0.5 * (1e-4 + 1e-3 * np.abs(w))).max())
                if slack > 0 or float(np.abs(w).max()) == 0:
                    sys.exit(f"{case['name']}: ORT and PyTorch disagree on output {i} by {err:.2e} of its range "
                             f"(max {float(np.abs(w).max()):.3g}), more than half the test tolerance, or it "
                             "is all zeros: the reference is not trustworthy")
            else:
                agree = float((got == w).mean())
                if agree < 0.99:
                    sys.exit(f"{case['name']}: ORT and PyTorch agree on {agree:.1%} of output {i}")
            sums.append(f"{fingerprint(got)}  {case['name']}/test_data_set_{k}/output_{i}.pb")
    print(f"{case['name']}: opset {case['opset']}, {len(case['sizes'])} data set(s), "
          f"{os.path.getsize(os.path.join(d, 'model.onnx')) / 1e6:.1f} MB, ORT vs PyTorch max error "
          f"{worst:.1e} of range, {time.time() - t0:.1f} s", flush=True)
    return sums


def make_named_case(name, root, ref, force):
    """make_case by name, for a worker process (the cases' constructors do not pickle)."""
    return make_case(next(c for c in CASES if c["name"] == name), root, ref, force)


def check_sums(lines):
    """Compares this run's lines with the committed file: fingerprints must match, hashes are reported."""
    want = committed_sums()
    bad = 0
    for line in lines:
        v, k = line.rsplit("  ", 1)
        if k not in want:
            print(f"zoo: {k}: not in {os.path.relpath(SUMS, ROOT)} (run with --update-sums)")
        elif want[k] != v:
            kind = "reference fingerprint" if k.endswith(tuple(f"output_{i}.pb" for i in range(8))) else "hash"
            print(f"zoo: {k}: {kind} {v}, expected {want[k]}")
            bad += kind != "hash"
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=os.path.join(ROOT, "build", "zoo"))
    ap.add_argument("--only", help="comma-separated case names")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--no-ref", action="store_true", help="models and inputs only (no peer)")
    ap.add_argument("--update-sums", action="store_true")
    ap.add_argument("--force", action="store_true", help="remake cases that are up to date")
    ap.add_argument("--jobs", type=int, default=1, help="cases made in parallel (one torch thread each)")
    args = ap.parse_args()
    if args.list:
        for c in CASES:
            print(c["name"])
        return
    cases = CASES
    if args.only:
        names = args.only.split(",")
        unknown = set(names) - {c["name"] for c in CASES}
        if unknown:
            sys.exit(f"unknown case(s) {', '.join(sorted(unknown))}; --list shows them")
        cases = [c for c in CASES if c["name"] in names]
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    lines = []
    if args.jobs > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            for r in pool.starmap(make_named_case, [(c["name"], args.out, not args.no_ref, args.force)
                                                      for c in cases], chunksize=1):
                lines += r
    else:
        for c in cases:
            lines += make_case(c, args.out, ref=not args.no_ref, force=args.force)
    print(f"zoo: {len(cases)} cases in {args.out}, {time.time() - t0:.0f} s")
    if args.update_sums:
        keep = []
        if args.only and os.path.exists(SUMS):
            done = {c["name"] for c in cases}
            keep = [l.rstrip("\n") for l in open(SUMS)
                    if l.strip() and not l.startswith("#") and l.rsplit("  ", 1)[1].split("/")[0] not in done]
        with open(SUMS, "w") as f:
            f.write("# scripts/make_zoo.py --update-sums: SHA-256 of each model and input, a fingerprint of each\n"
                    f"# reference output (ONNX Runtime 1.30). torch {torch.__version__}, "
                    f"torchvision {torchvision.__version__}.\n")
            for l in sorted(keep + lines, key=lambda l: l.rsplit("  ", 1)[1]):
                f.write(l + "\n")
        print(f"zoo: wrote {os.path.relpath(SUMS, ROOT)}")
    elif not args.no_ref and check_sums(lines):
        sys.exit("zoo: reference fingerprints differ from the committed ones")


if __name__ == "__main__":
    main()
