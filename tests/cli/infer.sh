#!/usr/bin/env bash
# `octet infer` and `octet eval` end to end.
#   1. Two tiny colour classifiers from tests/data/image (made by scripts/make_image_reference.py) whose
#      probabilities are known from the pixels (colour_expected.json), and a 12-image folder with one
#      mislabelled image (top-1 must be 91.67%, top-5 100%).
#   2. The demo model(s) models/*.onnx on models/images/<idx>_<label>.png: schema, --top 3, and most
#      predictions equal the label in the file name.
#   3. Bad images, missing files and bad usage: exit 1 naming the file, or exit 2.
# Usage: bash tests/cli/infer.sh path/to/octet   (from the repo root)
set -u
OCTET=$1
PY=/usr/bin/python3
D=tests/data/image
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fails=0
ok() { echo "ok    $*"; pass=$((pass+1)); }
no() { echo "FAIL  $*"; fails=$((fails+1)); }
# check NAME -- command...: the command must succeed.
check() { local name=$1; shift 2; if "$@"; then ok "$name"; else no "$name"; fi; }
# expect RC PATTERN -- command...: exit status RC and stderr matching PATTERN (grep -E).
expect() {
  local rc=$1 pat=$2; shift 3
  "$@" >"$T/out" 2>"$T/err"; local got=$?
  if [ $got -eq "$rc" ] && grep -qE -e "$pat" "$T/err"; then
    ok "exit $got: $(head -n 1 "$T/err" | head -c 200)"
  else
    no "$*: exit $got (expected $rc, stderr matching '$pat'), stderr: $(head -c 300 "$T/err")"
  fi
}

# json_probs FILE.json: compares infer --json output with colour_expected.json (relative error <= 1e-3 on every
# probability, all classes listed, sorted descending, indices and labels consistent).
json_probs() {
  $PY - "$1" "$D/colour_expected.json" <<'PY'
import json, os, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
labels = ["red", "green", "blue"]
assert isinstance(got, list) and len(got) == len(want), f"{len(got)} results for {len(want)} images"
for r in got:
    exp = want[os.path.basename(r["image"])]
    top = r["top"]
    assert len(top) == 3, top
    probs = [t["prob"] for t in top]
    assert probs == sorted(probs, reverse=True), probs
    for t in top:
        assert t["label"] == labels[t["index"]], t
        e = exp[t["index"]]
        assert abs(t["prob"] - e) <= 1e-3 * e + 1e-7, (r["image"], t, e)
    assert abs(sum(probs) - 1) < 1e-4
PY
}

# ---- 1. colour classifiers -------------------------------------------------------------------------------
imgs=$(ls $D/colour_*.png)
"$OCTET" infer $D/colour_logits.onnx $imgs --top 3 --json > "$T/logits.json"; rc=$?
check "infer --json exits 0 (logits model)" -- [ $rc -eq 0 ]
check "infer applies softmax to logits: probabilities equal the float64 reference" -- json_probs "$T/logits.json"
"$OCTET" infer $D/colour_softmax.onnx $imgs --top 3 --json > "$T/softmax.json"
check "infer keeps an output that is already a distribution" -- json_probs "$T/softmax.json"
"$OCTET" infer $D/colour_logits.onnx $imgs --top 3 --json --shape x=2x3x16x16 > "$T/fixed.json"
check "a fixed batch of 2 for 3 images (padded last batch) gives the same answer" -- json_probs "$T/fixed.json"

"$OCTET" infer $D/colour_logits.onnx $imgs --top 2 > "$T/text.txt"
check "text output: file name line then K 'label  0.dddd' lines" -- $PY - "$T/text.txt" $imgs <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
images = sys.argv[2:]
assert len(lines) == 3 * len(images), lines
names = ["red", "green", "blue"]
for i, img in enumerate(images):
    assert lines[3 * i] == img, (lines[3 * i], img)
    first = re.fullmatch(r"(\S+)  (\d\.\d{4})", lines[3 * i + 1])
    assert first and first.group(1) == names[i], lines[3 * i + 1]
    assert re.fullmatch(r"\S+  \d\.\d{4}", lines[3 * i + 2]), lines[3 * i + 2]
