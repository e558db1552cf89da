#!/usr/bin/env node
// The peer: ONNX Runtime 1.30 (onnxruntime-node, CPU) driven the same way as `octet bench/run/eval`,
// so bench/compare.sh and the reference-output scripts can put octet next to it.
//
//   node bench/ort_bench.js MODEL [--scenario singlestream|offline|server] [--threads N] [--batch B]
//        [--seconds S] [--iterations N] [--warmup S] [--qps Q] [--latency-ms L] [--profile FILE] [--json]
//   node bench/ort_bench.js MODEL --input A.pb [NAME=B.pb ...] --out DIR [--threads N]
//   node bench/ort_bench.js MODEL --eval DATASET_DIR [--batch B] [--threads N] [--json]
//
// bench: one session (intraOpNumThreads=N, interOpNumThreads=1, graphOptimizationLevel 'all'), generated
//   input (uniform [0,1), fixed seed), warm-up, then timed runs for S seconds (at least 5 runs) or N runs,
//   the same scenarios as `octet bench`: singlestream (one query after another), offline (the same loop
//   read as images/s of --batch images), server (queries arrive as a Poisson process at --qps; latency =
//   completion - arrival; met = p99 <= --latency-ms). With --json the last stdout line is one JSON
//   object with octet's keys: model, scenario, p50_ms, p90_ms, p99_ms, images_per_s, threads, batch,
//   runs, create_ms (InferenceSession.create; create_cpu_ms its process CPU time), peak_rss_mb (net of bare Node + onnxruntime-node, see
//   memory()), cpu_p50_ms, isa, and for server qps, latency_ms, met; plus min_ms, rss_baseline_mb,
//   peak_rss_gross_mb. --profile FILE: ORT's own profiler; FILE gets per-node mean times (JSON).
// run: inputs are ONNX TensorProto files, matched to the model inputs by position or NAME=FILE; writes
//   DIR/output_<i>.pb (TensorProto, raw_data, named after the model's output i), like `octet run`.
// eval: DATASET_DIR/<class folders, sorted = label index>/*.png, 8-bit gray or RGB PNGs already at the
//   model's input size; pixels / 255 (no mean/std, octet's 1-channel default); prints top-1/top-5.
//
// Install the peer first: (cd bench && npm install --ignore-scripts). The package ships its Linux x64
// native library; its install script only fetches optional GPU providers, which are not used here.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

function fail(msg, code = 1) {
  process.stderr.write(`ort_bench: ${msg}\n`);
  process.exit(code);
}

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  fail(`cannot load onnxruntime-node (${e.message}); run: (cd bench && npm install --ignore-scripts)`);
}

// ---------------------------------------------------------------------------------------------------
// Memory. Linux keeps two figures per process in /proc/self/status: VmRSS (resident now) and VmHWM (the
// high-water mark of VmRSS since the process started), both in kB. The issue compares octet's process
// peak with ORT's peak *net of a bare Node process that has loaded onnxruntime-node*; that bare process
// is this one at this line: Node started, the native binding required, nothing else yet (no model read,
// no session, no input). So
//   rss_baseline_mb   = VmHWM here (the bare process's own peak, about 50 MB),
//   peak_rss_gross_mb = VmHWM at the end of the bench (after create, warm-up and the timed runs),
//   peak_rss_mb       = peak_rss_gross_mb - rss_baseline_mb: what the model, the session, its arenas and
//                       the generated input added on top of the bare process.
// (The JS heap may also grow a little during the runs; that is counted, as octet counts its own.)
function procStatusMb(key) {
  try {
    const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
    if (m) return Number(m[1]) / 1024;
  } catch (e) { /* not Linux: fall back below */ }
  return key === 'VmHWM' ? process.resourceUsage().maxRSS / 1024 : process.memoryUsage().rss / 1048576;
}
const RSS_BASELINE_MB = procStatusMb('VmHWM');

// ---------------------------------------------------------------------------------------------------
// Arguments.

