"""The accuracy harness (tests/accuracy.py) measures what it claims: ULPs,
sweeps and references checked on cases with known answers."""
import math

import numpy as np
import pytest

import accuracy as acc

pytest.importorskip("scipy")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ulp_and_errors(dtype):
    one = dtype(1)
    up = np.nextafter(one, dtype(2))
    assert acc.ulp(1.0, dtype) == float(up - one)
    assert acc.ulp_error(up, 1.0, dtype) == 1.0
    tiny = np.finfo(dtype).smallest_subnormal
    assert acc.ulp_error(3 * tiny, 0.0, dtype) == 3.0  # never below the subnormal spacing
    assert acc.ulp_error(np.nan, np.nan, dtype) == 0.0
    assert acc.ulp_error(1.0, np.nan, dtype) == np.inf
    big = float(np.finfo(dtype).max) * 2 if dtype == np.float32 else np.inf
    assert acc.ulp_error(np.inf, big, dtype) == 0.0  # overflow to inf is right


def test_sweep_covers_every_binade():
    x = acc.sweep(np.float32, -1e30, 1e30, 5000)
    assert x.min() == np.float32(-1e30) and x.max() == np.float32(1e30)
    exps = np.unique(np.frexp(x[x != 0])[1])
    assert len(exps) > 150  # tiny magnitudes near 0 as well as the ends
    assert np.all(np.diff(x) > 0)


def test_references_agree_with_known_values():
    x = np.array([-20.0, -1.0, -1e-8, 0.5, 3.0])
    for dtype in (np.float32, np.float64):
        elu = acc.exact("elu", x, dtype)
        np.testing.assert_allclose(elu, [math.expm1(-20), math.expm1(-1), math.expm1(-1e-8),
                                         0.5, 3.0], rtol=1e-15)
        silu_grad = acc.exact("silu", x, dtype, backward=True)
        s = 1 / (1 + np.exp(-x))
        np.testing.assert_allclose(silu_grad, s * (1 + x * (1 - s)), rtol=1e-12)


def test_gelu_tail_cancellation_is_seen():
    """The harness sees the error issue 10 reports: the naive 1 + erf form of
    GELU loses everything below about -5.5 in float32."""
    from scipy import special

    naive = lambda v: v * (special.erf(v / np.float32(math.sqrt(2))) + 1) / 2  # noqa: E731
    err, at = acc.measure(naive, "gelu", np.float32, 4000, -10.0, -6.0)
    assert err > 1e6 and -10 <= at <= -6
    good = lambda v: (v.astype(np.float64) * special.ndtr(v.astype(np.float64))).astype(v.dtype)  # noqa: E731
    assert acc.measure(good, "gelu", np.float32, 4000, -10.0, 10.0)[0] <= 0.5 + 1e-6


def test_expm1_core_accuracy_and_bits():
    """The vectorised expm1 core (fastact/_support.h, issue 10 work in
    progress): <= 1 float64 ULP on a sweep of the whole range, <= 0.5 float32
    ULP once rounded, the same bits at every SIMD level."""
    mp = pytest.importorskip("mpmath")
    from fastact import _simd

    mp.mp.prec = 120
    x = np.concatenate([acc.sweep(np.float64, -800.0, 800.0, 1500),
                        [np.nan, np.inf, -np.inf, 0.0, 709.78, 709.7827]])
    results = []
    for level in _simd.supported():
        out = np.empty_like(x)
        _simd.load(level)._math_core("expm1", x, out)
        results.append(out)
    for r in results[1:]:
        assert r.tobytes() == results[0].tobytes()
    want = np.array([float(mp.expm1(mp.mpf(float(v)))) if np.isfinite(v) else np.expm1(v)
                     for v in x])
    assert acc.ulp_error(results[0], want, np.float64).max() <= 1.0
    x32 = acc.sweep(np.float32, -120.0, 90.0, 50_000).astype(np.float64)
    out = np.empty_like(x32)
    _simd.kernels._math_core("expm1", x32, out)
    with np.errstate(over="ignore"):
        assert acc.ulp_error(out.astype(np.float32), np.expm1(x32), np.float32).max() <= 0.5


def test_exp_core_accuracy_and_bits():
    """The vectorised exp core: <= 1 float64 ULP from the subnormal range to
    the overflow edge, the same bits at every SIMD level."""
    mp = pytest.importorskip("mpmath")
    from fastact import _simd

    mp.mp.prec = 120
    x = np.concatenate([acc.sweep(np.float64, -760.0, 720.0, 1500),
                        [-745.13, -745.14, -745.2, -708.4, 709.78, 709.7827, 709.79]])
    results = []
    for level in _simd.supported():
        out = np.empty_like(x)
        _simd.load(level)._math_core("exp", x, out)
        results.append(out)
    for r in results[1:]:
        assert r.tobytes() == results[0].tobytes()
    want = np.array([float(mp.exp(mp.mpf(float(v)))) for v in x])
    assert acc.ulp_error(results[0], want, np.float64).max() <= 1.0
    edge = np.array([np.nan, np.inf, -np.inf, -1e308, 1e308])
    out = np.empty_like(edge)
    _simd.kernels._math_core("exp", edge, out)
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == 0 and out[3] == 0
    assert out[4] == np.inf
