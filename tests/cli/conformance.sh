#!/usr/bin/env bash
# ONNX's backend node tests whose ops are all in the foundation's op list: none may fail, >= 90% must pass.
set -u
OCTET=$1
N=/usr/share/libonnx-testdata/data/node
OPS=Conv,BatchNormalization,Relu,Clip,LeakyRelu,Sigmoid,Add,Sub,Mul,Div,MaxPool,AveragePool,GlobalAveragePool,Flatten,Reshape,Transpose,Concat,Gemm,MatMul,Softmax,Identity,Dropout,Constant,Shape,Gather,Unsqueeze,Squeeze
# ops-red: reductions, normalisation, einsum, recurrent
OPS=$OPS,ReduceSum,ReduceMean,ReduceMax,ReduceMin,ReduceProd,ReduceL1,ReduceL2,ReduceLogSum,ReduceLogSumExp,ReduceSumSquare,ArgMax,ArgMin,LayerNormalization,InstanceNormalization,LpNormalization,MeanVarianceNormalization,LogSoftmax,Hardmax,Einsum,LSTM,GRU,RNN
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
"$OCTET" conformance $N/test_* --only-ops $OPS --json "$out/c.json" --quiet > "$out/log" 2>&1
rc=$?
cat "$out/log"
/usr/bin/python3 - "$out/c.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
total = d["passed"] + d["failed"] + d["skipped"]
print(f"conformance: {d['passed']}/{total} passed ({100*d['passed']/max(total,1):.1f}%), "
      f"{d['failed']} failed, {d['skipped']} skipped")
sys.exit(0 if d["failed"] == 0 and total > 0 and d["passed"] >= 0.9 * total else 1)
PY
py=$?
[ $rc -eq 0 ] && [ $py -eq 0 ]
