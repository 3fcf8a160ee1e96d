"""prelu and prelu_backward against the NumPy twins: channel axes (NCHW,
channels-last, any axis), shared slope, layouts, threads, in place."""
import numpy as np
import pytest

import fastact
from fastact import reference as ref
from helpers import (
    DTYPES, THREADS, assert_bits, assert_same, nd_layout, salted, salted_nd,
    sum_tolerance,
)

# (x shape, axis, number of weights); sizes on both sides of the threshold.
GEOMETRIES = [
    ((2, 3, 4, 5), 1, 3),          # NCHW
    ((2, 4, 5, 3), -1, 3),         # channels last
    ((6, 4), 0, 6),
    ((2, 3, 4), 2, 4),
    ((7,), 0, 7),                  # 1-D, one slope per element
    ((7,), 1, 1),                  # 1-D, default axis: one shared slope
    ((), 1, 1),                    # 0-d
    ((5, 3, 2), 1, 1),             # a shared slope on N-D
    ((4, 8, 70, 70), 1, 8),        # 156 800 elements: parallel
    ((4, 70, 70, 8), -1, 8),       # channels last, parallel
    ((3, 200_001), 0, 3),          # few long channel runs
    ((70_001, 3), 1, 3),           # many short rows
    ((1_000_003,), 1, 1),          # shared slope, large
]
IDS = [f"{s}-ax{a}-w{c}" for s, a, c in GEOMETRIES]


def _tame(a):
    """float64 +-max -> +-1e100: products of two stay finite in float64, so the
    weight-gradient sum does not overflow in one summation order and not in
    another (float32 values cannot overflow a float64 product)."""
    big = np.abs(a) == np.finfo(a.dtype).max
    a[big] = np.copysign(1e100, a[big]) if a.dtype == np.float64 else a[big]
    return a


def _weight(c, dtype, seed=11):
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1.5, 1.5, size=c).astype(dtype)
    if c > 2:
        w[0], w[1] = 0.0, -1.0
    return w


def _grad_weight_ok(actual, g, x, w, axis):
    expected = ref.prelu_backward(g, x, w, axis=axis)[1]
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    with np.errstate(all="ignore"):
        terms = np.where(x > 0, 0.0, g.astype(np.float64) * x.astype(np.float64))
    abs_tol, rel_tol = sum_tolerance(terms, x.dtype)
    np.testing.assert_allclose(actual, expected, rtol=2 * rel_tol, atol=abs_tol)