function parseArgs(argv) {
  const a = {model: null, threads: 1, batch: 1, seconds: 5, iterations: 0, warmup: null, json: false, inputs: [],
             out: null, evalDir: null, scenario: 'singlestream', qps: 0, latencyMs: 100, profile: null};
  const num = (name, v, min) => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) fail(`${name} expects a number >= ${min}, got '${v}'`, 2);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--threads') a.threads = Math.floor(num(arg, argv[++i], 1));
    else if (arg === '--batch') a.batch = Math.floor(num(arg, argv[++i], 1));
    else if (arg === '--seconds') a.seconds = num(arg, argv[++i], 0);
    else if (arg === '--iterations') a.iterations = Math.floor(num(arg, argv[++i], 0));
    else if (arg === '--scenario') a.scenario = argv[++i];
    else if (arg === '--qps') a.qps = num(arg, argv[++i], 0);
    else if (arg === '--latency-ms') a.latencyMs = num(arg, argv[++i], 0);
    else if (arg === '--profile') { a.profile = argv[++i]; if (!a.profile) fail('--profile needs a FILE', 2); }
    else if (arg === '--warmup') a.warmup = num(arg, argv[++i], 0);
    else if (arg === '--json') a.json = true;
    else if (arg === '--out' || arg === '-o') a.out = argv[++i];
    else if (arg === '--eval') a.evalDir = argv[++i];
    else if (arg === '--input') {
      // --input takes every following argument up to the next option.
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) a.inputs.push(argv[++i]);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 26)
        .map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else if (arg.startsWith('-')) fail(`unknown option '${arg}'`, 2);
    else if (a.model === null) a.model = arg;
    else a.inputs.push(arg);
  }
  if (a.model === null) fail('usage: ort_bench.js MODEL [--threads N] [--batch B] [--seconds S] [--json]', 2);
  if (a.inputs.length > 0 && !a.out) fail('run mode needs --out DIR', 2);
  if (a.out && a.inputs.length === 0) fail('--out needs at least one --input FILE.pb', 2);
  if (!['singlestream', 'offline', 'server'].includes(a.scenario)) {
    fail(`--scenario must be singlestream, offline or server, got '${a.scenario}'`, 2);
  }
  if (a.scenario === 'server' && !(a.qps > 0)) fail('--scenario server needs --qps > 0', 2);
  if (a.seconds <= 0 && a.iterations <= 0) fail('--seconds or --iterations must be positive', 2);
  if (a.warmup === null) a.warmup = Math.min(2, Math.max(0.5, a.seconds * 0.2));
  return a;
}

// ---------------------------------------------------------------------------------------------------
// Minimal protobuf for onnx.TensorProto: dims = 1 (int64, packed or not), data_type = 2, float_data = 4,
// int32_data = 5, int64_data = 7, name = 8, raw_data = 9, double_data = 10. Wire types: 0 varint,
// 1 fixed64, 2 length-delimited, 5 fixed32.

// TensorProto.DataType -> [ort type name, typed array, bytes per element].
const DTYPES = {
  1: ['float32', Float32Array, 4], 2: ['uint8', Uint8Array, 1], 3: ['int8', Int8Array, 1],
  6: ['int32', Int32Array, 4], 7: ['int64', BigInt64Array, 8], 9: ['bool', Uint8Array, 1],
  11: ['float64', Float64Array, 8],
};
const DTYPE_OF_ORT = {float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float64: 11};

