"""``python -m fastact --pipeline``: activations where users run them, between
matmuls and after idle time, not alone.

Three kinds of case, each run with three activation variants: the NumPy
idiom, fastact with ``n_threads=None`` and fastact with ``n_threads=1``.

* **inference**: ``H = A @ W`` (NumPy's BLAS, or ``torch.mm`` when PyTorch is
  importable), then the activation of ``H`` (``relu`` and ``leaky_relu`` in
  place, ``prelu`` over the features into a second buffer, ``relu+bias``:
  ``relu(H + b)`` in place, fused, against NumPy's ``H += b`` then ReLU);
* **training**: forward matmul, activation, the backward matmul that gives
  the activation's output gradient (``G = Gn @ W.T``), then the activation's
  backward: ``relu_backward`` from ``y``, ``leaky_relu_backward`` from ``x``,
  ``prelu_backward`` with its weight gradient, ``relu+bias`` with the bias
  gradient (``return_bias_grad=True`` against ``grad.sum(axis=0)``);
* **service**: one call of ``relu(x, out=o)`` every ``idle`` milliseconds
  (nothing else running), as an inference server sees requests; and the
  first calls of a fresh process.

Each case starts with a few untimed iterations of every variant: the BLAS
pool starts and fastact's thread policy takes its first measurements of the
op and size (its cost in a fresh process is what the first-calls rows show).
Then variants take turns in blocks of a few iterations, round after round, so
drift on a shared machine hits each alike. The first iteration of each block
is not recorded: it pays for the previous variant's threads still spinning
(BLAS's or OpenMP's), which is an artefact of switching variants, not a cost
of the variant itself. Reports per variant: mean and median iteration time,
activation median and p99, matmul median (microseconds).
"""
import json
import subprocess
import sys
import time

import numpy as np

import fastact
from . import _bench, _ops, _runtime

SLOPE = _bench.SLOPE
SHAPES = ((256, 512), (1024, 512), (2048, 1024))
OPS = ("relu", "leaky_relu", "prelu", "relu+bias")
VARIANTS = ("numpy", "fastact", "fastact 1 thread")
IDLE_MS = (1, 5, 20)
SERVICE_SIZES = (10_000, 100_000, 1_000_000)
# Untimed iterations of each variant before a case: the BLAS pool starts, and
# fastact's thread policy makes its first measurements of the op and size.
WARMUP = 8


def _matmul(lib):
    if lib == "numpy":
        return lambda a, b, out: np.matmul(a, b, out=out)
    import torch

    def mm(a, b, out):
        torch.mm(torch.from_numpy(a), torch.from_numpy(b), out=torch.from_numpy(out))
    return mm


def _activations(op, variant, dtype, width, training):
    """(forward(h, y), backward(g, h, y)) for one variant: forward writes the
    activation of h into y (h itself when in place), backward writes the
    input gradient into g (and returns the weight gradient for prelu)."""
    s = dtype(SLOPE)
    w = np.random.default_rng(1).uniform(0, 0.3, width).astype(dtype)
    b = np.random.default_rng(2).uniform(-0.1, 0.1, width).astype(dtype)
    if variant == "numpy":
        def prelu_np(h, y):
            np.minimum(h, 0, out=y)
            np.multiply(y, w, out=y)
            np.add(y, np.maximum(h, 0), out=y)

        def prelu_bwd_np(g, h, y):
            mask = h > 0
            gw = (g * h * ~mask).sum(axis=0, dtype=np.float64)
            np.multiply(g, _ops.slope_factor(mask, w), out=g)
            return gw

        def leaky_np(h, y):  # in place for inference (y is scratch), into y for training
            np.multiply(h, s, out=y)
            np.maximum(h, y, out=y if training else h)

        return {
            "relu": (lambda h, y: np.maximum(h, 0, out=h),
                     lambda g, h, y: np.multiply(g, h > 0, out=g)),
            "leaky_relu": (leaky_np,
                           lambda g, h, y: np.multiply(g, _ops.slope_factor(h > 0, s),
                                                       out=g)),
            "prelu": (prelu_np, prelu_bwd_np),
            "relu+bias": (lambda h, y: np.maximum(np.add(h, b, out=h), 0, out=h),
                          lambda g, h, y: np.multiply(g, h > 0, out=g).sum(axis=0)),
        }[op]
    nt = None if variant == "fastact" else 1
    return {
        "relu": (lambda h, y: fastact.relu(h, out=h, n_threads=nt),
                 lambda g, h, y: fastact.relu_backward(g, y=h, out=g, n_threads=nt)),
        "leaky_relu": (
            (lambda h, y: fastact.leaky_relu(h, SLOPE, out=h if not training else y,
                                             n_threads=nt)),
            lambda g, h, y: fastact.leaky_relu_backward(g, h, negative_slope=SLOPE, out=g,
                                                        n_threads=nt)),
        "prelu": (lambda h, y: fastact.prelu(h, w, out=y, axis=-1, n_threads=nt),
                  lambda g, h, y: fastact.prelu_backward(g, h, w, out=g, axis=-1,
                                                         n_threads=nt)[1]),
        "relu+bias": (lambda h, y: fastact.relu(h, out=h, bias=b, n_threads=nt),
                      lambda g, h, y: fastact.relu_backward(g, y=h, out=g, return_bias_grad=True,
                                                            n_threads=nt)[1]),
    }[op]


