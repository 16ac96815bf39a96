#!/usr/bin/env python3
"""Plot varscale's criterion results: fill throughput against matrix size, one line per method.

Reads every `<criterion dir>/**/new/benchmark.json` with the `estimates.json` beside it
(written by `cargo bench --bench fill`), draws the `size-*` groups into one PNG, and can
write the results as Markdown tables for BENCHMARKS.md: one table per group, then the
ratios that BENCHMARKS.md quotes.

    python3 scripts/plot-benches.py                       # writes docs/bench.png
    python3 scripts/plot-benches.py --markdown results.md # also writes the table

Needs matplotlib (`pip install matplotlib`); it is not part of CI.
"""

import argparse
import json
import pathlib
import sys


def throughput(benchmark):
    """(elements, bytes) processed by one iteration, either of which may be None."""
    t = benchmark.get("throughput") or {}
    if "ElementsAndBytes" in t:
        return t["ElementsAndBytes"]["elements"], t["ElementsAndBytes"]["bytes"]
    if "Elements" in t:
        return t["Elements"], None
    for key in ("Bytes", "BytesDecimal"):
        if key in t:
            return None, t[key]
    return None, None


def load(criterion_dir):
    """One dict per benchmark: group, method, parameter, median seconds, throughputs."""
    rows = []
    for path in sorted(criterion_dir.glob("**/new/benchmark.json")):
        estimates = path.with_name("estimates.json")
        if not estimates.exists():
            continue
        b = json.loads(path.read_text())
        median_s = json.loads(estimates.read_text())["median"]["point_estimate"] * 1e-9
        elements, nbytes = throughput(b)
        rows.append(
            {
                "group": b["group_id"],
                "method": b.get("function_id") or "",
                "parameter": b.get("value_str") or "",
                "seconds": median_s,
                "elements": elements,
                "elem_per_s": elements / median_s if elements else None,
                "bytes_per_s": nbytes / median_s if nbytes else None,
            }
        )
    return rows


def markdown(rows):
    """One table per group: a row per method, a column per parameter, G elements/s (median)."""
    out = []
    for group in sorted({r["group"] for r in rows}):
        cells = [r for r in rows if r["group"] == group and r["elem_per_s"]]
        # Columns in order of size, then name.
        params = sorted({(r["elements"] or 0, r["parameter"]) for r in cells})
        params = [p for _, p in params]
        methods = sorted({r["method"] for r in cells})
        value = {(r["method"], r["parameter"]): r["elem_per_s"] for r in cells}
        out.append(f"**{group}** (G elements/s, median)\n")
        out.append("| method | " + " | ".join(params) + " |")
        out.append("| --- |" + " ---: |" * len(params))
        for m in methods:
            row = [f"{value[(m, p)] / 1e9:.3g}" if (m, p) in value else "-" for p in params]
            out.append(f"| `{m}` | " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)


def parse_id(method):
    """`varscale-avx512@cpu-t2` -> ("varscale-avx512", "cpu", 2); GPU ids may lack `-t<n>`."""
    name, _, where = method.partition("@")
    device, threads = where, None
    head, _, tail = where.rpartition("-t")
    if head and tail.isdigit():
        device, threads = head, int(tail)
    return name, device, threads


def ratios(rows):
    """The ratios BENCHMARKS.md quotes, per group and parameter, as a Markdown table.

    - CPU / best baseline: varscale's best CPU level on all threads over the faster Pcg64Mcg;
    - CPU / ceiling: the same over the fastest CPU ceiling with the same thread count;
    - t_all / t1: varscale's best level on all threads over one thread;
    - GPU / GPU ceiling: the resident fill over the fastest GPU ceiling;
    - GPU / CPU: the resident and the readback fills over varscale's CPU on all threads.
    """
    cells = {}
    for r in rows:
        if r["elem_per_s"]:
            cells.setdefault((r["group"], r["parameter"]), {})[r["method"]] = r["elem_per_s"]

    def best(entries, keep):
        values = [v for k, v in entries.items() if keep(*parse_id(k))]
        return max(values) if values else None

    def ratio(a, b):
        return f"{a / b:.3g}" if a and b else "-"

    lines = [
        "| group | parameter | CPU / best baseline | CPU / ceiling | t_all / t1 "
        "| GPU / GPU ceiling | GPU resident / CPU | GPU readback / CPU |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (group, parameter), entries in sorted(cells.items()):
        if parameter.startswith("constant-"):
            continue
        cpu = [parse_id(k) for k in entries if k.startswith("varscale-") and "@cpu" in k]
        if not cpu:
            continue
        # The best level measured: any SIMD level beats the scalar reference.
        levels = {n for n, _, _ in cpu}
        level = max(levels, key=lambda n: (n != "varscale-scalar", n))
        threads = max(t for n, _, t in cpu if n == level)
        cpu_all = entries.get(f"{level}@cpu-t{threads}")
        cpu_one = entries.get(f"{level}@cpu-t1")
        baseline = best(entries, lambda n, d, t: n == "pcg64mcg")
        # The initializer grid measures its ceilings once per dtype, under `constant-<dtype>`.
        dtype = parameter.rsplit("-", 1)[-1]
        ceil_entries = dict(entries)
        ceil_entries.update(cells.get((group, f"constant-{dtype}"), {}))
        ceiling = best(ceil_entries, lambda n, d, t: n.startswith("ceiling") and d == "cpu" and t == threads)
        gpu_ceiling = best(ceil_entries, lambda n, d, t: n.startswith("ceiling") and d.startswith("gpu"))
        resident = best(entries, lambda n, d, t: n == "varscale-resident")
        readback = best(entries, lambda n, d, t: n == "varscale-readback")
        lines.append(
            f"| {group} | {parameter} | {ratio(cpu_all, baseline)} | {ratio(cpu_all, ceiling)} "
            f"| {ratio(cpu_all, cpu_one) if threads != 1 else '-'} | {ratio(resident, gpu_ceiling)} "
            f"| {ratio(resident, cpu_all)} | {ratio(readback, cpu_all)} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({r["group"] for r in rows if r["group"].startswith("size-")})
    if not groups:
        sys.exit("no size-* groups found: run `cargo bench --bench fill` first")
    fig, axes = plt.subplots(1, len(groups), figsize=(10 * len(groups), 5.5), squeeze=False)
    colors = plt.get_cmap("tab20").colors
    for ax, group in zip(axes[0], groups):
        series = {}
        for r in rows:
            if r["group"] == group and r["elem_per_s"]:
                series.setdefault(r["method"], []).append((r["elements"], r["elem_per_s"]))
        for k, (method, points) in enumerate(sorted(series.items())):
            points.sort()
            xs, ys = zip(*points)
            style = "--" if method.startswith("ceiling") else "-"
            marker = "s" if "@gpu" in method else "o"
            color = colors[k % len(colors)]
            ax.plot(xs, [y / 1e9 for y in ys], style, marker=marker, color=color, label=method)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("elements per tensor")
        ax.set_ylabel("G elements / s (median)")
        ax.set_title(group)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--criterion-dir", type=pathlib.Path, default=pathlib.Path("target/criterion"))
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("docs/bench.png"))
    p.add_argument("--markdown", type=pathlib.Path, help="also write every result as a table")
    args = p.parse_args()
    rows = load(args.criterion_dir)
    if not rows:
        sys.exit(f"no criterion results under {args.criterion_dir}")
    if args.markdown:
        args.markdown.write_text(markdown(rows) + "\n" + ratios(rows))
        print(f"wrote {args.markdown}")
    plot(rows, args.out)


if __name__ == "__main__":
    main()
