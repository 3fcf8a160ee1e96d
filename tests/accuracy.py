"""Accuracy harness of the smooth ops.

Measures the max error, in ULP of the exact result, of an implementation of each
smooth op (forward and backward) against the exact value of its formula at the
given inputs (parameters rounded to the data dtype first, as the kernels use them):

* float32: the reference is the formula evaluated in float64 with NumPy and
  SciPy's special functions, in forms that neither cancel nor overflow (each
  accurate to a few float64 ULP: ~2**-50 relative, far below a float32 ULP);
* float64: the reference is mpmath at 100 bits, kept as a double-double so that
  errors below one ULP are seen.

The ULP of a result is the spacing of the float format at the exact value, never
below the spacing at the smallest normal (so a zero or subnormal result is measured
in subnormal spacings). Backward passes are measured with grad_output drawn from
[-2, 2] (the exact value is g times the exact derivative); their bound has an
absolute term (2**-23 |g| for float32, 2**-51 |g| for float64) for the derivative's
zeros and vanishing tails, so a backward row reports the ULP error and whether it is
within that bound.

    python tests/accuracy.py [--dtype float32|float64] [--points N] [--lo A --hi B]
    python tests/accuracy.py --exhaustive [silu,gelu,...]   # all 2**32 float32 inputs

prints the table: per op (defaults and the registry's sample parameters), the max
error of fastact, PyTorch (where installed) and NumPy, and where it happens.
tests/test_accuracy.py runs a lighter sweep in CI and fails above the bounds.
"""
import argparse
import math

import numpy as np

SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"
GELU_C = 0.044715
# The contract's bounds: forward ULPs, backward ULPs, backward's |g| factor.
BOUNDS = {np.dtype(np.float32): (1.0, 2.0, 2.0**-23),
          np.dtype(np.float64): (2.0, 4.0, 2.0**-51)}


# --------------------------------------------------------------------------
# Sweeps and ULPs

def sweep(dtype, lo, hi, points, specials=True):
    """``points`` values of ``dtype`` spread evenly over the *bit patterns*
    between lo and hi (so every binade gets its share, tails included), plus
    the special values and the range ends."""
    dtype = np.dtype(dtype)
    itype = np.int32 if dtype == np.float32 else np.int64

    def key(v):  # monotone integer key of a float: negative floats reversed
        b = np.array(v, dtype).view(itype)
        return int(b) if b >= 0 else int(np.iinfo(itype).min - b)

    k = np.linspace(key(lo), key(hi), points).round().astype(itype)
    bits = np.where(k >= 0, k, np.iinfo(itype).min - k).astype(itype)
    x = bits.view(dtype)
    if specials:
        info = np.finfo(dtype)
        extra = [0.0, -0.0, info.tiny, -info.tiny, info.smallest_subnormal,
                 -info.smallest_subnormal, info.max, -info.max, 1.0, -1.0, lo, hi]
        extra = np.array(extra, dtype)
        x = np.concatenate([x, extra[(extra >= lo) & (extra <= hi)]])
    return np.unique(x[np.isfinite(x)])