def _summary(samples):
    it, act, mm = (np.asarray(v) * 1e6 for v in zip(*samples))
    return {"iter_mean_us": float(it.mean()), "iter_median_us": float(np.median(it)),
            "act_median_us": float(np.median(act)), "act_p99_us": float(np.percentile(act, 99)),
            "mm_median_us": float(np.median(mm)), "samples": int(it.size)}


def make_layer(op, batch, width, dtype=np.float32, training=False, matmul="numpy"):
    """``iteration(variant)``: one layer step of a case, returning (iteration,
    activation, matmul) seconds."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, width)).astype(dtype)
    wm = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(dtype)
    gn = rng.standard_normal((batch, width)).astype(dtype)
    wt = np.ascontiguousarray(wm.T)
    h = np.empty((batch, width), dtype)
    y = np.empty_like(h)
    g = np.empty_like(h)
    mm = _matmul(matmul)
    acts = {v: _activations(op, v, dtype, width, training) for v in VARIANTS}

    def iteration(variant):
        fwd, bwd = acts[variant]
        t0 = time.perf_counter()
        mm(a, wm, h)
        t1 = time.perf_counter()
        fwd(h, y)
        t2 = time.perf_counter()
        if not training:
            return t2 - t0, t2 - t1, t1 - t0
        mm(gn, wt, g)
        t3 = time.perf_counter()
        bwd(g, h, y)
        t4 = time.perf_counter()
        return t4 - t0, (t2 - t1) + (t4 - t3), (t1 - t0) + (t3 - t2)

    iteration.buffers = (h, y, g)   # for tests: every variant computes the same
    return iteration


def layer_case(op, batch, width, dtype=np.float32, training=False, matmul="numpy",
               rounds=None, block=4, budget=2.0, warmup=WARMUP):
    """One pipeline case: {variant: summary}. ``rounds`` defaults to what fits
    ``budget`` seconds (at least 6). The fastact variant's summary also has
    the thread policy's parallel runs and losses (parallel runs slower than
    serial) during the recorded rounds."""
    iteration = make_layer(op, batch, width, dtype, training, matmul)
    t0 = time.perf_counter()
    for _ in range(warmup):
        for v in VARIANTS:
            iteration(v)
    if rounds is None:
        per_round = (time.perf_counter() - t0) / max(warmup, 1) * block
        rounds = int(min(40, max(6, budget / max(per_round, 1e-6))))
    samples = {v: [] for v in VARIANTS}
    policy = {"parallel": 0, "losses": 0}
    for _ in range(rounds):
        for v in VARIANTS:
            iteration(v)  # the switch-over iteration: not recorded
            before = _runtime.stats()
            for _ in range(block - 1):
                samples[v].append(iteration(v))
            after = _runtime.stats()
            if v == "fastact":
                for key in policy:
                    policy[key] += after[key] - before[key]
    result = {v: _summary(s) for v, s in samples.items()}
    result["fastact"].update(policy)
    return result


def service_case(n, idle_ms, dtype=np.float32, calls=100):
    """``relu(x, out=o)`` once every ``idle_ms``, variants in turn:
    {variant: {median_us, p99_us}}."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype)
    o = np.empty_like(x)
    funcs = {"numpy": lambda: np.maximum(x, 0, out=o),
             "fastact": lambda: fastact.relu(x, out=o),
             "fastact 1 thread": lambda: fastact.relu(x, out=o, n_threads=1)}
    times = {v: [] for v in VARIANTS}
    for _ in range(calls):
        for v in VARIANTS:
            time.sleep(idle_ms / 1e3)
            t0 = time.perf_counter()
            funcs[v]()
            times[v].append(time.perf_counter() - t0)
    return {v: {"median_us": float(np.median(t) * 1e6),
                "p99_us": float(np.percentile(t, 99) * 1e6)} for v, t in times.items()}


_FIRST_CALLS = """
import json, sys, time
import numpy as np
import fastact
n, nt, calls = int(sys.argv[1]), (None if sys.argv[2] == "None" else int(sys.argv[2])), 5
x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
o = np.empty_like(x)
ts = []
for _ in range(calls):
    t0 = time.perf_counter()
    fastact.relu(x, out=o, n_threads=nt)
    ts.append((time.perf_counter() - t0) * 1e6)
print(json.dumps(ts))
"""


def first_calls(n, n_threads):
    """Microseconds of the first five ``relu(x, out=o)`` calls of a fresh
    interpreter."""
    r = subprocess.run([sys.executable, "-c", _FIRST_CALLS, str(n), str(n_threads)],
                       capture_output=True, text=True, timeout=300, check=True)
    return json.loads(r.stdout)


