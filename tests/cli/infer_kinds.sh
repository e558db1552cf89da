#!/usr/bin/env bash
# `octet infer` beyond classification, on the models and images scripts/make_infer_models.py writes at test time
# (their outputs follow from the pixels; the references are computed with numpy from the same PNG bytes):
#   1. segmentation: class shares and pixel counts, the --mask PNG decoded and compared pixel by pixel (full and
#      half resolution maps, several images of different sizes, a fixed batch with padding, --top, --resize, a
#      fixed-size model with a centre crop)
#   2. other outputs: statistics of two odd-shaped outputs, --save TensorProtos equal to `octet run`'s outputs for
#      the same input tensor (and --save on segmentation and classifier models); a text-line model with a fixed
#      height and a symbolic width
#   3. errors: --mask on a classifier or a non-map output, unwritable --mask / --save paths, a corrupt image (exit 1
#      naming the file), colliding image stems and --resize against a fixed height (exit 2)
# Usage: bash tests/cli/infer_kinds.sh path/to/octet   (from the repo root)
set -u
OCTET=$1
PY=/usr/bin/python3
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
M=$T/models
pass=0; fails=0
ok() { echo "ok    $*"; pass=$((pass+1)); }
no() { echo "FAIL  $*"; fails=$((fails+1)); }
check() { local name=$1; shift 2; if "$@"; then ok "$name"; else no "$name"; fi; }
expect() {
  local rc=$1 pat=$2; shift 3
  "$@" >"$T/out" 2>"$T/err"; local got=$?
  if [ $got -eq "$rc" ] && grep -qE -e "$pat" "$T/err"; then
    ok "exit $got: $(head -n 1 "$T/err" | head -c 200)"
  else
    no "$*: exit $got (expected $rc, stderr matching '$pat'), stderr: $(head -c 300 "$T/err")"
  fi
}
# ref: python with the reference helpers (scripts/make_infer_models.py) importable as `ref`.
ref() { PYTHONPATH=scripts $PY - "$@"; }

$PY scripts/make_infer_models.py "$M" || { echo "FAIL  scripts/make_infer_models.py"; exit 1; }

# ---- 1. segmentation -------------------------------------------------------------------------------------------
# seg_check JSON MODE IMAGE...: shares and pixel counts against numpy, masks decoded against the expected classes.
# MODE full|half: the map is the image's size or MaxPool 2x2's floor(H/2) x floor(W/2).
seg_check() {
  ref "$@" <<'PY'
import json, sys
import numpy as np
import make_infer_models as ref
got, mode, images = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3:]
assert len(got) == len(images), (len(got), len(images))
for r, img in zip(got, images):
    px = ref.read_png(img)
    scores = ref.seg_scores(px)
    if mode == "half":
        scores = ref.maxpool2(scores)
    cls = ref.argmax_classes(scores)
    h, w = cls.shape
    assert r["image"] == img and r["kind"] == "segmentation" and r["output"] == "scores", r
    assert r["shape"] == [1, 4, h, w], (r["shape"], cls.shape)
    counts = np.bincount(cls.ravel(), minlength=4)
    want = sorted([(int(c), i) for i, c in enumerate(counts) if c], key=lambda t: (-t[0], t[1]))
    listed = [(c["pixels"], c["index"]) for c in r["classes"]]
    assert listed == want, (img, listed, want)
    for c in r["classes"]:
        assert c["label"] == ref.LABELS[c["index"]], c
        assert abs(c["share"] - c["pixels"] / cls.size) <= 1e-6, c
    # The mask: the image's own size; pixel (x, y) shows the class of map pixel (floor((x + .5) * w / W), ...).
    mask = ref.read_png(r["mask"])
    H, W = px.shape[:2]
    assert mask.shape == (H, W, 3), (mask.shape, px.shape)
    ys = (np.arange(H) + 0.5) * h / H
    xs = (np.arange(W) + 0.5) * w / W
    want_cls = cls[np.floor(ys).astype(int)][:, np.floor(xs).astype(int)]
    palette = np.array([ref.voc_colour(c) for c in range(4)], np.uint8)
    bad = np.argwhere((mask != palette[want_cls]).any(axis=2))
    assert len(bad) == 0, f"{img}: {len(bad)} mask pixels differ, first at {bad[0]}"
