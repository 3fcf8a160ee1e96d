"""The smooth ops against the contract's accuracy bounds, measured by the
harness (tests/accuracy.py) on sweeps of the finite range; and the harness
itself on cases with known answers; every float32 of the binades where the
float32-lane paths switch. The full sweeps are separate commands:
``python tests/accuracy.py [--dtype float64] [--points N]`` and
``python tests/accuracy.py --exhaustive`` (all 2**32 float32 inputs)."""
import math

import numpy as np
import pytest

import accuracy as acc


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
    x = np.array([-20.0, -1.0, -2.0**-27, 0.5, 3.0])  # exact in float32
    for dtype in (np.float32, np.float64):
        elu, lo = acc.exact("elu", x, dtype, params=(1.0,))
        np.testing.assert_allclose(elu, [math.expm1(-20), math.expm1(-1), math.expm1(-2.0**-27),
                                         0.5, 3.0], rtol=1e-15)
        assert np.all(np.abs(lo) <= np.spacing(np.abs(elu)))
        silu_grad, _ = acc.exact("silu", x, dtype, backward=True)
        s = 1 / (1 + np.exp(-x))
        np.testing.assert_allclose(silu_grad, s * (1 + x * (1 - s)), rtol=1e-12)
    # The float64 reference keeps what float64 cannot: expm1(1e-20) = 1e-20 + 5e-41.
    hi, lo = acc.exact("elu", np.array([-1e-20]), np.float64, params=(1.0,))
    assert hi[0] == -1e-20 and lo[0] > 0


def test_gelu_tail_cancellation_is_seen():
    """The harness sees what the naive 1 + erf form of GELU does: in float32
    it loses everything below about -5.5 (1 + erf cancels)."""
    from scipy import special

    naive = lambda v, *p: v * (special.erf(v / np.float32(math.sqrt(2))) + 1) / 2  # noqa: E731
    x = acc.sweep(np.float32, -10.0, -6.0, 4000)
    err, at, ok = acc.measure(naive, "gelu", ("none",), np.float32, x)
    assert err > 1e6 and -10 <= at <= -6 and not ok
    good = lambda v, *p: (v.astype(np.float64) * special.ndtr(v.astype(np.float64))).astype(v.dtype)  # noqa: E731
    x = acc.sweep(np.float32, -10.0, 10.0, 4000)
    assert acc.measure(good, "gelu", ("none",), np.float32, x)[0] <= 0.5 + 1e-6


@pytest.mark.parametrize("core,lo,hi,extra,ref", [
    ("expm1", -800.0, 800.0, [0.0, 709.78, 709.7827], "expm1"),
    ("exp", -760.0, 720.0, [-745.13, -745.14, -745.2, -708.4, 709.78, 709.7827, 709.79], "exp"),
])
def test_float64_exp_cores_accuracy_and_bits(core, lo, hi, extra, ref):
    """The vectorised exp and expm1 cores of fastact/_math.h (float64): <= 1
    ULP from the subnormal range to the overflow edge, the same bits at
    every SIMD level, the limits at +-inf and NaN."""
    import mpmath as mp
    from fastact import _simd

    mp.mp.prec = 120
    x = np.concatenate([acc.sweep(np.float64, lo, hi, 1500), extra])
    results = []
    for level in _simd.supported():
        out = np.empty_like(x)
        _simd.load(level)._math_core(core, x, out)
        results.append(out)
    for r in results[1:]:
        assert r.tobytes() == results[0].tobytes()
    want = np.array([float(getattr(mp, ref)(mp.mpf(float(v)))) for v in x])
    assert acc.ulp_error(results[0], want, np.float64).max() <= 1.0
    edge = np.array([np.nan, np.inf, -np.inf, -1e308, 1e308])
    out = np.empty_like(edge)
    _simd.kernels._math_core(core, edge, out)
    low = -1.0 if core == "expm1" else 0.0
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == low and out[3] == low
    assert out[4] == np.inf


# --------------------------------------------------------------------------
# Every smooth op of the registry, forward and backward, both dtypes, within
# the contract's bounds: float32 on 1,000,000 points of the whole finite range
# (by bit pattern) plus 300,000 in [-30, 30]; float64 on 4,000 + 4,000
# (mpmath is slow; the full sweep is the command above).

SWEEPS = {np.float32: [(None, None, 1_000_000), (-30.0, 30.0, 300_000)],
          np.float64: [(None, None, 4_000), (-40.0, 40.0, 4_000)]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", acc.cases(), ids=lambda c: c[0])
def test_smooth_op_within_its_bounds(case, dtype):
    label, name, params = case
    fwd, bwd = acc.implementations(["fastact"])["fastact"][name]
    for lo, hi, points in SWEEPS[dtype]:
        x, g = acc.inputs(dtype, points, lo, hi)
        for direction, gg, f in (("forward", None, fwd), ("backward", g, bwd)):
            err, at, ok = acc.measure(f, name, params, dtype, x, gg)
            assert ok, f"{label} {direction} {np.dtype(dtype)}: {err:.3g} ULP at x = {at!r}"


def _bits(v):
    return int(np.array(v, np.float32).view(np.uint32))


# Whole binades (every float32 in them) around the float32-lane paths' switch
# points: the exp reduction's first k (|x| near ln2/2), the cut at 20 and 40,
# the subnormal results below -87, and tiny inputs.
BINADES = [(0.25, 0.5), (16.0, 32.0), (32.0, 64.0), (-64.0, -128.0), (2.0**-20, 2.0**-19),
           (-0.25, -0.5), (-1.0, -2.0)]


@pytest.mark.parametrize("name", ["silu", "elu", "celu", "selu"])
@pytest.mark.parametrize("lo,hi", BINADES)
def test_every_float32_of_a_binade(name, lo, hi):
    rows = acc.exhaustive([name], chunk=1 << 21, backward=True, start=_bits(lo),
                          stop=_bits(hi) + 1)
    assert len(rows) == 2
    for label, direction, (err, at, ok) in rows:
        assert ok, (label, direction, err, at)
