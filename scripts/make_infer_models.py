#!/usr/bin/env python3
"""Test models and images for `octet infer` beyond classification (tests/cli/infer_kinds.sh), and the numpy
references they are checked against. Run with Debian's python3 (python3-onnx, python3-numpy):

    make_infer_models.py DIR        writes DIR/*.onnx and DIR/*.png (nothing here is committed)

The models use only Conv, Relu, MaxPool, Reshape, Transpose, and their outputs follow from the pixels:
  seg_full    x [N, 3, H, W] (symbolic N, H, W) -> Conv 1x1 -> Relu -> scores [N, 4, H, W], score of class
              0 "background" = 0.5, of 1 "red" = R, 2 "green" = G, 3 "blue" = B (x = pixel / 255: the model's
              metadata sets mean 0, std 1). So a pixel's class is its largest channel, or background when all
              are below 0.5.
  seg_half    the same followed by MaxPool 2x2 stride 2: scores [N, 4, H/2, W/2] (floor).
  seg_fixed   seg_full with a fixed input [1, 3, 8, 8] (resize + centre crop apply).
  two_outputs x [1, 3, H, W] -> 'feat/pooled' = Transpose(Reshape(MaxPool2x2(x), [0, 3, -1]), [0, 2, 1])
              ([1, H/2 * W/2, 3]) and 'logits' = Transpose(Conv1x1(x) (5 channels), [0, 2, 3, 1]) ([1, H, W, 5]).
  text_line   x [1, 1, 8, W] (gray, symbolic W) -> Conv 1x1 (3 ch) -> MaxPool (8, 1) -> [1, 3, 1, W] ->
              Reshape [0, 3, -1] -> Transpose -> logits [1, W, 3].
The PNG reader/writer below is plain zlib (no imaging library), so the masks octet writes are decoded
independently of octet's own stb decoder.
"""
import os
import struct
import sys
import zlib

import numpy as np

LABELS = ["background", "red", "green", "blue"]


# ---- PNG (8-bit RGB / gray, non-interlaced) ----------------------------------------------------------------------

def write_png(path, pixels):
    """pixels: uint8 array [H, W, 3] or [H, W]."""
    a = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = a.shape[:2]
    colour = 2 if a.ndim == 3 else 0
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def read_png(path):
    """An 8-bit RGB/RGBA/gray non-interlaced PNG -> uint8 [H, W, C]; undoes the five PNG row filters."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0, (depth, interlace)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    c = {0: 1, 2: 3, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = w * c
    out = np.zeros((h, stride), dtype=np.int32)
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        prev = out[y - 1] if y else np.zeros(stride, dtype=np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for i in range(stride):
            a = cur[i - c] if i >= c else 0
            b = prev[i]
            d = prev[i - c] if i >= c else 0
            if ftype == 0: pred = 0
            elif ftype == 1: pred = a
            elif ftype == 2: pred = b
            elif ftype == 3: pred = (a + b) // 2
            else:  # Paeth
                p = a + b - d
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - d)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else d)
            cur[i] = (line[i] + pred) & 0xFF
        out[y] = cur
    return out.astype(np.uint8).reshape(h, w, c)


# ---- references ------------------------------------------------------------------------------------------------

def voc_colour(c):
    """PASCAL VOC's colour map, as its devkit computes it (bitget over the label's bits)."""
    r = g = b = 0
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return (r, g, b)


def seg_scores(pixels):
    """seg_full's output for an [H, W, 3] uint8 image: [4, H, W] float32."""
    x = pixels.astype(np.float32) / np.float32(255)
    return np.stack([np.full(x.shape[:2], 0.5, np.float32), x[..., 0], x[..., 1], x[..., 2]])


def maxpool2(a):
    """MaxPool 2x2 stride 2 (floor) over the last two dims."""
    h, w = a.shape[-2] // 2 * 2, a.shape[-1] // 2 * 2
    a = a[..., :h, :w]
    return np.maximum(np.maximum(a[..., 0::2, 0::2], a[..., 0::2, 1::2]), np.maximum(a[..., 1::2, 0::2], a[..., 1::2, 1::2]))


def argmax_classes(scores):
    """np.argmax takes the first maximum: ties go to the lower class, as octet's."""
    return np.argmax(scores, axis=0)


LOGIT_W = np.array([[1, -1, 0.5], [0.25, 2, -1], [-0.5, 0.5, 1.5], [2, 0, -2], [0.125, 0.75, -0.25]], np.float32)
LOGIT_B = np.array([0.1, -0.2, 0.3, 0, -0.05], np.float32)


