#!/usr/bin/env bash
# `octet quantize` end to end on the demo model:
#   1. calibrate on the 8 sample images (and on .pb tensors), write the table; the QDQ file passes ONNX's full
#      checker, has the ORT layout (Q/DQ pairs, int8 weights, int32 biases, no Relu), and its top-1 agrees with
#      the FP32 reference on every sample image, run by octet and by ONNX Runtime (when bench/node_modules has it);
#   2. --from-table applies the table unchanged (same outputs) and respects an edit; --exclude keeps a node FP32;
#   3. bad usage exits 2, bad input (missing calib folder, bad table, unknown node) exits 1 with a clear message.
# Usage: bash tests/cli/quantize.sh path/to/octet   (from the repo root)
set -u
OCTET=$1
PY=/usr/bin/python3
M=models/fmnist_resnet.onnx
D=tests/data/demo
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
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

# 1. Calibrate on images.
expect 0 "calibrated on 8 samples" -- "$OCTET" quantize $M --calib models/images -o "$T/q.onnx" --table "$T/t.txt"
check "table: method header and one line per calibrated tensor" -- bash -c \
  "grep -q '^# method: mse' '$T/t.txt' && [ \$(grep -vc '^#' '$T/t.txt') -eq 11 ] && grep -q '^input 0 1 0.00392156' '$T/t.txt'"

# structure FILE: ONNX's full checker, opset 13, the ORT QDQ layout.
structure() {
  $PY - "$1" <<'PY'
import sys, onnx
from onnx import numpy_helper as nh
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
ops = [n.op_type for n in m.graph.node]
assert [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] == [13]
assert ops.count("QuantizeLinear") == 13 and ops.count("DequantizeLinear") == 27, ops
assert "Relu" not in ops and "BatchNormalization" not in ops, ops
init = {t.name: t for t in m.graph.initializer}
for n in m.graph.node:
    if n.op_type in ("Conv", "Gemm"):
        w, b = [next(p for p in m.graph.node if p.output[0] == n.input[i]) for i in (1, 2)]
        assert w.op_type == b.op_type == "DequantizeLinear"
        assert init[w.input[0]].data_type == onnx.TensorProto.INT8 and init[b.input[0]].data_type == onnx.TensorProto.INT32
        x = next(p for p in m.graph.node if p.output[0] == n.input[0])
        assert x.op_type == "DequantizeLinear" and init[x.input[2]].data_type == onnx.TensorProto.UINT8
        sx, sw, sb = (nh.to_array(init[x.input[1]]), nh.to_array(init[w.input[1]]), nh.to_array(init[b.input[1]]))
        assert abs(sb - sx * sw).max() <= 1e-6 * abs(sb).max(), "bias scale = input scale x weight scale"
        assert not nh.to_array(init[w.input[2]]).any() and not nh.to_array(init[b.input[2]]).any()
assert m.graph.output[0].name == "output"
PY
}
check "QDQ file: checker, opset 13, ORT layout, bias scale = s_x * s_w" -- structure "$T/q.onnx"

# top1 DIR: every output_N.pb in DIR has the same top-1 as the FP32 reference tests/data/demo/output_N.pb.
top1() {
  $PY - "$1" "$D" <<'PY'
import sys, os, numpy as np
from onnx import TensorProto, numpy_helper as nh
def load(p):
    t = TensorProto(); t.ParseFromString(open(p, "rb").read()); return nh.to_array(t)
agree = 0
for i in range(8):
    got, want = load(f"{sys.argv[1]}/{i}/output_0.pb"), load(f"{sys.argv[2]}/output_{i}.pb")
    agree += int(got.argmax() == want.argmax())
print(f"top-1 agreement with FP32: {agree}/8")
sys.exit(0 if agree == 8 else 1)
PY
}
for i in 0 1 2 3 4 5 6 7; do
  "$OCTET" run "$T/q.onnx" $D/input_$i.pb -o "$T/octet/$i" >/dev/null 2>"$T/run_err" || break
done
if [ -f "$T/octet/7/output_0.pb" ]; then
  check "octet runs the QDQ file: top-1 equals FP32 on the 8 sample images" -- top1 "$T/octet"
else
  echo "note  octet cannot run the QDQ file: $(head -c 200 "$T/run_err")"
fi
if node -e "require('./bench/node_modules/onnxruntime-node')" 2>/dev/null; then
  for i in 0 1 2 3 4 5 6 7; do
    node bench/ort_bench.js "$T/q.onnx" --input $D/input_$i.pb --out "$T/ort/$i" >/dev/null 2>&1
  done
  check "ONNX Runtime runs the QDQ file: top-1 equals FP32 on the 8 sample images" -- top1 "$T/ort"
else
  echo "note  onnxruntime-node not installed (cd bench && npm install --ignore-scripts): ORT check skipped"
fi

# .pb calibration samples: 8 single tensors + one batch of 4 = 12 samples; --samples truncates.
mkdir -p "$T/pb"; cp $D/input_?.pb $D/input_batch4.pb "$T/pb/"
expect 0 "calibrated on 12 samples" -- "$OCTET" quantize $M --calib "$T/pb" -o "$T/q_pb.onnx" --method minmax
expect 0 "calibrated on 10 samples" -- "$OCTET" quantize $M --calib "$T/pb" -o "$T/q_pb.onnx" --samples 10
expect 0 "calibrated on 3 samples" -- "$OCTET" quantize $M --calib models/images -o "$T/q3.onnx" --samples 3 \
  --method percentile --percentile 99.9