@pytest.mark.parametrize("layout", ["C", "F", "strided", "readonly", "misaligned"])
@pytest.mark.parametrize("mode", ["new", "out", "inplace"])
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis,c", GEOMETRIES, ids=IDS)
def test_forward_and_backward(shape, axis, c, dtype, n_threads, mode, layout):
    x0 = _tame(salted_nd(shape, dtype, seed=1))
    g0 = _tame(salted_nd(shape, dtype, seed=2))
    w = _weight(c, dtype)
    x, g = nd_layout(x0, layout), nd_layout(g0, layout)
    kw = dict(axis=axis, n_threads=n_threads)
    fwd_expected = ref.prelu(x0, w, axis=axis)
    bwd_expected = ref.prelu_backward(g0, x0, w, axis=axis)[0]
    if mode == "inplace" and layout == "readonly":
        with pytest.raises(ValueError, match="read-only"):
            fastact.prelu(x, w, out=x, **kw)
        assert_bits(x, x0)
        return
    if mode == "new":
        y = fastact.prelu(x, w, **kw)
        gi, gw = fastact.prelu_backward(g, x, w, **kw)
    elif mode == "out":
        out1, out2 = nd_layout(np.zeros(shape, dtype), "C" if layout == "readonly" else layout), \
            nd_layout(np.zeros(shape, dtype), "C" if layout == "readonly" else layout)
        y = fastact.prelu(x, w, out=out1, **kw)
        gi, gw = fastact.prelu_backward(g, x, w, out=out2, **kw)
        assert y is out1 and gi is out2
    else:
        gi, gw = fastact.prelu_backward(g, x, w, out=g, **kw)
        y = fastact.prelu(x, w, out=x, **kw)
        assert y is x and gi is g
    assert_same(y, fwd_expected)
    assert_same(gi, bwd_expected)
    _grad_weight_ok(gw, g0, x0, w, axis)
    if mode != "inplace":
        assert_bits(x, x0)
        assert_bits(g, g0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis,c", GEOMETRIES, ids=IDS)
def test_weight_gradient_bits_do_not_depend_on_threads(shape, axis, c, dtype):
    x = salted_nd(shape, dtype, seed=3)
    x[np.isnan(x)] = 0  # a finite sum, so that the bits mean something
    x[np.isinf(x)] = -1
    g = salted_nd(shape, dtype, seed=4)
    g[~np.isfinite(g)] = 1
    w = _weight(c, dtype)
    results = [fastact.prelu_backward(g, x, w, axis=axis, n_threads=nt)
               for nt in (1, 2, 3, 16, None)]
    for gi, gw in results[1:]:
        assert_bits(gi, results[0][0])
        assert_bits(gw, results[0][1])


def test_large_nchw_and_channels_last_agree():
    x = salted_nd((8, 16, 40, 40), np.float32, seed=5)
    g = salted_nd((8, 16, 40, 40), np.float32, seed=6)
    w = _weight(16, np.float32)
    gi1, gw1 = fastact.prelu_backward(g, x, w, axis=1)
    xl, gl = np.moveaxis(x, 1, -1).copy(), np.moveaxis(g, 1, -1).copy()
    gi2, gw2 = fastact.prelu_backward(gl, xl, w, axis=-1)
    assert_same(np.moveaxis(gi2, -1, 1), gi1)
    np.testing.assert_allclose(gw1, gw2, rtol=1e-6)


def test_weight_forms():
    x = salted_nd((2, 3, 4), np.float32, seed=7)
    g = salted_nd((2, 3, 4), np.float32, seed=8)
    w = [0.1, -0.5, 2.0]
    expected = ref.prelu(x, np.array(w, np.float32))
    # A list, a float64 array (cast to float32), a (3, 1) array.
    for weight in (w, np.array(w), np.array(w).reshape(3, 1)):
        assert_same(fastact.prelu(x, weight), expected)
        gw = fastact.prelu_backward(g, x, weight)[1]
        assert gw.shape == np.shape(weight) and gw.dtype == np.float32
    # Scalar and one-element weights: the grad has the weight's shape.
    for weight, shape in ((0.25, ()), ([0.25], (1,)), (np.full((1, 1), 0.25), (1, 1))):
        assert_same(fastact.prelu(x, weight), ref.leaky_relu(x, 0.25))
        gw = fastact.prelu_backward(g, x, weight)[1]
        assert gw.shape == shape
        with np.errstate(all="ignore"):
            terms = np.where(x > 0, 0.0, g.astype(np.float64) * x)
        np.testing.assert_allclose(gw.reshape(()), terms.sum().astype(np.float32), rtol=1e-6)
    # An integer weight is cast too.
    assert_same(fastact.prelu(x, [1, 0, 2]), ref.prelu(x, np.array([1, 0, 2], np.float32)))


def test_nan_x_makes_the_channel_gradient_nan():
    x = np.ones((2, 3, 4))
    x[1, 2, 3] = np.nan
    x[0, 0, 0] = -2.0
    g = np.ones_like(x)
    gi, gw = fastact.prelu_backward(g, x, [0.5, 0.5, 0.5])
    assert gw[0] == -2.0 and gw[1] == 0.0 and np.isnan(gw[2])
    assert gi[1, 2, 3] == 0.5 and gi[0, 0, 0] == 0.5 and gi[0, 0, 1] == 1.0


def test_zero_size():
    x = np.zeros((0, 3, 2), np.float32)
    assert fastact.prelu(x, [1, 2, 3]).shape == (0, 3, 2)
    gi, gw = fastact.prelu_backward(x, x, [1, 2, 3])
    assert gi.shape == (0, 3, 2) and np.array_equal(gw, np.zeros(3, np.float32))


def test_out_overlapping_weight_or_input():
    buf = salted(10_000, np.float64, seed=9)
    x = buf[:9_000].reshape(3, 3_000)
    w = buf[9_000:9_003]
    expected = ref.prelu(x.copy(), w.copy(), axis=0)
    out = buf[3:9_003].reshape(3, 3_000)  # overlaps x and holds w
    assert fastact.prelu(x, w, out=out, axis=0) is out
    assert_same(out, expected)