PY

printf 'rouge\nvert\nbleu\n' > "$T/labels.txt"
"$OCTET" infer $D/colour_logits.onnx $D/colour_2_blue.png --labels "$T/labels.txt" --top 1 > "$T/fr.txt"
check "--labels FILE overrides the model's labels" -- grep -qx 'bleu  0.9989' "$T/fr.txt"
# Flags win over the model's preprocessing hints: mean 0 / std 1 shrink the scores, so the top probability drops.
"$OCTET" infer $D/colour_logits.onnx $D/colour_2_blue.png --mean 0 --std 1 --top 1 > "$T/flags.txt"
check "--mean/--std override metadata octet.mean/octet.std" -- $PY - "$T/flags.txt" <<'PY'
import sys
p = float(open(sys.argv[1]).read().split()[-1])
assert 0.34 < p < 0.9, p   # softmax(4 * mean(x/255)): well below the 0.9989 of the model's own normalisation
PY

"$OCTET" eval $D/colour_logits.onnx $D/colours --json > "$T/eval.txt"; rc=$?
check "eval: top-1 91.67, top-5 100.00 over 12 images, JSON last line" -- $PY - "$T/eval.txt" <<PY
import json
lines = open("$T/eval.txt").read().splitlines()
d = json.loads(lines[-1])
assert $rc == 0
assert d["top1"] == 91.67 and d["top5"] == 100.0 and d["count"] == 12 and d["images_per_s"] > 0, d
assert any(l.startswith("top-1") and "91.67%" in l for l in lines), lines
PY
"$OCTET" eval $D/colour_logits.onnx $D/colours --json --limit 3 --batch 2 > "$T/eval3.txt"
check "eval --limit 3 takes one image per class" -- $PY -c "
import json; d = json.loads(open('$T/eval3.txt').read().splitlines()[-1]); assert d['count'] == 3 and d['top1'] == 100.0, d"
"$OCTET" eval $D/colour_logits.onnx $D/colours --json --shape x=5x3x16x16 > "$T/eval5.txt"
check "eval with a fixed batch of 5 (12 images, padded last batch)" -- $PY -c "
import json; d = json.loads(open('$T/eval5.txt').read().splitlines()[-1]); assert d['count'] == 12 and d['top1'] == 91.67, d"