def two_outputs(pixels):
    """two_outputs' outputs for an [H, W, 3] uint8 image: {'feat/pooled': [1, h/2*w/2, 3], 'logits': [1, H, W, 5]}."""
    x = (pixels.astype(np.float32) / np.float32(255)).transpose(2, 0, 1)  # [3, H, W]
    pooled = maxpool2(x).reshape(3, -1).T[None]
    logits = (np.einsum("kc,chw->khw", LOGIT_W.astype(np.float64), x.astype(np.float64)) +
              LOGIT_B[:, None, None]).astype(np.float32).transpose(1, 2, 0)[None]
    return {"feat/pooled": pooled, "logits": logits}


# ---- models ----------------------------------------------------------------------------------------------------

def make_models(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def save(name, nodes, inputs, outputs, inits, meta):
        g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        for k, v in meta.items():
            m.metadata_props.add(key=k, value=v)
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out, name + ".onnx"))

    unit = {"octet.mean": "0", "octet.std": "1"}
    seg_meta = dict(unit, labels="\n".join(LABELS))
    w = np.zeros((4, 3, 1, 1), np.float32)
    w[1, 0] = w[2, 1] = w[3, 2] = 1
    seg_inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array([0.5, 0, 0, 0], np.float32), "b")]
    conv = [helper.make_node("Conv", ["x", "w", "b"], ["s"], name="conv"), helper.make_node("Relu", ["s"], ["r"], name="relu")]
    free = lambda c: helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, "H", "W"])
    out_info = lambda name, *dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))
    scores = out_info("scores", "N", 4, "H", "W")

    save("seg_full", conv + [helper.make_node("Identity", ["r"], ["scores"])], [free(3)], [scores], seg_inits, seg_meta)
    save("seg_half", conv + [helper.make_node("MaxPool", ["r"], ["scores"], kernel_shape=[2, 2], strides=[2, 2])],
         [free(3)], [out_info("scores", "N", 4, "h", "w")], seg_inits, seg_meta)
    fixed = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    save("seg_fixed", conv + [helper.make_node("Identity", ["r"], ["scores"])], [fixed], [out_info("scores", 1, 4, 8, 8)],
         seg_inits, seg_meta)

    shape3 = numpy_helper.from_array(np.array([0, 3, -1], np.int64), "shape3")
    lw = numpy_helper.from_array(LOGIT_W.reshape(5, 3, 1, 1), "lw")
    lb = numpy_helper.from_array(LOGIT_B, "lb")
    x1 = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])
    save("two_outputs", [
        helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
        helper.make_node("Reshape", ["p", "shape3"], ["pr"], name="flatten"),
        helper.make_node("Transpose", ["pr"], ["feat/pooled"], perm=[0, 2, 1], name="t0"),
        helper.make_node("Conv", ["x", "lw", "lb"], ["c"], name="head"),
        helper.make_node("Transpose", ["c"], ["logits"], perm=[0, 2, 3, 1], name="t1"),
    ], [x1], [out_info("feat/pooled", 1, "P", 3), out_info("logits", 1, "H", "W", 5)], [shape3, lw, lb], unit)

    tw = numpy_helper.from_array(np.array([1, -1, 0.5], np.float32).reshape(3, 1, 1, 1), "tw")
    xt = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, "W"])
    save("text_line", [
        helper.make_node("Conv", ["x", "tw"], ["c"], name="conv"),
        helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[8, 1], name="column"),
        helper.make_node("Reshape", ["p", "shape3"], ["r"], name="seq"),
        helper.make_node("Transpose", ["r"], ["logits"], perm=[0, 2, 1], name="t"),
    ], [xt], [out_info("logits", 1, "W", 3)], [tw, shape3], unit)


def make_images(out):
    rng = np.random.default_rng(7)
    # Random colours: every class occurs, sizes odd and even. Channels are drawn from a coarse grid so a few exact
    # ties occur (the lower class must win, as np.argmax's first maximum).
    for name, (h, w) in {"rand_9x13": (9, 13), "rand_8x12": (8, 12), "rand_9x13b": (9, 13), "rand_7x5": (7, 5)}.items():
        write_png(os.path.join(out, name + ".png"), (rng.integers(0, 18, (h, w, 3)) * 15).astype(np.uint8))
    # One colour everywhere (resizing keeps it): the class of every pixel is known whatever the geometry.
    write_png(os.path.join(out, "green_10x20.png"), np.broadcast_to(np.array([10, 200, 30], np.uint8), (10, 20, 3)))
    write_png(os.path.join(out, "gray_10x20.png"), rng.integers(0, 256, (10, 20)).astype(np.uint8))


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    make_models(out)
    make_images(out)
