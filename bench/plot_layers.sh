#!/usr/bin/env bash
# One command for the per-layer plot of BENCHMARKS.md: GMAC/s per ResNet-50 conv, octet vs oneDNN vs ORT vs peak.
#
#   bench/plot_layers.sh [--model FP32.onnx] [--int8 INT8.onnx | --quantize] [--seconds S] [--bin DIR]
#                        [--out DIR] [--keep DIR]
#     defaults: --model build/models/resnet50.onnx --seconds 20 --bin build/bin --out docs/img
#
# Runs, each at 1 thread, batch 1 (the kernel benchmark is single-threaded too):
#   octet bench MODEL --threads 1 --seconds S --profile  -> per-node trace (median over runs is plotted)
#   node bench/ort_bench.js MODEL --threads 1 --seconds S --profile  -> ORT's profiler, per node
#   octet-bench-kernels, rows (conv/onednn_fp32|qconv/onednn)/resnet50/*  -> oneDNN
#     and the peaks (FMA for fp32; int8 from those rows or qgemm/avx2/square/256)
# then /usr/bin/python3 bench/plot_layers.py, writing OUT/resnet50_layers_fp32.png and, with --int8 FILE (a QDQ
# model) or --quantize (calibrates MODEL on models/images with `octet quantize` into a temporary file),
# OUT/resnet50_layers_int8.png. Each PNG has a .csv with the plotted numbers next to it. --keep DIR keeps the
# raw traces and profiles. Timings on a shared machine are noisy: the medians over runs help; more --seconds too.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
model="$root/build/models/resnet50.onnx" int8="" quantize=0 seconds=20 bin="$root/build/bin" out="$root/docs/img"
keep=""
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case "$1" in
    --model) model="${2:?}"; shift 2 ;;
    --int8) int8="${2:?}"; shift 2 ;;
    --quantize) quantize=1; shift ;;
    --seconds) seconds="${2:?}"; shift 2 ;;
    --bin) bin="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    --keep) keep="${2:?}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "plot_layers.sh: unknown argument $1" >&2; usage ;;
  esac
done
[[ -f "$model" ]] || { echo "plot_layers.sh: $model: no such file (scripts/setup.sh --models)" >&2; exit 1; }
[[ -z "$int8" || -f "$int8" ]] || { echo "plot_layers.sh: $int8: no such file" >&2; exit 1; }
for b in octet octet-bench-kernels; do
  [[ -x "$bin/$b" ]] || { echo "plot_layers.sh: $bin/$b: not built (--bin DIR)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import onnx, matplotlib' 2>/dev/null \
  || { echo "plot_layers.sh: /usr/bin/python3 needs python3-onnx and python3-matplotlib (apt)" >&2; exit 1; }
"$here/install_peer.sh"

work="${keep:-$(mktemp -d)}"
mkdir -p "$work" "$out"
[[ -n "$keep" ]] || trap 'rm -rf "$work"' EXIT

if ((quantize)) && [[ -z "$int8" ]]; then
  int8="$work/resnet50_int8.onnx"
  echo "== octet quantize (calibration on models/images)" >&2
  "$bin/octet" quantize "$model" --calib "$root/models/images" -o "$int8" >&2
fi

echo "== kernel benchmarks (oneDNN rows and the peaks)" >&2
"$bin/octet-bench-kernels" --benchmark_filter='^((conv/onednn_fp32|qconv/onednn)/resnet50/|qgemm/avx2/square/256$)' \
  --benchmark_min_time=0.3 --benchmark_format=json >"$work/kernels.json" 2>"$work/kernels.err" \
  || { cat "$work/kernels.err" >&2; exit 1; }

# One precision: octet and ORT on the model, interleaved per precision so both see a similar machine.
layers() {
  local prec="$1" m="$2"
  echo "== $prec: octet bench --profile ($seconds s)" >&2
  "$bin/octet" bench "$m" --threads 1 --seconds "$seconds" --profile "$work/octet_$prec.trace.json" \
    >"$work/octet_$prec.txt"
  echo "== $prec: ORT --profile ($seconds s)" >&2
  node "$here/ort_bench.js" "$m" --threads 1 --seconds "$seconds" --profile "$work/ort_$prec.json" \
    >"$work/ort_$prec.txt"
  /usr/bin/python3 "$here/plot_layers.py" --model "$m" --precision "$prec" --shapes "$here/kernels/resnet50_shapes.h" \
    --octet-trace "$work/octet_$prec.trace.json" --ort-profile "$work/ort_$prec.json" --kernels "$work/kernels.json" \
    -o "$out/resnet50_layers_$prec.png" --csv "$out/resnet50_layers_$prec.csv"
}
layers fp32 "$model"
[[ -z "$int8" ]] || layers int8 "$int8"
