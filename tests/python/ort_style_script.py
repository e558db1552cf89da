"""A classification script written for onnxruntime, the way such scripts are written. The octet test runs this
file with its import line changed and nothing else (tests/python/test_ort_script.py).

Usage: python3 ort_style_script.py MODEL INPUT.pb...   prints one line per input: file, top-1 index, score."""
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper


def load_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def main():
    model, paths = sys.argv[1], sys.argv[2:]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    out = sess.get_outputs()[0]
    assert inp.type == "tensor(float)", inp.type
    print("input", inp.name, inp.shape, "output", out.name, out.shape)
    batch = np.concatenate([load_tensor(p) for p in paths], axis=0)
    (scores,) = sess.run([out.name], {inp.name: batch})
    logits = sess.run(None, {inp.name: batch})[0]
    assert np.array_equal(scores, logits)
    for path, row in zip(paths, scores):
        print(path, int(np.argmax(row)), "%.6f" % float(np.max(row)))


if __name__ == "__main__":
    main()