def ulp(exact, dtype):
    """The float spacing at each exact value (float64 or mpf objects), never
    below the spacing at the smallest normal."""
    info = np.finfo(dtype)
    floor = float(info.tiny) * float(info.eps)  # spacing at the smallest normal
    mag = np.abs(np.asarray(exact, np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.floor(np.log2(np.where(mag > 0, mag, 1.0)))
        spacing = np.where(mag > 0, np.exp2(e) * float(info.eps), floor)
    return np.maximum(spacing, floor)


def ulp_error(got, exact, dtype):
    """|got - exact| in ULPs of exact; both NaN counts 0, one NaN inf;
    infinities must match (errors() with no low part)."""
    return errors(got, (np.asarray(exact, np.float64), 0.0), dtype)


# --------------------------------------------------------------------------
# Exact references: float64 with SciPy (for float32 results), mpmath (float64)

def _f64_reference(name, params, backward):
    """The formula in float64 (x exact in float64: float32 data)."""
    from scipy import special

    a_selu, s_selu = float(SELU_ALPHA), float(SELU_SCALE)
    sig = special.expit
    k1 = 2 * math.sqrt(2 / math.pi)

    def sp(x):
        return np.logaddexp(0.0, x)

    if name == "elu":
        (alpha,) = params
        return (lambda x: np.where(x > 0, 1.0, alpha * np.exp(x))) if backward else \
            (lambda x: np.where(x > 0, x, alpha * np.expm1(x)))
    if name == "celu":
        (alpha,) = params
        return (lambda x: np.where(x > 0, 1.0, np.exp(x / alpha))) if backward else \
            (lambda x: np.where(x > 0, x, alpha * np.expm1(x / alpha)))
    if name == "selu":
        return (lambda x: np.where(x > 0, s_selu, s_selu * a_selu * np.exp(x))) if backward \
            else (lambda x: np.where(x > 0, s_selu * x, s_selu * a_selu * np.expm1(x)))
    if name == "gelu" and params[0] == "none":
        return (lambda x: special.ndtr(x) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)) \
            if backward else (lambda x: x * special.ndtr(x))
    if name == "gelu":  # tanh form: x * sigmoid(z), z = k1 (x + c x**3)
        def z(x):
            return k1 * (x + GELU_C * x ** 3)
        return (lambda x: sig(z(x)) * (1 + x * sig(-z(x)) * k1 * (1 + 3 * GELU_C * x * x))) \
            if backward else (lambda x: x * sig(z(x)))
    if name == "silu":
        return (lambda x: sig(x) * (1 + x * sig(-x))) if backward else (lambda x: x * sig(x))
    if name == "mish":
        return (lambda x: np.tanh(sp(x)) + x * sig(x) * (1 - np.tanh(sp(x)) ** 2)) \
            if backward else (lambda x: x * np.tanh(sp(x)))
    if name == "softplus":
        beta, _ = params
        return (lambda x: sig(beta * x)) if backward else (lambda x: sp(beta * x) / beta)
    raise KeyError(name)


def _mp_reference(name, params, backward):
    """The formula in mpmath at 100 bits, one mpf per element."""
    import mpmath as mp

    mp.mp.prec = 100
    a_selu, s_selu = mp.mpf(SELU_ALPHA), mp.mpf(SELU_SCALE)
    k1 = 2 * mp.sqrt(2 / mp.pi)

    def phi_cdf(x):
        # mpmath's erfc fails on huge arguments: beyond |x| = 40 use 1 (the
        # rest is below 2**-1000) or the asymptotic series of the lower tail
        # (16 terms: relative error below 1e-40 there).
        if x > 40:
            return mp.mpf(1)
        if x < -40:
            series, term = mp.mpf(1), mp.mpf(1)
            for k in range(1, 16):
                term *= -(2 * k - 1) / (x * x)
                series += term
            return mp.exp(-x * x / 2) / (-x * mp.sqrt(2 * mp.pi)) * series
        return mp.erfc(-x / mp.sqrt(2)) / 2

    def sig(x):
        return 1 / (1 + mp.exp(-x))

    def sp(x):
        return mp.log1p(mp.exp(x))

    def tanh_sp(x):  # tanh(log(1 + e**x)) = n / (n + 2), n = e**x (e**x + 2)
        e = mp.exp(x)
        n = e * (e + 2)
        return n / (n + 2)

    p = [mp.mpf(v) if not isinstance(v, str) else v for v in params]
    if name == "elu":
        f = (lambda x: 1 if x > 0 else p[0] * mp.exp(x)) if backward else \
            (lambda x: x if x > 0 else p[0] * mp.expm1(x))
    elif name == "celu":
        f = (lambda x: 1 if x > 0 else mp.exp(x / p[0])) if backward else \
            (lambda x: x if x > 0 else p[0] * mp.expm1(x / p[0]))
    elif name == "selu":
        f = (lambda x: s_selu if x > 0 else s_selu * a_selu * mp.exp(x)) if backward else \
            (lambda x: s_selu * x if x > 0 else s_selu * a_selu * mp.expm1(x))
    elif name == "gelu" and p[0] == "none":
        f = (lambda x: phi_cdf(x) + x * mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)) \
            if backward else (lambda x: x * phi_cdf(x))
    elif name == "gelu":
        def z(x):
            return k1 * (x + mp.mpf("0.044715") * x ** 3)
        f = (lambda x: sig(z(x)) * (1 + x * sig(-z(x)) * k1 * (1 + 3 * mp.mpf("0.044715") * x * x))) \
            if backward else (lambda x: x * sig(z(x)))
    elif name == "silu":
        f = (lambda x: sig(x) * (1 + x * sig(-x))) if backward else (lambda x: x * sig(x))
    elif name == "mish":
        f = (lambda x: tanh_sp(x) + x * sig(x) * (1 - tanh_sp(x) ** 2)) if backward else \
            (lambda x: x * tanh_sp(x))
    elif name == "softplus":
        f = (lambda x: sig(p[0] * x)) if backward else (lambda x: sp(p[0] * x) / p[0])
    else:
        raise KeyError(name)
    return f


