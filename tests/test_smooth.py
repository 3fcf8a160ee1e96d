"""The smooth ops' rules value by value: limits at +-inf, NaN, the y= formulas
of the ELU family (bit for bit, in the data dtype), parameter checks, and the
same bits for every SIMD level and thread count on sweeps that reach the
tails. Their accuracy is tests/test_accuracy.py's."""
import numpy as np
import pytest

import fastact
from fastact import _api, _ops, _simd
from helpers import assert_bits, assert_same, salted

import accuracy as acc

SMOOTH = [op for op in _ops.ELEMENTWISE if not op.exact]
DTYPES = [np.float32, np.float64]
inf, nan = np.inf, np.nan


def _values(op):
    return dict.fromkeys([_ops.bench_values(op), tuple(op.sample)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_limits_at_infinity_and_nan(dtype):
    x = np.array([inf, -inf, nan], dtype)
    g = np.array([3.0, 3.0, 3.0], dtype)
    t = dtype
    sa = float.fromhex("0x1.c212cc640f031p+0")  # scale * alpha, the exact product rounded
    cases = {
        "elu": ([inf, -1.0, nan], [3, 0, nan]),
        "celu": ([inf, -1.0, nan], [3, 0, nan]),
        "selu": ([inf, -sa, nan], [3 * t(_ops.SELU_SCALE), 0, nan]),
        "gelu": ([inf, 0, nan], [3, 0, nan]),
        "silu": ([inf, 0, nan], [3, 0, nan]),
        "mish": ([inf, 0, nan], [3, 0, nan]),
        "softplus": ([inf, 0, nan], [3, 0, nan]),
    }
    for name, (fwd, bwd) in cases.items():
        assert_same(getattr(fastact, name)(x), np.array(fwd, dtype))
        assert_same(getattr(fastact, name + "_backward")(g, x), np.array(bwd, dtype))
    assert_same(fastact.gelu(x, "tanh"), np.array([inf, 0, nan], dtype))
    assert_same(fastact.gelu_backward(g, x, approximate="tanh"), np.array([3, 0, nan], dtype))
    assert_same(fastact.elu(x, 0.5), np.array([inf, -0.5, nan], dtype))
    # NaN gradients stay NaN, whatever x.
    gn = np.full(3, nan, dtype)
    xs = np.array([-1.0, 0.0, 2.0], dtype)
    for op in SMOOTH:
        assert np.isnan(getattr(fastact, op.name + "_backward")(gn, xs)).all(), op.name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's side: inf * 0 in the edges
def test_elu_family_y_paths_are_their_dtype_formulas(dtype):
    """``y=`` gives the formula of the table on y, in the dtype, bit for bit."""
    x = salted(10_001, dtype, seed=3, scale=4.0)
    g = salted(10_001, dtype, seed=4)
    t = dtype
    for alpha in (1.0, 0.7, 2.5, 0.0):
        y = fastact.elu(x, alpha)
        a = t(alpha)
        want = np.where(y > 0, g, g * (y + a))
        assert_same(fastact.elu_backward(g, y=y, alpha=alpha), want)
    for alpha in (1.0, 0.7, 2.5):
        y = fastact.celu(x, alpha)
        a = t(alpha)
        r = t(1) / a
        want = np.where(y > 0, g, (g * r) * (y + a))
        assert_same(fastact.celu_backward(g, y=y, alpha=alpha), want)
    y = fastact.selu(x)
    s, sa = t(_ops.SELU_SCALE), t(_ops.SELU_SCALE) * t(_ops.SELU_ALPHA)
    want = np.where(y > 0, g * s, g * (y + sa))
    assert_same(fastact.selu_backward(g, y=y), want)


def test_parameter_checks():
    x = np.ones(4)
    out = np.full(4, 7.0)
    with pytest.raises(ValueError, match="alpha"):
        fastact.celu(x, 0.0, out=out)
    with pytest.raises(ValueError, match="alpha"):
        fastact.celu_backward(x, x, alpha=0.0, out=out)
    with pytest.raises(ValueError, match="beta"):
        fastact.softplus(x, 0.0, out=out)
    with pytest.raises(ValueError, match="beta"):
        fastact.softplus_backward(x, x, beta=-0.0, out=out)
    for bad in ("erf", "TANH", ""):
        with pytest.raises(ValueError, match="approximate"):
            fastact.gelu(x, bad, out=out)
        with pytest.raises(ValueError, match="approximate"):
            fastact.gelu_backward(x, x, approximate=bad, out=out)
    for bad in (None, 1, b"tanh"):
        with pytest.raises(TypeError, match="approximate"):
            fastact.gelu(x, bad)
    with pytest.raises(ValueError, match="alpha >= 0"):
        fastact.elu_backward(x, y=x, alpha=-0.5, out=out)
    with pytest.raises(ValueError, match="alpha > 0"):
        fastact.celu_backward(x, y=x, alpha=-0.5, out=out)
    with pytest.raises(ValueError, match="finite"):
        fastact.elu(x, np.inf)
    with pytest.raises(ValueError, match="float32"):
        fastact.softplus(np.ones(3, np.float32), 1e300)
    with pytest.raises(TypeError):
        fastact.silu_backward(x, y=x)  # no y= where the table has none
    assert np.all(out == 7.0)
    # Negative parameters are the formula's business: elu(alpha=-1), softplus(beta=-1).
    assert_same(fastact.elu(np.array([-inf, 1.0]), -1.0), np.array([1.0, 1.0]))
    want = np.logaddexp(0, -np.array([-2.0, 3.0])) / -1.0
    np.testing.assert_allclose(fastact.softplus(np.array([-2.0, 3.0]), -1.0), want, rtol=1e-15)


def test_softplus_threshold_cut_is_formed_in_the_dtype():
    """x * beta > threshold, the product rounded to float32 first."""
    mid = np.float32(1 / 0.7)
    x = np.array([np.nextafter(mid, np.float32(0)), mid, np.nextafter(mid, np.float32(9)),
                  np.nextafter(np.nextafter(mid, np.float32(9)), np.float32(9))], np.float32)
    cut = x * np.float32(0.7) > np.float32(1)
    assert cut.any() and not cut.all()
    y = fastact.softplus(x, 0.7, 1.0)
    assert np.array_equal(y == x, cut)
    g = np.ones_like(x)
    assert np.array_equal(fastact.softplus_backward(g, x, beta=0.7, threshold=1.0) == 1, cut)


def _sweep_inputs(dtype):
    """Every binade of the range, the tails where the kernels switch paths
    (-708, -745, -790 ...) densely, and the specials."""
    info = np.finfo(dtype)
    x = np.concatenate([acc.sweep(dtype, -float(info.max), float(info.max), 20_000),
                        np.linspace(-800, 100, 20_011).astype(dtype),
                        np.array([inf, -inf, nan, -0.0], dtype)])
    g = salted(x.size, dtype, seed=9)
    return x, g


@pytest.mark.parametrize("dtype", DTYPES)
def test_simd_levels_and_threads_give_the_same_bits(dtype, monkeypatch):
    x, g = _sweep_inputs(dtype)
    results = {}
    for level in _simd.supported():
        monkeypatch.setattr(_api, "_kernels", _simd.load(level))
        for nt in (1, 2):
            out = []
            for op in SMOOTH:
                for values in _values(op):
                    kw = dict(zip((p.name for p in op.params), values))
                    out += [getattr(fastact, op.name)(x, *values, n_threads=nt),
                            getattr(fastact, op.name + "_backward")(g, x, **kw, n_threads=nt)]
            results[level, nt] = out
    first = next(iter(results.values()))
    for key, out in results.items():
        for a, b in zip(out, first):
            same = (a == b) | (np.isnan(a) & np.isnan(b))
            assert same.all() and (np.signbit(a) == np.signbit(b))[~np.isnan(a)].all(), key
