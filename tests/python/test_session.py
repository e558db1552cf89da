"""InferenceSession against committed ONNX Runtime references (tests/data/demo): FP32 within 1e-4, the
onnxruntime-style description of inputs and outputs, output selection, loading from bytes, INT8 sessions."""
import numpy as np
import pytest

from conftest import DEMO, IMAGES, MODEL, assert_close_to_reference, manifest, read_pb


def test_describes_inputs_and_outputs_like_onnxruntime(session):
    (inp,) = session.get_inputs()
    (out,) = session.get_outputs()
    assert inp.name == "input" and inp.type == "tensor(float)"
    # The demo model's batch is symbolic: onnxruntime reports the dim_param's name as a string.
    assert inp.shape[1:] == [1, 28, 28] and isinstance(inp.shape[0], str) and inp.shape[0]
    assert out.name == "output" and out.type == "tensor(float)"
    assert out.shape[1:] == [10] and isinstance(out.shape[0], str)
    assert session.get_providers() == ["CPUExecutionProvider"]
    assert "NodeArg(name='input'" in repr(inp)


@pytest.mark.parametrize("row", manifest(), ids=lambda r: r[4])
def test_outputs_match_onnxruntime(session, row):
    inp, out, _, ort_top1, _ = row
    x = read_pb(inp)
    (y,) = session.run(None, {"input": x})
    assert_close_to_reference(y, read_pb(out))
    assert int(np.argmax(y)) == ort_top1


def test_batch_of_four_matches_onnxruntime(session):
    x = read_pb(DEMO / "input_batch4.pb")
    y = session.run(["output"], {"input": x})[0]
    assert y.shape == (4, 10)
    assert_close_to_reference(y, read_pb(DEMO / "output_batch4.pb"))


def test_from_bytes_gives_the_same_outputs(octet, session):
    x = read_pb(DEMO / "input_3.pb")
    from_bytes = octet.InferenceSession(MODEL.read_bytes(), threads=1)
    assert np.array_equal(from_bytes.run(None, {"input": x})[0], session.run(None, {"input": x})[0])


def test_output_names_select_and_order(session):
    x = read_pb(DEMO / "input_0.pb")
    all_outputs = session.run(None, {"input": x})
    named = session.run(["output"], {"input": x})
    twice = session.run(["output", "output"], {"input": x})
    assert len(all_outputs) == len(named) == 1 and len(twice) == 2
    assert np.array_equal(named[0], all_outputs[0]) and np.array_equal(twice[1], all_outputs[0])


def test_load_image_preprocesses_like_the_reference_inputs(session):
    # The committed inputs were made from the same images with octet infer's preprocessing.
    for inp, _, image, _, _ in manifest():
        np.testing.assert_allclose(session.load_image(str(image)), read_pb(inp), rtol=0, atol=1e-6)


def test_int8_session_keeps_fp32_top1(octet, session, tmp_path):
    table = tmp_path / "table.txt"
    octet.quantize(MODEL, IMAGES, tmp_path / "q.onnx", table=table)
    int8 = octet.InferenceSession(str(MODEL), precision="int8", calibration_table=str(table), threads=2)
    # The table's model runs its convolutions as int8 QConv kernels (precision is the dtype they compute in).
    assert sum(n["op"] == "QConv" and n["precision"] == "uint8" for n in int8.describe()) >= 6
    for inp, _, _, ort_top1, _ in manifest():
        x = read_pb(inp)
        y8 = int8.run(None, {"input": x})[0]
        y32 = session.run(None, {"input": x})[0]
        assert int(np.argmax(y8)) == ort_top1
        cos = float(np.dot(y8.ravel(), y32.ravel()) / (np.linalg.norm(y8) * np.linalg.norm(y32)))
        assert cos > 0.99


def test_max_isa_scalar_matches_default(octet, session):
    x = read_pb(DEMO / "input_5.pb")
    scalar = octet.InferenceSession(str(MODEL), max_isa="scalar", threads=1)
    assert_close_to_reference(scalar.run(None, {"input": x})[0], read_pb(DEMO / "output_5.pb"))


def gather_model():
    """y = data[i] for an int64 index input: a model whose input is not float (made here, not committed)."""
    from onnx import TensorProto, helper, numpy_helper

    data = numpy_helper.from_array(np.arange(10, dtype=np.float32) * 1.5, "data")
    g = helper.make_graph([helper.make_node("Gather", ["data", "i"], ["y"], axis=0, name="gather")], "g",
                          [helper.make_tensor_value_info("i", TensorProto.INT64, ["n"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])], initializer=[data])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m.SerializeToString()


def test_int64_input_in_place_and_other_dtypes_refused(octet):
    s = octet.InferenceSession(gather_model(), _trace_inputs=True)
    assert s.get_inputs()[0].type == "tensor(int64)" and s.get_inputs()[0].shape == ["n"]
    i = np.array([1, 2, 9])  # numpy's default int64 (NPY_LONG on Linux; octet's int64 either way)
    (y,) = s.run(None, {"i": i})
    assert y.tolist() == [1.5, 3.0, 13.5] and s._last_input_addresses() == [i.ctypes.data]
    assert s.run(None, {"i": np.array([4], np.longlong)})[0].tolist() == [6.0]
    assert s.run(None, {"i": [4, 5]})[0].tolist() == [6.0, 7.5]  # a list numpy makes int64 of
    for bad, name in [(np.array([1], np.int32), "int32"), (np.array([1], np.uint64), "uint64"), ([1.5], "float64")]:
        with pytest.raises(octet.InvalidArgument, match=r"input 'i' expects tensor\(int64\), got an array of dtype " + name):
            s.run(None, {"i": bad})


def test_empty_batch(session):
    (y,) = session.run(None, {"input": np.zeros((0, 1, 28, 28), np.float32)})
    assert y.shape == (0, 10)