def exact(name, x, dtype, backward=False, params=(), g=None):
    """The exact value of the op's formula (g times d/dx for backward) at x,
    with the parameters as given (already rounded to the dtype), as (hi, lo)
    float64 arrays: lo is 0 for float32 (float64 is exact enough there).
    Softplus' cut (``x * beta > threshold``, formed in the dtype) picks x or g."""
    dtype = np.dtype(dtype)
    x = np.asarray(x, dtype)
    x64 = x.astype(np.float64)
    g64 = np.ones_like(x64) if g is None else np.asarray(g, np.float64)
    if dtype == np.float32:
        with np.errstate(all="ignore"):
            hi = _f64_reference(name, params, backward)(x64)
            hi = g64 * hi if backward else hi
        lo = np.zeros_like(hi)
    else:
        import mpmath as mp

        f = _mp_reference(name, params, backward)
        hi, lo = np.empty_like(x64), np.zeros_like(x64)
        for i, v in enumerate(x64):
            if not np.isfinite(v):
                hi[i] = np.nan
                continue
            r = f(mp.mpf(v))
            r = mp.mpf(g64[i]) * r if backward else r
            hi[i] = float(r)
            if np.isfinite(hi[i]):
                lo[i] = float(r - mp.mpf(hi[i]))
    if name == "softplus":
        beta, th = params
        cut = (x * dtype.type(beta)) > dtype.type(th)
        hi = np.where(cut, g64 if backward else x64, hi)
        lo = np.where(cut, 0.0, lo)
    return hi, lo


def errors(got, ref, dtype):
    """ULP errors of got against the exact value hi + lo, in ULPs of hi; both
    NaN counts 0, one NaN inf; infinities must match (an exact value that
    overflows the dtype is matched by its infinity)."""
    hi, lo = ref
    got = np.asarray(got, np.float64)
    with np.errstate(all="ignore"):
        diff = np.where(np.isfinite(got) & np.isfinite(hi), (got - hi) - lo, got - hi)
        rounded = hi.astype(dtype).astype(np.float64)
        err = np.abs(diff) / ulp(hi, dtype)
    both_nan = np.isnan(got) & np.isnan(hi)
    same_inf = np.isinf(got) & (got == rounded)
    err = np.where(both_nan | same_inf, 0.0, err)
    return np.where(np.isnan(err), np.inf, err)


# --------------------------------------------------------------------------
# The cases: every smooth op of the registry with its defaults and its sample

def cases():
    """(label, op name, parameter values) for every smooth op of fastact's
    registry: the defaults, and the sample parameters where they differ."""
    from fastact import _ops

    out = []
    for op in _ops.ELEMENTWISE:
        if op.exact:
            continue
        sets = [tuple(p.default for p in op.params)]
        if op.sample and tuple(op.sample) != sets[0]:
            sets.append(tuple(op.sample))
        for values in sets:
            shown = ", ".join(f"{p.name}={v!r}" for p, v in zip(op.params, values)
                              if v != p.default)
            out.append((f"{op.name}({shown})" if shown else op.name, op.name, values))
    return out