class Reader {
  constructor(buf, file) { this.buf = buf; this.pos = 0; this.file = file; }
  eof() { return this.pos >= this.buf.length; }
  varint() {
    // Little-endian base-128: 7 bits per byte, high bit = more. BigInt keeps 64-bit values exact.
    let v = 0n, shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) fail(`${this.file}: truncated varint at byte ${this.pos}`);
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
      if (shift > 63n) fail(`${this.file}: varint longer than 10 bytes at byte ${this.pos}`);
    }
  }
  bytes(n) {
    if (this.pos + n > this.buf.length) fail(`${this.file}: field of ${n} bytes runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.bytes(8);
    else if (wire === 2) this.bytes(Number(this.varint()));
    else if (wire === 5) this.bytes(4);
    else fail(`${this.file}: unsupported protobuf wire type ${wire} at byte ${this.pos}`);
  }
}

function signed64(v) { return BigInt.asIntN(64, v); }

function readTensorProto(file) {
  const r = new Reader(fs.readFileSync(file), file);
  const t = {dims: [], dataType: 0, name: '', raw: null, floats: [], ints: [], doubles: []};
  // Repeated numeric fields come packed (wire 2) or one value per tag; accept both.
  const repeated = (wire, one, each) => {
    if (wire !== 2) { each(one()); return; }
    const end = r.pos + Number(r.varint());
    while (r.pos < end) each(one());
  };
  while (!r.eof()) {
    const key = Number(r.varint());
    const field = key >>> 3, wire = key & 7;
    if (field === 1) repeated(wire, () => Number(signed64(r.varint())), (v) => t.dims.push(v));
    else if (field === 2 && wire === 0) t.dataType = Number(r.varint());
    else if (field === 4) repeated(wire, () => r.bytes(4).readFloatLE(0), (v) => t.floats.push(v));
    else if (field === 5 || field === 7) repeated(wire, () => signed64(r.varint()), (v) => t.ints.push(v));
    else if (field === 8 && wire === 2) t.name = r.bytes(Number(r.varint())).toString('utf8');
    else if (field === 9 && wire === 2) t.raw = Buffer.from(r.bytes(Number(r.varint())));
    else if (field === 10) repeated(wire, () => r.bytes(8).readDoubleLE(0), (v) => t.doubles.push(v));
    else if (field === 13 || field === 14) fail(`${file}: external data is not supported`);
    else r.skip(wire);
  }
  const dt = DTYPES[t.dataType];
  if (!dt) fail(`${file}: TensorProto data_type ${t.dataType} is not supported (float, uint8, int8, int32, int64, bool, double)`);
  const [type, Ctor, size] = dt;
  const count = t.dims.reduce((a, b) => a * b, 1);
  let data;
  if (t.raw !== null) {
    if (t.raw.length !== count * size) fail(`${file}: raw_data has ${t.raw.length} bytes, expected ${count * size} for dims [${t.dims}]`);
    // Copy into an aligned buffer: typed arrays need offset % size == 0. Data is little-endian, as is x86.
    data = new Ctor(count);
    new Uint8Array(data.buffer).set(t.raw);
  } else {
    const src = type === 'float32' ? t.floats : type === 'float64' ? t.doubles : t.ints;
    if (src.length !== count) fail(`${file}: ${src.length} values, expected ${count} for dims [${t.dims}]`);
    data = new Ctor(count);
    for (let i = 0; i < count; i++) data[i] = type === 'int64' ? BigInt(src[i]) : Number(src[i]);
  }
  return {name: t.name, tensor: new ort.Tensor(type, data, t.dims)};
}

function varintBytes(v) {
  let n = BigInt.asUintN(64, BigInt(v));
  const out = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return Buffer.from(out);
}

function writeTensorProto(file, name, tensor) {
  const dataType = DTYPE_OF_ORT[tensor.type];
  if (!dataType) fail(`${file}: output '${name}' has type ${tensor.type}, which cannot be written`);
  const tag = (field, wire) => varintBytes((field << 3) | wire);
  const lenField = (field, bytes) => Buffer.concat([tag(field, 2), varintBytes(bytes.length), bytes]);
  const data = tensor.data;
  const parts = [];
  for (const d of tensor.dims) parts.push(tag(1, 0), varintBytes(d));
  parts.push(tag(2, 0), varintBytes(dataType));
  parts.push(lenField(8, Buffer.from(name, 'utf8')));
  parts.push(lenField(9, Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
  fs.writeFileSync(file, Buffer.concat(parts));
}

// ---------------------------------------------------------------------------------------------------
// Session and inputs.

// create_ms is the wall time of InferenceSession.create (read + parse the model, graph optimizations,
// kernel creation and weight prepacking), octet's create_ms counterpart. ORT allocates its activation
// arena on the first run, which neither engine's create_ms includes (both count it in the peak RSS).
async function createSession(model, threads, extra = {}) {
  if (!fs.existsSync(model)) fail(`${model}: no such file`);
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      ...extra,
    });
  } catch (e) {
    fail(`${model}: ONNX Runtime could not load it: ${e.message}`);
  }
  const createMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);  // process CPU time (all threads) during create, in microseconds
  return {session, createMs, createCpuMs: (c.user + c.system) / 1000};
}

// Deterministic uniform [0,1) generator (xorshift32), so every run of the peer sees the same input.
function makeRandom(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function concreteShape(meta, batch) {
  // Symbolic or unknown dims: the first (batch) takes --batch, the others 1. A fixed batch that differs
  // from --batch is an error, as in `octet bench`.
  return meta.shape.map((d, i) => {
    if (typeof d === 'number' && d > 0) {
      if (i === 0 && d !== batch && batch !== 1) fail(`input '${meta.name}' has fixed batch ${d}, --batch ${batch} asked`);
      return d;
    }
    return i === 0 ? batch : 1;
  });
}

function generatedInputs(session, batch) {
  const rand = makeRandom(12345);
  const feeds = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) fail(`input '${meta.name}' is not a tensor`);
    const shape = concreteShape(meta, batch);
    const count = shape.reduce((a, b) => a * b, 1);
    let data;
    if (meta.type === 'float32') { data = new Float32Array(count); for (let i = 0; i < count; i++) data[i] = rand(); }
    else if (meta.type === 'int64') data = new BigInt64Array(count);
    else if (meta.type === 'int32') data = new Int32Array(count);
    else if (meta.type === 'uint8') { data = new Uint8Array(count); for (let i = 0; i < count; i++) data[i] = rand() * 256; }
    else fail(`input '${meta.name}' has type ${meta.type}; bench generates float32, int64, int32, uint8 only`);
    feeds[meta.name] = new ort.Tensor(meta.type, data, shape);
  }
  return feeds;
}

function batchOf(feeds) {
  const first = Object.values(feeds)[0];
  return first && first.dims.length > 0 ? first.dims[0] : 1;
}

// ---------------------------------------------------------------------------------------------------
// Modes.

function percentile(sorted, p) {
  // The same definition as `octet bench`: position p/100 * (n-1) in the sorted sample, linear between
  // the two neighbours, so both engines' p50/p90/p99 mean the same thing on the same samples.
  if (sorted.length === 0) return 0;
  const pos = (p / 100) * (sorted.length - 1), lo = Math.floor(pos), hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// Waits until the monotonic clock reaches `t` (ms): a timer for all but the last 2 ms (timers fire late
// by up to a millisecond or so), then a spin, so a server-scenario query starts within microseconds of its
// arrival as octet's sleep_until does.
async function sleepUntil(t) {
  const ahead = t - nowMs();
  if (ahead > 2) await new Promise((resolve) => setTimeout(resolve, ahead - 2));
  while (nowMs() < t) { /* spin */ }
}

async function bench(args) {
  let profileDir = null;
  const extra = {};
  if (args.profile) {
    // ORT writes <prefix>_<date>.json when the profiling ends; a private directory makes it easy to find.
    profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort_profile_'));
    extra.enableProfiling = true;
    extra.profileFilePrefix = path.join(profileDir, 'ort');
  }
  const {session, createMs, createCpuMs} = await createSession(args.model, args.threads, extra);
  const feeds = generatedInputs(session, args.batch);
  const batch = batchOf(feeds);

  // Warm-up: first runs allocate arenas and pick kernels; at least 3 runs or --warmup seconds.
  let start = nowMs(), warmupRuns = 0;
  for (; warmupRuns < 3 || nowMs() - start < args.warmup * 1000; warmupRuns++) await session.run(feeds);

  // Wall time per run, and the process's CPU time (user + system, all threads) per run: on a shared
  // machine the wall p50 includes time spent waiting for a core, the CPU time does not.
  // server: inter-arrival gaps are exponential with mean 1/qps (a Poisson process): gap = -ln(1 - u) / qps
  // for u uniform in [0,1). A query that arrives while the session is busy waits; its latency counts from
  // its arrival, so a queue shows up in p99.
  const server = args.scenario === 'server';
  const rand = makeRandom(42);
  const times = [], cpu = [];
  start = nowMs();
  let nextArrival = start;
  for (;;) {
    if (server) {
      nextArrival += (-Math.log(1 - rand()) / args.qps) * 1000;
      await sleepUntil(nextArrival);
    }
    const c0 = process.cpuUsage();
    const t0 = server ? nextArrival : nowMs();
    await session.run(feeds);
    const t1 = nowMs();
    times.push(t1 - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    const elapsed = t1 - start;
    if (args.iterations > 0 ? times.length >= args.iterations : elapsed >= args.seconds * 1000 && times.length >= 5) break;
  }
  // Throughput: over busy time (sum of run times) for singlestream/offline, as octet; over the whole wall
  // span for server, whose idle gaps between arrivals are part of the scenario.
  const total = server ? nowMs() - start : times.reduce((x, y) => x + y, 0);
  const peakGross = procStatusMb('VmHWM');
  const minMs = Math.min(...times);
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const r3 = (x) => Math.round(x * 1000) / 1000;
  const result = {
    model: args.model,
    scenario: args.scenario,
    p50_ms: r3(percentile(times, 50)),
    p90_ms: r3(percentile(times, 90)),
    p99_ms: r3(percentile(times, 99)),
    images_per_s: r3((batch * times.length) / (total / 1000)),
    threads: args.threads,
    batch,
    runs: times.length,
    create_ms: r3(createMs),
    peak_rss_mb: r3(peakGross - RSS_BASELINE_MB),
    cpu_p50_ms: r3(percentile(cpu, 50)),
    isa: 'ort-cpu',
    create_cpu_ms: r3(createCpuMs),
    min_ms: r3(minMs),
    rss_baseline_mb: r3(RSS_BASELINE_MB),
    peak_rss_gross_mb: r3(peakGross),
  };
  if (server) Object.assign(result, {qps: args.qps, latency_ms: args.latencyMs, met: result.p99_ms <= args.latencyMs});
  console.log(`${path.basename(args.model)}: ONNX Runtime ${ort.env.versions.common}, ${args.scenario}, ` +
              `${args.threads} thread(s), batch ${batch}`);
  console.log(`  p50 ${result.p50_ms} ms  p90 ${result.p90_ms} ms  p99 ${result.p99_ms} ms  ` +
              `${result.images_per_s} images/s  (${result.runs} runs, CPU p50 ${result.cpu_p50_ms} ms, min ${result.min_ms} ms)`);
  console.log(`  session create ${result.create_ms} ms (cpu ${result.create_cpu_ms} ms), peak RSS ${result.peak_rss_mb} MB net ` +
              `(${result.peak_rss_gross_mb} MB process - ${result.rss_baseline_mb} MB bare node + onnxruntime-node)`);
  if (server) {
    console.log(`  server: qps ${args.qps} offered, p99 ${result.p99_ms} ms vs bound ${args.latencyMs} ms: ` +
                `${result.met ? 'met' : 'NOT met'}`);
  }
  if (args.profile) writeProfile(args, session, profileDir, warmupRuns);
  if (args.json) console.log(JSON.stringify(result));
}

// ---------------------------------------------------------------------------------------------------
// Profile. ORT's profiler writes a Chrome trace: per session run one {cat: "Session", name: "model_run"}
// event and per node run one {cat: "Node", name: "<node>_kernel_time", args: {op_name, provider,
// input_type_shape: [{float: [dims]}, ...], output_type_shape}} event (plus _fence_before/_fence_after
// markers). Node names are those of ORT's optimized graph: a Conv that absorbed its BatchNormalization
// keeps its name; a Conv fused with its activation becomes FusedConv under the Conv's name; a QDQ
// group becomes QLinearConv etc.

// Multiply-accumulates of one node from its shapes (0 when ORT does not report the weight's shape, as for
// QLinearConv, whose prepacked weight shows up as []; bench/plot_layers.py takes MACs from the model): Conv-like ops do prod(out) * (C_in / group) * kh * kw,
// which is prod(out) * prod(W.dims[1:]) (W is [C_out, C_in/group, kh, kw]); the weight is input 1 of
// Conv/FusedConv/NhwcConv and input 3 of QLinearConv (x, x_scale, x_zp, w, ...). Gemm/MatMul: prod(out) * K.
function nodeMacs(op, inShapes, outShapes) {
  const prod = (d) => d.reduce((a, b) => a * b, 1);
  const out = outShapes[0];
  if (!out) return 0;
  const wIndex = {Conv: 1, FusedConv: 1, NhwcConv: 1, NhwcFusedConv: 1, QLinearConv: 3}[op];
  if (wIndex !== undefined) {
    const w = inShapes[wIndex];
    return w && w.length >= 3 ? prod(out) * prod(w.slice(1)) : 0;
  }
  if (['Gemm', 'MatMul', 'FusedGemm', 'QGemm', 'MatMulInteger', 'QLinearMatMul', 'FusedMatMul'].includes(op)) {
    const a = inShapes[0];
    return a && a.length ? prod(out) * a[a.length - 1] : 0;
  }
  return 0;
}

function writeProfile(args, session, profileDir, warmupRuns) {
  session.endProfiling();
  const files = fs.readdirSync(profileDir).filter((f) => f.endsWith('.json'));
  if (files.length !== 1) fail(`${profileDir}: expected one ORT profile file, found ${files.length}`);
  const rawFile = path.join(profileDir, files[0]);
  let events;
  try {
    const raw = JSON.parse(fs.readFileSync(rawFile, 'utf8'));
    events = Array.isArray(raw) ? raw : raw.traceEvents;
  } catch (e) {
    fail(`${rawFile}: ORT's profile is not JSON (${e.message})`);
  }
  // The timed runs are the model_run events after the warm-up ones; keep the node events inside them.
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts)
    .slice(warmupRuns);
  if (runs.length === 0) fail(`${rawFile}: no timed model_run events in ORT's profile`);
  const inTimedRun = (e) => runs.some((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
  const shapeList = (list) => (list || []).map((o) => Object.values(o)[0] || []);
  const byNode = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !inTimedRun(e)) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    let n = byNode.get(name);
    if (!n) {
      const ins = shapeList(e.args.input_type_shape), outs = shapeList(e.args.output_type_shape);
      n = {name, op: e.args.op_name, provider: e.args.provider, total_us: 0, count: 0,
           macs: nodeMacs(e.args.op_name, ins, outs), input_shapes: ins, output_shapes: outs, first_ts: e.ts,
           runs_us: []};
      byNode.set(name, n);
    }
    n.total_us += e.dur;
    n.count++;
    n.runs_us.push(e.dur);
  }
  // Nodes in execution order (first start time in the timed runs), times as a mean per run.
  const nodes = [...byNode.values()].sort((a, b) => a.first_ts - b.first_ts);
  const sumMs = nodes.reduce((s, n) => s + n.total_us / 1000, 0) / runs.length;
  const rows = nodes.map((n) => {
    const ms = n.total_us / 1000 / runs.length;
    // median_ms: per-node median over the runs (a node that ran twice in a run counts twice); on a shared
    // machine one preempted run inflates the mean of a node, much less its median.
    const med = percentile([...n.runs_us].sort((a, b) => a - b), 50) / 1000;
    return {name: n.name, op: n.op, provider: n.provider, ms: Math.round(ms * 1e4) / 1e4,
            median_ms: Math.round(med * 1e4) / 1e4,
            percent: Math.round((1e4 * ms) / sumMs) / 100, macs: n.macs,
            gmacs: ms > 0 ? Math.round((n.macs / (ms * 1e6)) * 100) / 100 : 0,
            input_shapes: n.input_shapes, output_shapes: n.output_shapes};
  });
  const out = {engine: 'onnxruntime', version: ort.env.versions.common, model: args.model, threads: args.threads,
               batch: batchOf(generatedInputs(session, args.batch)), runs: runs.length,
               total_ms: Math.round(sumMs * 1000) / 1000, nodes: rows};
  fs.writeFileSync(args.profile, JSON.stringify(out, null, 1) + '\n');
  const trace = args.profile.replace(/(\.json)?$/, '.ort_trace.json');
  fs.copyFileSync(rawFile, trace);
  fs.rmSync(profileDir, {recursive: true, force: true});
  console.log(`\nper-node profile (ORT profiler, mean of ${runs.length} timed runs; written to ${args.profile}, ` +
              `ORT's own trace to ${trace}):`);
  const w = Math.min(44, Math.max(4, ...rows.map((r) => r.name.length)));
  const cut = (s) => (s.length > w ? '...' + s.slice(s.length - w + 3) : s);
  console.log(`${'#'.padEnd(4)} ${'node'.padEnd(w)} ${'op'.padEnd(16)} ${'ms'.padStart(9)} ${'%'.padStart(6)} ${'GMAC/s'.padStart(8)}`);
  rows.forEach((r, i) => console.log(`${String(i).padEnd(4)} ${cut(r.name).padEnd(w)} ${r.op.padEnd(16)} ` +
    `${r.ms.toFixed(3).padStart(9)} ${r.percent.toFixed(2).padStart(6)} ${r.gmacs.toFixed(2).padStart(8)}`));
  console.log(`total node time per run: ${out.total_ms} ms over ${runs.length} runs`);
}

