"""maxout and maxout_backward against the NumPy twins: every axis, k in 1..5,
exact ties, NaN groups, layouts, threads, indices, in place."""
import itertools

import numpy as np
import pytest

import fastact
from fastact import reference as ref
from helpers import DTYPES, THREADS, assert_bits, assert_same, edge_values, nd_layout

# (shape, axis); the grouped length 60 is divisible by every k in 1..5.
GEOMETRIES = [
    ((60,), -1),
    ((3, 60), -1),
    ((60, 7), 0),
    ((4, 60, 5), 1),
    ((2, 3, 60), 2),
    ((2, 3, 60), -1),
    ((60, 2600), 0),          # 156 000 elements, long rows: tiles split `inner`
    ((2600, 60), 1),          # many short groups: parallel over rows
    ((3, 60, 900), 1),        # 162 000 elements, mid-size rows
    ((1_000_020,), 0),        # large 1-D
]
IDS = [f"{s}-ax{a}" for s, a in GEOMETRIES]


def tied(shape, dtype, seed=0):
    """Values drawn from a few integers (many exact ties), with -0.0/+0.0 ties,
    and the edge values (NaN, +-inf, subnormals) salted in."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-2, 3, size=shape).astype(dtype)
    flat = a.reshape(-1)
    n = flat.size
    if n:
        pos = rng.choice(n, size=max(1, n // 40), replace=False)
        flat[pos] = np.resize(edge_values(dtype), pos.size)
        flat[rng.choice(n, size=max(1, n // 40), replace=False)] = -0.0
    return a


def _check_forward(x0, k, axis, y, idx):
    y_ref, idx_ref = ref.maxout(x0, k, axis, return_indices=True)
    assert_same(y, y_ref)
    assert idx.dtype == np.intp
    np.testing.assert_array_equal(idx, idx_ref)
    # Each output is the element at its index.
    xm = np.moveaxis(x0, axis, -1)
    groups = xm.reshape(xm.shape[:-1] + (xm.shape[-1] // k, k))
    picked = np.take_along_axis(groups, np.moveaxis(idx, axis, -1)[..., None], -1)[..., 0]
    assert_same(np.moveaxis(y, axis, -1), picked)


@pytest.mark.parametrize("layout", ["C", "F", "strided", "readonly"])
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("shape,axis", GEOMETRIES, ids=IDS)
def test_forward_backward(shape, axis, k, dtype, n_threads, layout):
    x0 = tied(shape, dtype, seed=k)
    x = nd_layout(x0, layout)
    kw = dict(axis=axis, n_threads=n_threads)
    y = fastact.maxout(x, k, **kw)
    y2, idx = fastact.maxout(x, k, return_indices=True, **kw)
    assert_bits(y, y2)
    _check_forward(x0, k, axis, y2, idx)

    g0 = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    g = nd_layout(g0, "C" if layout == "readonly" else layout)
    expected = ref.maxout_backward(g0, k, x0, axis=axis)
    from_x = fastact.maxout_backward(g, k, x, **kw)
    from_idx = fastact.maxout_backward(g, k, indices=idx, **kw)
    assert_same(from_x, expected)
    assert_bits(from_x, from_idx)
    assert_bits(x, x0)
    assert_bits(g, g0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("shape,axis", GEOMETRIES[-4:], ids=IDS[-4:])
def test_preallocated_outputs_and_in_place_backward(shape, axis, k, dtype):
    x0 = tied(shape, dtype, seed=3)
    y_shape = ref.maxout(x0, k, axis).shape
    y_out = np.empty(y_shape, dtype)
    i_out = np.empty(y_shape, np.intp)
    y, idx = fastact.maxout(x0, k, axis, out=(y_out, i_out), return_indices=True)
    assert y is y_out and idx is i_out
    _check_forward(x0, k, axis, y, idx)
    # out= the y array alone, with indices allocated.
    y_out2 = np.empty(y_shape, dtype)
    y2, idx2 = fastact.maxout(x0, k, axis, out=y_out2, return_indices=True)
    assert y2 is y_out2 and np.array_equal(idx2, idx)
    # Backward into the forward input's buffer (out=x), from x.
    g = np.random.default_rng(2).standard_normal(y_shape).astype(dtype)
    expected = ref.maxout_backward(g, k, x0, axis=axis)
    x = x0.copy()
    assert fastact.maxout_backward(g, k, x, axis=axis, out=x) is x
    assert_same(x, expected)
    # ... and from indices into a preallocated buffer.
    buf = np.full(x0.shape, 9.0, dtype)
    assert fastact.maxout_backward(g, k, indices=idx, axis=axis, out=buf) is buf
    assert_same(buf, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [2, 3, 4])
def test_bitwise_identical_across_thread_counts(k, dtype):
    x = tied((1_000_080,), dtype, seed=5).reshape(-1, 60)  # 16668 rows: k | both axes
    for axis in (0, 1):
        runs = [fastact.maxout(x, k, axis, return_indices=True, n_threads=nt)
                for nt in (1, 2, 3, None)]
        for y, idx in runs[1:]:
            assert_bits(y, runs[0][0])
            assert_bits(idx, runs[0][1])
        g = np.ones(runs[0][0].shape, dtype)
        grads = [fastact.maxout_backward(g, k, x, axis=axis, n_threads=nt) for nt in (1, 2, None)]
        for gr in grads[1:]:
            assert_bits(gr, grads[0])


def test_tie_and_nan_rules():
    nan, inf = np.nan, np.inf
    x = np.array([[1, 1, 0, 0],       # tie: the first
                  [-0.0, 0.0, -1, -1],  # -0 == +0: the first
                  [0, nan, 5, nan],   # the first NaN, and the group is NaN
                  [-inf, -inf, -inf, -inf],
                  [3, inf, inf, 2]])
    y, idx = fastact.maxout(x, 4, return_indices=True)
    assert_same(y, np.array([[1], [0], [nan], [-inf], [inf]]))
    np.testing.assert_array_equal(idx, [[0], [0], [1], [0], [1]])
    g = np.arange(1.0, 6.0).reshape(5, 1)
    grad = fastact.maxout_backward(g, 4, x)
    expected = np.zeros_like(x)
    expected[np.arange(5), idx[:, 0]] = g[:, 0]
    assert_same(grad, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [2, 3, 4])
def test_every_group_of_edge_values_bit_for_bit(k, dtype):
    # Every group of k drawn from ties, signed zeros, two NaN payloads and
    # infinities, at every length (vector bodies and scalar tails) and
    # start (unaligned): the output is the bits of the element np.argmax
    # picks, and both backward paths put g there and +0.0 elsewhere.
    itype = np.uint32 if dtype == np.float32 else np.uint64
    quiet = np.array(np.nan, dtype)
    payload = (quiet.view(itype) | itype(1)).view(dtype)
    values = np.array([1.0, 2.0, quiet, -1.0, 0.0, -0.0, np.inf, -np.inf, payload], dtype)
    combos = np.array(list(itertools.product(range(values.size), repeat=k)))
    pool = values[combos[np.random.default_rng(k).permutation(len(combos))]].reshape(-1)
    for m in [*range(0, 41), len(combos)]:
        for start in (0, 1):
            x = pool[start * k:(start + m) * k]
            groups = x.reshape(-1, k)
            idx_ref = np.argmax(groups, axis=1)
            y, idx = fastact.maxout(x, k, return_indices=True)
            np.testing.assert_array_equal(idx, idx_ref)
            picked = np.take_along_axis(groups, idx_ref[:, None], 1)[:, 0]
            assert_bits(y, picked)
            assert_bits(fastact.maxout(x, k), picked)
            g = np.arange(1, len(groups) + 1, dtype=dtype)
            expected = np.zeros_like(groups)
            np.put_along_axis(expected, idx_ref[:, None], g[:, None], 1)
            assert_bits(fastact.maxout_backward(g, k, x), expected.reshape(-1))
            assert_bits(fastact.maxout_backward(g, k, indices=idx), expected.reshape(-1))
            xc = x.copy()
            fastact.maxout_backward(g, k, xc, out=xc)
            assert_bits(xc, expected.reshape(-1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [2, 4])
def test_outputs_large_enough_for_streaming_stores(k, dtype):
    # Outputs of 8 MiB and more are written with streaming stores where they
    # start 16-byte aligned, with plain stores elsewhere: both, on one thread
    # and on two, give the reference's bits.
    n = 2_400_008
    x = tied((n,), dtype, seed=k)
    _, idx_ref = ref.maxout(x, k, return_indices=True)
    # The bits of the element np.argmax picks (np.maximum's choice between
    # -0.0 and +0.0 is not the first one's).
    y_ref = np.take_along_axis(x.reshape(-1, k), idx_ref[:, None], 1)[:, 0]
    g = np.arange(1, n // k + 1, dtype=dtype)
    grad_ref = ref.maxout_backward(g, k, x)
    for shift in (0, 1):  # 1: outputs one element off the allocation's alignment
        ybuf = np.empty(n // k + 1, dtype)
        ibuf = np.empty(n // k + 1, np.intp)
        obuf = np.empty(n + 1, dtype)
        y, idx, o = ybuf[shift:shift + n // k], ibuf[shift:shift + n // k], obuf[shift:shift + n]
        for nt in (1, 2):
            fastact.maxout(x, k, out=(y, idx), return_indices=True, n_threads=nt)
            assert_bits(y, y_ref)
            np.testing.assert_array_equal(idx, idx_ref)
            fastact.maxout(x, k, out=y, n_threads=nt)
            assert_bits(y, y_ref)
            fastact.maxout_backward(g, k, x, out=o, n_threads=nt)
            assert_bits(o, grad_ref)
            o[:] = 7
            fastact.maxout_backward(g, k, indices=idx_ref, out=o, n_threads=nt)
            assert_bits(o, grad_ref)


def test_indices_of_any_integer_dtype():
    x = tied((6, 20), np.float32, seed=6)
    y, idx = fastact.maxout(x, 4, return_indices=True)
    g = np.ones(y.shape, np.float32)
    expected = fastact.maxout_backward(g, 4, x)
    for dt in (np.int8, np.uint8, np.int32, np.uint64, np.int64):
        assert_bits(fastact.maxout_backward(g, 4, indices=idx.astype(dt)), expected)
    assert_bits(fastact.maxout_backward(g, 4, indices=idx.tolist()), expected)


def test_zero_size_and_k_equal_to_the_axis():
    x = np.zeros((0, 8), np.float64)
    y, idx = fastact.maxout(x, 4, return_indices=True)
    assert y.shape == (0, 2) and idx.shape == (0, 2)
    assert fastact.maxout_backward(y, 4, x).shape == (0, 8)
    assert fastact.maxout(np.zeros((3, 0)), 5).shape == (3, 0)
    x = tied((5, 7), np.float64, seed=7)
    assert_same(fastact.maxout(x, 7), ref.maxout(x, 7))
    assert_same(fastact.maxout(x, 1), x)
    xc = x.copy()
    assert fastact.maxout(xc, 1, out=xc) is xc and np.array_equal(xc, x, equal_nan=True)


def test_out_overlapping_input():
    buf = tied((4000,), np.float64, seed=8)
    x = buf[:3000].copy()
    expected = ref.maxout(x, 3)
    out = buf[500:1500]  # inside x's memory
    fastact.maxout(buf[:3000], 3, out=out)
    assert_same(out, expected)
    # Backward: grad_output overlapping the output buffer.
    g = np.arange(1000.0)
    buf2 = np.concatenate([g, np.zeros(2000)])
    x3 = tied((3000,), np.float64, seed=9)
    expected = ref.maxout_backward(g, 3, x3)
    r = fastact.maxout_backward(buf2[:1000], 3, x3, out=buf2[:3000])
    assert_same(r, expected)


def test_0d_is_one_group_of_one_as_in_numpy_and_pytorch():
    for axis in (0, -1):
        x = np.array(np.nan, np.float32)
        y, idx = fastact.maxout(x, 1, axis, return_indices=True)
        assert y.shape == () and idx.shape == () and np.isnan(y) and idx == 0
        assert idx == np.argmax(x, axis=axis)
        x = np.array(-3.0)
        y_out, i_out = np.empty(()), np.empty((), np.intp)
        assert fastact.maxout(x, 1, axis, out=(y_out, i_out), return_indices=True)[0] is y_out
        assert y_out == -3.0 and i_out == 0
        g = np.array(2.5)
        assert fastact.maxout_backward(g, 1, x, axis=axis) == 2.5
        assert fastact.maxout_backward(g, 1, indices=np.intp(0), axis=axis).shape == ()
        buf = np.zeros(())
        assert fastact.maxout_backward(g, 1, x, axis=axis, out=buf) is buf and buf == 2.5
