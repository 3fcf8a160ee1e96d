"""Draws the figures the README shows, from fastact's own outputs:

* docs/activations.png: every activation and its gradient (ReLU, Leaky ReLU,
  |x|, PReLU with a few slopes, maxout of two lines), computed by fastact;
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

HERE = os.path.dirname(os.path.abspath(__file__))


def activations(path):
    x = np.linspace(-3, 3, 601)
    ones = np.ones_like(x)
    fig, axes = plt.subplots(2, 5, figsize=(17, 6.5), sharex=True)
    panels = [
        ("ReLU", [("relu", fastact.relu(x), fastact.relu_backward(ones, x))]),
        ("Leaky ReLU (slope 0.1)", [("", fastact.leaky_relu(x, 0.1),
                                     fastact.leaky_relu_backward(ones, x, negative_slope=0.1))]),
        ("|x| (slope -1)", [("", fastact.leaky_relu(x, -1),
                             fastact.leaky_relu_backward(ones, x, negative_slope=-1))]),
        ("PReLU", [(f"w = {w}", fastact.prelu(x, [w]), fastact.prelu_backward(ones, x, [w])[0])
                   for w in (0.05, 0.25, 0.6)]),
    ]
    for col, (title, curves) in enumerate(panels):
        for label, y, dy in curves:
            axes[0, col].plot(x, y, label=label or None)
            axes[1, col].plot(x, dy, label=label or None)
        axes[0, col].set_title(title)
        if len(curves) > 1:
            axes[0, col].legend(fontsize=8)
    # Maxout of two lines: groups of k = 2 over (a*x + b, c*x + d).
    lines = np.stack([0.5 * x + 0.5, -1.2 * x - 0.3], axis=-1)
    y, idx = fastact.maxout(lines, 2, axis=-1, return_indices=True)
    grad = fastact.maxout_backward(ones[:, None], 2, indices=idx, axis=-1)
    axes[0, 4].plot(x, lines[:, 0], ":", color="gray")
    axes[0, 4].plot(x, lines[:, 1], ":", color="gray")
    axes[0, 4].plot(x, y[:, 0], color="C3")
    axes[0, 4].set_title("maxout of two lines (k = 2)")
    axes[1, 4].plot(x, grad[:, 0] * 0.5 + grad[:, 1] * -1.2, color="C3")
    axes[1, 4].set_title("d/dx through the winner")
    for ax in axes.flat:
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("forward")
    axes[1, 0].set_ylabel("gradient (backward of ones)")
    fig.suptitle("fastact: activations and gradients, computed by fastact")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
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
