#!/usr/bin/env bash
# Installs every Debian package octet needs. Idempotent: installs only what is missing.
#   scripts/setup.sh            build + test dependencies
#   scripts/setup.sh --models   also what the model-making scripts need (torch, torchvision, Fashion-MNIST)
set -euo pipefail
# ocl-icd-opencl-dev: only a Recommends of libdnnl-dev, but dnnl-config.cmake find_package()s OpenCL (its GPU
# runtime is OCL), so cmake fails without it.
pkgs=(build-essential cmake ninja-build pkg-config
      libdnnl-dev ocl-icd-opencl-dev libxsimd-dev libbenchmark-dev doctest-dev
      libprotobuf-dev protobuf-compiler libonnx-dev libstb-dev libonnx-testdata
      python3 python3-numpy python3-onnx
      python3-dev pybind11-dev python3-pytest)  # the Python module (python/) and its tests
if [[ "${1:-}" == "--models" ]]; then
  pkgs+=(python3-torch python3-torchvision python3-pil python3-matplotlib dataset-fashion-mnist)
  # Node.js + npm for the peer (bench/ort_bench.js): Debian's, unless the machine already has a node and npm (a
  # NodeSource nodejs ships its own npm and conflicts with Debian's npm package).
  command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all packages present"
