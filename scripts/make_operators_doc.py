#!/usr/bin/python3
"""Writes docs/operators.md: every operator octet runs, its opsets, FP32 kernel, int8 form and ONNX node tests.

    /usr/bin/python3 scripts/make_operators_doc.py [OCTET] [--out docs/operators.md] [--node-dir DIR]

OCTET (default build/bin/octet) gives the op table (`octet ops --json`) and runs every backend node test of
libonnx-testdata (`octet conformance --json`, rtol 1e-3, atol 1e-7 as ONNX's runner). A node test counts for each
op its model uses (Constant aside) when octet knows every op of it; "passed/total" per op counts the cases octet
ran and matched over those, so a skip (a dtype octet does not run) shows as a shortfall. Cases that also need an
op octet lacks are counted apart.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("octet", nargs="?", default=os.path.join(ROOT, "build", "bin", "octet"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "operators.md"))
    ap.add_argument("--node-dir", default="/usr/share/libonnx-testdata/data/node")
    args = ap.parse_args()

    ops = json.loads(subprocess.run([args.octet, "ops", "--json"], check=True, capture_output=True,
                                    text=True).stdout)
    cases = sorted(d for d in os.listdir(args.node_dir) if os.path.exists(os.path.join(args.node_dir, d, "model.onnx")))
    case_ops = {}
    for c in cases:
        m = onnx.load(os.path.join(args.node_dir, c, "model.onnx"))
        case_ops[c] = {(n.domain if n.domain != "ai.onnx" else "", n.op_type) for n in m.graph.node} - {("", "Constant")}
        if not case_ops[c]:
            case_ops[c] = {("", "Constant")}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "c.json")
        subprocess.run([args.octet, "conformance", *[os.path.join(args.node_dir, c) for c in cases], "--json", out,
                        "--quiet"], capture_output=True, text=True)
        if not os.path.exists(out):
            sys.exit("make_operators_doc: octet conformance wrote no results")
        res = {os.path.basename(r["name"].rstrip("/")): r for r in json.load(open(out))["cases"]}

    known = {(o["domain"], o["op"]) for o in ops}
    total, passed, other = collections.Counter(), collections.Counter(), collections.Counter()
    why = collections.defaultdict(list)
    for c, used in case_ops.items():
        r = res.get(c, {"status": "FAIL", "reason": "no result"})
        if not used <= known:  # the case needs an op octet lacks: it says nothing about the ones it has
            for op in used & known:
                other[op] += 1
            continue
        for op in used:
            total[op] += 1
            if r["status"] == "PASS":
                passed[op] += 1
            else:
                reason = r.get("reason", "").replace(os.path.join(args.node_dir, c, "model.onnx") + ": ", "")
                why[op].append(f"{c}: {r['status']} {reason}"[:200])

    rows = {}
    for o in ops:
        key = (o["domain"], o["op"])
        lo, hi = o["min_opset"], o["max_opset"]
        if key in rows:  # several rows of one op: the union of their ranges
            r = rows[key]
            r["min_opset"], r["max_opset"] = min(r["min_opset"], lo), max(r["max_opset"], hi)
        else:
            rows[key] = dict(o)
    lines = [
        "# Operators",
        "",
        "Made by `scripts/make_operators_doc.py` from `octet ops --json` and a run of every ONNX backend node test",
        "in libonnx-testdata (ONNX 1.12); do not edit by hand. *Opsets*: the model opsets for which octet runs the",
        "op (past 17, the newest opset every definition was checked against, an op runs while its definition is",
        "unchanged: graph/shape_inference.h). *INT8*: how a QDQ model runs it in int8 (graph/passes/lower_qdq.cpp);",
        "empty: between DequantizeLinear and QuantizeLinear it runs in float. *Node tests*: cases that use the op",
        "and only ops octet has, passed / total (a case that skips - e.g. a dtype octet does not run - counts as",
        "not passed); cases that also use an op octet lacks are counted apart.",
        "",
        "| op | opsets | FP32 kernel | INT8 | node tests |",
        "| --- | --- | --- | --- | --- |",
    ]
    all_p = all_t = 0
    for key in sorted(rows, key=lambda k: (k[0] != "", k[0], k[1].lower())):
        r = rows[key]
        name = (r["domain"] + "." if r["domain"] else "") + r["op"]
        t, p = total.get(key, 0), passed.get(key, 0)
        all_p, all_t = all_p + p, all_t + t
        tests = (f"{p}/{t}" if t else "-") + (f" (+{other[key]} with ops octet lacks)" if other[key] else "")
        lines.append(f"| {name} | {r['min_opset']}-{r['max_opset']} | {'yes' if r['kernel'] else 'no'} | "
                     f"{r['int8'] or ''} | {tests} |")
    lines += ["", f"{len(rows)} operators; their node tests: {all_p}/{all_t} passed.", ""]
    short = [(k, v) for k, v in sorted(why.items()) if k in rows]
    if short:
        lines += ["## Node tests of these operators that do not pass", ""]
        for k, v in short:
            for w in v:
                lines.append(f"- {w}")
        lines.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print(f"make_operators_doc: {len(rows)} operators, node tests {all_p}/{all_t} passed -> "
          f"{os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()
