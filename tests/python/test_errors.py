"""Every bad input raises the right octet.Error subclass with the engine's message, never a crash."""
import numpy as np
import pytest

from conftest import DEMO, MODEL, ROOT, read_pb

@pytest.fixture(scope="module")
def x():
    return read_pb(DEMO / "input_0.pb")


def test_hierarchy(octet):
    assert issubclass(octet.InvalidArgument, octet.Error) and issubclass(octet.InvalidArgument, ValueError)
    assert issubclass(octet.InvalidModel, octet.Error) and issubclass(octet.UnsupportedOp, octet.Error)
    assert issubclass(octet.NoSuchFile, octet.InvalidModel) and issubclass(octet.NoSuchFile, FileNotFoundError)
    assert issubclass(octet.Error, RuntimeError)


def test_wrong_dtype(octet, session, x):
    with pytest.raises(octet.InvalidArgument, match=r"input 'input' expects tensor\(float\), got an array of dtype float64"):
        session.run(None, {"input": x.astype(np.float64)})
    with pytest.raises(octet.InvalidArgument, match="dtype int32"):
        session.run(None, {"input": x.astype(np.int32)})


def test_wrong_shape(octet, session, x):
    bad = np.zeros((1, 3, 28, 28), np.float32)
    with pytest.raises(octet.InvalidArgument, match=r"input 'input' expects shape \w+x1x28x28, got 1x3x28x28"):
        session.run(None, {"input": bad})


def test_wrong_rank(octet, session, x):
    with pytest.raises(octet.InvalidArgument, match="input 'input'"):
        session.run(None, {"input": x[0]})
    with pytest.raises(octet.InvalidArgument, match="rank 9"):
        session.run(None, {"input": np.zeros([1] * 9, np.float32)})


def test_feed_names(octet, session, x):
    with pytest.raises(octet.InvalidArgument, match="input 'input' is missing"):
        session.run(None, {})
    with pytest.raises(octet.InvalidArgument, match="'images' is not an input of the model"):
        session.run(None, {"images": x})
    with pytest.raises(octet.InvalidArgument, match="'images' is not an input of the model"):
        session.run(None, {"input": x, "images": x})
    with pytest.raises(octet.InvalidArgument, match="'logits' is not an output of the model"):
        session.run(["logits"], {"input": x})


def test_not_an_array(octet, session):
    with pytest.raises(octet.InvalidArgument, match="expects tensor\\(float\\), got an array of dtype <U"):
        session.run(None, {"input": "cat.png"})
    with pytest.raises(octet.InvalidArgument, match="a object, expected a numpy array|dtype object"):
        session.run(None, {"input": object()})


def test_missing_file(octet, tmp_path):
    with pytest.raises(octet.NoSuchFile, match="no such file"):
        octet.InferenceSession(str(tmp_path / "nope.onnx"))
    with pytest.raises(FileNotFoundError):
        octet.InferenceSession(tmp_path / "nope.onnx")


def test_invalid_model(octet, tmp_path):
    with pytest.raises(octet.InvalidModel):
        octet.InferenceSession(b"this is not an onnx model")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07garbage")
    with pytest.raises(octet.InvalidModel, match="junk.onnx"):
        octet.InferenceSession(str(junk))
    # A model that does not compile for its fixed input shape fails at load, as in onnxruntime.
    with pytest.raises(octet.InvalidModel, match="node 'conv_bad' \\(Conv\\): weight 'w' has 5 input channels"):
        octet.InferenceSession(str(ROOT / "tests/data/bad/conv_channels.onnx"))
    with pytest.raises(octet.InvalidModel, match="input 'nowhere' is not a graph input"):
        octet.InferenceSession(str(ROOT / "tests/data/bad/dangling_input.onnx"))


def test_unsupported_op(octet):
    with pytest.raises(octet.UnsupportedOp, match="unknown_ops.onnx"):
        octet.InferenceSession(str(ROOT / "tests/data/bad/unknown_ops.onnx"))


def test_bad_options(octet, tmp_path):
    with pytest.raises(octet.InvalidArgument, match="precision 'fp16'"):
        octet.InferenceSession(str(MODEL), precision="fp16")
    with pytest.raises(octet.InvalidArgument, match="needs a calibration table"):
        octet.InferenceSession(str(MODEL), precision="int8")
    with pytest.raises(octet.InvalidArgument, match="used only with OCTET_PRECISION_INT8"):
        octet.InferenceSession(str(MODEL), calibration_table=str(tmp_path / "t.txt"))
    with pytest.raises(octet.InvalidArgument, match="'avx9000' is not an ISA tier"):
        octet.InferenceSession(str(MODEL), max_isa="avx9000")
    with pytest.raises(octet.InvalidArgument, match="threads is -1"):
        octet.InferenceSession(str(MODEL), threads=-1)
    with pytest.warns(RuntimeWarning, match="CUDAExecutionProvider"):
        octet.InferenceSession(str(MODEL), providers=["CUDAExecutionProvider", "CPUExecutionProvider"])


def test_bad_image(octet, session, tmp_path):
    with pytest.raises(octet.InvalidArgument, match="missing.png"):
        session.load_image(str(tmp_path / "missing.png"))


def test_bad_quantize_arguments(octet, tmp_path):
    out = tmp_path / "q.onnx"
    with pytest.raises(octet.InvalidArgument, match="does not exist"):
        octet.quantize(MODEL, tmp_path / "no_such_folder", out)
    with pytest.raises(octet.InvalidArgument, match="method"):
        octet.quantize(MODEL, [], out, method="median")
    with pytest.raises(octet.InvalidArgument, match="no calibration sample"):
        octet.quantize(MODEL, [], out)
    with pytest.raises(octet.InvalidArgument, match="weight_bits is 4"):
        octet.quantize(MODEL, [], out, weight_bits=4)
    with pytest.raises(octet.InvalidModel, match="nope"):
        octet.quantize(MODEL, [], out, exclude=["nope"])
    with pytest.raises(octet.InvalidArgument, match="input 'input'"):
        octet.quantize(MODEL, [np.zeros((2, 3, 28, 28), np.float32)], out)
    assert not out.exists()


def test_run_from_inside_an_input_conversion(octet, session, x):
    """An input object whose __array__ itself calls run() on the same thread: the nested call must not share the
    outer call's buffers (it gets its own), and both give the reference outputs."""
    inner = []

    class Sneaky:
        def __array__(self, dtype=None):
            inner.append(session.run(None, {"input": x})[0])
            return x

    (y,) = session.run(None, {"input": Sneaky()})
    assert len(inner) == 1 and np.array_equal(inner[0], y)
    assert np.array_equal(y, session.run(None, {"input": x})[0])
