"""No copies across the binding. Inputs: the session's input observer (octet_options_set_input_observer, enabled
by the private _trace_inputs flag) records the address the engine reads each input from; it must be the ndarray's
own buffer when the array is C-contiguous float32, and another (a contiguous copy) when it is not. Outputs: the
ndarray returned wraps the buffer the engine wrote (owned through a capsule that calls octet_free), not a copy."""
import numpy as np

from conftest import DEMO, MODEL, read_pb


def traced(octet):
    return octet.InferenceSession(str(MODEL), threads=1, _trace_inputs=True)


def test_contiguous_input_is_read_in_place(octet):
    s = traced(octet)
    x = np.ascontiguousarray(read_pb(DEMO / "input_batch4.pb"))
    s.run(None, {"input": x})
    assert s._last_input_addresses() == [x.ctypes.data]
    # A view into a bigger buffer (rows 1..2 of the batch) is contiguous too: read in place, at its offset.
    view = x[1:3]
    assert view.flags.c_contiguous and view.ctypes.data != x.ctypes.data
    s.run(None, {"input": view})
    assert s._last_input_addresses() == [view.ctypes.data]


def test_strided_input_is_copied_once_and_gives_the_same_result(octet):
    s = traced(octet)
    x = read_pb(DEMO / "input_batch4.pb")
    strided = np.ascontiguousarray(np.repeat(x, 2, axis=3))[..., ::2]  # same values, every other float
    assert not strided.flags.c_contiguous and np.array_equal(strided, x)
    y_strided = s.run(None, {"input": strided})[0]
    (addr,) = s._last_input_addresses()
    lo, hi = strided.ctypes.data, strided.ctypes.data + strided.base.nbytes
    assert not lo <= addr < hi  # the engine read a copy, not the strided buffer
    assert np.array_equal(y_strided, s.run(None, {"input": x})[0])


def test_outputs_are_the_engine_buffers(octet, session):
    x = read_pb(DEMO / "input_0.pb")
    (y,) = session.run(None, {"input": x})
    # Not a numpy-owned copy: the array's base is the capsule that holds the engine's allocation, whose start is
    # the 64-byte aligned address octet_session_run allocated.
    assert not y.flags.owndata and type(y.base).__name__ == "PyCapsule"
    assert y.ctypes.data % 64 == 0
    assert y.flags.c_contiguous and y.flags.writeable


def test_outputs_outlive_the_session(octet):
    x = read_pb(DEMO / "input_0.pb")
    s = octet.InferenceSession(str(MODEL), threads=1)
    (y,) = s.run(None, {"input": x})
    want = y.copy()
    del s
    import gc

    gc.collect()
    assert np.array_equal(y, want)