# 2. The table applied back gives the same model numbers; an edit is respected.
check "--from-table applies a table" -- "$OCTET" quantize $M --from-table "$T/t.txt" -o "$T/q_table.onnx"
same_inits() {
  $PY - "$1" "$2" <<'PY'
import sys, onnx
a, b = (onnx.load(p) for p in sys.argv[1:3])
ia = {t.name: t.SerializeToString() for t in a.graph.initializer}
ib = {t.name: t.SerializeToString() for t in b.graph.initializer}
assert ia == ib and [n.SerializeToString() for n in a.graph.node] == [n.SerializeToString() for n in b.graph.node]
PY
}
check "--from-table reproduces the calibrated model (same nodes, same initializers)" -- same_inits "$T/q.onnx" "$T/q_table.onnx"
sed 's|^input 0 1 [^ ]* 0$|input 0 2 - -|' "$T/t.txt" >"$T/t_edit.txt"
check "--from-table applies an edited table" -- "$OCTET" quantize $M --from-table "$T/t_edit.txt" -o "$T/q_edit.onnx"
check "an edited range is applied (input scale 2/255)" -- $PY -c "
import onnx, numpy as np
from onnx import numpy_helper as nh
m = onnx.load('$T/q_edit.onnx'); i = {t.name: nh.to_array(t) for t in m.graph.initializer}
assert abs(float(i['input_scale']) - 2/255) < 1e-9, i['input_scale']"
check "--exclude runs" -- "$OCTET" quantize $M --calib models/images -o "$T/q_ex.onnx" --exclude /features/features.0/features.0.2/Relu
check "--exclude keeps the node FP32" -- $PY -c "
import onnx; m = onnx.load('$T/q_ex.onnx'); assert [n.name for n in m.graph.node if n.op_type == 'Relu'] == ['/features/features.0/features.0.2/Relu']"
check "--weight-bits 7 runs" -- "$OCTET" quantize $M --calib models/images -o "$T/q7.onnx" --weight-bits 7
check "--weight-bits 7 writes weights within [-63, 63], some at the edge" -- $PY -c "
import onnx, numpy as np
from onnx import numpy_helper as nh
m = onnx.load('$T/q7.onnx')
w = [nh.to_array(t) for t in m.graph.initializer if t.name.endswith('_quantized') and t.data_type == onnx.TensorProto.INT8]
assert len(w) == 7 and all(np.abs(a).max() == 63 for a in w), [int(np.abs(a).max()) for a in w]"

# 3. Usage errors (exit 2) and bad input (exit 1).
expect 2 "--method: unknown calibration method 'foo'" -- "$OCTET" quantize $M --calib models/images -o "$T/x.onnx" --method foo
expect 2 "--percentile applies to --method percentile" -- "$OCTET" quantize $M --calib models/images -o "$T/x.onnx" --percentile 99
expect 2 "--percentile must be in" -- "$OCTET" quantize $M --calib models/images -o "$T/x.onnx" --method percentile --percentile 101
expect 2 "--samples must be >= 1" -- "$OCTET" quantize $M --calib models/images -o "$T/x.onnx" --samples 0
expect 2 "--weight-bits must be 7 or 8" -- "$OCTET" quantize $M --calib models/images -o "$T/x.onnx" --weight-bits 4
expect 2 "needs -o" -- "$OCTET" quantize $M --calib models/images
expect 2 "either --calib DIR" -- "$OCTET" quantize $M -o "$T/x.onnx"
expect 2 "either --calib DIR" -- "$OCTET" quantize $M --calib models/images --from-table "$T/t.txt" -o "$T/x.onnx"
expect 2 "unknown option --bogus" -- "$OCTET" quantize $M --calib models/images -o "$T/x.onnx" --bogus
expect 2 "exactly one MODEL" -- "$OCTET" quantize --calib models/images -o "$T/x.onnx"
expect 1 "$T/nope: calibration folder does not exist" -- "$OCTET" quantize $M --calib "$T/nope" -o "$T/x.onnx"
mkdir -p "$T/empty"
expect 1 "no calibration samples" -- "$OCTET" quantize $M --calib "$T/empty" -o "$T/x.onnx"
expect 1 "--exclude names node 'nope'" -- "$OCTET" quantize $M --calib models/images -o "$T/x.onnx" --exclude nope
printf 'input 0 1 0.1\n' >"$T/bad.txt"
expect 1 "bad.txt:1: expected 'tensor min max scale zero_point'" -- "$OCTET" quantize $M --from-table "$T/bad.txt" -o "$T/x.onnx"
grep -v '^input ' "$T/t.txt" >"$T/short.txt"
expect 1 "no line for tensor 'input'" -- "$OCTET" quantize $M --from-table "$T/short.txt" -o "$T/x.onnx"
expect 1 "missing.onnx" -- "$OCTET" quantize "$T/missing.onnx" --calib models/images -o "$T/x.onnx"
check "--help lists quantize and its default method" -- bash -c "'$OCTET' --help | grep -q 'quantize MODEL --calib DIR' && '$OCTET' --help | grep -q 'mse (best on the demo model'"

echo "quantize.sh: $pass passed, $fails failed"
[ $fails -eq 0 ]
