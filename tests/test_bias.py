"""The fused bias (``bias=``, ``bias_axis=``) and the bias gradient
(``return_bias_grad=True``) of every element-wise op, PReLU and RReLU.

The reference is the two-step computation: NumPy's ``x + b`` (in the data
dtype), then the same fastact op without a bias, which the op's own tests hold
to its twin. The fused call must give the same bits; the bias gradient is
checked against a float64 NumPy sum of the input gradient, and for the same
bits across thread counts."""
import numpy as np
import pytest

import fastact
from fastact import _bench, _ops
from helpers import DTYPES, assert_bits, salted, salted_nd, sum_tolerance

# (x shape, bias_axis, bias size): features last, NCHW, a shared bias, and
# the kernel's cases: a period of channels that fits its tile or not, with
# one element or many per channel run; both sides of the serial threshold.
GEOMETRIES = [
    ((3, 5), -1, 5),
    ((2, 3, 4, 5), 1, 3),
    ((2, 4, 5, 3), -1, 3),
    ((7,), -1, 7),
    ((6, 4), 0, 6),
    ((5, 3, 2), -1, 1),
    ((1000, 7, 11), 1, 7),         # 77 000 elements; period 77
    ((64, 1100), -1, 1100),        # rows wider than the tile
    ((4, 8, 70, 70), 1, 8),        # long channel runs
    ((3, 200, 3, 40), 1, 200),     # runs of 120, a period beyond the tile
    ((70_001, 3), -1, 3),          # many short rows
]
IDS = [f"{s}-ax{a}-b{c}" for s, a, c in GEOMETRIES]
OPS = _ops.ELEMENTWISE
OP_IDS = [op.name for op in OPS]


def _bias(shape, axis, size, dtype, seed=1):
    """Finite bias values (no NaN: the sum's NaN bits then do not depend on
    which operand NumPy puts first), and the array that broadcasts them."""
    b = salted(size, dtype, seed=seed)
    b[~np.isfinite(b)] = 0.75
    along = [1] * len(shape)
    if size > 1:
        along[axis] = size
    return b, b.reshape(along)


def _plus(x, bb):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.add(x, bb, dtype=x.dtype)


def _sums(gi, axis, size):
    """The bias gradient in float64: over every axis but ``axis``."""
    g64 = gi.astype(np.float64)
    if size == 1:
        return np.array([g64.sum()])
    others = tuple(d for d in range(gi.ndim) if d != axis % gi.ndim)
    return g64.sum(axis=others)


def _assert_close_sums(actual, expected, terms):
    """Float64 sums taken in two orders, one rounded to actual's dtype:
    NaN where NaN, equal infinities, else within the summation bound."""
    dtype = actual.dtype
    actual = actual.astype(np.float64).reshape(-1)
    expected = np.asarray(expected, np.float64).reshape(-1)
    assert np.array_equal(np.isnan(actual), np.isnan(expected))
    bound, eps = sum_tolerance(np.abs(terms), dtype)
    near = np.isfinite(expected) & (np.abs(expected) <= np.finfo(dtype).max)
    assert np.all(np.abs(actual[near] - expected[near]) <= bound + 2 * eps * np.abs(expected[near]))
    assert np.array_equal(actual[np.isinf(expected)], expected[np.isinf(expected)])


def _assert_sums(grad_bias, gi, axis, size):
    _assert_close_sums(grad_bias, _sums(gi, axis, size), gi)


