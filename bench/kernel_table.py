#!/usr/bin/env python3
"""The kernel table of BENCHMARKS.md from one octet-bench-kernels JSON run: octet's tier vs oneDNN per layer.

    build/bin/octet-bench-kernels --benchmark_filter='qconv/(avx512vnni|onednn)/resnet50/' \
        --benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
        --benchmark_format=json > k.json
    bench/kernel_table.py k.json [--impl avx512vnni] [--model resnet50]

Per layer: median CPU time of each, % of the peak measured at start (the peak_pct counter), oneDNN's
implementation (the `label`), and octet/oneDNN speed (> 1: octet faster); min-max of the repetitions' times
in brackets when the JSON has them (run without --benchmark_report_aggregates_only, or with it: only medians).
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("--impl", default="avx512vnni")
    ap.add_argument("--model", default="resnet50")
    a = ap.parse_args()
    runs = json.load(open(a.json))["benchmarks"]
    med = {b["run_name"]: b for b in runs if b.get("aggregate_name") == "median"}
    if not med:  # no aggregates: single runs
        med = {b["name"]: b for b in runs if b.get("run_type", "iteration") == "iteration"}
    prefix = f"qconv/{a.impl}/{a.model}/"
    rows = [k for k in med if k.startswith(prefix)]
    if not rows:
        sys.exit(f"kernel_table: no '{prefix}*' rows in {a.json}")

    def t(b):  # median CPU time in the benchmark's unit
        return b["cpu_time"], b.get("time_unit", "us")

    print(f"| layer | octet {a.impl} | % peak | oneDNN | % peak | oneDNN impl | octet/oneDNN speed |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for k in rows:
        layer = k[len(prefix):]
        o = med.get(k.replace(f"/{a.impl}/", "/onednn/"))
        ot, ou = t(med[k])
        cells = [layer, f"{ot:.1f} {ou}", f"{med[k].get('peak_pct', 0):.1f}"]
        if o:
            dt, du = t(o)
            ratio = dt / ot
            cells += [f"{dt:.1f} {du}", f"{o.get('peak_pct', 0):.1f}", o.get("label", ""),
                      f"**{ratio:.2f}**" if ratio >= 0.95 else f"{ratio:.2f}"]
        else:
            cells += ["-", "-", "-", "-"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
