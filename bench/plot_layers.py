#!/usr/bin/python3
"""GMAC/s per ResNet-50 convolution: octet vs oneDNN vs ONNX Runtime vs the measured peak, one PNG per precision.

    /usr/bin/python3 bench/plot_layers.py --model resnet50.onnx --octet-trace o.json --ort-profile r.json \
        --kernels k.json [--shapes bench/kernels/resnet50_shapes.h] -o docs/img/resnet50_layers_fp32.png \
        [--precision fp32|int8] [--title TEXT] [--csv FILE]

bench/plot_layers.sh runs the three measurements and this script (use that). Sources:
  octet   the Chrome trace of `octet bench --profile FILE`: one complete event per node run, named after the
          node (a fused Conv+BN+ReLU keeps the Conv's name; the int8 QConv too). Time = median over runs.
  ORT     `node bench/ort_bench.js --profile FILE`: per node of ORT's optimized graph, median_ms over runs.
          Names differ from the model's: the NCHWc pass names a Conv after its (fused) output tensor plus
          "_nchwc", the QDQ fusion names a QLinearConv "<Conv name>_token_<n>". Both are resolved below.
  oneDNN  `octet-bench-kernels --benchmark_format=json`, rows conv/onednn_fp32/resnet50/<tag> (fp32) and
          qconv/onednn/resnet50/<tag> (int8, if present), counter GMACps. <tag> names a distinct conv shape of
          bench/kernels/resnet50_shapes.h; each model conv is matched to its tag by shape.
  peak    per core: the peak_GMACps counter of the same benchmark rows where they have it (the peak loop
          measured after each row), else GMACps * 100 / peak_pct (the FMA peak for fp32 rows, the int8 peak for
          qconv rows; peak.h), median over rows.
Every engine's GMAC/s uses the same MACs, computed here from the model: out_elements * (C_in/group) * kh * kw.
Layers are matched by node name first, then (for anything a name did not resolve) by order among the remaining
convolutions; the script says on stderr how many went each way, so a renamed graph cannot silently misalign.
"""
import argparse
import csv
import json
import re
import statistics
import sys

import onnx
from onnx import numpy_helper, shape_inference  # noqa: F401  (numpy_helper: initializer dims only)


def die(msg):
    print(f"plot_layers: {msg}", file=sys.stderr)
    sys.exit(1)


# ------------------------------------------------------------------------------------------------------------
# The model's convolutions.