def _tame(x):
    """Huge values -> 1e30: sums of gradients stay finite in both dtypes."""
    x[np.abs(x) > 1e30] = np.copysign(1e30, x[np.abs(x) > 1e30])
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis,size", GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
def test_forward_equals_two_steps(op, shape, axis, size, dtype):
    x = salted_nd(shape, dtype)
    b, bb = _bias(shape, axis, size, dtype)
    fwd = getattr(fastact, op.name)
    expected = fwd(_plus(x, bb), *op.sample)
    assert_bits(fwd(x, *op.sample, bias=b, bias_axis=axis), expected)
    x1 = x.copy()
    y = fwd(x1, *op.sample, out=x1, bias=b, bias_axis=axis)  # in place
    assert y is x1
    assert_bits(x1, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis,size", GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("op", OPS, ids=OP_IDS)
def test_backward_from_x_with_bias_grad(op, shape, axis, size, dtype):
    x = salted_nd(shape, dtype)
    g = _tame(salted_nd(shape, dtype, seed=2))
    b, bb = _bias(shape, axis, size, dtype)
    bwd = getattr(fastact, op.name + "_backward")
    kw = dict(zip((p.name for p in op.params), op.sample))
    expected = bwd(g, _plus(x, bb), **kw)
    assert_bits(bwd(g, x, bias=b, bias_axis=axis, **kw), expected)
    gi, gb = bwd(g, x, bias=b, bias_axis=axis, return_bias_grad=True, **kw)
    assert_bits(gi, expected)
    assert gb.dtype == dtype and gb.shape == b.shape
    _assert_sums(gb, gi, axis, size)
    g1 = g.copy()
    gi1, gb1 = bwd(g1, x, out=g1, bias=b, bias_axis=axis, return_bias_grad=True, **kw)
    assert gi1 is g1
    assert_bits(gi1, expected)
    assert_bits(gb1, gb)


@pytest.mark.parametrize("shape,axis,size", GEOMETRIES[6:], ids=IDS[6:])
@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_grad_same_bits_for_every_thread_count(shape, axis, size, dtype):
    x = salted_nd(shape, dtype)
    g = _tame(salted_nd(shape, dtype, seed=2))
    b, _ = _bias(shape, axis, size, dtype)
    runs = [fastact.leaky_relu_backward(g, x, bias=b, bias_axis=axis, return_bias_grad=True,
                                        n_threads=t) for t in (1, 2, 3)]
    for gi, gb in runs[1:]:
        assert_bits(gi, runs[0][0])
        assert_bits(gb, runs[0][1])
    gbs = [fastact.prelu_backward(g, x, np.full(size, 0.1), axis=axis, bias=b, bias_axis=axis,
                                  return_bias_grad=True, n_threads=t) for t in (1, 2)]
    for a, c in zip(*gbs):
        assert_bits(a, c)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_grad_without_bias_and_from_y(dtype):
    x = salted_nd((40, 6), dtype)
    g = _tame(salted_nd((40, 6), dtype, seed=2))
    gi, gb = fastact.relu_backward(g, x, return_bias_grad=True)
    assert gb.shape == (6,)
    _assert_sums(gb, gi, -1, 6)
    y = fastact.relu(x)
    gi_y, gb_y = fastact.relu_backward(g, y=y, return_bias_grad=True, bias_axis=0)
    assert gb_y.shape == (40,)
    _assert_sums(gb_y, gi_y, 0, 40)
    with pytest.raises(TypeError, match="y="):
        fastact.relu_backward(g, y=y, bias=np.zeros(6, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_shapes_and_scalars(dtype):
    x = salted_nd((4, 5), dtype)
    g = salted_nd((4, 5), dtype, seed=2)
    for bias in (0.5, [0.5], np.full((1, 5), 0.5)):
        expected = fastact.elu(x + np.asarray(bias, dtype))
        assert_bits(fastact.elu(x, bias=bias), expected)
        _, gb = fastact.elu_backward(g, x, bias=bias, return_bias_grad=True)
        assert gb.shape == np.shape(bias) and gb.dtype == dtype
    # a float64 bias is cast to float32 data's dtype first
    b64 = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    assert_bits(fastact.relu(x, bias=b64), fastact.relu(x + b64.astype(dtype)))


@pytest.mark.parametrize("layout", ["F", "strided", "reversed"])
def test_bias_on_other_layouts(layout):
    base = salted_nd((6, 8, 5), np.float32)
    x = np.asfortranarray(base) if layout == "F" else (
        np.repeat(base, 2, axis=2)[:, :, ::2] if layout == "strided" else base[::-1, ::-1])
    b, bb = _bias(x.shape, 1, 8, np.float32)
    expected = fastact.hardswish(_plus(np.ascontiguousarray(x), bb))
    assert_bits(fastact.hardswish(x, bias=b, bias_axis=1), expected)
    g = salted_nd(x.shape, np.float32, seed=3)
    gi, gb = fastact.hardswish_backward(g, x, bias=b, bias_axis=1, return_bias_grad=True)
    assert_bits(gi, fastact.hardswish_backward(g, _plus(np.ascontiguousarray(x), bb)))
    _assert_sums(gb, gi, 1, 8)
    o = np.zeros((6, 8, 10), np.float32)[:, :, ::2]  # a strided out, written through
    assert fastact.hardswish(x, out=o, bias=b, bias_axis=1) is o
    assert_bits(o, expected)


def test_empty_arrays():
    x = np.empty((0, 5), np.float32)
    assert fastact.relu(x, bias=np.ones(5)).shape == (0, 5)
    gi, gb = fastact.relu_backward(x, x, bias=np.ones(5), return_bias_grad=True)
    assert gi.shape == (0, 5)
    assert_bits(gb, np.zeros(5, np.float32))
    x = np.empty((3, 0), np.float64)
    gi, gb = fastact.relu_backward(x, x, return_bias_grad=True)
    assert gi.shape == (3, 0) and gb.shape == (0,)
    gi, gb = fastact.relu_backward(x, x, bias_axis=0, return_bias_grad=True)
    assert_bits(gb, np.zeros(3))


def test_bad_bias_raises_before_writing():
    x = salted_nd((4, 5), np.float64)
    out = np.full_like(x, 7.0)
    for bias, axis, exc in ((np.ones(4), -1, ValueError), (np.ones(6), -1, ValueError),
                            (np.ones(5), 2, ValueError), (["a"] * 5, -1, TypeError),
                            (np.ones(5, complex), -1, TypeError), (np.ones(5), 1.0, TypeError)):
        with pytest.raises(exc):
            fastact.relu(x, out=out, bias=bias, bias_axis=axis)
        with pytest.raises(exc):
            fastact.leaky_relu_backward(x, x, out=out, bias=bias, bias_axis=axis,
                                        return_bias_grad=True)
        with pytest.raises(exc):
            fastact.prelu(x, 0.1, out=out, bias=bias, bias_axis=axis)
        assert np.all(out == 7.0)
    with pytest.raises(ValueError, match="one dimension"):
        fastact.relu_backward(np.float32(1), np.float32(1), return_bias_grad=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,axis,w_size,bias_axis,b_size", [
    ((2, 3, 4, 5), 1, 3, 1, 3),        # NCHW, one axis: fused
    ((2, 4, 5, 3), -1, 3, -1, 3),      # channels last
    ((2, 3, 4, 5), 1, 1, 1, 3),        # a shared slope, a bias per channel
    ((2, 3, 4, 5), 1, 3, -1, 1),       # a slope per channel, a shared bias
    ((2, 3, 4, 5), 1, 3, -1, 5),       # two axes: NumPy forms the sum
    ((4, 8, 70, 70), 1, 8, 1, 8),      # parallel
])
def test_prelu_with_bias(shape, axis, w_size, bias_axis, b_size, dtype):
    x = salted_nd(shape, dtype)
    g = _tame(salted_nd(shape, dtype, seed=2))
    w = np.linspace(0.05, 0.3, w_size).astype(dtype)
    b, bb = _bias(shape, bias_axis, b_size, dtype)
    t = _plus(x, bb)
    assert_bits(fastact.prelu(x, w, axis=axis, bias=b, bias_axis=bias_axis),
                fastact.prelu(t, w, axis=axis))
    gi, gw, gb = fastact.prelu_backward(g, x, w, axis=axis, bias=b, bias_axis=bias_axis,
                                        return_bias_grad=True)
    gi_ref, gw_ref = fastact.prelu_backward(g, t, w, axis=axis)
    assert_bits(gi, gi_ref)
    assert gw.shape == gw_ref.shape and gb.shape == b.shape
    # The weight gradient's sums may be taken in another order than prelu's own.
    with np.errstate(over="ignore", invalid="ignore"):
        _assert_close_sums(gw, gw_ref, g.astype(np.float64) * t)
    _assert_sums(gb, gi, bias_axis, b_size)
    pair = fastact.prelu_backward(g, x, w, axis=axis, bias=b, bias_axis=bias_axis)
    assert len(pair) == 2
    assert_bits(pair[0], gi_ref)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rrelu_with_bias(dtype):
    x = salted_nd((50, 7), dtype)
    g = _tame(salted_nd((50, 7), dtype, seed=2))
    b, bb = _bias((50, 7), -1, 7, dtype)
    t = _plus(x, bb)
    assert_bits(fastact.rrelu(x, bias=b), fastact.rrelu(t))
    assert_bits(fastact.rrelu(x, training=True, seed=3, bias=b),
                fastact.rrelu(t, training=True, seed=3))
    y, noise = fastact.rrelu(x, training=True, seed=3, return_noise=True, bias=b)
    y_ref, noise_ref = fastact.rrelu(t, training=True, seed=3, return_noise=True)
    assert_bits(y, y_ref)
    assert_bits(noise, noise_ref)
    gi, gb = fastact.rrelu_backward(g, x, bias=b, return_bias_grad=True)
    assert_bits(gi, fastact.rrelu_backward(g, t))
    _assert_sums(gb, gi, -1, 7)
    gi, gb = fastact.rrelu_backward(g, noise=noise, training=True, return_bias_grad=True)
    _assert_sums(gb, gi, -1, 7)
    with pytest.raises(TypeError, match="noise"):
        fastact.rrelu_backward(g, noise=noise, training=True, bias=b)


def test_dask_bias_matches_in_memory():
    da = pytest.importorskip("dask.array")
    import fastact.dask as fd

    x = salted_nd((6, 10, 7), np.float32)
    g = _tame(salted_nd((6, 10, 7), np.float32, seed=2))
    xd, gd = da.from_array(x, chunks=(4, 3, 5)), da.from_array(g, chunks=(4, 3, 5))
    for axis, size in ((1, 10), (-1, 7), (0, 1)):
        b, _ = _bias(x.shape, axis, size, np.float32)
        assert_bits(fd.gelu(xd, bias=b, bias_axis=axis).compute(),
                    fastact.gelu(x, bias=b, bias_axis=axis))
        gi, gb = fd.elu_backward(gd, xd, bias=b, bias_axis=axis, return_bias_grad=True)
        gi_ref, gb_ref = fastact.elu_backward(g, x, bias=b, bias_axis=axis,
                                              return_bias_grad=True)
        assert_bits(gi.compute(), gi_ref)
        assert gb.shape == gb_ref.shape
        _assert_close_sums(gb.compute(), gb_ref.astype(np.float64), gi_ref)
        w = np.linspace(0.1, 0.2, 10).astype(np.float32)
        assert_bits(fd.prelu(xd, w, axis=1, bias=b, bias_axis=axis).compute(),
                    fastact.prelu(x, w, axis=1, bias=b, bias_axis=axis))
        got = [a.compute() for a in fd.prelu_backward(gd, xd, w, axis=1, bias=b, bias_axis=axis,
                                                      return_bias_grad=True)]
        ref = fastact.prelu_backward(g, x, w, axis=1, bias=b, bias_axis=axis,
                                     return_bias_grad=True)
        assert_bits(got[0], ref[0])
        _assert_close_sums(got[1], ref[1], g.astype(np.float64) * x)
        _assert_close_sums(got[2], ref[2], ref[0])
        assert_bits(fd.rrelu(xd, bias=b, bias_axis=axis).compute(),
                    fastact.rrelu(x, bias=b, bias_axis=axis))
    _, gb = fd.relu_backward(gd, y=xd, return_bias_grad=True)
    assert gb.shape == (7,)
    with pytest.raises(TypeError):
        fd.relu_backward(gd, y=xd, bias=np.zeros(7, np.float32))
    with pytest.raises(ValueError):
        fd.relu(xd, bias=np.zeros(5, np.float32))


@pytest.mark.parametrize("name", _bench.BIAS_OPS)
@pytest.mark.parametrize("layout", ["features-last", "NCHW"])
def test_the_bias_benchmark_compares_equal_results(name, layout):
    fused, two = _bench.bias_case(name, layout, False, 3000)
    a = np.array(fused(), copy=True)
    b = np.array(two(), copy=True)
    assert_bits(a, b)
    fused, two = _bench.bias_case(name, layout, True, 3000)
    r = fused()
    gi, gb = np.array(r[0], copy=True), r[-1]
    gi2, sums = two()
    gi2 = gi2[0] if isinstance(gi2, tuple) else gi2
    assert_bits(gi, gi2)
    np.testing.assert_allclose(gb, sums, rtol=1e-5, atol=1e-5)
