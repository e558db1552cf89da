#!/usr/bin/env python3
"""The kernel table of BENCHMARKS.md from one octet-bench-kernels JSON run: octet's tier vs oneDNN per layer.

    build/bin/octet-bench-kernels --benchmark_filter='qconv/(avx512vnni|onednn)/resnet50/' \
        --benchmark_min_time=0.2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
        --benchmark_format=json > k.json
    bench/kernel_table.py k.json [--impl avx512vnni] [--model resnet50]

Per layer: median CPU time of each, % of the peak (the peak_pct counter: each call paired with a short run of
the peak loop, median of the ratios - bench/kernels/peak.h), oneDNN's implementation (the `label`), and
octet/oneDNN speed (> 1: octet faster). Then the bar of issue 5, "over ResNet-50's conv shapes, weighted by
MACs": each layer counted as often as it occurs in the network (the `occurrences` counter),
% = sum(MACs) / sum(MACs / (peak_pct / 100)), i.e. total MACs over the time the layers take, each against its
own peak; the same against the peak measured once after each row's timed loop (peak_pct_after, the method
before); and the line of those peaks.
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
    # Registration order (the shapes' order in the network), also when --benchmark_enable_random_interleaving
    # shuffled the JSON.
    rows = sorted((k for k in med if k.startswith(prefix)), key=lambda k: med[k].get("family_index", 0))
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

    def weighted(impl, key="peak_pct"):  # (total time in us, MAC-weighted % of peak) over the layers
        macs = time = lost = 0.0
        for k in rows:
            if k.endswith("/network"):
                continue
            b = med.get(k.replace(f"/{a.impl}/", f"/{impl}/"))
            if not b or b.get(key, 0) <= 0 or "occurrences" not in b:
                return None
            us = b["cpu_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "us")]
            m = b["occurrences"] * b["GMACps"] * us  # MACs x 1e-3 (the unit cancels)
            macs += m
            time += b["occurrences"] * us
            lost += m * 100.0 / b[key]
        return time, 100.0 * macs / lost

    ow, dw = weighted(a.impl), weighted("onednn")
    if ow:
        cells = ["MAC-weighted, x occurrences", f"{ow[0] / 1e3:.2f} ms", f"**{ow[1]:.1f}**"]
        cells += [f"{dw[0] / 1e3:.2f} ms", f"{dw[1]:.1f}", "", f"{dw[0] / ow[0]:.2f}"] if dw else ["-"] * 4
        print("| " + " | ".join(cells) + " |")
    oa, da = weighted(a.impl, "peak_pct_after"), weighted("onednn", "peak_pct_after")
    if oa:
        print(f"\nAgainst the peak measured once after each row's timed loop (peak_pct_after): octet {oa[1]:.1f}%"
              + (f", oneDNN {da[1]:.1f}%" if da else ""))
    peaks = [b["peak_GMACps"] for b in med.values() if b.get("peak_GMACps", 0) > 0 and b.get("run_name", b["name"]).startswith("qconv/")]
    if peaks:
        print(f"\nint8 peak measured after each row: {min(peaks):.1f} - {max(peaks):.1f} GMAC/s "
              f"(median {sorted(peaks)[len(peaks) // 2]:.1f})")


if __name__ == "__main__":
    main()
