"""Draws the figures the README shows, from fastact's own outputs:

* docs/activations.png: every activation of the registry and its gradient,
  then |x|, PReLU with a few slopes, RReLU and maxout of two lines, computed
  by fastact;
* docs/speedup.png: the speed-up over NumPy from `python -m fastact --json`.

    pip install matplotlib && python docs/figures.py [--bench results.json]

Without --bench it runs the benchmark itself (1e3, 1e5, 1e7 elements).
"""
import argparse
import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import fastact  # noqa: E402
from fastact import _ops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _panels(x, ones):
    """(title, [(label, forward, gradient), ...]) for every op of the registry,
    then |x|, PReLU and RReLU."""
    panels = []
    for op in _ops.ELEMENTWISE:
        values = _ops.bench_values(op)
        kw = dict(zip((p.name for p in op.params), values))
        args = ", ".join(f"{p.name}={v!r}" if isinstance(v, str) else f"{p.name}={v:g}"
                         for p, v in zip(op.params, values))
        panels.append((f"{op.name}({args})" if args else op.name,
                       [("", getattr(fastact, op.name)(x, *values),
                         getattr(fastact, op.name + "_backward")(ones, x, **kw))]))
    panels.append(("|x| (leaky_relu, slope -1)",
                   [("", fastact.leaky_relu(x, -1), fastact.leaky_relu_backward(
                       ones, x, negative_slope=-1))]))
    panels.append(("prelu", [(f"w = {w}", fastact.prelu(x, [w]),
                              fastact.prelu_backward(ones, x, [w])[0])
                             for w in (0.05, 0.25, 0.6)]))
    y, noise = fastact.rrelu(x, training=True, seed=0, return_noise=True)
    panels.append(("rrelu (eval; dots: training)",
                   [("eval", fastact.rrelu(x), fastact.rrelu_backward(ones, x)),
                    ("training", y, noise)]))
    return panels


def activations(path):
    x = np.linspace(-8, 8, 801)
    ones = np.ones_like(x)
    panels = _panels(x, ones)
    cols = 6
    bands = (len(panels) + 1 + cols - 1) // cols  # + maxout
    fig, axes = plt.subplots(2 * bands, cols, figsize=(3.2 * cols, 3.0 * 2 * bands),
                             sharex=True)
    for i, (title, curves) in enumerate(panels):
        top, bottom = axes[2 * (i // cols), i % cols], axes[2 * (i // cols) + 1, i % cols]
        for label, y, dy in curves:
            style = "." if label == "training" else "-"
            kw = dict(markersize=1) if style == "." else {}
            top.plot(x, y, style, label=label or None, **kw)
            bottom.plot(x, dy, style, label=label or None, **kw)
        top.set_title(title, fontsize=9)
        if len(curves) > 1:
            top.legend(fontsize=7)
    # Maxout of two lines: groups of k = 2 over (a*x + b, c*x + d).
    i = len(panels)
    top, bottom = axes[2 * (i // cols), i % cols], axes[2 * (i // cols) + 1, i % cols]
    lines = np.stack([0.5 * x + 0.5, -1.2 * x - 0.3], axis=-1)
    y, idx = fastact.maxout(lines, 2, axis=-1, return_indices=True)
    grad = fastact.maxout_backward(ones[:, None], 2, indices=idx, axis=-1)
    top.plot(x, lines[:, 0], ":", color="gray")
    top.plot(x, lines[:, 1], ":", color="gray")
    top.plot(x, y[:, 0], color="C3")
    top.set_title("maxout of two lines (k = 2)", fontsize=9)
    bottom.plot(x, grad[:, 0] * 0.5 + grad[:, 1] * -1.2, color="C3")
    for j in range(i + 1, bands * cols):  # unused cells
        axes[2 * (j // cols), j % cols].axis("off")
        axes[2 * (j // cols) + 1, j % cols].axis("off")
    for ax in (a for a in axes.flat if a.axison):
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.grid(alpha=0.3)
    for band in range(bands):
        axes[2 * band, 0].set_ylabel("forward")
        axes[2 * band + 1, 0].set_ylabel("gradient (of ones)")
    fig.suptitle("fastact: every activation and its gradient, computed by fastact")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def speedup(results, path):
    rows = results["results"]
    ops = list(dict.fromkeys(r["op"] for r in rows))
    sizes = sorted({r["n"] for r in rows})
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(sizes)
    for i, n in enumerate(sizes):
        vals = [next((r["speedup"] for r in rows if r["op"] == op and r["n"] == n), np.nan)
                for op in ops]
        ax.bar(np.arange(len(ops)) + i * width, vals, width, label=f"n = {n:,}")
    ax.axhline(1, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(ops)) + width * (len(sizes) - 1) / 2)
    ax.set_xticklabels(ops, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("NumPy time / fastact time (log)")
    cfg = results["config"]
    ax.set_title(f"fastact {cfg['fastact']} vs the strongest NumPy idiom "
                 f"({results['dtype']}, threads {results['threads']}, {cfg['machine']})")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", help="JSON from `python -m fastact --json` (else: run it)")
    args = p.parse_args()
    activations(os.path.join(HERE, "activations.png"))
    if args.bench:
        with open(args.bench) as f:
            results = json.load(f)
    else:
        out = subprocess.run([sys.executable, "-m", "fastact", "--json"], check=True,
                             capture_output=True, text=True).stdout
        results = json.loads(out)
    speedup(results, os.path.join(HERE, "speedup.png"))
    print("wrote docs/activations.png and docs/speedup.png")


if __name__ == "__main__":
    main()
