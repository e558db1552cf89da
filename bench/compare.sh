#!/usr/bin/env bash
# Side by side: octet vs ONNX Runtime 1.30 (the peer) on the same models and settings.
#
#   bench/compare.sh MODEL... [--scenario singlestream|offline|server] [--qps Q] [--latency-ms L]
#                    [--threads N] [--batch B] [--reps R] [--seconds S] [--octet BIN] [--json]
#     defaults: --scenario singlestream --threads 1 --batch 1 --reps 5 --seconds 5 --octet build/bin/octet
#
# For each model it runs `octet bench MODEL --json` and `node bench/ort_bench.js MODEL --json` (same
# scenario and flags) alternately R times (the one that goes first swaps every rep, so neither always gets
# the cooler or the warmer machine), each run its own process, then prints per model the median over reps
# and the spread (min-max) of the scenario's figure - p50 ms (singlestream), images/s (offline), p99 ms and
# how many reps met --latency-ms (server) - with speed ratio > 1 meaning octet is faster; and create_ms and
# peak_rss_mb of each engine with octet/ORT ratios (< 1: octet smaller; ORT's RSS is net of a bare Node
# process with onnxruntime-node loaded, see ort_bench.js). --json adds one JSON object as the last line.
# Installs the peer if missing (npm install --ignore-scripts under bench/; needs node and npm).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
threads=1 batch=1 reps=5 seconds=5 json=0 scenario=singlestream qps="" latency=100
octet="${OCTET:-$root/build/bin/octet}"
models=()
usage() { echo "usage: bench/compare.sh MODEL... [--scenario singlestream|offline|server] [--qps Q] [--latency-ms L] [--threads N] [--batch B] [--reps R] [--seconds S] [--octet BIN] [--json]" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --scenario) scenario="${2:?}"; shift 2 ;;
    --qps) qps="${2:?}"; shift 2 ;;
    --latency-ms) latency="${2:?}"; shift 2 ;;
    --threads) threads="${2:?}"; shift 2 ;;
    --batch) batch="${2:?}"; shift 2 ;;
    --reps) reps="${2:?}"; shift 2 ;;
    --seconds) seconds="${2:?}"; shift 2 ;;
    --octet) octet="${2:?}"; shift 2 ;;
    --json) json=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; usage ;;
    *) models+=("$1"); shift ;;
  esac
