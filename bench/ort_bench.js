#!/usr/bin/env node
// The peer: ONNX Runtime 1.30 (onnxruntime-node, CPU) driven the same way as `octet bench/run/eval`,
// so bench/compare.sh and the reference-output scripts can put octet next to it.
//
//   node bench/ort_bench.js MODEL [--threads N] [--batch B] [--seconds S] [--warmup S] [--json]
//   node bench/ort_bench.js MODEL --input A.pb [NAME=B.pb ...] --out DIR [--threads N]
//   node bench/ort_bench.js MODEL --eval DATASET_DIR [--batch B] [--threads N] [--json]
//
// bench: one session (intraOpNumThreads=N, interOpNumThreads=1, graphOptimizationLevel 'all'),
//   generated input (uniform [0,1), fixed seed), warm-up, then timed runs for S seconds. Prints a
//   summary; with --json the last stdout line is one JSON object: p50_ms, p90_ms, p99_ms,
//   images_per_s, threads, batch, create_ms, peak_rss_mb, runs, cpu_p50_ms (process CPU time per run,
//   all threads: on a busy machine it shows the work without the waiting), min_ms.
// run: inputs are ONNX TensorProto files, matched to the model inputs by position or NAME=FILE; writes
//   DIR/output_<i>.pb (TensorProto, raw_data, named after the model's output i), like `octet run`.
// eval: DATASET_DIR/<class folders, sorted = label index>/*.png, 8-bit gray or RGB PNGs already at the
//   model's input size; pixels / 255 (no mean/std, octet's 1-channel default); prints top-1/top-5.
//
// Install the peer first: (cd bench && npm install --ignore-scripts). The package ships its Linux x64
// native library; its install script only fetches optional GPU providers, which are not used here.
'use strict';

const fs = require('fs');
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
// Arguments.

function parseArgs(argv) {
  const a = {model: null, threads: 1, batch: 1, seconds: 5, warmup: null, json: false, inputs: [],
             out: null, evalDir: null};
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
    else if (arg === '--warmup') a.warmup = num(arg, argv[++i], 0);
    else if (arg === '--json') a.json = true;
    else if (arg === '--out' || arg === '-o') a.out = argv[++i];
    else if (arg === '--eval') a.evalDir = argv[++i];
    else if (arg === '--input') {
      // --input takes every following argument up to the next option.
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) a.inputs.push(argv[++i]);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 20)
        .map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else if (arg.startsWith('-')) fail(`unknown option '${arg}'`, 2);
    else if (a.model === null) a.model = arg;
    else a.inputs.push(arg);
  }
  if (a.model === null) fail('usage: ort_bench.js MODEL [--threads N] [--batch B] [--seconds S] [--json]', 2);
  if (a.inputs.length > 0 && !a.out) fail('run mode needs --out DIR', 2);
  if (a.out && a.inputs.length === 0) fail('--out needs at least one --input FILE.pb', 2);
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

async function createSession(model, threads) {
  if (!fs.existsSync(model)) fail(`${model}: no such file`);
  const t0 = process.hrtime.bigint();
  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    });
  } catch (e) {
    fail(`${model}: ONNX Runtime could not load it: ${e.message}`);
  }
  const createMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return {session, createMs};
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
  // Nearest-rank: the smallest sample with at least p% of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

async function bench(args) {
  const {session, createMs} = await createSession(args.model, args.threads);
  const feeds = generatedInputs(session, args.batch);
  const batch = batchOf(feeds);
  const now = () => Number(process.hrtime.bigint()) / 1e6;

  // Warm-up: first runs allocate arenas and pick kernels; at least 3 runs or --warmup seconds.
  let start = now();
  for (let i = 0; i < 3 || now() - start < args.warmup * 1000; i++) await session.run(feeds);

  // Wall time per run, and the process's CPU time (user + system, all threads) per run: on a shared
  // machine the wall p50 includes time spent waiting for a core, the CPU time does not.
  const times = [], cpu = [];
  start = now();
  const minRuns = 10;
  while (times.length < minRuns || now() - start < args.seconds * 1000) {
    const c0 = process.cpuUsage();
    const t0 = now();
    await session.run(feeds);
    times.push(now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const total = now() - start;
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const r3 = (x) => Math.round(x * 1000) / 1000;
  const result = {
    p50_ms: r3(percentile(times, 50)),
    p90_ms: r3(percentile(times, 90)),
    p99_ms: r3(percentile(times, 99)),
    images_per_s: r3((batch * times.length) / (total / 1000)),
    threads: args.threads,
    batch,
    create_ms: r3(createMs),
    peak_rss_mb: r3(process.resourceUsage().maxRSS / 1024),  // maxRSS is in KiB
    runs: times.length,
    cpu_p50_ms: r3(percentile(cpu, 50)),
    min_ms: r3(times[0]),
  };
  console.log(`${path.basename(args.model)}: ONNX Runtime ${ort.env.versions.common}, ${args.threads} thread(s), batch ${batch}`);
  console.log(`  p50 ${result.p50_ms} ms  p90 ${result.p90_ms} ms  p99 ${result.p99_ms} ms  ` +
              `${result.images_per_s} images/s  (${result.runs} runs, session ${result.create_ms} ms, ` +
              `peak RSS ${result.peak_rss_mb} MB, CPU p50 ${result.cpu_p50_ms} ms, min ${result.min_ms} ms)`);
  if (args.json) console.log(JSON.stringify(result));
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