print(f"      {len(images)} images: shares, pixel counts and every mask pixel as numpy says")
PY
}

"$OCTET" infer $M/seg_full.onnx $M/rand_9x13.png --mask "$T/one.png" --json > "$T/s1.json"; rc=$?
check "segmentation (map at the image's size): exit 0" -- [ $rc -eq 0 ]
check "one image: the mask is the --mask file itself" -- grep -q "\"mask\": \"$T/one.png\"" "$T/s1.json"
check "segmentation 9x13: shares, counts, mask pixels" -- seg_check "$T/s1.json" full $M/rand_9x13.png

# Several images of three sizes: the first runs alone (it tells the kind), then the two 9x13 ones run as one batch
# of 2 (each image's share of the scores sliced out), then the 7x5 one. Masks are named by stem.
imgs="$M/rand_8x12.png $M/rand_9x13.png $M/rand_9x13b.png $M/rand_7x5.png"
"$OCTET" infer $M/seg_half.onnx $imgs --mask "$T/masks/m.png" --json > "$T/s2.json" 2> "$T/s2.err"; rc=$?
check "--mask into a missing folder: exit 1" -- [ $rc -eq 1 ]
mkdir -p "$T/masks"
"$OCTET" infer $M/seg_half.onnx $imgs --mask "$T/masks/m.png" --json > "$T/s2.json"; rc=$?
check "segmentation, half-size map, 4 images of 3 sizes: exit 0" -- [ $rc -eq 0 ]
check "the masks are m.<stem>.png" -- test -f "$T/masks/m.rand_9x13.png" -a -f "$T/masks/m.rand_8x12.png" \
  -a -f "$T/masks/m.rand_9x13b.png" -a -f "$T/masks/m.rand_7x5.png"
check "half-size maps: shares, counts, mask pixels (nearest neighbour up to the image's size)" -- \
  seg_check "$T/s2.json" half $imgs
"$OCTET" infer $M/seg_full.onnx $imgs --mask "$T/masks/f.png" --json --threads 2 > "$T/s3.json"
check "full-size maps, 4 images: shares, counts, mask pixels" -- seg_check "$T/s3.json" full $imgs

# A fixed batch of 2 (--shape; --no-crop keeps the 9x13 images' pixels as they are) for 3 images: the last batch is
# padded with a zero image whose row is dropped.
cp $M/rand_9x13.png "$T/third.png"
fixed_imgs="$M/rand_9x13.png $M/rand_9x13b.png $T/third.png"
"$OCTET" infer $M/seg_full.onnx $fixed_imgs --shape x=2x3x9x13 --no-crop --mask "$T/masks/b.png" --json > "$T/s4.json"
check "fixed batch of 2 for 3 images: shares, counts, mask pixels" -- seg_check "$T/s4.json" full $fixed_imgs

"$OCTET" infer $M/seg_full.onnx $M/rand_9x13.png > "$T/s.txt"
check "segmentation text: file line, header, 'label  0.dddd' per class present, largest first" -- ref "$T/s.txt" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0].endswith("rand_9x13.png"), lines
assert lines[1] == "segmentation 'scores' 1x4x9x13: 4 classes, 9x13 map; share of pixels:", lines[1]
shares = [re.fullmatch(r"(background|red|green|blue)  (\d\.\d{4})", l) for l in lines[2:]]
assert all(shares) and len(shares) == 4, lines
v = [float(m.group(2)) for m in shares]
assert v == sorted(v, reverse=True) and abs(sum(v) - 1) < 5e-4, v
PY

