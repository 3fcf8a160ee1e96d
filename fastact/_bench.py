"""The benchmark behind ``python -m fastact``: every op against the strongest
NumPy idiom for the same result, as time per call and speed-up.

Both sides write into a preallocated output from unchanged inputs, so every
call sees the same data (a repeated in-place ReLU would time the all-positive
case) and neither side pays for allocation. Samples of the two sides are
interleaved and the medians compared, so drift on a shared machine hits both.
"""
import time

import numpy as np

import fastact

SLOPE = 0.01
CHANNELS = 16


def _maxout_numpy(x, k, out):
    np.maximum(x[..., 0::k], x[..., 1::k], out=out)
    for i in range(2, k):
        np.maximum(out, x[..., i::k], out=out)


def _maxout_idx_numpy(x, k, out, idx):
    groups = x.reshape(-1, k)
    np.argmax(groups, axis=1, out=idx.reshape(-1))
    out.reshape(-1)[...] = np.take_along_axis(groups, idx.reshape(-1, 1), 1)[:, 0]


def _maxout_bwd_numpy(g, idx, k, out):
    out[...] = 0
    np.put_along_axis(out.reshape(-1, k), idx.reshape(-1, 1), g.reshape(-1, 1), 1)


def _cases(n, dtype, n_threads):
    """name -> (fastact call, NumPy call), each a no-argument function."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    o = np.empty_like(x)
    s = dtype(SLOPE)
    # PReLU: NCHW-like (4, CHANNELS, L), about n elements.
    length = max(n // (4 * CHANNELS), 1)
    xp = rng.standard_normal((4, CHANNELS, length)).astype(dtype)
    gp = rng.standard_normal(xp.shape).astype(dtype)
    op = np.empty_like(xp)
    w = rng.uniform(0, 0.3, CHANNELS).astype(dtype)
    wb = w.reshape(1, -1, 1)
    nt = dict(n_threads=n_threads)

    # The NumPy sides avoid np.where and masked copyto: on random signs they
    # run ~10x slower than these branch-free forms (measured), which would
    # flatter fastact.
    def leaky_np():  # valid for 0 <= s <= 1
        np.multiply(x, s, out=o)
        np.maximum(x, o, out=o)

    def slope_factor(mask, slope):  # 1 where mask, else slope
        return mask * (1 - slope) + slope

    def leaky_bwd_np():
        np.multiply(g, slope_factor(x > 0, s), out=o)

    def prelu_np():
        np.minimum(xp, 0, out=op)
        np.multiply(op, wb, out=op)
        np.add(op, np.maximum(xp, 0), out=op)

    def prelu_bwd_np():
        mask = xp > 0
        np.multiply(gp, slope_factor(mask, wb), out=op)
        terms = gp * xp
        terms *= ~mask
        return terms.sum(axis=(0, 2), dtype=np.float64)

    cases = {
        "relu": (lambda: fastact.relu(x, out=o, **nt),
                 lambda: np.maximum(x, 0, out=o)),
        "leaky_relu": (lambda: fastact.leaky_relu(x, SLOPE, out=o, **nt), leaky_np),
        "relu_backward": (lambda: fastact.relu_backward(g, x, out=o, **nt),
                          lambda: np.multiply(g, x > 0, out=o)),
        "leaky_relu_backward": (
            lambda: fastact.leaky_relu_backward(g, x, negative_slope=SLOPE, out=o, **nt),
            leaky_bwd_np),
        "prelu": (lambda: fastact.prelu(xp, w, out=op, **nt), prelu_np),
        "prelu_backward": (lambda: fastact.prelu_backward(gp, xp, w, out=op, **nt),
                           prelu_bwd_np),
    }
    for k in (2, 4):
        m = n - n % k
        xm = x[:m]
        y = np.empty(m // k, dtype)
        idx = np.empty(m // k, np.intp)
        gm = g[: m // k]
        om = o[:m]
        _, idx_ref = fastact.maxout(xm, k, return_indices=True)
        cases[f"maxout k={k}"] = (
            lambda xm=xm, k=k, y=y: fastact.maxout(xm, k, out=y, **nt),
            lambda xm=xm, k=k, y=y: _maxout_numpy(xm, k, y))
        cases[f"maxout+indices k={k}"] = (
            lambda xm=xm, k=k, y=y, idx=idx: fastact.maxout(
                xm, k, out=(y, idx), return_indices=True, **nt),
            lambda xm=xm, k=k, y=y, idx=idx: _maxout_idx_numpy(xm, k, y, idx))
        cases[f"maxout_backward k={k}"] = (
            lambda gm=gm, k=k, idx_ref=idx_ref, om=om: fastact.maxout_backward(
                gm, k, indices=idx_ref, out=om, **nt),
            lambda gm=gm, k=k, idx_ref=idx_ref, om=om: _maxout_bwd_numpy(gm, idx_ref, k, om))
    return cases


def _per_call(func, number):
    t0 = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - t0) / number


def compare(ours, theirs, budget=0.2, samples=7):
    """Median seconds per call of two functions, samples interleaved."""
    ours(), theirs()  # warm up
    once = max(_per_call(ours, 1), _per_call(theirs, 1), 1e-7)
    number = max(1, int(budget / samples / 2 / once))
    a, b = [], []
    for _ in range(samples):
        a.append(_per_call(ours, number))
        b.append(_per_call(theirs, number))
    return float(np.median(a)), float(np.median(b))


def call_overhead(dtype=np.float32):
    """Seconds per call at n = 1: fastact.relu(x, out=x) vs np.maximum(x, 0, out=x)."""
    x = np.ones(1, dtype)
    return compare(lambda: fastact.relu(x, out=x), lambda: np.maximum(x, 0, out=x),
                   budget=0.3, samples=9)


def run(sizes=(1_000, 100_000, 10_000_000), dtype=np.float32, n_threads=None, ops=None,
        progress=None):
    """Rows of {op, n, fastact_us, numpy_us, speedup}."""
    rows = []
    for n in sizes:
        cases = _cases(int(n), dtype, n_threads)
        for name, (ours, theirs) in cases.items():
            if ops and not any(name.startswith(o) for o in ops):
                continue
            if progress:
                progress(name, n)
            t_ours, t_np = compare(ours, theirs, budget=0.15 if n < 1e6 else 0.4)
            rows.append({"op": name, "n": int(n), "fastact_us": t_ours * 1e6,
                         "numpy_us": t_np * 1e6, "speedup": t_np / t_ours})
    return rows


def format_table(rows):
    lines = [f"{'op':<24}{'n':>12}{'fastact us':>14}{'numpy us':>14}{'speed-up':>10}"]
    for r in rows:
        lines.append(f"{r['op']:<24}{r['n']:>12,}{r['fastact_us']:>14.2f}"
                     f"{r['numpy_us']:>14.2f}{r['speedup']:>9.1f}x")
    return "\n".join(lines)
