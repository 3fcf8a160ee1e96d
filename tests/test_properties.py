"""Property tests (hypothesis) against the NumPy twins, and finite-difference
checks of every gradient away from the kink."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import fastact
from fastact import reference as ref
from helpers import assert_same

dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def float_arrays(draw, min_dims=0, max_dims=3, max_side=9):
    dtype = draw(dtypes)
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0,
                                  max_side=max_side))
    elements = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True,
                         width=32 if dtype == np.float32 else 64)
    a = draw(hnp.arrays(dtype, shape, elements=elements))
    if draw(st.booleans()) and a.ndim >= 2:
        a = np.asfortranarray(a)
    if draw(st.booleans()) and a.ndim >= 1:
        a = a[..., ::-1]
    return a


settings.register_profile("fastact", deadline=None, max_examples=150)
settings.load_profile("fastact")


@given(float_arrays(), st.floats(-2, 2, width=32), st.sampled_from([1, 2, None]))
def test_elementwise_properties(x, slope, nt):
    x0 = x.copy()
    assert_same(fastact.relu(x, n_threads=nt), ref.relu(x0))
    assert_same(fastact.leaky_relu(x, slope, n_threads=nt), ref.leaky_relu(x0, slope))
    g = np.ones_like(x)
    assert_same(fastact.relu_backward(g, x, n_threads=nt), ref.relu_backward(g, x0))
    assert_same(fastact.leaky_relu_backward(g, x, negative_slope=slope, n_threads=nt),
                ref.leaky_relu_backward(g, x0, negative_slope=slope))
    np.testing.assert_array_equal(x, x0)


@given(float_arrays(min_dims=1), st.data())
def test_maxout_properties(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    length = x.shape[axis]
    k = data.draw(st.sampled_from([d for d in range(1, 7) if length % d == 0] or [1]))
    if length % k:
        return
    y, idx = fastact.maxout(x, k, axis, return_indices=True)
    y_ref, idx_ref = ref.maxout(x, k, axis, return_indices=True)
    assert_same(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    g = np.arange(y.size, dtype=x.dtype).reshape(y.shape)
    gx = fastact.maxout_backward(g, k, x, axis=axis)
    assert_same(gx, ref.maxout_backward(g, k, x, axis=axis))
    assert_same(fastact.maxout_backward(g, k, indices=idx, axis=axis), gx)


@given(float_arrays(min_dims=1), st.data())
def test_prelu_properties(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    if x.ndim == 1 and axis != 0 and axis != -1:
        return
    c = x.shape[axis]
    w = np.asarray(data.draw(st.lists(st.floats(-2, 2), min_size=c, max_size=c)),
                   dtype=x.dtype) if c != 1 else np.asarray([0.3], x.dtype)
    assert_same(fastact.prelu(x, w, axis=axis), ref.prelu(x, w, axis=axis))
    g = np.ones_like(x)
    gi, gw = fastact.prelu_backward(g, x, w, axis=axis)
    gi_ref, gw_ref = ref.prelu_backward(g, x, w, axis=axis)
    assert_same(gi, gi_ref)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(gw, gw_ref, rtol=1e-5, atol=0)


# --------------------------------------------------------------------------
# Finite differences (float64), away from the kink and from ties.

def _away_from_kink(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return x


def _numeric_vjp(f, x, g, h=1e-6):
    """d/dx sum(g * f(x)), by central differences, one element at a time."""
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = np.sum(g * f(x))
        flat[i] = old - h
        down = np.sum(g * f(x))
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("slope", [0.01, -1.0, 0.3])
def test_leaky_and_relu_gradients_match_finite_differences(slope):
    x = _away_from_kink((4, 5), 1)
    g = np.random.default_rng(2).standard_normal(x.shape)
    num = _numeric_vjp(lambda z: fastact.leaky_relu(z, slope), x, g)
    np.testing.assert_allclose(fastact.leaky_relu_backward(g, x, negative_slope=slope), num,
                               rtol=1e-6, atol=1e-8)
    num = _numeric_vjp(fastact.relu, x, g)
    np.testing.assert_allclose(fastact.relu_backward(g, x), num, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fastact.relu_backward(g, y=fastact.relu(x)), num,
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_prelu_gradients_match_finite_differences(axis):
    x = _away_from_kink((3, 4, 5), 3)
    c = x.shape[axis]
    w = np.random.default_rng(4).uniform(-1, 1, c)
    g = np.random.default_rng(5).standard_normal(x.shape)
    gi, gw = fastact.prelu_backward(g, x, w, axis=axis)
    np.testing.assert_allclose(gi, _numeric_vjp(lambda z: fastact.prelu(z, w, axis=axis), x, g),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gw, _numeric_vjp(lambda v: fastact.prelu(x, v, axis=axis), w, g),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("k,axis", [(2, -1), (3, 0), (4, 1), (5, -1)])
def test_maxout_gradient_matches_finite_differences(k, axis):
    shape = {(-1): (3, 4, 20), 0: (6, 2, 3), 1: (2, 8, 3)}[axis]
    # Distinct values, spaced far wider than h: no ties inside the difference.
    x = np.random.default_rng(6).permutation(np.prod(shape)).reshape(shape) * 0.01
    y = fastact.maxout(x, k, axis)
    g = np.random.default_rng(7).standard_normal(y.shape)
    num = _numeric_vjp(lambda z: fastact.maxout(z, k, axis), x, g)
    np.testing.assert_allclose(fastact.maxout_backward(g, k, x, axis=axis), num,
                               rtol=1e-6, atol=1e-8)