async function run(args) {
  const {session} = await createSession(args.model, args.threads);
  const names = session.inputMetadata.map((m) => m.name);
  const feeds = {};
  args.inputs.forEach((spec, i) => {
    const eq = spec.indexOf('=');
    const named = eq > 0 && !fs.existsSync(spec);
    const file = named ? spec.slice(eq + 1) : spec;
    if (!fs.existsSync(file)) fail(`${file}: no such file`);
    const name = named ? spec.slice(0, eq) : names[i];
    if (name === undefined) fail(`${file}: model has ${names.length} input(s), this is input ${i + 1}`);
    if (!names.includes(name)) fail(`${file}: model has no input '${name}' (inputs: ${names.join(', ')})`);
    feeds[name] = readTensorProto(file).tensor;
  });
  for (const n of names) if (!(n in feeds)) fail(`no file given for model input '${n}'`);
  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    fail(`${args.model}: run failed: ${e.message}`);
  }
  fs.mkdirSync(args.out, {recursive: true});
  session.outputNames.forEach((name, i) => {
    const file = path.join(args.out, `output_${i}.pb`);
    writeTensorProto(file, name, results[name]);
    console.log(`${file}: ${name} [${results[name].dims.join('x')}] ${results[name].type}`);
  });
}

// PNG decode (8-bit gray, gray+alpha, RGB, RGBA; non-interlaced), enough for image-folder datasets.
function decodePng(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 8 || buf.readUInt32BE(0) !== 0x89504e47) fail(`${file}: not a PNG`);
  let pos = 8, width = 0, height = 0, depth = 0, colour = 0, interlace = 0;
  const idat = [];
  while (pos + 8 <= buf.length) {
    const len = buf.readUInt32BE(pos), type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (data.length !== len) fail(`${file}: truncated ${type} chunk`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      depth = data[8]; colour = data[9]; interlace = data[12];
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const channels = {0: 1, 4: 2, 2: 3, 6: 4}[colour];
  if (depth !== 8 || channels === undefined || interlace !== 0) {
    fail(`${file}: PNG depth ${depth} colour type ${colour} interlace ${interlace}; 8-bit non-interlaced gray/RGB(A) expected`);
  }
  let raw;
  try { raw = zlib.inflateSync(Buffer.concat(idat)); } catch (e) { fail(`${file}: corrupt PNG data (${e.message})`); }
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) fail(`${file}: PNG data too short`);
  const px = Buffer.alloc(height * stride);
  // Undo the per-row filters (PNG spec 9.2): a = left, b = up, c = up-left, bytes-per-pixel = channels.
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], src = y * (stride + 1) + 1, dst = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[dst + x - channels] : 0;
      const b = y > 0 ? px[dst - stride + x] : 0;
      const c = x >= channels && y > 0 ? px[dst - stride + x - channels] : 0;
      let pred;
      if (f === 0) pred = 0;
      else if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else fail(`${file}: bad PNG filter ${f} in row ${y}`);
      px[dst + x] = (raw[src + x] + pred) & 0xff;
    }
  }
  return {width, height, channels, px};
}

