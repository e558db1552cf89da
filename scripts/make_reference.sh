#!/usr/bin/env bash
# Regenerates tests/data/demo/: ONNX Runtime's outputs for the demo model on the sample images, the
# reference that octet's demo-model test compares against (within 1e-4).
#
#   scripts/make_reference.sh [MODEL] [IMAGE_DIR] [OUT_DIR]
#     defaults: models/fmnist_resnet.onnx models/images tests/data/demo
#
# For the N-th image (sorted by file name) it writes input_N.pb (the preprocessed tensor, [1,1,28,28]
# float, gray pixels / 255: what octet's preprocessing gives for a 28x28 gray PNG with the model's
# hints resize=28, mean=0, std=1) and output_N.pb (ONNX Runtime 1.30's output, [1,10] float logits).
# It also writes input_batch4.pb / output_batch4.pb (the first four images as one [4,1,28,28] batch)
# and manifest.tsv (one line per case: input file, output file, image, ORT top-1 index and label).
# Needs: python3-onnx python3-numpy python3-pil (installed here if missing), node + npm.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:-$root/models/fmnist_resnet.onnx}"
images="${2:-$root/models/images}"
out="${3:-$root/tests/data/demo}"
python=/usr/bin/python3

missing=()
for pkg in python3-onnx python3-numpy python3-pil; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing ${missing[*]}" >&2
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi
"$root/bench/install_peer.sh"

mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. Inputs: decode each PNG with PIL (independent of octet's stb decoder), gray, / 255.
"$python" - "$images" "$out" "$root" <<'PY'
import glob, os, sys
import numpy as np
from onnx import numpy_helper
from PIL import Image

images, out, root = sys.argv[1], sys.argv[2], sys.argv[3]
files = sorted(glob.glob(os.path.join(images, "*.png")))
if not files:
    sys.exit(f"{images}: no PNG files")
batch = []
for n, path in enumerate(files):
    img = Image.open(path)
    if img.mode != "L" or img.size != (28, 28):
        sys.exit(f"{path}: mode {img.mode} size {img.size}, expected an 8-bit gray 28x28 image")
    x = (np.asarray(img, dtype=np.float32) / np.float32(255.0)).reshape(1, 1, 28, 28)
    with open(os.path.join(out, f"input_{n}.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "input").SerializeToString())
    batch.append(x)
    print(f"input_{n}.pb <- {os.path.relpath(path, root)}")
with open(os.path.join(out, "input_batch4.pb"), "wb") as f:
    f.write(numpy_helper.from_array(np.concatenate(batch[:4]), "input").SerializeToString())
with open(os.path.join(out, "images.txt"), "w") as f:
    f.write("\n".join(os.path.relpath(p, root) for p in files) + "\n")
PY

# 2. Outputs from the peer, one run per input file.
cases=()
for input in "$out"/input_*.pb; do
  case_name="$(basename "$input" .pb)"
  cases+=("${case_name#input_}")
done
for c in "${cases[@]}"; do
  node "$root/bench/ort_bench.js" "$model" --input "$out/input_$c.pb" --out "$tmp/$c" >/dev/null
  mv "$tmp/$c/output_0.pb" "$out/output_$c.pb"
done

# 3. Manifest, and a check that the batch-4 output equals the four single-image outputs.
"$python" - "$out" "$model" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import numpy_helper

out, model = sys.argv[1], sys.argv[2]
labels = {p.key: p.value for p in onnx.load(model).metadata_props}["labels"].split("\n")
load = lambda name: numpy_helper.to_array(onnx.load_tensor(os.path.join(out, name)))
images = open(os.path.join(out, "images.txt")).read().split()
lines = ["# input\toutput\timage\tort_top1\tlabel"]
singles = []
for n, image in enumerate(images):
    y = load(f"output_{n}.pb")
    singles.append(y)
    top = int(y.argmax())
    lines.append(f"input_{n}.pb\toutput_{n}.pb\t{image}\t{top}\t{labels[top]}")
    print(f"{image}: ORT top-1 {top} {labels[top]}")
y4 = load("output_batch4.pb")
lines.append(f"input_batch4.pb\toutput_batch4.pb\t{','.join(os.path.basename(i) for i in images[:4])}\t-\t-")
diff = float(np.abs(y4 - np.concatenate(singles[:4])).max())
if diff > 1e-4:
    sys.exit(f"batch-4 output differs from the single-image outputs by {diff}")
print(f"batch-4 output matches the single outputs (max abs diff {diff:.2e})")
with open(os.path.join(out, "manifest.tsv"), "w") as f:
    f.write("\n".join(lines) + "\n")
os.remove(os.path.join(out, "images.txt"))
PY
echo "wrote $(ls "$out" | wc -l) files to $out"
