#!/usr/bin/env bash
# Side by side: octet vs ONNX Runtime 1.30 (the peer) on the same models and settings.
#
#   bench/compare.sh MODEL... [--threads N] [--batch B] [--reps R] [--seconds S] [--octet BIN] [--json]
#     defaults: --threads 1 --batch 1 --reps 5 --seconds 5 --octet build/bin/octet
#
# For each model it runs `octet bench MODEL --json` and `node bench/ort_bench.js MODEL --json`
# alternately R times (the one that goes first swaps every rep, so neither always gets the cooler or
# the warmer machine), each run its own process, then prints per model: p50 median over reps and the
# spread (min-max), images/s median, and ratio = ORT p50 / octet p50 (> 1 means octet is faster).
# --json adds one JSON object as the last line with the same figures. Installs the peer if missing
# (npm install --ignore-scripts under bench/; needs node and npm, see scripts/setup.sh --models).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
threads=1 batch=1 reps=5 seconds=5 json=0
octet="${OCTET:-$root/build/bin/octet}"
models=()
usage() { echo "usage: bench/compare.sh MODEL... [--threads N] [--batch B] [--reps R] [--seconds S] [--octet BIN] [--json]" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --threads) threads="${2:?}"; shift 2 ;;
    --batch) batch="${2:?}"; shift 2 ;;
    --reps) reps="${2:?}"; shift 2 ;;
    --seconds) seconds="${2:?}"; shift 2 ;;
    --octet) octet="${2:?}"; shift 2 ;;
    --json) json=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; usage ;;
    *) models+=("$1"); shift ;;
  esac
done
((${#models[@]})) || usage
for v in "$threads" "$batch" "$reps"; do [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: '$v' is not a positive integer" >&2; exit 2; }; done
for m in "${models[@]}"; do [[ -f "$m" ]] || { echo "compare.sh: $m: no such file" >&2; exit 1; }; done
[[ -x "$octet" ]] || { echo "compare.sh: $octet: not built (scripts/build.sh) - set --octet or OCTET" >&2; exit 1; }
command -v node >/dev/null || { echo "compare.sh: node not found (scripts/setup.sh --models)" >&2; exit 1; }
if [[ ! -d "$here/node_modules/onnxruntime-node" ]]; then
  echo "compare.sh: installing the peer (onnxruntime-node) under bench/" >&2
  (cd "$here" && npm install --ignore-scripts --no-audit --no-fund >&2)
fi

results="$(mktemp)"
trap 'rm -f "$results"' EXIT

# Runs one engine once; appends {"model","engine","rep", ...its JSON} to $results.
run_one() {
  local engine="$1" model="$2" rep="$3" out line
  if [[ "$engine" == octet ]]; then
    out="$("$octet" bench "$model" --threads "$threads" --batch "$batch" --seconds "$seconds" --json 2>&1)" || {
      echo "compare.sh: octet failed on $model:" >&2; echo "$out" >&2; exit 1; }
  else
    out="$(node "$here/ort_bench.js" "$model" --threads "$threads" --batch "$batch" --seconds "$seconds" --json 2>&1)" || {
      echo "compare.sh: ORT failed on $model:" >&2; echo "$out" >&2; exit 1; }
  fi
  line="$(tail -n 1 <<<"$out")"
  node -e '
    const [engine, model, rep, line] = process.argv.slice(1);
    let r;
    try { r = JSON.parse(line); } catch (e) { console.error(`compare.sh: ${engine} on ${model}: last line is not JSON: ${line}`); process.exit(1); }
    if (typeof r.p50_ms !== "number") { console.error(`compare.sh: ${engine} on ${model}: no p50_ms in ${line}`); process.exit(1); }
    console.log(JSON.stringify({model, engine, rep: Number(rep), ...r}));' "$engine" "$model" "$rep" "$line" >>"$results"
  printf '  rep %d %-5s p50 %s ms\n' "$rep" "$engine" "$(node -e 'console.log(JSON.parse(process.argv[1]).p50_ms)' "$line")" >&2
}

for model in "${models[@]}"; do
  echo "$(basename "$model"): $reps reps, $threads thread(s), batch $batch, $seconds s each" >&2
  for ((rep = 1; rep <= reps; rep++)); do
    if ((rep % 2)); then run_one octet "$model" "$rep"; run_one ort "$model" "$rep"
    else run_one ort "$model" "$rep"; run_one octet "$model" "$rep"; fi
  done
done

node - "$results" "$json" "$threads" "$batch" "$reps" <<'JS'
const fs = require('fs');
const [file, json, threads, batch, reps] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const stats = (rs) => { const p = rs.map((r) => r.p50_ms);
  return {p50_ms: median(p), min_ms: Math.min(...p), max_ms: Math.max(...p),
          images_per_s: median(rs.map((r) => r.images_per_s)),
          cpu_p50_ms: median(rs.map((r) => r.cpu_p50_ms ?? NaN))}; };
const models = [...new Set(rows.map((r) => r.model))];
const summary = models.map((m) => {
  const o = stats(rows.filter((r) => r.model === m && r.engine === 'octet'));
  const t = stats(rows.filter((r) => r.model === m && r.engine === 'ort'));
  return {model: m, octet: o, ort: t, ratio: t.p50_ms / o.p50_ms, cpu_ratio: t.cpu_p50_ms / o.cpu_p50_ms};
});
const f = (x) => x.toFixed(2);
const head = ['model', 'octet p50 ms [min-max]', 'ORT p50 ms [min-max]', 'octet img/s', 'ORT img/s', 'ORT/octet',
              'octet cpu ms', 'ORT cpu ms', 'cpu ORT/octet'];
const table = summary.map((s) => [require('path').basename(s.model),
  `${f(s.octet.p50_ms)} [${f(s.octet.min_ms)}-${f(s.octet.max_ms)}]`,
  `${f(s.ort.p50_ms)} [${f(s.ort.min_ms)}-${f(s.ort.max_ms)}]`,
  f(s.octet.images_per_s), f(s.ort.images_per_s), f(s.ratio),
  f(s.octet.cpu_p50_ms), f(s.ort.cpu_p50_ms), f(s.cpu_ratio)]);
const width = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ');
console.log(`threads ${threads}, batch ${batch}, ${reps} reps (median and min-max of per-rep p50); ratio > 1: octet faster`);
console.log(line(head));
for (const r of table) console.log(line(r));
if (json === '1') console.log(JSON.stringify({threads: +threads, batch: +batch, reps: +reps, models: summary}));
JS