"$OCTET" infer $M/seg_full.onnx $M/rand_9x13.png --top 2 --json > "$T/top2.json"
check "--top 2 on a segmentation map lists the 2 largest classes" -- ref "$T/top2.json" "$T/s1.json" <<'PY'
import json, sys
two, full = json.load(open(sys.argv[1]))[0]["classes"], json.load(open(sys.argv[2]))[0]["classes"]
assert two == full[:2] and len(full) == 4, (two, full)
PY

# --resize on a model with a free size: the shorter side (10) becomes 6, the longer int(6 * 20 / 10) = 12; a single
# colour stays that colour, so every mask pixel is green at the original 20x10.
"$OCTET" infer $M/seg_full.onnx $M/green_10x20.png --resize 6 --mask "$T/g.png" --json > "$T/g.json"
check "--resize 6 on a free-size model: map 6x12, one class, mask 20x10 all green" -- ref "$T/g.json" "$T/g.png" <<'PY'
import json, sys
import numpy as np
import make_infer_models as ref
r = json.load(open(sys.argv[1]))[0]
assert r["shape"] == [1, 4, 6, 12], r["shape"]
assert [(c["index"], c["pixels"]) for c in r["classes"]] == [(2, 72)], r["classes"]
m = ref.read_png(sys.argv[2])
assert m.shape == (10, 20, 3) and (m == np.array(ref.voc_colour(2), np.uint8)).all(), m.shape
PY

# A fixed 8x8 input: resize the shorter side to round(8 / 0.875) = 9 (so 20x10 -> 18x9), centre crop 8x8 at
# left round(10 / 2) = 5, top round(1 / 2) = 0. Original pixels whose centre lands outside the crop are VOC's
# void colour (224, 224, 192); the others the model's class (green).
"$OCTET" infer $M/seg_fixed.onnx $M/green_10x20.png --mask "$T/c.png" > /dev/null
check "fixed 8x8 input with a centre crop: mask 20x10, green inside the crop, void outside" -- ref "$T/c.png" <<'PY'
import sys
import numpy as np
import make_infer_models as ref
m = ref.read_png(sys.argv[1])
assert m.shape == (10, 20, 3), m.shape
cx = (np.arange(20) + 0.5) * 18 / 20   # pixel centres in the 18x9 resized image
cy = (np.arange(10) + 0.5) * 9 / 10
seen = ((cy >= 0) & (cy < 8))[:, None] & ((cx >= 5) & (cx < 13))[None, :]
want = np.where(seen[..., None], np.array(ref.voc_colour(2), np.uint8), np.array([224, 224, 192], np.uint8))
assert (m == want).all(), np.argwhere((m != want).any(axis=2))[:5]
assert seen.sum() == 9 * 8, seen.sum()   # columns 6..13, rows 0..8
PY

# ---- 2. other outputs ------------------------------------------------------------------------------------------
"$OCTET" infer $M/two_outputs.onnx $M/rand_7x5.png $M/rand_9x13.png --json --save "$T/save" > "$T/t.json"; rc=$?
check "two outputs: exit 0" -- [ $rc -eq 0 ]
check "two outputs: names, shapes, min/max/mean/std/argmax as numpy, files DIR/<name>.<stem>.pb" -- \
  ref "$T/t.json" "$T/save" $M/rand_7x5.png $M/rand_9x13.png <<'PY'