class Conv:
    def __init__(self, name, ic, oc, h, w, k, stride, pad, group, out_hw):
        self.name, self.ic, self.oc, self.h, self.w = name, ic, oc, h, w
        self.k, self.stride, self.pad, self.group = k, stride, pad, group
        self.oh, self.ow = out_hw
        # MACs = output elements * products per output = (oc * oh * ow) * (ic / group) * k * k.
        self.macs = oc * self.oh * self.ow * (ic // group) * k * k
        self.tag = None

    def key(self):
        return (self.ic, self.oc, self.h, self.k, self.stride, self.group)

    def label(self):
        # "/layer2/layer2.0/downsample/downsample.0/Conv" -> "layer2.0/downsample.0"
        # (a part that the next part repeats, like "downsample" before "downsample.0", is dropped)
        parts = [p for p in self.name.split("/") if p and p != "Conv"]
        parts = [p for i, p in enumerate(parts) if i + 1 == len(parts) or not parts[i + 1].startswith(p)]
        short = "/".join(parts).replace("downsample.0", "ds") or self.name
        return f"{short} {self.k}x{self.k}{'s' + str(self.stride) if self.stride > 1 else ''} {self.ic}>{self.oc}"


def load_model(path):
    try:
        model = onnx.load(path)
    except Exception as e:  # onnx raises several types for a bad file
        die(f"{path}: cannot load the model ({e})")
    try:
        model = shape_inference.infer_shapes(model)
    except Exception as e:
        die(f"{path}: ONNX shape inference failed ({e})")
    return model


def model_convs(model, path):
    """The Conv nodes in graph order (ONNX files are topologically sorted), with their shapes."""
    g = model.graph
    shapes = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = [d.dim_value if d.HasField("dim_value") else 0 for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    inits = {t.name: list(t.dims) for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}

    def weight_dims(name):
        # FP32: the weight is an initializer; QDQ: DequantizeLinear(initializer) feeds the Conv.
        if name in inits:
            return inits[name]
        n = producer.get(name)
        if n is not None and n.op_type == "DequantizeLinear" and n.input[0] in inits:
            return inits[n.input[0]]
        return shapes.get(name)

    convs = []
    for n in g.node:
        if n.op_type != "Conv":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        w = weight_dims(n.input[1])
        x = shapes.get(n.input[0])
        y = shapes.get(n.output[0])
        if not w or len(w) != 4 or not x or len(x) != 4 or not y or len(y) != 4:
            die(f"{path}: node '{n.name}' (Conv): shapes unknown after shape inference (x {x}, w {w}, y {y})")
        strides = attrs.get("strides", [1, 1])
        pads = attrs.get("pads", [0, 0, 0, 0])
        group = attrs.get("group", 1)
        convs.append(Conv(n.name or n.output[0], x[1], w[0], x[2], x[3], w[2], strides[0], pads[0], group,
                          (y[2], y[3])))
    if not convs:
        die(f"{path}: no Conv nodes")
    return convs, producer


# ------------------------------------------------------------------------------------------------------------
# Name resolution: an engine's node name -> the model Conv it runs.

SUFFIXES = [r"_kernel_time$", r"_nchwc$", r"_token_\d+$", r"_fused$", r"_output_\d+$"]
PASS_THROUGH = {"BatchNormalization", "Relu", "Clip", "Add", "Sum", "QuantizeLinear", "DequantizeLinear",
                "Identity", "LeakyRelu", "HardSigmoid", "Sigmoid", "Mul"}


def resolve(name, conv_names, producer, taken):
    """The model Conv an engine node stands for, or None. Tries the name itself, then with ORT's suffixes
    stripped one by one, as a node name and as a tensor name; a tensor is followed back through the ops an
    engine fuses into a conv (BN, ReLU, the residual Add, Q/DQ) to its Conv."""
    candidates = [name]
    s = name
    for suffix in SUFFIXES:
        s2 = re.sub(suffix, "", s)
        if s2 != s:
            candidates.append(s2)
            s = s2
    for c in candidates:
        if c in conv_names and c not in taken:
            return c
    for c in candidates:
        for tensor in (c, c + "_output_0"):
            found = walk_to_conv(tensor, conv_names, producer, taken, 0)
            if found:
                return found
    return None


def walk_to_conv(tensor, conv_names, producer, taken, depth):
    n = producer.get(tensor)
    if n is None or depth > 8:
        return None
    if n.op_type == "Conv":
        name = n.name or n.output[0]
        return name if name in conv_names and name not in taken else None
    if n.op_type not in PASS_THROUGH:
        return None
    for i in n.input:  # Add: the first input that leads to a conv not yet claimed (the residual is later)
        found = walk_to_conv(i, conv_names, producer, taken, depth + 1)
        if found:
            return found
    return None


def match(source, entries, convs, producer):
    """entries: [(engine node name, ms)] of conv-like nodes in execution order -> {conv name: ms}."""
    conv_names = {c.name for c in convs}
    out, leftovers = {}, []
    for name, ms in entries:
        c = resolve(name, conv_names, producer, out)
        if c:
            out[c] = ms
        else:
            leftovers.append((name, ms))
    remaining = [c.name for c in convs if c.name not in out]
    for (name, ms), c in zip(leftovers, remaining):
        out[c] = ms
    by_order = min(len(leftovers), len(remaining))
    print(f"plot_layers: {source}: {len(out) - by_order} convs matched by name, {by_order} by order"
          f"{', %d model convs without a time' % (len(convs) - len(out)) if len(out) < len(convs) else ''}"
          f"{', %d engine nodes unmatched' % (len(leftovers) - by_order) if len(leftovers) > by_order else ''}",
          file=sys.stderr)
    return out


# ------------------------------------------------------------------------------------------------------------
# Sources.

def octet_trace(path):
    try:
        events = json.load(open(path))["traceEvents"]
    except (OSError, ValueError, KeyError) as e:
        die(f"{path}: not an octet --profile trace ({e})")
    runs = {}
    order = []
    for e in events:
        if e.get("ph") != "X" or e.get("cat") not in ("Conv", "QConv", "QLinearConv"):
            continue
        if e["name"] not in runs:
            runs[e["name"]] = []
            order.append(e["name"])
        runs[e["name"]].append(e["dur"] / 1000.0)
    if not order:
        die(f"{path}: no Conv/QConv events in the trace")
    return [(n, statistics.median(runs[n])) for n in order]


def ort_profile(path):
    try:
        nodes = json.load(open(path))["nodes"]
    except (OSError, ValueError, KeyError) as e:
        die(f"{path}: not a bench/ort_bench.js --profile file ({e})")
    conv_ops = {"Conv", "FusedConv", "NhwcConv", "NhwcFusedConv", "QLinearConv"}
    rows = [(n["name"], n.get("median_ms", n["ms"])) for n in nodes if n["op"] in conv_ops]
    if not rows:
        die(f"{path}: no convolution nodes in ORT's profile")
    return rows


def shape_tags(path):
    """resnet50_shapes.h rows {"tag", ic, oc, h, w, k, stride, pad, count[, groups]} -> {key: tag}."""
    try:
        text = open(path).read()
    except OSError as e:
        die(f"{path}: {e}")
    tags = {}
    for m in re.finditer(r'\{"(\w+)",\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)'
                         r'(?:,\s*(\d+))?\}', text):
        tag = m.group(1)
        ic, oc, h, _w, k, stride, _pad, _count = map(int, m.groups()[1:9])
        group = int(m.group(10)) if m.group(10) else 1
        tags[(ic, oc, h, k, stride, group)] = tag
    if not tags:
        die(f"{path}: no ConvShape rows")
    return tags


def kernel_rows(path, pattern):
    """{tag: GMAC/s} for the rows whose name matches `pattern` (group 1 = the layer tag), and the peak: the
    peak_GMACps counter (the peak loop measured after each row) where the rows have it, else the one implied by
    their peak_pct, GMACps / (peak_pct / 100); median over the rows (None if no row has either)."""
    try:
        benches = json.load(open(path))["benchmarks"]
    except (OSError, ValueError, KeyError) as e:
        die(f"{path}: not Google Benchmark JSON ({e})")
    gmacs, peaks = {}, []
    for b in benches:
        if b.get("run_type", "iteration") != "iteration":
            continue
        m = re.fullmatch(pattern, b.get("run_name", b["name"]))
        if not m or "GMACps" not in b:
            continue
        gmacs.setdefault(m.group(1), []).append(b["GMACps"])
        if b.get("peak_GMACps", 0) > 0:
            peaks.append(b["peak_GMACps"])
        elif b.get("peak_pct", 0) > 0:
            peaks.append(b["GMACps"] * 100.0 / b["peak_pct"])
    return ({t: statistics.median(v) for t, v in gmacs.items()}, statistics.median(peaks) if peaks else None)


# ------------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--octet-trace")
    ap.add_argument("--ort-profile")
    ap.add_argument("--kernels", help="octet-bench-kernels --benchmark_format=json output")
    ap.add_argument("--shapes", default="bench/kernels/resnet50_shapes.h")
    ap.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    ap.add_argument("--title", default="")
    ap.add_argument("--csv", help="also write the plotted figures as CSV")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = load_model(a.model)
    convs, producer = model_convs(model, a.model)
    tags = shape_tags(a.shapes)
    for c in convs:
        c.tag = tags.get(c.key())

    series = []  # (label, {conv name: GMAC/s}, colour)
    if a.octet_trace:
        ms = match("octet", octet_trace(a.octet_trace), convs, producer)
        series.append(("octet", {c.name: c.macs / (ms[c.name] * 1e6) for c in convs if ms.get(c.name)}, "#1f77b4"))
    peak = None
    if a.kernels:
        prefix = "conv/onednn_fp32" if a.precision == "fp32" else "qconv/onednn"
        rows, peak = kernel_rows(a.kernels, re.escape(prefix) + r"/resnet50/(\w+)(?:/.*)?")
        if rows:
            series.append(("oneDNN 2.6 (kernel bench)", {c.name: rows[c.tag] for c in convs if c.tag in rows},
                           "#2ca02c"))
            missing = [c.name for c in convs if c.tag not in rows]
            if missing:
                print(f"plot_layers: oneDNN: no {prefix} row for {len(missing)} convs (e.g. {missing[0]})",
                      file=sys.stderr)
        else:
            print(f"plot_layers: {a.kernels}: no {prefix}/resnet50/* rows; oneDNN left out", file=sys.stderr)
        if peak is None:
            # No oneDNN row of this precision: the peak from any row of the same precision in the same run
            # (fp32: conv/ and sgemm/ rows divide by the FMA peak; int8: qconv/ and qgemm/ by the int8 peak).
            _, peak = kernel_rows(a.kernels, r"(?:conv|sgemm)/(.+)" if a.precision == "fp32" else r"(?:qconv|qgemm)/(.+)")
    if a.ort_profile:
        ms = match("ORT", ort_profile(a.ort_profile), convs, producer)
        series.append(("ONNX Runtime 1.30", {c.name: c.macs / (ms[c.name] * 1e6) for c in convs if ms.get(c.name)},
                       "#d62728"))
    if not series:
        die("nothing to plot: give --octet-trace, --ort-profile and/or --kernels")

    n = len(convs)
    fig, ax = plt.subplots(figsize=(max(12, 0.34 * n + 3), 6.5))
    width = 0.8 / len(series)
    xs = range(n)
    for i, (label, values, colour) in enumerate(series):
        ys = [values.get(c.name, 0) for c in convs]
        # Weighted mean over the layers: total MACs / total time (what the whole network sees).
        t = sum(c.macs / (values[c.name] * 1e9) for c in convs if values.get(c.name))
        m = sum(c.macs for c in convs if values.get(c.name)) / 1e9
        ax.bar([x + (i - (len(series) - 1) / 2) * width for x in xs], ys, width, color=colour,
               label=f"{label}: {m / t:.1f} GMAC/s over all convs" if t else label)
    if peak:
        ax.axhline(peak, color="black", linestyle="--", linewidth=1)
        ax.text(n - 0.5, peak, f"peak {peak:.1f} GMAC/s/core", ha="right", va="bottom", fontsize=9)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([c.label() for c in convs], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylabel("GMAC/s (1 thread)")
    ax.set_title((a.title or f"ResNet-50 {a.precision.upper()}: GMAC/s per conv layer, batch 1, 1 thread") +
                 "\noctet, ORT: node time inside a whole-model run (wall, median over runs); "
                 "oneDNN: the conv alone in octet-bench-kernels (CPU time)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    top = max([peak or 0] + [v for _, values, _ in series for v in values.values()])
    ax.set_ylim(0, top * 1.22)  # headroom for the legend row above the bars and the peak line
    ax.legend(loc="upper center", ncol=len(series), fontsize=9)
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)
    print(f"plot_layers: wrote {a.output} ({n} convs, {len(series)} series)", file=sys.stderr)

    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["layer", "tag", "macs"] + [s[0] for s in series])
            for c in convs:
                w.writerow([c.name, c.tag or "", c.macs] + [f"{s[1].get(c.name, 0):.2f}" for s in series])


if __name__ == "__main__":
    main()
