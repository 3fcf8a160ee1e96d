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
from fastact import _ops

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


def spelled(func, *args, **kw):
    """``func(*args, **kw)`` as a no-argument function whose body spells each
    keyword out, as a user's call does: a ``**`` unpacking costs ~0.1 us a
    call, more than an n = 1e3 kernel."""
    env = {"f": func, **{f"a{i}": a for i, a in enumerate(args)},
           **{f"k_{k}": v for k, v in kw.items()}}
    params = [f"a{i}" for i in range(len(args))] + [f"{k}=k_{k}" for k in kw]
    return eval(f"lambda: f({', '.join(params)})", env)  # noqa: S307 - names built above


def _elementwise(name, n, dtype, nt):
    """An op of the registry, forward or backward (from x), with its sample
    parameters, against the NumPy idiom the registry gives."""
    op = _ops.REGISTRY[name.removesuffix("_backward")]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype) * dtype(4)  # both sides of every kink
    g = rng.standard_normal(n).astype(dtype)
    o = np.empty_like(x)
    p = _ops.bench_values(op)
    if name.endswith("_backward"):
        bwd = getattr(fastact, name)
        kw = {q.name: v for q, v in zip(op.params, p)}
        return (spelled(bwd, g, x, out=o, **kw, n_threads=nt),
                lambda: op.bench_backward(g, x, o, *p))
    fwd = getattr(fastact, name)
    return spelled(fwd, x, *p, out=o, n_threads=nt), lambda: op.bench(x, o, *p)