import json, os, sys
import numpy as np
import make_infer_models as ref
got, save, images = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3:]
assert len(got) == 2
for r, img in zip(got, images):
    assert r["kind"] == "tensors" and r["image"] == img, r
    want = ref.two_outputs(ref.read_png(img))
    assert [o["name"] for o in r["outputs"]] == ["feat/pooled", "logits"], r["outputs"]
    stem = os.path.splitext(os.path.basename(img))[0]
    assert r["saved"] == {"feat/pooled": f"{save}/feat_pooled.{stem}.pb", "logits": f"{save}/logits.{stem}.pb"}, r["saved"]
    for o in r["outputs"]:
        a = want[o["name"]].astype(np.float64)
        assert o["dtype"] == "float32" and o["shape"] == list(a.shape), (o, a.shape)
        for k, v in (("min", a.min()), ("max", a.max()), ("mean", a.mean()), ("std", a.std())):
            assert abs(o[k] - v) <= 2e-5 * max(1.0, abs(v)), (img, o["name"], k, o[k], v)
        assert o["nan"] == 0
        assert a.size <= 1024, a.size
        # The pooled values are pixels (exact): the first maximum, as np.argmax. The logits are sums whose last bit
        # may differ from numpy's, and equal pixels tie: the reported element must be a maximum.
        i = o["argmax"]
        assert o["argmax_at"] == [int(v) for v in np.unravel_index(i, a.shape)], o
        if o["name"] == "feat/pooled":
            assert i == int(np.argmax(a)), (i, int(np.argmax(a)))
        else:
            assert a.flat[i] >= a.max() - 1e-6, (i, a.flat[i], a.max())
print("      both images, both outputs")
PY

# The saved tensors equal `octet run`'s outputs on the same input: the image as a [1, 3, H, W] float32 TensorProto
# (pixel / 255, the model's mean 0 / std 1), made here with numpy.
ref $M/rand_9x13.png "$T/x.pb" <<'PY'
import sys
import numpy as np
from onnx import numpy_helper
import make_infer_models as ref
x = (ref.read_png(sys.argv[1]).astype(np.float32) / np.float32(255)).transpose(2, 0, 1)[None]
open(sys.argv[2], "wb").write(numpy_helper.from_array(np.ascontiguousarray(x), "x").SerializeToString())
PY
"$OCTET" run $M/two_outputs.onnx "$T/x.pb" -o "$T/run" > /dev/null
check "--save files equal octet run's outputs (same values, shapes, names)" -- \
  ref "$T/save/feat_pooled.rand_9x13.pb" "$T/run/output_0.pb" "$T/save/logits.rand_9x13.pb" "$T/run/output_1.pb" <<'PY'
import sys
import numpy as np
from onnx import TensorProto, numpy_helper
def load(p):
    t = TensorProto(); t.ParseFromString(open(p, "rb").read()); return t.name, numpy_helper.to_array(t)
for saved, run in zip(sys.argv[1::2], sys.argv[2::2]):
    (n1, a), (n2, b) = load(saved), load(run)
    assert n1 == n2 and a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b), (saved, n1, n2, a.shape, b.shape)
PY

# --save works for a segmentation model too: the scores of one image, equal to the numpy reference.
"$OCTET" infer $M/seg_full.onnx $M/rand_8x12.png --save "$T/segsave" > /dev/null
check "--save on a segmentation model: DIR/scores.pb holds the [1, 4, 8, 12] scores" -- \
  ref "$T/segsave/scores.pb" $M/rand_8x12.png <<'PY'
import sys
import numpy as np
from onnx import TensorProto, numpy_helper
import make_infer_models as ref
t = TensorProto(); t.ParseFromString(open(sys.argv[1], "rb").read())
a = numpy_helper.to_array(t)
want = ref.seg_scores(ref.read_png(sys.argv[2]))[None]
assert t.name == "scores" and a.shape == want.shape and np.allclose(a, want, rtol=0, atol=1e-7), (a.shape, want.shape)
PY

# --save on a classifier: its logits, whose softmax is the probabilities printed.
"$OCTET" infer tests/data/image/colour_logits.onnx tests/data/image/colour_1_green.png --top 3 --json --save "$T/cls" \
  > "$T/cls.json"
check "--save on a classifier: DIR/<output>.pb, and softmax(saved logits) = the printed probabilities" -- \
  ref "$T/cls.json" "$T/cls" <<'PY'
