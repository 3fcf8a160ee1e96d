"""``python -m fastact --peers``: fastact against the other ways to compute
the same thing, whichever are importable: PyTorch's CPU kernels, Numba
(``parallel=True`` with ``prange``, or serial for one thread and for arrays
of at most 32768 elements) and numexpr,
besides the NumPy baseline. None of them is a dependency of fastact.

Every side writes into a preallocated output from unchanged inputs (PReLU in
PyTorch allocates: it has no ``out``), samples are interleaved with
fastact's, and medians are compared.
"""
import importlib

import numpy as np

import fastact
from . import _bench, _ops

SLOPE = 0.01
SETTLE = 0.005  # seconds between samples, so no runtime's spinning threads linger
OPS = (*(name for op in _ops.ELEMENTWISE for name in op.functions),
       "rrelu", "rrelu (training)", "rrelu_backward (training)",
       "prelu", "prelu_backward", "prelu NHWC", "prelu_backward NHWC",
       *(f"{op} k={k}" for k in (2, 4) for op in
         ("maxout", "maxout+indices", "maxout_backward", "maxout_backward (x)")))


def available():
    """Names of the importable peers."""
    names = []
    for name in ("torch", "numba", "numexpr"):
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        names.append(name)
    return names


def _torch_cases(n, dtype, n_threads):
    import torch

    torch.set_num_threads(n_threads or fastact.effective_n_threads())
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal(n).astype(dtype))
    g = torch.from_numpy(rng.standard_normal(n).astype(dtype))
    o = torch.empty_like(x)
    aten = torch.ops.aten
    cases = {}
    for op in _ops.ELEMENTWISE:  # PyTorch's kernels as the registry names them
        p = _ops.bench_values(op)
        cases[op.name] = lambda op=op, p=p: op.torch(torch, x, *p, o)
        cases[op.name + "_backward"] = lambda op=op, p=p: op.torch_backward(torch, g, x, *p, o)
    noise = torch.empty_like(x)
    cases["rrelu"] = lambda: aten.rrelu_with_noise.out(x, noise, 0.125, 1 / 3, False, out=o)
    cases["rrelu (training)"] = lambda: aten.rrelu_with_noise.out(x, noise, 0.125, 1 / 3,
                                                                  True, out=o)
    cases["rrelu_backward (training)"] = lambda: torch.mul(g, noise, out=o)
    w = torch.from_numpy(rng.uniform(0, 0.3, _bench.CHANNELS).astype(dtype))
    wv = w.view(-1, 1)
    for name, shape, inner in _bench.prelu_shapes(n):
        xp = torch.from_numpy(rng.standard_normal(shape).astype(dtype))
        gp = torch.from_numpy(rng.standard_normal(shape).astype(dtype))
        if inner == 1:  # channels-last data, seen as NCL (PyTorch's channel axis is 1)
            xp, gp = xp.permute(0, 2, 1), gp.permute(0, 2, 1)
        cases[name] = lambda xp=xp: torch.nn.functional.prelu(xp, w)

        def prelu_bwd(xp=xp, gp=gp):  # what F.prelu's autograd does: the kernel, the weight sum
            gi, gw = aten._prelu_kernel_backward(gp, xp, wv)
            return gi, gw.sum((0, 2))

        cases[name.replace("prelu", "prelu_backward")] = prelu_bwd
    for k in (2, 4):
        m = max(n - n % k, k)
        xm = x[:m].view(-1, k) if m <= n else torch.zeros(m, dtype=x.dtype).view(-1, k)
        y = torch.empty(m // k, dtype=x.dtype)
        idx = torch.empty(m // k, dtype=torch.int64)
        gm = torch.from_numpy(rng.standard_normal(m // k).astype(dtype))
        om = torch.empty(m, dtype=x.dtype)
        _, idx_ref = torch.max(xm, dim=1)

        def bwd(gm=gm, om=om, idx_ref=idx_ref, k=k):
            om.zero_()
            om.view(-1, k).scatter_(1, idx_ref.view(-1, 1), gm.view(-1, 1))

        def bwd_x(xm=xm, gm=gm, om=om, y=y, idx=idx, k=k):  # the argmax, then the scatter
            torch.max(xm, dim=1, out=(y, idx))
            om.zero_()
            om.view(-1, k).scatter_(1, idx.view(-1, 1), gm.view(-1, 1))

        cases[f"maxout k={k}"] = lambda xm=xm, y=y: torch.amax(xm, dim=1, out=y)
        cases[f"maxout+indices k={k}"] = lambda xm=xm, y=y, idx=idx: torch.max(
            xm, dim=1, out=(y, idx))
        cases[f"maxout_backward k={k}"] = bwd
        cases[f"maxout_backward (x) k={k}"] = bwd_x
    return cases


_NUMBA = {}


def _numba_kernels(parallel):
    if parallel in _NUMBA:
        return _NUMBA[parallel]
    import numba

    jit = numba.njit(parallel=parallel, fastmath=False, cache=False)
    rng_ = numba.prange if parallel else range

    @jit
    def relu(x, o):
        for i in rng_(x.size):
            v = x[i]
            o[i] = 0 if v < 0 else v

    @jit
    def leaky(x, s, o):
        for i in rng_(x.size):
            v = x[i]
            o[i] = v if v > 0 else s * v

    @jit
    def relu_bwd(g, x, o):
        for i in rng_(x.size):
            o[i] = 0 if x[i] <= 0 else g[i]

    @jit
    def leaky_bwd(g, x, s, o):
        for i in rng_(x.size):
            o[i] = g[i] if x[i] > 0 else s * g[i]

    @jit
    def maxout(x, k, y, idx):  # idx of size 0: no indices
        for r in rng_(y.size):
            best = x[r * k]
            bi = 0
            for t in range(1, k):
                v = x[r * k + t]
                if v > best or (v != v and best == best):
                    best = v
                    bi = t
            y[r] = best
            if idx.size:
                idx[r] = bi

    @jit
    def maxout_bwd(g, x, idx, k, o):  # the winners from x, or from idx if x is empty
        for r in rng_(g.size):
            bi = 0
            if x.size:
                best = x[r * k]
                for t in range(1, k):
                    v = x[r * k + t]
                    if v > best or (v != v and best == best):
                        best = v
                        bi = t
            else:
                bi = idx[r]
            for t in range(k):
                o[r * k + t] = g[r] if t == bi else 0

    @jit
    def prelu(x, w, inner, o):  # x as (outer, C, inner), flat
        C = w.size
        for j in rng_(x.size // (C * inner)):
            for c in range(C):
                for i in range(j * C * inner + c * inner, (j * C + c + 1) * inner):
                    v = x[i]
                    o[i] = v if v > 0 else w[c] * v

    @jit
    def prelu_bwd(g, x, w, inner, o, gw):  # gw: float64 partial sums per outer block
        C = w.size
        for j in rng_(x.size // (C * inner)):
            for c in range(C):
                acc = 0.0
                for i in range(j * C * inner + c * inner, (j * C + c + 1) * inner):
                    v = x[i]
                    if v > 0:
                        o[i] = g[i]
                    else:
                        o[i] = w[c] * g[i]
                        acc += g[i] * v
                gw[j, c] = acc

    _NUMBA[parallel] = (relu, leaky, relu_bwd, leaky_bwd, maxout, maxout_bwd, prelu, prelu_bwd)
    return _NUMBA[parallel]


def _numba_cases(n, dtype, n_threads):
    import numba

    threads = n_threads or fastact.effective_n_threads()
    # Serial kernels for one thread and for small arrays (entering Numba's
    # parallel region costs ~1 us: a user would not use it there).
    parallel = threads > 1 and n > 32768
    if parallel:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    relu, leaky, relu_bwd, leaky_bwd, maxout, maxout_bwd, prelu, prelu_bwd = \
        _numba_kernels(parallel)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    o = np.empty_like(x)
    s = dtype(SLOPE)
    cases = {
        "relu": lambda: relu(x, o),
        "leaky_relu": lambda: leaky(x, s, o),
        "relu_backward": lambda: relu_bwd(g, x, o),
        "leaky_relu_backward": lambda: leaky_bwd(g, x, s, o),
    }
    none_i, none_f = np.empty(0, np.intp), np.empty(0, dtype)
    for k in (2, 4):
        m = max(n - n % k, k)
        xm = x[:m] if m <= n else np.zeros(m, dtype)
        y = np.empty(m // k, dtype)
        idx = np.empty(m // k, np.intp)
        gm = rng.standard_normal(m // k).astype(dtype)
        om = np.empty(m, dtype)
        _, idx_ref = fastact.maxout(xm, k, return_indices=True)
        cases[f"maxout k={k}"] = lambda xm=xm, k=k, y=y: maxout(xm, k, y, none_i)
        cases[f"maxout+indices k={k}"] = lambda xm=xm, k=k, y=y, idx=idx: maxout(xm, k, y, idx)
        cases[f"maxout_backward k={k}"] = lambda k=k, gm=gm, om=om, i=idx_ref: maxout_bwd(
            gm, none_f, i, k, om)
        cases[f"maxout_backward (x) k={k}"] = lambda xm=xm, k=k, gm=gm, om=om: maxout_bwd(
            gm, xm, none_i, k, om)
    for name, shape, inner in _bench.prelu_shapes(n):
        xp = rng.standard_normal(shape).astype(dtype).reshape(-1)
        gp = rng.standard_normal(shape).astype(dtype).reshape(-1)
        w = rng.uniform(0, 0.3, _bench.CHANNELS).astype(dtype)
        op = np.empty_like(xp)
        gw = np.empty((xp.size // (w.size * inner), w.size))
        cases[name] = lambda xp=xp, w=w, inner=inner, op=op: prelu(xp, w, inner, op)
        cases[name.replace("prelu", "prelu_backward")] = \
            lambda xp=xp, gp=gp, w=w, inner=inner, op=op, gw=gw: (
                prelu_bwd(gp, xp, w, inner, op, gw), gw.sum(0))
    return cases


def _numexpr_cases(n, dtype, n_threads):
    import numexpr as ne

    ne.set_num_threads(n_threads or fastact.effective_n_threads())
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    o = np.empty_like(x)
    s = dtype(SLOPE)  # a variable, not a literal: a literal 0.01 promotes to float64
    names = dict(x=x, g=g, s=s, zero=dtype(0))

    def expr(text):
        return lambda: ne.evaluate(text, local_dict=names, out=o)

    return {
        "relu": expr("where(x < zero, zero, x)"),
        "leaky_relu": expr("where(x > zero, x, s * x)"),
        "relu_backward": expr("where(x <= zero, zero, g)"),
        "leaky_relu_backward": expr("where(x > zero, g, s * g)"),
    }


_BUILDERS = {"torch": _torch_cases, "numba": _numba_cases, "numexpr": _numexpr_cases}


def run(sizes=(1_000, 100_000, 10_000_000), dtype=np.float32, n_threads=None, ops=None,
        progress=None):
    """Rows of {op, n, fastact_us, numpy_us, <peer>_us..., best_peer, ratio}
    where ratio = best other time / fastact time (> 1: fastact is faster)."""
    peers = available()
    rows = []
    for n in sizes:
        peer_cases = {p: _BUILDERS[p](int(n), dtype, n_threads) for p in peers}
        for name in OPS:
            if ops and not any(name.startswith(o) for o in ops):
                continue
            if progress:
                progress(name, n)
            ours, theirs = _bench.case(name, n, dtype, n_threads)
            budget = 0.1 if n < 1e6 else 0.3
            t_ours, t_np = _bench.compare(ours, theirs, budget=budget, settle=SETTLE)
            row = {"op": name, "n": int(n), "fastact_us": t_ours * 1e6, "numpy_us": t_np * 1e6}
            for p in peers:
                func = peer_cases[p].get(name)
                if func is not None:
                    row[f"{p}_us"] = _bench.compare(ours, func, budget=budget,
                                                    settle=SETTLE)[1] * 1e6
            others = {k[:-3]: v for k, v in row.items() if k.endswith("_us") and k != "fastact_us"}
            best = min(others, key=others.get)
            row["best_other"] = best
            row["ratio"] = others[best] / row["fastact_us"]
            rows.append(row)
    return rows


def format_table(rows):
    cols = ["numpy"] + [p for p in ("torch", "numba", "numexpr")
                        if any(f"{p}_us" in r for r in rows)]
    head = f"{'op':<26}{'n':>12}{'fastact':>10}" + "".join(f"{c:>10}" for c in cols)
    lines = [head + f"{'best other / fastact':>24}"]
    for r in rows:
        cells = "".join(f"{r[c + '_us']:>10.1f}" if c + "_us" in r else f"{'-':>10}"
                        for c in cols)
        lines.append(f"{r['op']:<26}{r['n']:>12,}{r['fastact_us']:>10.1f}{cells}"
                     f"{r['ratio']:>14.2f}x ({r['best_other']})")
    return "\n".join(lines)
