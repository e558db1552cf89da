#!/usr/bin/python3
"""INT8 accuracy and agreement figures of issue 4 (bars 4, 5 and 6), measured end to end with the built binaries.

    /usr/bin/python3 scripts/int8_accuracy.py [--octet build/bin/octet] [--work build/int8-accuracy]
                                             [--skip-resnet] [--resnet50 build/models/resnet50.onnx]
                                             [--weight-bits 8|7]

Fashion-MNIST (the demo model, models/fmnist_resnet.onnx):
  - calibration: 500 TRAINING images (every 120th of the 60,000; one .pb of batch 500), `octet quantize` with its
    default method; evaluation: all 10,000 TEST images (one .pb of batch 10,000, pixels / 255 as `infer` does for
    a 1-channel model), so calibration and evaluation never share an image;
  - top-1 of octet FP32, octet INT8 and ONNX Runtime 1.30 running octet's QDQ file; bar 5: octet INT8 within 0.5
    points of FP32; bar 6: ORT's top-1 equals octet INT8's on at least 99% of the images.
ResNet-50 (torchvision v1.5, random weights, BN kept; scripts/export_torchvision.py makes it):
  - 48 varied 224x224 inputs, ImageNet-normalised: Fashion-MNIST images upscaled and tinted, smooth random fields
    (low-frequency noise), and colour gradients with shapes; 16 calibrate, the other 32 are scored;
  - bar 5: cosine similarity of octet INT8 vs octet FP32 logits, mean over the 32 (and the minimum); also the
    cosine of the centred logits (each vector minus its mean): a random-weight network's logits share a large
    common component that makes the plain cosine look better than the ranking is; and the cosine of the
    input-dependent part (outputs minus the mean FP32 output over the 32), the strictest of the three;
  - bar 4: an ORT-quantizer-style QDQ model of the same network (scripts/make_qdq_models.py --resnet50: BN folded,
    Q/DQ on every tensor, made without octet) run by octet and by ORT: cosine of their outputs.
Prints one table; the last line is a JSON object with every figure. Exit status 1 when a bar is missed.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import fmnist  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 3, 1, 1)


def sh(*cmd):
    r = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"int8_accuracy: {' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def save_pb(arr, name, path):
    onnx.save_tensor(numpy_helper.from_array(np.ascontiguousarray(arr), name), path)


def load_pb(path):
    return numpy_helper.to_array(onnx.load_tensor(path))


def input_name(model):
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    return next(i.name for i in m.graph.input if i.name not in inits)


def run_octet(octet, model, x_pbs, out_dir):
    """Output 0 of `octet run` on each input file in turn (batches of at most 1000 keep the arena small)."""
    outs = []
    for i, x_pb in enumerate(x_pbs):
        sh(octet, "run", model, x_pb, "-o", f"{out_dir}_{i}", "--threads", "2")
        outs.append(load_pb(os.path.join(f"{out_dir}_{i}", "output_0.pb")))
    return np.concatenate(outs)


def run_ort(model, x_pbs, out_dir):
    outs = []
    for i, x_pb in enumerate(x_pbs):
        sh("node", os.path.join(ROOT, "bench", "ort_bench.js"), model, "--input", x_pb, "--out", f"{out_dir}_{i}",
           "--threads", "2")
        outs.append(load_pb(os.path.join(f"{out_dir}_{i}", "output_0.pb")))
    return np.concatenate(outs)


def cosine(a, b):
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-30)


def centred(a):
    a = a.reshape(len(a), -1)
    return a - a.mean(1, keepdims=True)


def fashion_mnist(octet, work, weight_bits):
    model = os.path.join(ROOT, "models", "fmnist_resnet.onnx")
    name = input_name(model)
    train, _ = fmnist.load("train")
    test, labels = fmnist.load("t10k")
    calib_dir = os.path.join(work, "fmnist_calib")
    os.makedirs(calib_dir, exist_ok=True)
    save_pb((train[::120][:500, None] / 255.0).astype(np.float32), name, os.path.join(calib_dir, "train500.pb"))
    x_pb = []
    for b in range(0, len(test), 1000):
        x_pb.append(os.path.join(work, f"fmnist_test_{b // 1000}.pb"))
        save_pb((test[b:b + 1000, None] / 255.0).astype(np.float32), name, x_pb[-1])
    q = os.path.join(work, f"fmnist_int8_w{weight_bits}.onnx")
    sh(octet, "quantize", model, "--calib", calib_dir, "-o", q, "--weight-bits", weight_bits)
    fp32 = run_octet(octet, model, x_pb, os.path.join(work, "fm_fp32"))
    int8 = run_octet(octet, q, x_pb, os.path.join(work, "fm_int8"))
    ort = run_ort(q, x_pb, os.path.join(work, "fm_ort_int8"))
    top = {k: v.argmax(1) for k, v in (("fp32", fp32), ("int8", int8), ("ort", ort))}
    acc = {k: float((v == labels).mean() * 100) for k, v in top.items()}
    return {
        "fmnist_images": int(len(labels)),
        "fmnist_top1_octet_fp32": acc["fp32"],
        "fmnist_top1_octet_int8": acc["int8"],
        "fmnist_top1_ort_int8": acc["ort"],
        "fmnist_int8_minus_fp32_points": acc["int8"] - acc["fp32"],
        "fmnist_agreement_ort_vs_octet_int8_pct": float((top["int8"] == top["ort"]).mean() * 100),
        "fmnist_agreement_octet_int8_vs_fp32_pct": float((top["int8"] == top["fp32"]).mean() * 100),
    }


def smooth_field(rng, n, size=224):
    """Low-frequency noise: a coarse random grid (4-16 cells a side) upsampled bilinearly, per channel."""
    out = np.empty((n, 3, size, size), np.float32)
    for i in range(n):
        cells = int(rng.integers(4, 17))
        coarse = rng.uniform(0, 1, (3, cells, cells)).astype(np.float32)
        t = np.linspace(0, cells - 1, size)
        i0 = np.floor(t).astype(int).clip(0, cells - 2)
        f = (t - i0).astype(np.float32)
        rows = coarse[:, i0] * (1 - f)[None, :, None] + coarse[:, i0 + 1] * f[None, :, None]
        out[i] = rows[:, :, i0] * (1 - f)[None, None, :] + rows[:, :, i0 + 1] * f[None, None, :]
    return out


def gradients_with_shapes(rng, n, size=224):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.empty((n, 3, size, size), np.float32)
    for i in range(n):
        a = rng.uniform(0, 2 * np.pi)
        g = np.cos(a) * xx + np.sin(a) * yy
        for c in range(3):
            out[i, c] = (g * rng.uniform(0.3, 1) + rng.uniform(0, 0.5)) % 1.0
        for _ in range(int(rng.integers(2, 6))):
            cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.25)
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
            out[i][:, mask] = rng.uniform(0, 1, (3, 1))
    return out


def tinted_fmnist(rng, n, size=224):
    images, _ = fmnist.load("t10k")
    pick = rng.choice(len(images), n, replace=False)
    idx = (np.arange(size) * 28 // size)
    out = np.empty((n, 3, size, size), np.float32)
    for i, k in enumerate(pick):
        big = images[k][idx][:, idx].astype(np.float32) / 255.0
        bg, fg = rng.uniform(0, 0.6, 3), rng.uniform(0.4, 1, 3)
        out[i] = bg.reshape(3, 1, 1) * (1 - big) + fg.reshape(3, 1, 1) * big
    return out


def varied_inputs(seed, n):
    rng = np.random.default_rng(seed)
    k = n // 3
    x = np.concatenate([tinted_fmnist(rng, k), smooth_field(rng, k), gradients_with_shapes(rng, n - 2 * k)])
    x = x[rng.permutation(n)]
    return ((x - MEAN) / STD).astype(np.float32)


def resnet50(octet, work, model, weight_bits):
    if not os.path.exists(model):
        sh(sys.executable, os.path.join(HERE, "export_torchvision.py"), "resnet50")
    name = input_name(model)
    x = varied_inputs(7, 48)
    calib_dir = os.path.join(work, "r50_calib")
    os.makedirs(calib_dir, exist_ok=True)
    for i in range(16):
        save_pb(x[i:i + 1], name, os.path.join(calib_dir, f"calib_{i:02d}.pb"))
    x_pb = [os.path.join(work, "r50_eval32.pb")]
    save_pb(x[16:], name, x_pb[0])
    q = os.path.join(work, f"r50_int8_w{weight_bits}.onnx")
    sh(octet, "quantize", model, "--calib", calib_dir, "-o", q, "--weight-bits", weight_bits)
    fp32 = run_octet(octet, model, x_pb, os.path.join(work, "r50_fp32"))
    int8 = run_octet(octet, q, x_pb, os.path.join(work, "r50_int8"))
    ort_q = run_ort(q, x_pb, os.path.join(work, "r50_ort_int8"))
    cos = cosine(int8, fp32)
    cos_c = cosine(centred(int8), centred(fp32))
    # The input-dependent part: each output minus the mean FP32 output over the 32 inputs. A random-weight
    # ResNet-50 answers nearly the same logits whatever the input (the FP32 outputs of two different inputs have a
    # cosine of ~0.999), so the plain cosine mostly measures that shared vector; this one measures what varies.
    base = fp32.reshape(len(fp32), -1).mean(0, keepdims=True)
    cos_d = cosine(int8.reshape(len(int8), -1) - base, fp32.reshape(len(fp32), -1) - base)
    f = centred(fp32)
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    cross = f @ f.T
    cross_mean = float((cross.sum() - len(f)) / (len(f) * (len(f) - 1)))
    # The same network quantized the way ONNX Runtime's quantizer lays it out, by a script that is not octet.
    ort_style = os.path.join(work, "r50_ort_style_qdq.onnx")
    sh(sys.executable, os.path.join(HERE, "make_qdq_models.py"), "--resnet50", model, ort_style, "--wbits", weight_bits)
    os_octet = run_octet(octet, ort_style, x_pb, os.path.join(work, "r50s_octet"))
    os_ort = run_ort(ort_style, x_pb, os.path.join(work, "r50s_ort"))
    return {
        "resnet50_eval_inputs": int(len(fp32)),
        "resnet50_cos_int8_vs_fp32_mean": float(cos.mean()),
        "resnet50_cos_int8_vs_fp32_min": float(cos.min()),
        "resnet50_cos_centred_int8_vs_fp32_mean": float(cos_c.mean()),
        "resnet50_cos_centred_int8_vs_fp32_min": float(cos_c.min()),
        "resnet50_cos_input_dependent_int8_vs_fp32_mean": float(cos_d.mean()),
        "resnet50_cos_input_dependent_int8_vs_fp32_min": float(cos_d.min()),
        "resnet50_fp32_cross_input_cos_mean": cross_mean,
        "resnet50_top1_agreement_int8_vs_fp32_pct": float((int8.argmax(1) == fp32.argmax(1)).mean() * 100),
        "resnet50_cos_octet_vs_ort_same_qdq_mean": float(cosine(int8, ort_q).mean()),
        "resnet50_cos_octet_vs_ort_same_qdq_min": float(cosine(int8, ort_q).min()),
        "resnet50_ort_style_cos_octet_vs_ort_mean": float(cosine(os_octet, os_ort).mean()),
        "resnet50_ort_style_cos_octet_vs_ort_min": float(cosine(os_octet, os_ort).min()),
        "resnet50_ort_style_top1_agreement_pct": float((os_octet.argmax(1) == os_ort.argmax(1)).mean() * 100),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--octet", default=os.path.join(ROOT, "build", "bin", "octet"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "int8-accuracy"))
    ap.add_argument("--resnet50", default=os.path.join(ROOT, "build", "models", "resnet50.onnx"))
    ap.add_argument("--skip-resnet", action="store_true")
    ap.add_argument("--weight-bits", type=int, default=8, choices=(7, 8),
                    help="octet quantize --weight-bits (7: ORT's reduce_range, exact in ORT's AVX2 int8 kernels)")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    r = {"weight_bits": a.weight_bits}
    r.update(fashion_mnist(a.octet, a.work, a.weight_bits))
    if not a.skip_resnet:
        r.update(resnet50(a.octet, a.work, a.resnet50, a.weight_bits))
    width = max(len(k) for k in r)
    for k, v in r.items():
        print(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    bars = {
        "bar5 fmnist int8 within 0.5 points of fp32": abs(r["fmnist_int8_minus_fp32_points"]) <= 0.5,
        "bar6 ORT agrees with octet int8 top-1 on >= 99%": r["fmnist_agreement_ort_vs_octet_int8_pct"] >= 99.0,
    }
    if not a.skip_resnet:
        bars["bar5 resnet50 cosine int8 vs fp32 >= 0.99 (mean of 32)"] = r["resnet50_cos_int8_vs_fp32_mean"] >= 0.99
        bars["bar4 ORT-style QDQ: octet vs ORT cosine >= 0.99"] = r["resnet50_ort_style_cos_octet_vs_ort_mean"] >= 0.99
    for k, ok in bars.items():
        print(f"{'met ' if ok else 'MISSED'}  {k}")
    r["bars_met"] = all(bars.values())
    print(json.dumps(r))
    sys.exit(0 if r["bars_met"] else 1)


if __name__ == "__main__":
    main()