import json, os, sys
import numpy as np
from onnx import TensorProto, numpy_helper
r = json.load(open(sys.argv[1]))[0]
assert set(r) == {"image", "top", "saved"} and len(r["saved"]) == 1, r
(name, path), = r["saved"].items()
assert os.path.dirname(path) == sys.argv[2], path
t = TensorProto(); t.ParseFromString(open(path, "rb").read())
logits = numpy_helper.to_array(t).astype(np.float64).ravel()
assert t.name == name and logits.shape == (3,), (t.name, logits.shape)
p = np.exp(logits - logits.max()); p /= p.sum()
for e in r["top"]:
    assert abs(e["prob"] - p[e["index"]]) <= 1e-6, (e, p)
PY

"$OCTET" infer $M/two_outputs.onnx $M/rand_7x5.png > "$T/t.txt"
check "tensors text: one line per output with name, dtype, shape, statistics" -- ref "$T/t.txt" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3 and lines[0].endswith("rand_7x5.png"), lines
num = r"-?[0-9.e+-]+"
pat = rf"(\S+)  float32 (\S+)  min {num} max {num} mean {num} std {num} argmax \d+ at \[[0-9, ]+\]"
assert re.fullmatch(pat, lines[1]) and lines[1].startswith("feat/pooled  float32 1x6x3"), lines[1]
assert re.fullmatch(pat, lines[2]) and lines[2].startswith("logits  float32 1x7x5x5"), lines[2]
PY

# A text-line model: height fixed at 8, width symbolic: a 20x10 gray image becomes 16x8, logits [1, 16, 3].
"$OCTET" infer $M/text_line.onnx $M/gray_10x20.png --json > "$T/l.json"
check "fixed height 8, symbolic width: a 20x10 image runs at 16x8 (logits 1x16x3)" -- $PY -c "
import json; o = json.load(open('$T/l.json'))[0]['outputs'][0]; assert o['name'] == 'logits' and o['shape'] == [1, 16, 3], o"

# ---- 3. errors -------------------------------------------------------------------------------------------------
C=tests/data/image/colour_logits.onnx
printf 'not an image' > "$T/bad.png"
expect 1 'mask needs a segmentation output.*1x3.*class scores' -- "$OCTET" infer $C tests/data/image/colour_0_red.png --mask "$T/x.png"
expect 1 'mask needs a segmentation output.*2 outputs'        -- "$OCTET" infer $M/two_outputs.onnx $M/rand_7x5.png --mask "$T/x.png"
expect 1 'nodir/m\.png: cannot write the mask PNG'             -- "$OCTET" infer $M/seg_full.onnx $M/rand_7x5.png --mask "$T/nodir/m.png"
touch "$T/file"
expect 1 'file/sub: cannot create the --save folder'          -- "$OCTET" infer $M/seg_full.onnx $M/rand_7x5.png --save "$T/file/sub"
expect 1 'bad\.png.*(not a JPEG/PNG|corrupt)'                 -- "$OCTET" infer $M/seg_full.onnx $M/rand_7x5.png "$T/bad.png"
mkdir -p "$T/a" "$T/b"; cp $M/rand_7x5.png "$T/a/same.png"; cp $M/rand_7x5.png "$T/b/same.png"
expect 2 "same stem 'same'"                                   -- "$OCTET" infer $M/seg_full.onnx "$T/a/same.png" "$T/b/same.png" --mask "$T/m.png"
expect 2 'resize.*fixed height 8'                             -- "$OCTET" infer $M/text_line.onnx $M/gray_10x20.png --resize 4
expect 2 'mask needs'                                         -- "$OCTET" infer $M/seg_full.onnx $M/rand_7x5.png --mask=
[ -f "$T/x.png" ] && no "a refused --mask left a file" || ok "a refused --mask writes no file"

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
