#!/usr/bin/env bash
# The data-movement and spatial ops against the peer: scripts/make_data_ops_model.py exports one torch model per
# opset (9, 10, 11, 13, 17: Upsample, Resize-10/11/13, ConvTranspose, Pad, Split, TopK, CumSum, DepthToSpace,
# Tile, Slice, Trilu, pools with ceil_mode), octet (1 and 2 threads) and ONNX Runtime run it on the same input,
# and every output must agree within 1e-4 relative to the output's largest magnitude.
# Skips (exit 0, saying why) when torch or onnxruntime-node (bench/node_modules) is not installed.
# Usage: bash tests/cli/data_ops_peer.sh path/to/octet   (from the repo root)
set -u
OCTET=$1
PY=/usr/bin/python3
if ! $PY -c "import torch, onnx" 2>/dev/null; then
  echo "SKIP: python3-torch / python3-onnx not installed (scripts/setup.sh --models)"; exit 0
fi
if ! node -e "require('./bench/node_modules/onnxruntime-node')" 2>/dev/null; then
  echo "SKIP: onnxruntime-node not installed ((cd bench && npm install --ignore-scripts))"; exit 0
fi
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
for opset in 9 10 11 13 17; do
  d=$T/o$opset
  if ! $PY scripts/make_data_ops_model.py $opset $d --size 20 26 >"$d.log" 2>&1; then
    echo "FAIL  opset $opset: export: $(tail -n 1 "$d.log")"; fails=$((fails+1)); continue
  fi
  node bench/ort_bench.js $d/model.onnx --input $d/input.pb --out $d/ort >"$d.ort.log" 2>&1 ||
    { echo "FAIL  opset $opset: ONNX Runtime: $(tail -n 1 "$d.ort.log")"; fails=$((fails+1)); continue; }
  for threads in 1 2; do
    "$OCTET" run $d/model_no_cast.onnx $d/input.pb -o $d/oct$threads --threads $threads >"$d.oct.log" 2>&1 ||
      { echo "FAIL  opset $opset: octet: $(tail -n 1 "$d.oct.log")"; fails=$((fails+1)); continue; }
    if $PY - $d/oct$threads $d/ort <<'PY'
import glob, sys
import numpy as np, onnx
from onnx import numpy_helper
def outs(d):
    return sorted(glob.glob(d + "/output_*.pb"), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
a, b = outs(sys.argv[1]), outs(sys.argv[2])
if len(a) != len(b) or not a:
    sys.exit(f"{len(a)} octet outputs, {len(b)} ONNX Runtime outputs")
bad = []
for x, y in zip(a, b):
    ta, tb = (numpy_helper.to_array(onnx.load_tensor(p)) for p in (x, y))
    if ta.shape != tb.shape:
        bad.append(f"{x}: shape {ta.shape} vs {tb.shape}"); continue
    if ta.size and np.max(np.abs(ta.astype(np.float64) - tb)) > 1e-4 * max(1e-6, np.max(np.abs(tb))):
        bad.append(f"{x}: max diff {np.max(np.abs(ta.astype(np.float64) - tb)):.3g}")
print(f"{len(a)} outputs" + ("" if not bad else ": " + "; ".join(bad)))
sys.exit(1 if bad else 0)
PY
    then echo "ok    opset $opset, $threads thread(s)"; else echo "FAIL  opset $opset, $threads thread(s)"; fails=$((fails+1)); fi
  done
done
echo "data_ops_peer: $fails failure(s)"
[ $fails -eq 0 ]
