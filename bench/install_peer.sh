#!/usr/bin/env bash
# Installs the peer, ONNX Runtime's Node binding (bench/package.json: onnxruntime-node, with its native library),
# under bench/node_modules if it is not there yet. Every script that drives bench/ort_bench.js calls this first.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d "$here/node_modules/onnxruntime-node" ]] && exit 0
echo "installing the peer (onnxruntime-node) under bench/" >&2
cd "$here" && npm install --ignore-scripts --no-audit --no-fund >&2