def _rrelu(name, n, dtype, nt):
    """RReLU in eval and training mode (the NumPy side draws its slopes with
    the default Generator), and its training gradient from the noise."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    o, noise = np.empty_like(x), np.empty_like(x)
    lo, hi = 0.125, 1 / 3
    s = dtype((lo + hi) / 2)
    gen = np.random.default_rng(1)

    def train_np():
        r = gen.uniform(lo, hi, n).astype(dtype)
        np.copyto(noise, r, where=x <= 0)
        np.copyto(noise, 1, where=~(x <= 0))
        np.multiply(x, noise, out=o)

    if name == "rrelu_backward (training)":
        fastact.rrelu(x, out=(o, noise), training=True, seed=0, return_noise=True)
        return lambda: fastact.rrelu_backward(g, noise=noise, training=True, out=o,
                                              n_threads=nt), \
            lambda: np.multiply(g, noise, out=o)
    if name == "rrelu (training)":
        return lambda: fastact.rrelu(x, out=(o, noise), training=True, seed=0,
                                     return_noise=True, n_threads=nt), train_np
    return lambda: fastact.rrelu(x, out=o, n_threads=nt), \
        lambda: np.maximum(x, np.multiply(x, s, out=o), out=o)


def prelu_shapes(n):
    """(name, shape, inner) of the PReLU cases of about n elements: NCHW
    (4, CHANNELS, L) and channels-last (4, L, CHANNELS); inner: the length
    after the channel axis."""
    length = max(n // (4 * CHANNELS), 1)
    return [("prelu", (4, CHANNELS, length), length), ("prelu NHWC", (4, length, CHANNELS), 1)]


def _prelu(name, n, dtype, nt):
    rng = np.random.default_rng(0)
    last = name.endswith("NHWC")
    shape = prelu_shapes(n)[last][1]
    axis, wb_shape, sum_axes = (-1, (1, 1, -1), (0, 1)) if last else (1, (1, -1, 1), (0, 2))
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    o = np.empty_like(x)
    w = rng.uniform(0, 0.3, CHANNELS).astype(dtype)
    wb = w.reshape(wb_shape)

    def prelu_np():
        np.minimum(x, 0, out=o)
        np.multiply(o, wb, out=o)
        np.add(o, np.maximum(x, 0), out=o)

    def prelu_bwd_np():
        mask = x > 0
        np.multiply(g, _ops.slope_factor(mask, wb), out=o)
        terms = g * x
        terms *= ~mask
        return terms.sum(axis=sum_axes, dtype=np.float64)

    if name.startswith("prelu_backward"):
        return (lambda: fastact.prelu_backward(g, x, w, out=o, axis=axis, n_threads=nt),
                prelu_bwd_np)
    return lambda: fastact.prelu(x, w, out=o, axis=axis, n_threads=nt), prelu_np


def _maxout(name, n, dtype, nt):
    k = int(name.rsplit("k=", 1)[1])
    rng = np.random.default_rng(0)
    m = max(n - n % k, k)
    x = rng.standard_normal(m).astype(dtype)
    y = np.empty(m // k, dtype)
    idx = np.empty(m // k, np.intp)
    g = rng.standard_normal(m // k).astype(dtype)
    o = np.empty_like(x)
    _, idx_ref = fastact.maxout(x, k, return_indices=True)
    if name.startswith("maxout+indices"):
        return (lambda: fastact.maxout(x, k, out=(y, idx), return_indices=True,
                                       n_threads=nt),
                lambda: _maxout_idx_numpy(x, k, y, idx))
    if name.startswith("maxout_backward (x)"):
        return (lambda: fastact.maxout_backward(g, k, x, out=o, n_threads=nt),
                lambda: _maxout_bwd_numpy(g, np.argmax(x.reshape(-1, k), axis=1), k, o))
    if name.startswith("maxout_backward"):
        return (lambda: fastact.maxout_backward(g, k, indices=idx_ref, out=o, n_threads=nt),
                lambda: _maxout_bwd_numpy(g, idx_ref, k, o))
    return lambda: fastact.maxout(x, k, out=y, n_threads=nt), lambda: _maxout_numpy(x, k, y)


CASES = {name: _elementwise for op in _ops.ELEMENTWISE for name in op.functions}
CASES.update({name: _rrelu for name in
              ("rrelu", "rrelu (training)", "rrelu_backward (training)")})
CASES.update({name: _prelu for name in
              ("prelu", "prelu_backward", "prelu NHWC", "prelu_backward NHWC")})
CASES.update({f"{op} k={k}": _maxout for k in (2, 4) for op in
              ("maxout", "maxout+indices", "maxout_backward", "maxout_backward (x)")})


def case(name, n, dtype=np.float32, n_threads=None):
    """(fastact call, NumPy call) of one benchmark case: no-argument
    functions that write into preallocated outputs and leave their inputs
    unchanged, so they can be called repeatedly on the same data."""
    # n_threads is passed as a plain keyword: a ** unpacking would add ~0.1 us
    # to every call, more than the n = 1e3 kernel.
    return CASES[name](name, int(n), dtype, n_threads)


def _per_call(func, number):
    t0 = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - t0) / number


def compare(ours, theirs, budget=0.2, samples=7, settle=0.0):
    """Median seconds per call of two functions, samples interleaved.

    ``settle`` seconds of sleep before each sample let the other side's
    thread pool stop spinning (two runtimes spinning on two cores slow each
    other down: an artefact of interleaving, not of either)."""
    ours(), theirs()  # warm up
    once = max(_per_call(ours, 1), _per_call(theirs, 1), 1e-7)
    number = max(1, int(budget / samples / 2 / once))
    a, b = [], []
    for _ in range(samples):
        time.sleep(settle)
        ours()
        a.append(_per_call(ours, number))
        time.sleep(settle)
        theirs()
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
        for name in CASES:
            if ops and not any(name.startswith(o) for o in ops):
                continue
            ours, theirs = case(name, n, dtype, n_threads)
            if progress:
                progress(name, n)
            t_ours, t_np = compare(ours, theirs, budget=0.15 if n < 1e6 else 0.4)
            rows.append({"op": name, "n": int(n), "fastact_us": t_ours * 1e6,
                         "numpy_us": t_np * 1e6, "speedup": t_np / t_ours})
    return rows


def in_place_calls(n, dtype, n_threads):
    """``(calls, streams, fresh)``: calls maps each element-wise op (every
    registry op, forward and backward from x, and RReLU) to ``(in-place call,
    passes)``, where passes is the memory traffic in arrays of n elements (2:
    read and write x; 3: read g and x, write g); streams maps 2 and 3 to
    fastact's plain streaming kernels of that traffic (``x = |x|``,
    ``g = g * x``) with the same threads; ``fresh()`` restores the data
    before each timed call."""
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(n).astype(dtype) * dtype(4)
    g0 = rng.standard_normal(n).astype(dtype)
    x, g = x0.copy(), g0.copy()
    nt = n_threads

    def fresh():
        np.copyto(x, x0)
        np.copyto(g, g0)

    streams = {2: lambda: fastact.leaky_relu(x, -1.0, out=x, n_threads=nt),
               3: lambda: fastact.rrelu_backward(g, noise=x, training=True, out=g,
                                                 n_threads=nt)}
    calls = {}
    for op in _ops.ELEMENTWISE:
        p = _ops.bench_values(op)
        kw = {q.name: v for q, v in zip(op.params, p)}
        fwd, bwd = getattr(fastact, op.name), getattr(fastact, op.name + "_backward")
        calls[op.name] = (spelled(fwd, x, *p, out=x, n_threads=nt), 2)
        calls[op.name + "_backward"] = (spelled(bwd, g, x, out=g, **kw, n_threads=nt), 3)
    calls["rrelu"] = (lambda: fastact.rrelu(x, out=x, n_threads=nt), 2)
    calls["rrelu (training)"] = (
        lambda: fastact.rrelu(x, out=x, training=True, seed=0, n_threads=nt), 2)
    return calls, streams, fresh


def in_place_names():
    """The names of :func:`in_place_calls`, without building the data."""
    return list(in_place_calls(1, np.float32, 1)[0])


# The fused bias (python -m fastact --bias): a few ops, two layouts.
BIAS_OPS = ("relu", "leaky_relu", "gelu", "prelu")
BIAS_FEATURES = 256


def bias_layouts(n):
    """(name, shape, bias axis) of the fused-bias cases of about n elements:
    features last, as after ``X @ W`` (rows of BIAS_FEATURES), and NCHW
    (4, CHANNELS, L) with the bias per channel."""
    return [("features-last", (max(n // BIAS_FEATURES, 1), BIAS_FEATURES), -1),
            ("NCHW", prelu_shapes(n)[0][1], 1)]


def bias_case(name, layout, backward, n, dtype=np.float32, n_threads=None):
    """(fused call, two calls) of one fused-bias case. Forward: ``op(x,
    bias=b)`` into ``out`` against NumPy's ``x + b`` into ``out`` then the
    op in place; backward: ``op_backward(g, x, return_bias_grad=True)``
    against the backward then ``grad.sum(axis=...)``. Inputs unchanged."""
    _, shape, ax = next(c for c in bias_layouts(n) if c[0] == layout)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    o = np.empty_like(x)
    C = shape[ax]
    b = rng.uniform(-0.5, 0.5, C).astype(dtype)
    bb = b.reshape([C if d == ax % len(shape) else 1 for d in range(len(shape))])
    others = tuple(d for d in range(len(shape)) if d != ax % len(shape))
    nt = n_threads
    if name == "prelu":
        w = rng.uniform(0, 0.3, C).astype(dtype)
        if backward:
            return (lambda: fastact.prelu_backward(g, x, w, out=o, axis=ax, bias_axis=ax,
                                                   return_bias_grad=True, n_threads=nt),
                    lambda: (fastact.prelu_backward(g, x, w, out=o, axis=ax, n_threads=nt),
                             o.sum(axis=others)))
        return (lambda: fastact.prelu(x, w, out=o, axis=ax, bias=b, bias_axis=ax, n_threads=nt),
                lambda: fastact.prelu(np.add(x, bb, out=o), w, out=o, axis=ax, n_threads=nt))
    if backward:
        bwd = getattr(fastact, name + "_backward")
        return (lambda: bwd(g, x, out=o, bias_axis=ax, return_bias_grad=True, n_threads=nt),
                lambda: (bwd(g, x, out=o, n_threads=nt), o.sum(axis=others)))
    fwd = getattr(fastact, name)
    return (lambda: fwd(x, out=o, bias=b, bias_axis=ax, n_threads=nt),
            lambda: fwd(np.add(x, bb, out=o), out=o, n_threads=nt))


def run_bias(sizes=(1_000, 100_000, 10_000_000), dtype=np.float32, n_threads=None, ops=None,
             progress=None):
    """Rows of {op, n, fused_us, two_calls_us, speedup} of the fused bias."""
    rows = []
    for n in sizes:
        for name in BIAS_OPS:
            if ops and not any(name.startswith(o) for o in ops):
                continue
            for layout, _, _ in bias_layouts(n):
                for backward in (False, True):
                    label = f"{name}{'_backward' if backward else ''} {layout}"
                    if progress:
                        progress(label, n)
                    fused, two = bias_case(name, layout, backward, n, dtype, n_threads)
                    t_f, t_two = compare(fused, two, budget=0.15 if n < 1e6 else 0.4)
                    rows.append({"op": label, "n": int(n), "fused_us": t_f * 1e6,
                                 "two_calls_us": t_two * 1e6, "speedup": t_two / t_f})
    return rows


def format_bias_table(rows):
    lines = [f"{'op + bias':<30}{'n':>12}{'fused us':>12}{'two calls us':>14}{'speed-up':>10}"]
    for r in rows:
        lines.append(f"{r['op']:<30}{r['n']:>12,}{r['fused_us']:>12.2f}"
                     f"{r['two_calls_us']:>14.2f}{r['speedup']:>9.1f}x")
    return "\n".join(lines)


def format_table(rows):
    lines = [f"{'op':<24}{'n':>12}{'fastact us':>14}{'numpy us':>14}{'speed-up':>10}"]
    for r in rows:
        lines.append(f"{r['op']:<24}{r['n']:>12,}{r['fastact_us']:>14.2f}"
                     f"{r['numpy_us']:>14.2f}{r['speedup']:>9.1f}x")
    return "\n".join(lines)
