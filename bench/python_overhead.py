#!/usr/bin/python3
"""The Python binding's overhead per InferenceSession.run call against the same call through the C++ API.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py [--rounds 15] [--calls 200]

The baseline runs in the same process, on the same session and the same input buffer: the module's
`_time_cxx_runs(feed, n)` times n calls of octet::Session::run (include/octet/octet.hpp, outputs allocated by the
library, as run() has them) one by one in C++. Each round times CALLS calls from C++ then CALLS calls from Python
(both one thread per run, after a warm-up) and takes the difference of the two medians; rounds alternate so load
from other processes drifts into both alike. Reported: the per-call medians, the overhead's median over rounds
and its range (min..max over rounds). Models: a tiny one (Relu over 1x16 floats, made here in the build tree: the
engine does next to nothing, so the time is the API's) and the demo ResNet (models/fmnist_resnet.onnx) at batch 1
and 64 (a 200 KB input: a copy would show). Short on purpose: the machine is shared."""
import argparse
import os
import pathlib
import platform
import statistics
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


def python_times(sess, feed, calls):
    t = [0.0] * calls
    clock = time.perf_counter
    run = sess.run
    for i in range(calls):
        t0 = clock()
        run(None, feed)
        t[i] = clock() - t0
    return [x * 1e6 for x in t]


def measure(model, batch, rounds, calls):
    sess = octet.InferenceSession(str(model), threads=1)
    inp = sess.get_inputs()[0]
    shape = [batch if not isinstance(d, int) else d for d in inp.shape]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    feed = {inp.name: x}
    sess._time_cxx_runs(feed, max(10, calls // 4))  # compile, warm up
    python_times(sess, feed, max(10, calls // 4))
    cpp, py, over = [], [], []
    for _ in range(rounds):
        c = statistics.median(sess._time_cxx_runs(feed, calls))
        p = statistics.median(python_times(sess, feed, calls))
        cpp.append(c)
        py.append(p)
        over.append(p - c)
    return dict(cpp=statistics.median(cpp), py=statistics.median(py), over=statistics.median(over),
                lo=min(over), hi=max(over))


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=200)
    a = ap.parse_args()
    tiny = tiny_model(BUILD / "bench_tiny_relu.onnx")
    demo = ROOT / "models" / "fmnist_resnet.onnx"
    cases = [("tiny Relu 1x16", tiny, 1, a.calls), ("fmnist_resnet batch 1", demo, 1, a.calls),
             ("fmnist_resnet batch 64", demo, 64, max(10, a.calls // 20))]
    # ResNet-50 (scripts/export_torchvision.py resnet50): ~40 ms a call, so few calls per round.
    r50 = BUILD / "models" / "resnet50.onnx"
    if r50.exists():
        cases.append(("ResNet-50 batch 1", r50, 1, max(5, a.calls // 40)))
    else:
        print(f"(no {r50}: make it with scripts/export_torchvision.py resnet50 for the ResNet-50 row)")
    print("CPU: %s; octet %s; Python %s; %d rounds" % (cpu_name(), octet.__version__, platform.python_version(),
                                                       a.rounds))
    print("| model | C++ API per call (us, median) | Python per call (us, median) | overhead median (us) "
          "| overhead min..max (us) |")
    print("|---|---|---|---|---|")
    for name, model, batch, calls in cases:
        r = measure(model, batch, a.rounds, calls)
        print("| %s | %.2f | %.2f | %.2f | %.2f .. %.2f |" % (name, r["cpp"], r["py"], r["over"], r["lo"], r["hi"]))


if __name__ == "__main__":
    main()