def rounded(params, dtype):
    """Real parameters rounded to the dtype (strings kept), as Python floats."""
    return tuple(v if isinstance(v, str) else float(np.dtype(dtype).type(v)) for v in params)


def implementations(libs=("fastact", "torch", "numpy")):
    """lib -> {op name: (forward(x, *params), backward(g, x, *params))}, for
    the libraries asked for (PyTorch where importable)."""
    import fastact
    from fastact import _ops

    def names(op):
        return [p.name for p in op.params]

    impls = {"fastact": {
        op.name: (lambda x, *p, op=op: getattr(fastact, op.name)(x, *p),
                  lambda g, x, *p, op=op: getattr(fastact, op.name + "_backward")(
                      g, x, **dict(zip(names(op), p))))
        for op in _ops.ELEMENTWISE if not op.exact}}
    try:
        if "torch" not in libs:
            raise ImportError
        import torch

        def t(a):
            return torch.from_numpy(np.ascontiguousarray(a))

        impls["torch"] = {
            op.name: (lambda x, *p, op=op: op.torch(torch, t(x), *p, torch.empty_like(t(x))).numpy(),
                      lambda g, x, *p, op=op: op.torch_backward(
                          torch, t(g), t(x), *p, torch.empty_like(t(x))).numpy())
            for op in _ops.ELEMENTWISE if not op.exact}
    except ImportError:
        pass
    if "numpy" in libs:
        impls["numpy"] = {
            op.name: (lambda x, *p, op=op: _np_call(op.bench, x, p),
                      lambda g, x, *p, op=op: _np_call(op.bench_backward, (g, x), p))
            for op in _ops.ELEMENTWISE if not op.exact}
    return impls


def _np_call(f, data, params):
    data = data if isinstance(data, tuple) else (data,)
    out = np.empty_like(data[-1])
    with np.errstate(all="ignore"):
        f(*data, out, *params)
    return out


def inputs(dtype, points, lo=None, hi=None, seed=0):
    """x swept over [lo, hi] (default: the whole finite range) and g drawn
    from [-2, 2] (fixed seed)."""
    info = np.finfo(dtype)
    x = sweep(dtype, -float(info.max) if lo is None else lo,
              float(info.max) if hi is None else hi, points)
    g = np.random.default_rng(seed).uniform(-2, 2, x.size).astype(dtype)
    return x, g


def measure(impl, name, params, dtype, x, g=None, refs=None):
    """(max error in ULP, the x where it happens, whether within the
    contract's bound) of one implementation, forward (g None) or backward."""
    dtype = np.dtype(dtype)
    backward = g is not None
    with np.errstate(all="ignore"):
        got = impl(g, x, *params) if backward else impl(x, *params)
    ref = refs if refs is not None else exact(name, x, dtype, backward,
                                              rounded(params, dtype), g)
    err = errors(got, ref, dtype)
    i = int(np.argmax(err))
    f_bound, b_bound, g_factor = BOUNDS[dtype]
    if backward:
        absolute = g_factor * np.abs(g.astype(np.float64)) / ulp(ref[0], dtype)
        ok = bool(np.all(err <= np.maximum(b_bound, absolute)))
    else:
        ok = bool(np.all(err <= f_bound))
    return float(err[i]), float(x[i]), ok


def table(dtype, points, lo=None, hi=None, libs=None):
    """Rows (label, direction, {lib: (max ulp, at, ok)}) over one sweep."""
    dtype = np.dtype(dtype)
    impls = implementations()
    x, g = inputs(dtype, points, lo, hi)
    rows = []
    for label, name, params in cases():
        p = rounded(params, dtype)
        for direction, gg in (("forward", None), ("backward", g)):
            ref = exact(name, x, dtype, gg is not None, p, gg)
            row = {}
            for lib, ops in impls.items():
                if (libs and lib not in libs) or name not in ops:
                    continue
                f = ops[name][0 if gg is None else 1]
                row[lib] = measure(f, name, params, dtype, x, gg, ref)
            rows.append((label, direction, row))
    return rows


