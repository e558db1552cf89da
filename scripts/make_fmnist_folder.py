#!/usr/bin/python3
"""Writes the 10,000 Fashion-MNIST test images as an image folder for `octet eval`.

    /usr/bin/python3 scripts/make_fmnist_folder.py OUT_DIR

OUT_DIR/<class index, 2 digits>_<name>/<test index, 5 digits>.png, 28x28 8-bit gray, so sorted subfolder
names are the label indices 0..9 (00_t-shirt_top, 01_trouser, ..., 09_ankle_boot). Needs only
python3-numpy and dataset-fashion-mnist. Idempotent: an existing folder with all 10,000 files is kept.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: make_fmnist_folder.py OUT_DIR")
    out = sys.argv[1]
    start = time.time()
    images, labels = fmnist.load("t10k")
    folders = [os.path.join(out, f"{i:02d}_{fmnist.slug(name)}") for i, name in enumerate(fmnist.LABELS)]
    existing = sum(len(os.listdir(f)) for f in folders if os.path.isdir(f))
    if existing == len(images):
        print(f"{out}: already has {existing} images")
        return
    for folder in folders:
        os.makedirs(folder, exist_ok=True)
    for idx in range(len(images)):
        fmnist.write_png_gray(os.path.join(folders[labels[idx]], f"{idx:05d}.png"), images[idx])
    print(f"wrote {len(images)} images in {len(folders)} class folders to {out} ({time.time() - start:.1f} s)")


if __name__ == "__main__":
    main()
