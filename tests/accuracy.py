"""Accuracy harness of the smooth ops (work in progress for issue 10).

Measures the max error, in ULP of the exact result, of an implementation of each
smooth op (forward and backward) against the exact value of the contract's formula
at the given inputs:

* float32: the reference is the formula evaluated in float64 with SciPy's special
  functions (each accurate to a few float64 ULP: ~2**-50 relative, far below a
  float32 ULP, 2**-23), then measured in float32 ULPs;
* float64: the reference is mpmath at 100 bits.

The ULP of a result is the spacing of the float format at the exact value, never
below the spacing at the smallest normal (so a zero or subnormal result is measured
in subnormal spacings).

    python tests/accuracy.py [--dtype float32] [--points 20000] [--impl torch|numpy]

prints, per op, the max ULP error and the input where it happens. The fastact
columns come when the ops exist; until then it measures PyTorch and NumPy, which is
how the table in issue 10 was made.
"""
import argparse
import math

import numpy as np

SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"
GELU_C = 0.044715


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
    infinities must match."""
    got = np.asarray(got, np.float64)
    exact = np.asarray(exact, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = exact.astype(dtype).astype(np.float64)  # inf where exact overflows
        err = np.abs(got - exact) / ulp(exact, dtype)
    both_nan = np.isnan(got) & np.isnan(exact)
    same_inf = np.isinf(got) & (got == rounded)
    err = np.where(both_nan | same_inf, 0.0, err)
    return np.where(np.isnan(err), np.inf, err)


# --------------------------------------------------------------------------
# Exact references: float64 with SciPy (for float32 results), mpmath (float64)

def _f64_reference(name):
    from scipy import special

    a_selu, s_selu = float(SELU_ALPHA), float(SELU_SCALE)

    def softplus(x):
        return np.where(x > 30, x, np.log1p(np.exp(np.minimum(x, 30))))

    def sigmoid(x):
        return special.expit(x)

    c = math.sqrt(2 / math.pi)
    ref = {
        "elu": (lambda x: np.where(x > 0, x, np.expm1(x)),
                lambda x: np.where(x > 0, 1.0, np.exp(x))),
        "selu": (lambda x: np.where(x > 0, s_selu * x, s_selu * a_selu * np.expm1(x)),
                 lambda x: np.where(x > 0, s_selu, s_selu * a_selu * np.exp(x))),
        "gelu": (lambda x: x * special.ndtr(x),
                 lambda x: special.ndtr(x) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
        "silu": (lambda x: x * sigmoid(x),
                 lambda x: sigmoid(x) * (1 + x * (1 - sigmoid(x)))),
        "mish": (lambda x: x * np.tanh(softplus(x)),
                 lambda x: np.tanh(softplus(x)) + x * sigmoid(x)
                 * (1 - np.tanh(softplus(x)) ** 2)),
        "softplus": (lambda x: np.where(x > 20, x, softplus(x)),
                     lambda x: np.where(x > 20, 1.0, sigmoid(x))),
        "gelu_tanh": (lambda x: 0.5 * x * (1 + np.tanh(c * (x + GELU_C * x ** 3))),
                      None),
    }
    return ref[name]


def _mp_reference(name, backward):
    import mpmath as mp

    mp.mp.prec = 100
    a_selu, s_selu = mp.mpf(SELU_ALPHA), mp.mpf(SELU_SCALE)
    c = mp.sqrt(2 / mp.pi)

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

    fwd = {
        "elu": lambda x: x if x > 0 else mp.expm1(x),
        "selu": lambda x: s_selu * x if x > 0 else s_selu * a_selu * mp.expm1(x),
        "gelu": lambda x: x * phi_cdf(x),
        "gelu_tanh": lambda x: x * (1 + mp.tanh(c * (x + mp.mpf(GELU_C) * x ** 3))) / 2,
        "silu": lambda x: x * sig(x),
        "mish": lambda x: x * mp.tanh(sp(x)),
        "softplus": lambda x: x if x > 20 else sp(x),
    }
    bwd = {
        "elu": lambda x: 1 if x > 0 else mp.exp(x),
        "selu": lambda x: s_selu if x > 0 else s_selu * a_selu * mp.exp(x),
        "gelu": lambda x: phi_cdf(x) + x * mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi),
        "silu": lambda x: sig(x) * (1 + x * (1 - sig(x))),
        "mish": lambda x: mp.tanh(sp(x)) + x * sig(x) * (1 - mp.tanh(sp(x)) ** 2),
        "softplus": lambda x: 1 if x > 20 else sig(x),
    }
    f = (bwd if backward else fwd)[name]

    def apply(xs):
        return np.array([float(f(mp.mpf(float(v)))) for v in xs], np.float64)
    return apply


def exact(name, x, dtype, backward=False):
    """The exact value of the op's formula (d/dx for backward) at x, as float64
    (exact enough for the dtype's ULPs, see the module docstring)."""
    x64 = np.asarray(x, np.float64)
    if np.dtype(dtype) == np.float32:
        with np.errstate(all="ignore"):
            return _f64_reference(name)[1 if backward else 0](x64)
    return _mp_reference(name, backward)(x64)


# --------------------------------------------------------------------------
# Implementations to measure (PyTorch and NumPy now; fastact with issue 10)

def implementations(dtype):
    impls = {}
    try:
        import torch
        F = torch.nn.functional

        def t(f):
            return lambda x: f(torch.from_numpy(np.ascontiguousarray(x))).numpy()

        impls["torch"] = {
            "elu": t(F.elu), "selu": t(F.selu), "gelu": t(F.gelu),
            "gelu_tanh": t(lambda v: F.gelu(v, approximate="tanh")),
            "silu": t(F.silu), "mish": t(F.mish), "softplus": t(F.softplus),
        }
    except ImportError:
        pass
    from scipy import special

    impls["numpy"] = {
        "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
        "silu": lambda x: x / (1 + np.exp(-x)),
        "softplus": lambda x: np.where(x > 20, x, np.log1p(np.exp(x))),
        "gelu": lambda x: x * (special.erf(x / x.dtype.type(math.sqrt(2))) + 1) / 2,
    }
    return impls


def measure(impl, name, dtype, points, lo=None, hi=None):
    """(max ULP error, the x where it happens) of impl over a sweep of the
    whole finite range (or [lo, hi])."""
    info = np.finfo(dtype)
    x = sweep(dtype, -float(info.max) if lo is None else lo,
              float(info.max) if hi is None else hi, points)
    with np.errstate(all="ignore"):
        got = impl(x)
    err = ulp_error(got, exact(name, x, dtype), dtype)
    i = int(np.argmax(err))
    return float(err[i]), float(x[i])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--points", type=int, default=20_000)
    args = p.parse_args(argv)
    dtype = np.dtype(args.dtype)
    impls = implementations(dtype)
    print(f"max ULP error, {args.dtype}, {args.points} points over the finite range, "
          f"spread by bit pattern")
    for lib, ops in impls.items():
        for name, f in ops.items():
            e, at = measure(f, name, dtype, args.points if dtype == np.float32
                            else min(args.points, 3000))
            print(f"{lib:<8}{name:<12}{e:>14.3g} ULP  at x = {at:.9g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