done
((${#models[@]})) || usage
for v in "$threads" "$batch" "$reps"; do [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: '$v' is not a positive integer" >&2; exit 2; }; done
case "$scenario" in singlestream|offline|server) ;; *) echo "compare.sh: --scenario must be singlestream, offline or server, got '$scenario'" >&2; exit 2 ;; esac
num_re='^[0-9]+([.][0-9]+)?$'
[[ "$latency" =~ $num_re ]] || { echo "compare.sh: --latency-ms '$latency' is not a number" >&2; exit 2; }
if [[ "$scenario" == server ]]; then
  [[ "$qps" =~ $num_re ]] && [[ "$qps" != 0 ]] || { echo "compare.sh: --scenario server needs --qps > 0" >&2; exit 2; }
elif [[ -n "$qps" ]]; then echo "compare.sh: --qps only applies to --scenario server" >&2; exit 2; fi
# The same scenario flags go to both engines.
common=(--scenario "$scenario" --threads "$threads" --batch "$batch" --seconds "$seconds" --json)
[[ "$scenario" == server ]] && common+=(--qps "$qps" --latency-ms "$latency")
for m in "${models[@]}"; do [[ -f "$m" ]] || { echo "compare.sh: $m: no such file" >&2; exit 1; }; done
[[ -x "$octet" ]] || { echo "compare.sh: $octet: not built (scripts/build.sh) - set --octet or OCTET" >&2; exit 1; }
command -v node >/dev/null || { echo "compare.sh: node not found (scripts/setup.sh --models)" >&2; exit 1; }
"$here/install_peer.sh"

results="$(mktemp)"
trap 'rm -f "$results"' EXIT

# Runs one engine once; appends {"model","engine","rep", ...its JSON} to $results.
run_one() {
  local engine="$1" model="$2" rep="$3" out line
  if [[ "$engine" == octet ]]; then
    out="$("$octet" bench "$model" "${common[@]}" 2>&1)" || {
      echo "compare.sh: octet failed on $model:" >&2; echo "$out" >&2; exit 1; }
  else
    out="$(node "$here/ort_bench.js" "$model" "${common[@]}" 2>&1)" || {
      echo "compare.sh: ORT failed on $model:" >&2; echo "$out" >&2; exit 1; }
  fi
  line="$(tail -n 1 <<<"$out")"
  node -e '
    const [engine, model, rep, line] = process.argv.slice(1);
    let r;
    try { r = JSON.parse(line); } catch (e) { console.error(`compare.sh: ${engine} on ${model}: last line is not JSON: ${line}`); process.exit(1); }
    if (typeof r.p50_ms !== "number") { console.error(`compare.sh: ${engine} on ${model}: no p50_ms in ${line}`); process.exit(1); }
    console.log(JSON.stringify({model, engine, rep: Number(rep), ...r}));' "$engine" "$model" "$rep" "$line" >>"$results"
  node -e 'const [rep, engine, l] = process.argv.slice(1), r = JSON.parse(l);
    console.error(`  rep ${rep} ${engine.padEnd(5)} p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  ${r.images_per_s} img/s  ` +
                  `create ${r.create_ms} ms  peak RSS ${r.peak_rss_mb} MB`);' "$rep" "$engine" "$line"
}

for model in "${models[@]}"; do
  echo "$(basename "$model"): $scenario, $reps reps, $threads thread(s), batch $batch, $seconds s each" >&2
  for ((rep = 1; rep <= reps; rep++)); do
    if ((rep % 2)); then run_one octet "$model" "$rep"; run_one ort "$model" "$rep"
    else run_one ort "$model" "$rep"; run_one octet "$model" "$rep"; fi
  done
done

node - "$results" "$json" "$threads" "$batch" "$reps" "$scenario" "$qps" "$latency" <<'JS'
const fs = require('fs');
const [file, json, threads, batch, reps, scenario, qps, latency] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
// median and min-max over reps of one key
const spread = (rs, k) => { const v = rs.map((r) => r[k] ?? NaN);
  return {median: median(v), min: Math.min(...v), max: Math.max(...v)}; };
const stats = (rs) => { const p = spread(rs, 'p50_ms'), p99 = spread(rs, 'p99_ms'), ips = spread(rs, 'images_per_s'),
                             cr = spread(rs, 'create_ms'), rss = spread(rs, 'peak_rss_mb'),
                             ccpu = spread(rs, 'create_cpu_ms');
  const s = {p50_ms: p.median, min_ms: p.min, max_ms: p.max,
             images_per_s: ips.median, images_per_s_min: ips.min, images_per_s_max: ips.max,
             cpu_p50_ms: median(rs.map((r) => r.cpu_p50_ms ?? NaN)),
             p99_ms: p99.median, p99_min_ms: p99.min, p99_max_ms: p99.max,
             create_ms: cr.median, create_min_ms: cr.min, create_max_ms: cr.max,
             create_cpu_ms: ccpu.median, create_cpu_min_ms: ccpu.min, create_cpu_max_ms: ccpu.max,
             peak_rss_mb: rss.median, peak_rss_min_mb: rss.min, peak_rss_max_mb: rss.max};
  if (scenario === 'server') s.met_reps = rs.filter((r) => r.met === true).length;
  return s; };
// The scenario's figure: singlestream p50 (ms, lower is better), offline images/s (higher is better),
// server p99 (ms, lower is better). speed_ratio > 1 means octet is faster on it.
const metric = {singlestream: 'p50_ms', offline: 'images_per_s', server: 'p99_ms'}[scenario];
const models = [...new Set(rows.map((r) => r.model))];
const summary = models.map((m) => {
  const o = stats(rows.filter((r) => r.model === m && r.engine === 'octet'));
  const t = stats(rows.filter((r) => r.model === m && r.engine === 'ort'));
  return {model: m, octet: o, ort: t, ratio: t.p50_ms / o.p50_ms, cpu_ratio: t.cpu_p50_ms / o.cpu_p50_ms,
          speed_ratio: metric === 'images_per_s' ? o.images_per_s / t.images_per_s : t[metric] / o[metric],
          create_ratio: o.create_ms / t.create_ms, create_cpu_ratio: o.create_cpu_ms / t.create_cpu_ms,
          rss_ratio: o.peak_rss_mb / t.peak_rss_mb};
});
const f = (x, d = 2) => x.toFixed(d);
const med = (s, k, lo, hi, d = 2) => `${f(s[k], d)} [${f(s[lo], d)}-${f(s[hi], d)}]`;
const print = (head, table) => {
  const width = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ');
  console.log(line(head));
  for (const r of table) console.log(line(r));
};
const base = (m) => require('path').basename(m);
const cfg = `${scenario}${scenario === 'server' ? ` at ${qps} qps, bound ${latency} ms` : ''}, threads ${threads}, batch ${batch}, ${reps} reps`;
if (scenario === 'singlestream') {
  console.log(`${cfg} (median and min-max of per-rep p50); ratio > 1: octet faster`);
  print(['model', 'octet p50 ms [min-max]', 'ORT p50 ms [min-max]', 'octet img/s', 'ORT img/s', 'ORT/octet',
         'octet cpu ms', 'ORT cpu ms', 'cpu ORT/octet'],
        summary.map((s) => [base(s.model), med(s.octet, 'p50_ms', 'min_ms', 'max_ms'), med(s.ort, 'p50_ms', 'min_ms', 'max_ms'),
          f(s.octet.images_per_s), f(s.ort.images_per_s), f(s.ratio), f(s.octet.cpu_p50_ms), f(s.ort.cpu_p50_ms), f(s.cpu_ratio)]));
} else if (scenario === 'offline') {
  console.log(`${cfg} (median and min-max of per-rep images/s); octet/ORT > 1: octet faster`);
  print(['model', 'octet img/s [min-max]', 'ORT img/s [min-max]', 'octet/ORT', 'octet p50 ms', 'ORT p50 ms',
         'octet cpu ms', 'ORT cpu ms', 'cpu ORT/octet'],
        summary.map((s) => [base(s.model), med(s.octet, 'images_per_s', 'images_per_s_min', 'images_per_s_max'),
          med(s.ort, 'images_per_s', 'images_per_s_min', 'images_per_s_max'), f(s.speed_ratio),
          f(s.octet.p50_ms), f(s.ort.p50_ms), f(s.octet.cpu_p50_ms), f(s.ort.cpu_p50_ms), f(s.cpu_ratio)]));
} else {
  console.log(`${cfg} (median and min-max of per-rep p99); ORT/octet > 1: octet faster`);
  print(['model', 'octet p99 ms [min-max]', 'ORT p99 ms [min-max]', 'ORT/octet', 'octet met', 'ORT met',
         'octet p50 ms', 'ORT p50 ms'],
        summary.map((s) => [base(s.model), med(s.octet, 'p99_ms', 'p99_min_ms', 'p99_max_ms'),
          med(s.ort, 'p99_ms', 'p99_min_ms', 'p99_max_ms'), f(s.speed_ratio),
          `${s.octet.met_reps}/${reps}`, `${s.ort.met_reps}/${reps}`, f(s.octet.p50_ms), f(s.ort.p50_ms)]));
}
console.log('\nstart-up and memory (median [min-max]; ORT RSS net of bare node + onnxruntime-node); octet/ORT < 1: octet smaller');
print(['model', 'octet create ms', 'ORT create ms', 'create octet/ORT', 'octet create cpu ms', 'ORT create cpu ms',
       'cpu octet/ORT', 'octet peak RSS MB', 'ORT peak RSS MB', 'RSS octet/ORT'],
      summary.map((s) => [base(s.model), med(s.octet, 'create_ms', 'create_min_ms', 'create_max_ms', 1),
        med(s.ort, 'create_ms', 'create_min_ms', 'create_max_ms', 1), f(s.create_ratio),
        med(s.octet, 'create_cpu_ms', 'create_cpu_min_ms', 'create_cpu_max_ms', 1),
        med(s.ort, 'create_cpu_ms', 'create_cpu_min_ms', 'create_cpu_max_ms', 1), f(s.create_cpu_ratio),
        med(s.octet, 'peak_rss_mb', 'peak_rss_min_mb', 'peak_rss_max_mb', 1),
        med(s.ort, 'peak_rss_mb', 'peak_rss_min_mb', 'peak_rss_max_mb', 1), f(s.rss_ratio)]));
if (json === '1') {
  const out = {threads: +threads, batch: +batch, reps: +reps, scenario, metric, models: summary};
  if (scenario === 'server') Object.assign(out, {qps: +qps, latency_ms: +latency});
  console.log(JSON.stringify(out));
}
JS
