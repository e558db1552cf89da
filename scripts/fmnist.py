"""Fashion-MNIST in the idx format, as Debian's dataset-fashion-mnist ships it.

Shared by scripts/train_demo.py, scripts/make_fmnist_folder.py and scripts/make_reference.sh so that
every script reads the data and names the classes the same way.
"""

import gzip
import os
import re
import sys

import numpy as np

DATA_DIR = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")

# Class index -> name, in the order of the dataset's label bytes (Zalando's published table).
LABELS = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

# idx magic numbers: 0x00000803 = unsigned byte, 3 dims (images); 0x00000801 = unsigned byte, 1 dim (labels).
_IMAGES_MAGIC = 0x803
_LABELS_MAGIC = 0x801


def _read_idx(path, magic, ndim):
    if not os.path.exists(path):
        sys.exit(f"{path}: not found (install Debian's dataset-fashion-mnist, or set FMNIST_DIR)")
    with gzip.open(path, "rb") as f:
        data = f.read()
    header = 4 + 4 * ndim
    got = int.from_bytes(data[0:4], "big")
    if got != magic:
        sys.exit(f"{path}: idx magic 0x{got:x}, expected 0x{magic:x}")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims))
    if len(data) != header + count:
        sys.exit(f"{path}: {len(data) - header} data bytes, expected {count} for dims {dims}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load(split):
    """Returns (images uint8 [N,28,28], labels uint8 [N]) for split 'train' or 't10k'."""
    images = _read_idx(os.path.join(DATA_DIR, f"{split}-images-idx3-ubyte.gz"), _IMAGES_MAGIC, 3)
    labels = _read_idx(os.path.join(DATA_DIR, f"{split}-labels-idx1-ubyte.gz"), _LABELS_MAGIC, 1)
    if images.shape[0] != labels.shape[0]:
        sys.exit(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def slug(label):
    """File-system-safe class name: 'T-shirt/top' -> 't-shirt_top', 'Ankle boot' -> 'ankle_boot'."""
    return re.sub(r"[^a-z0-9-]+", "_", label.lower()).strip("_")


def write_png_gray(path, image):
    """Writes a uint8 [H,W] array as an 8-bit grayscale PNG (no dependency beyond zlib).

    PNG = signature, then chunks (length, type, data, CRC-32 over type+data): IHDR (width, height,
    bit depth 8, colour type 0 = gray, deflate, filter method 0, no interlace), IDAT (zlib stream of
    rows, each row prefixed with filter type 0 = None), IEND.
    """
    import struct
    import zlib

    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(height))
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)
