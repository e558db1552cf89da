#!/usr/bin/env bash
# The benchmark models of BENCHMARKS.md, all under build/models/ (not committed; random-weight torchvision exports):
#   resnet50.onnx, mobilenet_v2.onnx            FP32, BN kept (scripts/export_torchvision.py, issue 3's export)
#   <m>_int8.onnx                               octet quantize, default method, 8-bit weights
#   <m>_int8_w7.onnx                            octet quantize --weight-bits 7 (ORT's reduce_range)
#   resnet50_ortstyle_qdq.onnx / _w7.onnx       ORT-quantizer-style QDQ made without octet (scripts/make_qdq_models.py)
# Calibration: the 8 committed demo images (models/images), preprocessed as `infer` does for a 224x224 RGB model.
# Needs build/bin/octet (scripts/build.sh) and, for the exports, python3-torch/torchvision (scripts/setup.sh --models).
# Idempotent: existing files are kept.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
octet="${OCTET:-build/bin/octet}"
py=/usr/bin/python3
mkdir -p build/models
for m in resnet50 mobilenet_v2; do
  [[ -f build/models/$m.onnx ]] || $py scripts/export_torchvision.py $m
  [[ -f build/models/${m}_int8.onnx ]] ||
    "$octet" quantize build/models/$m.onnx --calib models/images -o build/models/${m}_int8.onnx
  [[ -f build/models/${m}_int8_w7.onnx ]] ||
    "$octet" quantize build/models/$m.onnx --calib models/images -o build/models/${m}_int8_w7.onnx --weight-bits 7
done
# make_qdq_models.py takes its activation ranges from ONNX Runtime (bench/ort_bench.js): install the peer first.
bench/install_peer.sh
[[ -f build/models/resnet50_ortstyle_qdq.onnx ]] ||
  $py scripts/make_qdq_models.py --resnet50 build/models/resnet50.onnx build/models/resnet50_ortstyle_qdq.onnx
[[ -f build/models/resnet50_ortstyle_qdq_w7.onnx ]] ||
  $py scripts/make_qdq_models.py --resnet50 build/models/resnet50.onnx build/models/resnet50_ortstyle_qdq_w7.onnx --wbits 7
ls -la build/models