def exhaustive(names=None, chunk=1 << 22, backward=True, progress=None, start=0,
               stop=1 << 32):
    """Every finite float32 input (the bit patterns start .. stop-1, default
    all 2**32, in chunks of ``chunk``) of each smooth op of ``names``
    (default: all), with its default parameters, forward and (with g from
    [-2, 2], a fixed seed per chunk) backward: rows (label, direction,
    (max ulp, at, ok)) for fastact."""
    impls = implementations(libs=("fastact",))["fastact"]
    dtype = np.dtype(np.float32)
    rows = []
    for label, name, params in cases():
        if (names and name not in names) or label != name:
            continue
        p = rounded(params, dtype)
        for direction in ("forward", "backward") if backward else ("forward",):
            worst, at, ok = 0.0, 0.0, True
            for lo in range(start, stop, chunk):
                bits = np.arange(lo, min(lo + chunk, stop), dtype=np.uint64).astype(np.uint32)
                x = bits.view(np.float32)
                x = x[np.isfinite(x)]
                if not x.size:  # the chunks of infinities and NaNs
                    continue
                g = None
                if direction == "backward":
                    g = np.random.default_rng(lo).uniform(-2, 2, x.size).astype(dtype)
                f = impls[name][0 if g is None else 1]
                e, a, good = measure(f, name, params, dtype, x, g,
                                     exact(name, x, dtype, g is not None, p, g))
                ok = ok and good
                if e > worst:
                    worst, at = e, a
            rows.append((label, direction, (worst, at, ok)))
            if progress:
                progress(rows[-1])
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--points", type=int, default=None,
                    help="sweep size (default 1,000,000 float32, 20,000 float64)")
    ap.add_argument("--lo", type=float, default=None)
    ap.add_argument("--hi", type=float, default=None)
    ap.add_argument("--markdown", action="store_true", help="a Markdown table")
    ap.add_argument("--exhaustive", nargs="?", const="", default=None, metavar="OPS",
                    help="every finite float32 input of each op (comma-separated "
                         "names; default all), fastact only, default parameters")
    args = ap.parse_args(argv)
    if args.exhaustive is not None:
        import time

        names = [n for n in args.exhaustive.split(",") if n]
        print("max error in ULP, float32, every finite input; '!' marks a value above "
              "the contract's bound")
        t0 = time.perf_counter()

        def show(row):
            label, direction, (e, at, ok) = row
            print(f"{label:<12}{direction:<9}{e:.4g}{'' if ok else '!'} (x={at:.9g}) "
                  f"[{time.perf_counter() - t0:.0f} s]", flush=True)
        rows = exhaustive(names, progress=show)
        return 0 if all(r[2][2] for r in rows) else 1
    dtype = np.dtype(args.dtype)
    points = args.points or (1_000_000 if dtype == np.float32 else 20_000)
    rng = f"[{args.lo}, {args.hi}]" if args.lo is not None else "the whole finite range"
    print(f"max error in ULP, {args.dtype}, {points} points over {rng} (spread by bit "
          f"pattern), backward with g in [-2, 2]; '!' marks a value above the contract's "
          f"bound")
    rows = table(dtype, points, args.lo, args.hi)
    libs = list(rows[0][2])
    if args.markdown:
        print("| op | pass | " + " | ".join(libs) + " |")
        print("|---|---|" + "---|" * len(libs))
    for label, direction, row in rows:
        cells = []
        for lib in libs:
            if lib not in row:
                cells.append("-")
                continue
            e, at, ok = row[lib]
            cells.append(f"{e:.3g}{'' if ok else '!'} (x={at:.6g})")
        if args.markdown:
            print(f"| {label} | {direction} | " + " | ".join(cells) + " |")
        else:
            print(f"{label:<34}{direction:<9}" + "".join(f"{c:<30}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
