"""The smooth ops against PyTorch's best call and the memory limit.

    python asv_benchmarks/smooth.py [--sizes 1e5,1e7] [--dtype float32] [--threads 1]

For each smooth op of the registry (its default parameters), forward in place
(``op(x, out=x)``) and backward in place (``op_backward(g, x, out=g)``): fastact's
median time, PyTorch's best call for the same result (in place where it has one:
``F.elu(x, inplace=True)``, ``silu``, ``mish``, ``selu``, ``celu``; ``out=``
otherwise), and the streaming limit: fastact's plain in-place streaming kernel of the
same traffic on the same threads (``x = |x|``, or ``g = g * x`` for a backward).
Prints "x limit" (time / limit), "vs torch" (PyTorch's time / fastact's: above 1
means fastact is faster) and "vs numpy" (the registry's NumPy formula, into a
preallocated output, over fastact's). Medians of interleaved samples; fresh data before every
sample, copied outside the timing. PyTorch's threads are set to fastact's.
"""
import argparse
import time

import numpy as np

import fastact
from fastact import _ops


def _median(fns, prepare, samples):
    times = [[] for _ in fns]
    for _ in range(samples):
        for i, f in enumerate(fns):
            prepare()
            t0 = time.perf_counter()
            f()
            times[i].append(time.perf_counter() - t0)
    return [float(np.median(t)) for t in times]


def _torch_calls(torch, name, tx, tg, to):
    F = torch.nn.functional
    inplace = {"elu": lambda: F.elu(tx, inplace=True), "celu": lambda: F.celu(tx, inplace=True),
               "selu": lambda: F.selu(tx, inplace=True), "silu": lambda: F.silu(tx, inplace=True),
               "mish": lambda: F.mish(tx, inplace=True)}
    op = _ops.REGISTRY[name]
    values = _ops.bench_values(op)
    fwd = inplace.get(name) or (lambda: op.torch(torch, tx, *values, to))
    bwd = lambda: op.torch_backward(torch, tg, tx, *values, tg)  # noqa: E731 (in place on g)
    return fwd, bwd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e5,1e7")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--samples", type=int, default=15)
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
    nt = fastact.effective_n_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(nt)
    dtype = np.dtype(args.dtype)
    print(f"{dtype}, {nt} thread(s); microseconds, medians of {args.samples} interleaved "
          f"samples")
    print(f"{'op':<18}{'n':>12}{'fastact':>11}{'limit':>10}{'x limit':>9}{'torch':>11}"
          f"{'vs torch':>10}{'numpy':>11}{'vs numpy':>10}")
    for n in (int(float(s)) for s in args.sizes.split(",")):
        rng = np.random.default_rng(0)
        x0 = (rng.standard_normal(n) * 3).astype(dtype)
        g0 = rng.standard_normal(n).astype(dtype)
        x, g, o = x0.copy(), g0.copy(), np.empty_like(x0)

        def fresh():
            np.copyto(x, x0)
            np.copyto(g, g0)

        limit_f = lambda: np.abs(x, out=x)  # noqa: E731 - numpy's, 1 thread
        lim1 = _median([lambda: fastact.leaky_relu(x, -1.0, out=x, n_threads=nt),
                        lambda: np.multiply(g, x, out=g) if nt == 1 else
                        fastact.rrelu_backward(g, noise=x, training=True, out=g,
                                               n_threads=nt)], fresh, args.samples)
        del limit_f
        for op in _ops.ELEMENTWISE:
            if op.exact:
                continue
            f = getattr(fastact, op.name)
            b = getattr(fastact, op.name + "_backward")
            mine = [lambda: f(x, out=x, n_threads=nt), lambda: b(g, x, out=g, n_threads=nt)]
            theirs = []
            if torch is not None:
                tx, tg, to = torch.from_numpy(x), torch.from_numpy(g), torch.from_numpy(o)
                theirs = list(_torch_calls(torch, op.name, tx, tg, to))
            values = _ops.bench_values(op)

            def numpy_fwd(op=op, values=values):
                with np.errstate(all="ignore"):
                    op.bench(x, o, *values)

            def numpy_bwd(op=op, values=values):
                with np.errstate(all="ignore"):
                    op.bench_backward(g, x, o, *values)
            times = _median(mine + [numpy_fwd, numpy_bwd] + theirs, fresh, args.samples)
            for k, direction in enumerate(("", "_backward")):
                t = times[k]
                tn = times[2 + k]
                tt = times[4 + k] if theirs else None
                vs = f"{tt / t:9.2f}x" if tt else "         -"
                print(f"{op.name + direction:<18}{n:>12,}{t * 1e6:>11.1f}{lim1[k] * 1e6:>10.1f}"
                      f"{t / lim1[k]:>8.2f}x{(tt or 0) * 1e6:>11.1f}{vs}"
                      f"{tn * 1e6:>11.1f}{tn / t:>9.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