async function evaluate(args) {
  const {session} = await createSession(args.model, args.threads);
  const meta = session.inputMetadata[0];
  const [, C, H, W] = concreteShape(meta, 1);
  if (meta.shape.length !== 4 || ![1, 3].includes(C)) fail(`eval needs an NCHW input with 1 or 3 channels, got [${meta.shape}]`);
  const classes = fs.readdirSync(args.evalDir, {withFileTypes: true}).filter((d) => d.isDirectory())
    .map((d) => d.name).sort();
  if (classes.length === 0) fail(`${args.evalDir}: no class subfolders`);
  const items = [];
  classes.forEach((cls, label) => {
    for (const f of fs.readdirSync(path.join(args.evalDir, cls)).sort()) {
      if (/\.png$/i.test(f)) items.push([path.join(args.evalDir, cls, f), label]);
    }
  });
  const outName = session.outputNames[0];
  let top1 = 0, top5 = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < items.length; i += args.batch) {
    const chunk = items.slice(i, i + args.batch);
    const data = new Float32Array(chunk.length * C * H * W);
    chunk.forEach(([file], n) => {
      const img = decodePng(file);
      if (img.width !== W || img.height !== H) fail(`${file}: ${img.width}x${img.height}, the peer's eval expects ${W}x${H} (no resize)`);
      // Gray input from RGB uses ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B); a gray image fills every channel.
      for (let p = 0; p < H * W; p++) {
        const s = p * img.channels;
        const rgb = img.channels >= 3 ? [img.px[s], img.px[s + 1], img.px[s + 2]] : [img.px[s], img.px[s], img.px[s]];
        if (C === 1) data[n * H * W + p] = (img.channels >= 3 ? 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] : rgb[0]) / 255;
        else for (let c = 0; c < 3; c++) data[(n * 3 + c) * H * W + p] = rgb[c] / 255;
      }
    });
    const out = (await session.run({[meta.name]: new ort.Tensor('float32', data, [chunk.length, C, H, W])}))[outName];
    const k = out.dims[1];
    chunk.forEach(([, label], n) => {
      const row = Array.from(out.data.subarray(n * k, (n + 1) * k));
      const rank = row.filter((v) => v > row[label]).length;  // 0 = the true class scored highest
      if (rank < 1) top1++;
      if (rank < 5) top5++;
    });
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const result = {images: items.length, top1: top1 / items.length, top5: top5 / items.length,
                  images_per_s: Math.round((items.length / secs) * 10) / 10, classes: classes.length};
  console.log(`${path.basename(args.model)} on ${args.evalDir}: ${items.length} images, ${classes.length} classes, ` +
              `top-1 ${(100 * result.top1).toFixed(2)}% top-5 ${(100 * result.top5).toFixed(2)}% ` +
              `(ONNX Runtime ${ort.env.versions.common}, ${result.images_per_s} images/s incl. decode)`);
  if (args.json) console.log(JSON.stringify(result));
}

const args = parseArgs(process.argv.slice(2));
(args.evalDir ? evaluate(args) : args.inputs.length ? run(args) : bench(args)).catch((e) => fail(e.stack || e.message));
