#!/usr/bin/env python3
"""Plot varscale's criterion results: fill throughput against matrix size, one line per method.

Reads every `<criterion dir>/**/new/benchmark.json` with the `estimates.json` beside it
(written by `cargo bench --bench fill`), draws the `size-*` groups into one PNG, and can
print every result as a Markdown table for BENCHMARKS.md.

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
    lines = [
        "| group | method | parameter | median ms | Gelem/s | GB/s |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for r in sorted(rows, key=lambda r: (r["group"], r["elements"] or 0, r["parameter"], r["method"])):
        eps = f"{r['elem_per_s'] / 1e9:.3f}" if r["elem_per_s"] else "-"
        bps = f"{r['bytes_per_s'] / 1e9:.2f}" if r["bytes_per_s"] else "-"
        lines.append(
            f"| {r['group']} | `{r['method']}` | {r['parameter']} "
            f"| {r['seconds'] * 1e3:.2f} | {eps} | {bps} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({r["group"] for r in rows if r["group"].startswith("size-")})
    if not groups:
        sys.exit("no size-* groups found: run `cargo bench --bench fill` first")
    fig, axes = plt.subplots(1, len(groups), figsize=(7 * len(groups), 5), squeeze=False)
    for ax, group in zip(axes[0], groups):
        series = {}
        for r in rows:
            if r["group"] == group and r["elem_per_s"]:
                series.setdefault(r["method"], []).append((r["elements"], r["elem_per_s"]))
        for method, points in sorted(series.items()):
            points.sort()
            xs, ys = zip(*points)
            style = "--" if method.startswith("ceiling") else "-"
            marker = "s" if "@gpu" in method else "o"
            ax.plot(xs, [y / 1e9 for y in ys], style, marker=marker, label=method)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("elements per tensor")
        ax.set_ylabel("G elements / s (median)")
        ax.set_title(group)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
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
        args.markdown.write_text(markdown(rows))
        print(f"wrote {args.markdown}")
    plot(rows, args.out)


if __name__ == "__main__":
    main()
