#!/usr/bin/env bash
# Fresh machine -> packages, build, then classify the shipped sample images with the shipped demo model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/bin/infer models/fmnist_resnet.onnx models/images/*.png --top 3