def run(quick=False, matmuls=None, progress=None):
    """Every case: a dict of lists of rows (see format_table)."""
    if matmuls is None:
        matmuls = ["numpy"]
        try:
            import torch  # noqa: F401
            matmuls.append("torch")
        except ImportError:
            pass
    shapes = SHAPES[:2] if quick else SHAPES
    dtypes = (np.float32,) if quick else (np.float32, np.float64)
    budget = 0.6 if quick else 2.0
    layers = []
    for matmul in matmuls:
        for dtype in dtypes:
            for batch, width in shapes:
                for training in (False, True):
                    for op in OPS:
                        name = f"{'train' if training else 'infer'} {op}"
                        if progress:
                            progress(f"{name} {batch}x{width} {np.dtype(dtype).name} {matmul}")
                        res = layer_case(op, batch, width, dtype, training, matmul,
                                         budget=budget)
                        layers.append({"case": name, "shape": f"{batch}x{width}",
                                       "dtype": np.dtype(dtype).name, "matmul": matmul,
                                       "variants": res})
    service = []
    for n in SERVICE_SIZES:
        for idle in (IDLE_MS[:1] + IDLE_MS[-1:] if quick else IDLE_MS):
            if progress:
                progress(f"service n={n:,} idle {idle} ms")
            service.append({"n": n, "idle_ms": idle,
                            "variants": service_case(n, idle, calls=20 if quick else 100)})
    first = []
    for n in (100_000, 1_000_000):
        first.append({"n": n, "fastact": first_calls(n, None),
                      "fastact 1 thread": first_calls(n, 1)})
    return {"layers": layers, "service": service, "first_calls": first}


def _verdict_layer(v):
    """The targets of one layer case (ratios; True when met)."""
    np_, fa, one = v["numpy"], v["fastact"], v["fastact 1 thread"]
    return {
        "mean/numpy": fa["iter_mean_us"] / np_["iter_mean_us"],
        "mean/1thr": fa["iter_mean_us"] / one["iter_mean_us"],
        "mm/mm(numpy)": fa["mm_median_us"] / np_["mm_median_us"],
        "p99 ok": fa["act_p99_us"] <= 3 * one["act_median_us"] + 100,
    }


def format_table(result):
    lines = ["Pipeline (us; mean and median per iteration, activation median and p99, "
             "matmul median; par/loss: fastact's parallel runs and those slower than serial)",
             f"{'case':<18}{'shape':>10}{'dtype':>8}{'mm':>6}  {'variant':<17}{'mean':>9}"
             f"{'median':>9}{'act':>8}{'act p99':>9}{'matmul':>9}   "
             f"{'mean/np':>7}{'mean/1t':>8}{'mm/np':>7}{'p99':>5}{'par/loss':>10}"]
    for row in result["layers"]:
        verdict = _verdict_layer(row["variants"])
        for v in VARIANTS:
            s = row["variants"][v]
            head = (f"{row['case']:<18}{row['shape']:>10}{row['dtype']:>8}{row['matmul']:>6}"
                    if v == "numpy" else " " * 42)
            tail = ""
            if v == "fastact":
                tail = (f"   {verdict['mean/numpy']:>6.2f}x{verdict['mean/1thr']:>7.2f}x"
                        f"{verdict['mm/mm(numpy)']:>6.2f}x"
                        f"{'  ok' if verdict['p99 ok'] else '  NO':>5}"
                        f"{s.get('parallel', 0):>6}/{s.get('losses', 0):<3}")
            lines.append(f"{head}  {v:<17}{s['iter_mean_us']:>9.0f}{s['iter_median_us']:>9.0f}"
                         f"{s['act_median_us']:>8.0f}{s['act_p99_us']:>9.0f}"
                         f"{s['mm_median_us']:>9.0f}{tail}")
    lines += ["", "Service: relu(x, out=o) once every idle ms (us per call)",
              f"{'n':>10}{'idle ms':>8}  " + "".join(f"{v + ' med/p99':>28}" for v in VARIANTS)
              + f"{'med/1t':>8}"]
    for row in result["service"]:
        cells = "".join(f"{row['variants'][v]['median_us']:>17.0f} / {row['variants'][v]['p99_us']:<8.0f}"
                        for v in VARIANTS)
        ratio = row["variants"]["fastact"]["median_us"] / \
            row["variants"]["fastact 1 thread"]["median_us"]
        lines.append(f"{row['n']:>10,}{row['idle_ms']:>8}  {cells}{ratio:>7.2f}x")
    lines += ["", "First calls of a fresh process: relu(x, out=o), us"]
    for row in result["first_calls"]:
        for v in ("fastact", "fastact 1 thread"):
            lines.append(f"{row['n']:>10,}  {v:<17}" + " ".join(f"{t:>8.0f}" for t in row[v]))
    return "\n".join(lines)
