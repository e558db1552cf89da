"""octet: a CPU inference engine for ONNX vision models.

    import octet as ort                       # onnxruntime scripts run unchanged
    sess = ort.InferenceSession("model.onnx")
    name = sess.get_inputs()[0].name
    scores = sess.run(None, {name: x})[0]

    octet.quantize("model.onnx", "calib_images/", "model.int8.onnx")
    for node in octet.inspect("model.int8.onnx"): print(node["name"], node["precision"], node["note"])

See docs/python.md. InferenceSession, NodeArg and the errors are the C++ binding's (octet._octet); quantize and
inspect are thin Python over it.
"""
import os
import sys

from octet._octet import (  # noqa: F401  (re-exported)
    Error,
    InferenceSession,
    InternalError,
    InvalidArgument,
    InvalidModel,
    NoSuchFile,
    NodeArg,
    OutOfMemory,
    UnsupportedOp,
    Quantizer,
    __version__,
)

__all__ = [
    "Error", "InvalidArgument", "InvalidModel", "NoSuchFile", "UnsupportedOp", "OutOfMemory", "InternalError",
    "InferenceSession", "NodeArg", "SessionOptions", "GraphOptimizationLevel", "get_available_providers",
    "get_device", "quantize", "inspect", "__version__",
]


class GraphOptimizationLevel:
    """onnxruntime's enum, accepted for compatibility: octet always runs its graph passes."""
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


class SessionOptions:
    """The subset of onnxruntime.SessionOptions that scripts set. intra_op_num_threads (0: the cores available)
    becomes octet's threads; the other fields are accepted and have no effect (octet always optimizes, and runs
    concurrent calls in parallel without an inter-op pool)."""

    def __init__(self):
        self.intra_op_num_threads = 0
        self.inter_op_num_threads = 0
        self.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.log_severity_level = 2
        self.enable_cpu_mem_arena = True
        self.enable_mem_pattern = True


def get_available_providers():
    return ["CPUExecutionProvider"]


def get_device():
    return "CPU"


def _progress_bar(stream):
    """The same bar `octet quantize` draws, on `stream` (a terminal)."""
    width = 30

    def draw(done, total, unit="samples"):
        fill = width if total <= 0 else min(width, done * width // total)
        stream.write("\rcalibrating [%s%s] %d/%d %s" % ("#" * fill, "." * (width - fill), done, total, unit))
        stream.flush()

    return draw


def _as_batch(item):
    """A calibration item as a float32 C-contiguous ndarray: a DataLoader's (inputs, labels) pair gives its
    inputs; torch tensors and anything else numpy understands are converted (torch on the CPU shares memory)."""
    import numpy as np

    if isinstance(item, (tuple, list)) and item and not isinstance(item[0], (int, float)):
        item = item[0]
    if hasattr(item, "detach") and hasattr(item, "cpu"):  # a torch tensor that may require grad or live on a GPU
        item = item.detach().cpu()
    return np.ascontiguousarray(np.asarray(item), dtype=np.float32)


def quantize(model, calib, output, method="mse", exclude=(), weight_bits=8, *, percentile=None, samples=None,
             table=None, threads=None, progress=None):
    """Post-training static quantization to a QDQ model, the function `octet quantize` runs.

    model:   path of the float ONNX model.
    calib:   a folder of images (.png/.jpg, preprocessed as `octet infer` does for the model) or .pb tensors; or any
             iterable of float batches [B, ...] of the model's input (ndarrays, torch tensors, a DataLoader whose
             items are (inputs, labels)).
    output:  path of the QDQ model to write.
    method:  "mse" (default), "minmax", "percentile" (with percentile=99.99) or "entropy".
    exclude: names of nodes to keep FP32.  weight_bits: 8, or 7 (onnxruntime's reduce_range).
    samples: calibrate on at most this many samples.  table: also write the calibration table there (the file
             InferenceSession(precision="int8", calibration_table=...) reads).
    progress: True / False forces the progress bar on stderr on or off; None (default) draws it only when
             stderr is a terminal.
    Returns the number of samples calibrated on. Raises octet.Error (InvalidModel, InvalidArgument, ...).
    """
    q = Quantizer(os.fspath(model), method=method, percentile=percentile, samples=samples,
                  weight_bits=weight_bits, exclude=list(exclude), threads=threads)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    draw = _progress_bar(sys.stderr) if show else None
    if isinstance(calib, (str, bytes, os.PathLike)):
        q.add_folder(os.fsdecode(calib), draw)
    else:
        total = len(calib) if hasattr(calib, "__len__") else 0
        for i, item in enumerate(calib):
            if samples is not None and q.samples >= samples:
                break
            q.add(_as_batch(item))
            if draw:
                draw(i + 1, max(total, i + 1), "batches")
    if draw:
        sys.stderr.write("\n")
    q.save(os.fspath(output), None if table is None else os.fspath(table))
    return q.samples


def inspect(model, threads=None, precision="fp32", calibration_table=None, max_isa=None):
    """The graph octet runs for a model, as `octet inspect` prints it: one dict per node in run order with the
    keys name, op, fused, precision ("fp32", "int8", ...), kernel, inputs and outputs (shapes) and note (why a
    node of a quantized model stayed float, or that its int8 kernel is a lower ISA tier's; "" otherwise).
    `model` is a path, bytes, or an InferenceSession (its current input shapes)."""
    if isinstance(model, InferenceSession):
        return model.describe()
    sess = InferenceSession(model, threads=threads, precision=precision, calibration_table=calibration_table,
                            max_isa=max_isa)
    return sess.describe()
