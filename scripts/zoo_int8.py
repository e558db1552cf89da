#!/usr/bin/python3
"""INT8 across the model zoo: `octet quantize` each family, check the file, and compare octet with ONNX Runtime.

    /usr/bin/python3 scripts/zoo_int8.py OCTET [ZOO_DIR] [--only NAME,...] [--json FILE] [--min-cosine 0.999]
                                         [--weight-bits auto|7|8]

For every case of scripts/make_zoo.py in ZOO_DIR (default build/zoo): calibrates on 8 seeded random inputs of
data set 0's shape (written as .pb files; `--shape` binds the model's symbolic dims to that shape), writes
ZOO_DIR/<case>/int8.onnx with `octet quantize`, then checks
  - onnx.checker accepts the file (full check) and every node name is unique;
  - ONNX Runtime 1.30 loads and runs it (bench/ort_bench.js run mode) on data set 0's input;
  - octet runs the same file on the same input (`octet run`), and each float output's cosine similarity to ORT's
    is at least --min-cosine (integer outputs, e.g. an ArgMax path: at least 99% equal) - or, where the engines
    differ by more, octet's int8 output is at least as close to the FP32 model's as ORT's is (cosine >= 0.99).
Prints a table (case, quantized ops, cosine, ORT/octet agreement) and exits 1 when any case fails.
Random inputs say nothing about accuracy (docs/accuracy.md is for that); they check that octet's int8 file is a
valid model that another engine computes the same way.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Known deviations, each with the bound it must still meet and why (measured on AMD Zen 3, AVX2, 7-bit weights,
# 2026-12-08). Printed as KNOWN, not PASS; a case here that does worse than its bound fails.
KNOWN = {
    "vit_b_16": (0.99, "octet vs ORT cosine 0.9963; both engines' int8 outputs are far from FP32 (0.736 / 0.742): "
                       "per-tensor u8 on ViT's residual stream, Softmax and GELU outputs loses most of the signal on "
                       "random weights and inputs - the transformer quantization work of the accuracy issue"),
}


def load_pb(path):
    return numpy_helper.to_array(onnx.load_tensor(path))


def write_pb(path, name, arr):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(arr), name).SerializeToString())


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def cosine(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    return float(a @ b / max(na * nb, 1e-300))


def check_case(octet, case_dir, min_cos, tmp, weight_bits="8"):
    name = os.path.basename(case_dir.rstrip("/"))
    model = os.path.join(case_dir, "model.onnx")
    out = os.path.join(case_dir, "int8.onnx")
    x0 = os.path.join(case_dir, "test_data_set_0", "input_0.pb")
    x = load_pb(x0)
    inp = onnx.load(model, load_external_data=False).graph.input[0].name
    calib = os.path.join(tmp, name, "calib")
    os.makedirs(calib)
    rng = np.random.default_rng(7)
    for i in range(8):
        write_pb(os.path.join(calib, f"sample_{i}.pb"), inp, rng.standard_normal(x.shape).astype(np.float32))
    shape = "x".join(str(d) for d in x.shape)
    r = run([octet, "quantize", model, "--calib", calib, "-o", out, "--shape", f"{inp}={shape}", "--threads", "1",
             "--weight-bits", weight_bits])
    if r.returncode != 0:
        return dict(name=name, ok=False, why="octet quantize: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    m = onnx.load(out)
    try:
        onnx.checker.check_model(m, full_check=True)
    except Exception as e:  # noqa: BLE001 - any checker complaint fails the case
        return dict(name=name, ok=False, why=f"onnx.checker: {str(e).splitlines()[0]}")
    names = [n.name for n in m.graph.node]
    if len(set(names)) != len(names):
        return dict(name=name, ok=False, why="duplicate node names")
    nq = sum(n.op_type == "QuantizeLinear" for n in m.graph.node)
    ort_dir, oct_dir = os.path.join(tmp, name, "ort"), os.path.join(tmp, name, "octet")
    os.makedirs(ort_dir)
    os.makedirs(oct_dir)
    r = run(["node", os.path.join(ROOT, "bench", "ort_bench.js"), out, "--input", x0, "--out", ort_dir,
             "--threads", "1"])
    if r.returncode != 0:
        return dict(name=name, ok=False, why="ONNX Runtime: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    r = run([octet, "run", out, x0, "-o", oct_dir, "--threads", "1"])
    if r.returncode != 0:
        return dict(name=name, ok=False, why="octet run: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    cos, worst_int, oct_fp32, ort_fp32 = 1.0, 1.0, 1.0, 1.0
    for i in range(len(m.graph.output)):
        a = load_pb(os.path.join(oct_dir, f"output_{i}.pb"))
        b = load_pb(os.path.join(ort_dir, f"output_{i}.pb"))
        f = load_pb(os.path.join(case_dir, "test_data_set_0", f"output_{i}.pb"))  # ORT's FP32 reference
        if a.shape != b.shape:
            return dict(name=name, ok=False, why=f"output {i}: octet shape {a.shape}, ORT {b.shape}")
        if np.issubdtype(a.dtype, np.floating):
            cos = min(cos, cosine(a, b))
            oct_fp32, ort_fp32 = min(oct_fp32, cosine(a, f)), min(ort_fp32, cosine(b, f))
        else:
            worst_int = min(worst_int, float((a == b).mean()))
    # Where the two engines differ by more than min_cos, the one nearer the FP32 model is right: octet passes when
    # its int8 output is at least as close to FP32 as ORT's on the same file (and still within cosine 0.99 of it).
    closer = oct_fp32 >= ort_fp32 and cos >= 0.99
    known = name in KNOWN and cos >= KNOWN[name][0]
    ok = (cos >= min_cos or closer or known) and worst_int >= 0.99
    return dict(name=name, ok=ok, known=known and cos < min_cos and not closer, quantize_nodes=nq, cosine=cos,
                int_agreement=worst_int, octet_vs_fp32=oct_fp32,
                ort_vs_fp32=ort_fp32, why="" if ok else f"cosine {cos:.5f}, integer agreement {worst_int:.3f}, "
                f"vs FP32: octet {oct_fp32:.5f}, ORT {ort_fp32:.5f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("octet")
    ap.add_argument("zoo", nargs="?", default=os.path.join(ROOT, "build", "zoo"))
    ap.add_argument("--only")
    ap.add_argument("--json")
    ap.add_argument("--min-cosine", type=float, default=0.999)
    ap.add_argument("--weight-bits", default="auto",
                    help="7, 8, or auto: 8 where the CPU has VNNI, else 7 (see below)")
    args = ap.parse_args()
    if args.weight_bits == "auto":
        # Without VNNI, ONNX Runtime's u8 x s8 kernels (vpmaddubsw) saturate int16 pair sums for 8-bit weights, so
        # ORT itself deviates (octet's AVX2 tier is exact: its scalar tier gives the same bytes); 7-bit weights
        # (ORT's reduce_range) keep ORT exact there, and that is what a comparison can trust.
        flags = open("/proc/cpuinfo").read()
        args.weight_bits = "8" if ("avx512_vnni" in flags or "avx_vnni" in flags) else "7"
        print(f"zoo_int8: {args.weight_bits}-bit weights (CPU {'with' if args.weight_bits == '8' else 'without'} VNNI)")
    cases = sorted(d for d in os.listdir(args.zoo) if os.path.exists(os.path.join(args.zoo, d, "model.onnx")))
    if args.only:
        cases = [c for c in cases if c in args.only.split(",")]
    if not cases:
        sys.exit(f"zoo_int8: no cases in {args.zoo}")
    tmp = tempfile.mkdtemp(prefix="zoo_int8_")
    results = []
    try:
        for c in cases:
            r = check_case(args.octet, os.path.join(args.zoo, c), args.min_cosine, tmp, args.weight_bits)
            results.append(r)
            if r["ok"] and r.get("known"):
                print(f"KNOWN {c:31s} {r['quantize_nodes']:4d} QuantizeLinear  cosine {r['cosine']:.6f}  vs FP32: "
                      f"octet {r['octet_vs_fp32']:.5f} ORT {r['ort_vs_fp32']:.5f}  ({KNOWN[c][1]})", flush=True)
            elif r["ok"]:
                print(f"PASS {c:32s} {r['quantize_nodes']:4d} QuantizeLinear  cosine {r['cosine']:.6f}  vs FP32: "
                      f"octet {r['octet_vs_fp32']:.5f} ORT {r['ort_vs_fp32']:.5f}", flush=True)
            else:
                print(f"FAIL {c:32s} {r['why']}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    passed = sum(r["ok"] for r in results)
    known = sum(bool(r.get("known")) for r in results if r["ok"])
    print(f"zoo_int8: {known} of the passes are known deviations within their recorded bounds")
    print(f"{passed} passed, {len(results) - passed} failed")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
