#!/usr/bin/env bash
# ONNX's backend node tests whose ops are all in the foundation's op list: none may fail, >= 90% must pass.
set -u
OCTET=$1
N=/usr/share/libonnx-testdata/data/node
OPS=Conv,BatchNormalization,Relu,Clip,LeakyRelu,Sigmoid,Add,Sub,Mul,Div,MaxPool,AveragePool,GlobalAveragePool,Flatten,Reshape,Transpose,Concat,Gemm,MatMul,Softmax,Identity,Dropout,Constant,Shape,Gather,Unsqueeze,Squeeze
# ops-elt: element-wise ops (engine/ops/eltwise_math.cpp, broadcast_ops.cpp, cast.cpp)
OPS=$OPS,Abs,Neg,Exp,Log,Sqrt,Reciprocal,Tanh,Erf,Floor,Ceil,Round,Sin,Cos,Sign,Softplus,Softsign,Elu,Selu,Celu
OPS=$OPS,HardSigmoid,HardSwish,ThresholdedRelu,IsNaN,IsInf,Not,Pow,PRelu,Max,Min,Sum,Mean,Mod,Equal,Less,Greater
OPS=$OPS,LessOrEqual,GreaterOrEqual,And,Or,Xor,Where,Cast,CastLike
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
