#!/usr/bin/python3
"""The Python binding's overhead per InferenceSession.run call against the same call through the C++ API.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [--rounds 5] [--calls 2000]

Models: a tiny one (Relu over 1x16 floats, made here in the build tree: the engine's work is nearly nothing, so the
time is the API's) and the demo ResNet (models/fmnist_resnet.onnx) at batch 1 and 64. Each round times CALLS runs
in C++ (build/bin/octet-bench-api, a separate process) and CALLS runs from Python on the same input (one thread
per run, outputs allocated by the library in both), and takes the difference of the two medians. Rounds alternate
C++ and Python so machine load drifts into both alike; the report gives the median overhead over rounds and its
range (min..max). Short on purpose: the machine is shared."""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("OCTET_BUILD", ROOT / "build"))
sys.path.insert(0, str(BUILD / "python"))
import octet  # noqa: E402


def tiny_model(path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "tiny", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="bench/python_overhead.py")
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def python_median(sess, name, x, calls):
    feed = {name: x}
    for _ in range(max(10, calls // 10)):
        sess.run(None, feed)
    t = []
    clock = time.perf_counter
    for _ in range(calls):
        t0 = clock()
        sess.run(None, feed)
        t.append(clock() - t0)
    return statistics.median(t) * 1e6


def cpp_median(model, batch, calls):
    out = subprocess.run([str(BUILD / "bin" / "octet-bench-api"), str(model), str(batch), str(calls)],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0])


def measure(model, batch, rounds, calls):
    sess = octet.InferenceSession(str(model), threads=1)
    inp = sess.get_inputs()[0]
    shape = [batch if not isinstance(d, int) else d for d in inp.shape]
    n = int(np.prod(shape))
    # The pattern octet-bench-api feeds: (i % 17) / 17 - 0.5.
    x = ((np.arange(n) % 17) / np.float32(17) - np.float32(0.5)).astype(np.float32).reshape(shape)
    cpp, py = [], []
    for _ in range(rounds):
        cpp.append(cpp_median(model, batch, calls))
        py.append(python_median(sess, inp.name, x, calls))
    over = [p - c for p, c in zip(py, cpp)]
    return dict(cpp=statistics.median(cpp), py=statistics.median(py), over=statistics.median(over),
                lo=min(over), hi=max(over))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000)
    a = ap.parse_args()
    tiny = tiny_model(BUILD / "bench_tiny_relu.onnx")
    demo = ROOT / "models" / "fmnist_resnet.onnx"
    cases = [("tiny Relu 1x16", tiny, 1, a.calls), ("fmnist_resnet batch 1", demo, 1, a.calls // 4),
             ("fmnist_resnet batch 64", demo, 64, max(20, a.calls // 100))]
    print("| model | C++ API per call (us) | Python per call (us) | overhead median (us) | overhead min..max (us) |")
    print("|---|---|---|---|---|")
    for name, model, batch, calls in cases:
        r = measure(model, batch, a.rounds, calls)
        print("| %s | %.2f | %.2f | %.2f | %.2f .. %.2f |" % (name, r["cpp"], r["py"], r["over"], r["lo"], r["hi"]))


if __name__ == "__main__":
    main()