# ---- 2. the demo model(s) --------------------------------------------------------------------------------
models=$(ls models/*.onnx 2>/dev/null)
samples=$(ls models/images/*.png models/images/*.jpg 2>/dev/null)
if [ -z "$models" ] || [ -z "$samples" ]; then
  echo "note  no models/*.onnx with models/images/*: demo model checks skipped"
fi
for m in $models; do
  [ -z "$samples" ] && break
  "$OCTET" infer "$m" $samples --top 3 --json > "$T/demo.json"; rc=$?
  check "$m: infer --json on $(echo $samples | wc -w) sample images exits 0" -- [ $rc -eq 0 ]
  check "$m: JSON schema, 3 entries each, probabilities sum <= 1, most labels right" -- $PY - "$m" "$T/demo.json" $samples <<'PY'
import json, os, re, sys
import onnx
d = json.load(open(sys.argv[2]))
images = sys.argv[3:]
assert isinstance(d, list) and len(d) == len(images), len(d)
slug = lambda s: re.sub(r"[^a-z0-9-]+", "_", s.lower()).strip("_")
right = 0
for r, img in zip(d, images):
    assert set(r) == {"image", "top"} and r["image"] == img, r
    assert len(r["top"]) == 3, r
    for t in r["top"]:
        assert set(t) == {"index", "label", "prob"}, t
        assert isinstance(t["index"], int) and isinstance(t["label"], str) and 0 <= t["prob"] <= 1, t
    assert sum(t["prob"] for t in r["top"]) <= 1 + 1e-4, r
    want = os.path.splitext(os.path.basename(img))[0].split("_", 1)[1]
    right += slug(r["top"][0]["label"]) == want
# The accuracy check applies to a model whose labels (metadata_props "labels") name the samples' classes; another
# model in models/ (say an ImageNet one) is only checked for the schema.
meta = {p.key: p.value for p in onnx.load(sys.argv[1], load_external_data=False).metadata_props}
known = {slug(l) for l in meta.get("labels", "").splitlines()}
wanted = {os.path.splitext(os.path.basename(i))[0].split("_", 1)[-1] for i in images}
if wanted <= known:
    print(f"      {right}/{len(images)} sample images classified as their file name says")
    assert right >= 0.75 * len(images), f"only {right}/{len(images)} right"
else:
    print(f"      labels of {sys.argv[1]} do not name the sample classes: accuracy not checked")
PY
done

# The demo model's reference outputs (ONNX Runtime on tensors made from the same images): infer's probabilities,
# image decoding and preprocessing included, must equal softmax(reference) within 1e-4.
if [ -f tests/data/demo/manifest.tsv ] && [ -f models/fmnist_resnet.onnx ]; then
  demo_imgs=$(awk -F'\t' '!/^#/ && $3 ~ /^models\// {print $3}' tests/data/demo/manifest.tsv)
  "$OCTET" infer models/fmnist_resnet.onnx $demo_imgs --top 10 --json > "$T/demo10.json"
  check "demo: infer's probabilities equal softmax of ONNX Runtime's outputs within 1e-4" -- \
    $PY - "$T/demo10.json" tests/data/demo/manifest.tsv <<'PY'
import json, os, sys
import numpy as np
from onnx import TensorProto, numpy_helper
got = {r["image"]: r["top"] for r in json.load(open(sys.argv[1]))}
root = os.path.dirname(sys.argv[2])
worst = 0.0
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("\t")
    if line.startswith("#") or not f[2].startswith("models/"):
        continue
    t = TensorProto()
    t.ParseFromString(open(os.path.join(root, f[1]), "rb").read())
    logits = numpy_helper.to_array(t).astype(np.float64).ravel()
    p = np.exp(logits - logits.max())
    p /= p.sum()
    top = got[f[2]]
    assert len(top) == len(p), (len(top), len(p))
    for e in top:
        worst = max(worst, abs(e["prob"] - p[e["index"]]))
print(f"      max |p_octet - p_ort| = {worst:.2e}")
assert worst <= 1e-4, worst
PY
fi

# ---- 3. errors -------------------------------------------------------------------------------------------
printf 'not an image' > "$T/bad.jpg"
head -c 300 $D/photo.jpg > "$T/cut.jpg"
M=$D/colour_logits.onnx
expect 1 'bad\.jpg.*(not a JPEG/PNG|corrupt)'   -- "$OCTET" infer $M "$T/bad.jpg"
expect 1 'cut\.jpg.*corrupt'                    -- "$OCTET" infer $M $D/colour_0_red.png "$T/cut.jpg"
expect 1 'missing\.png.*cannot open'            -- "$OCTET" infer $M $D/colour_0_red.png "$T/missing.png"
expect 1 'missing\.onnx'                        -- "$OCTET" infer "$T/missing.onnx" $D/colour_0_red.png
expect 1 'no_such_dir'                          -- "$OCTET" eval $M "$T/no_such_dir"
expect 1 'labels\.txt.*cannot open'             -- "$OCTET" infer $M $D/colour_0_red.png --labels "$T/nolabels/labels.txt"
expect 1 '--mean has 2 values'                    -- "$OCTET" infer $M $D/colour_0_red.png --mean 0.1,0.2
N=/usr/share/libonnx-testdata/data/node
[ -f $N/test_relu/model.onnx ] && \
expect 1 "test_relu/model.onnx.*input 'x' has rank 3.*NCHW" -- "$OCTET" infer $N/test_relu/model.onnx $D/colour_0_red.png
expect 2 'MODEL and at least one IMAGE'         -- "$OCTET" infer $M
expect 2 'top'                                  -- "$OCTET" infer $M $D/colour_0_red.png --top 0
expect 2 'unknown option'                       -- "$OCTET" infer $M $D/colour_0_red.png --frobnicate
expect 2 'MODEL and a DATASET_DIR'              -- "$OCTET" eval $M
expect 2 'batch'                                -- "$OCTET" eval $M $D/colours --batch 0

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
