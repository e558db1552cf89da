"""Shared fixtures of the Python tests. ctest runs them with Debian's /usr/bin/python3 and
PYTHONPATH=<build>/python (tests/CMakeLists.txt); OCTET_SOURCE_DIR and OCTET_BIN name the checkout and the CLI."""
import os
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(os.environ.get("OCTET_SOURCE_DIR", pathlib.Path(__file__).parents[2])).resolve()
OCTET_BIN = os.environ.get("OCTET_BIN", str(ROOT / "build" / "bin" / "octet"))
MODEL = ROOT / "models" / "fmnist_resnet.onnx"
DEMO = ROOT / "tests" / "data" / "demo"
IMAGES = ROOT / "models" / "images"


def read_pb(path):
    """A TensorProto file as an ndarray (onnx's own reader)."""
    import onnx
    from onnx import numpy_helper

    t = onnx.TensorProto()
    t.ParseFromString(pathlib.Path(path).read_bytes())
    return numpy_helper.to_array(t)


def manifest():
    """tests/data/demo/manifest.tsv rows: (input.pb, output.pb, image, ORT's top-1, label) of single images."""
    rows = []
    for line in (DEMO / "manifest.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        inp, out, image, top1, label = line.split("\t")
        if top1 != "-":
            rows.append((DEMO / inp, DEMO / out, ROOT / image, int(top1), label))
    return rows


def assert_close_to_reference(got, want):
    """FP32 against ONNX Runtime: within 1e-4 relative to the output's largest magnitude (STYLE.md section 7)."""
    assert got.shape == want.shape and got.dtype == want.dtype
    scale = max(float(np.abs(want).max()), 1e-6)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale)


@pytest.fixture(scope="session")
def octet():
    import octet as module

    return module


@pytest.fixture(scope="session")
def session(octet):
    return octet.InferenceSession(str(MODEL), threads=2)
