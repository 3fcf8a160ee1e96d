"""Every element-wise op of the registry (fastact/_ops.py), forward and
backward, against its NumPy twin, over dtype x n_threads x out mode x memory
layout x size, with edge values; then each op's rules value by value."""
import functools

import numpy as np
import pytest

import fastact
from fastact import reference as ref
from helpers import (
    DTYPES, LAYOUTS, THREADS, assert_bits, assert_same, compare, in_layout, registry_cases,
    salted,
)

# Both sides of the serial threshold (32768) and of the chunk (16384), odd
# lengths; 1_000_003 elements are in the thread-count test below.
SIZES = [0, 1, 7, 1000, 70_001]

SLOPE = 0.2  # a slope that is inexact in binary: rounding to the dtype matters

# name -> (number of data inputs, fastact call, reference on the x-based
# inputs, forward that makes y or None): every registry op (helpers), plus
# absolute-value rectification. Backward ops from y get y = forward(x) as
# their second input and must give the same result as from x.
OPS = {
    **registry_cases(),
    "abs_rect": (1, lambda a, **kw: fastact.leaky_relu(a[0], -1, **kw),
                 lambda a: np.abs(a[0]), None, None),
}


@functools.lru_cache(maxsize=None)
def _inputs(op, n, dtype):
    """(inputs as passed, x-based inputs for the reference), 1-D."""
    if OPS[op][0] == 1:
        x = salted(n, dtype, seed=1)
        return (x,), (x,)
    g = salted(n, dtype, seed=2)
    x = salted(n, dtype, seed=3)
    make_y = OPS[op][3]
    second = make_y(x) if make_y is not None else x
    return (g, second), (g, x)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mode", ["new", "out", "inplace"])
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_matrix(op, dtype, n_threads, mode, layout, size):
    _, call, reference, _, _ = OPS[op]
    passed, for_ref = _inputs(op, size, dtype)
    args = [in_layout(a, layout) for a in passed]
    shape = args[0].shape
    expected = reference(for_ref).reshape(shape)
    before = [a.copy() for a in args]

    if mode == "new":
        result = call(args, n_threads=n_threads)
        assert result.flags.c_contiguous or result.flags.f_contiguous
    elif mode == "out":
        out = in_layout(np.full(size, 7.0, dtype), "C" if layout == "readonly" else layout)
        result = call(args, out=out, n_threads=n_threads)
        assert result is out
        if layout == "strided" and size:
            # Written through a strided out; the elements between are untouched.
            assert np.all(out.base[1::2] == 123.0)
    else:
        target = args[0]
        if layout == "readonly":
            with pytest.raises(ValueError, match="read-only"):
                call(args, out=target, n_threads=n_threads)
            assert_bits(target, before[0])
            return
        result = call(args, out=target, n_threads=n_threads)
        assert result is target

    compare(OPS[op], result, expected, [a.reshape(shape) for a in for_ref])
    first_untouched = 1 if mode == "inplace" else 0
    for a, b in zip(args[first_untouched:], before[first_untouched:]):
        assert_bits(a, b)  # inputs that are not out are never modified


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_bitwise_identical_across_thread_counts(op, dtype):
    passed, _ = _inputs(op, 1_000_003, dtype)
    results = [OPS[op][1](passed, n_threads=nt) for nt in (1, 2, 3, None, -1)]
    for r in results[1:]:
        assert_bits(r, results[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_nan_bits_do_not_depend_on_the_position(op, dtype):
    # A NaN (either sign, with a payload) in any input gives the same bits in
    # a vector loop's body as in its scalar tail (n = 1), so results do not
    # depend on how an array is chunked (threads, Dask blocks). Compilers may
    # swap the operands of a commutative operation in one and not the other.
    itype = np.uint32 if dtype == np.float32 else np.uint64
    nan = np.array(np.nan, dtype)
    for v in (nan, -nan, (nan.view(itype) | itype(5)).view(dtype)):
        for which in range(OPS[op][0]):
            def run(n):
                passed = [np.full(n, 0.75, dtype) for _ in range(OPS[op][0])]
                passed[which][:] = v
                return OPS[op][1](tuple(passed))
            tail, body = run(1), run(67)
            assert_bits(body, np.full(67, tail[0]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_edge_values_exactly(dtype):
    """The API's table of results (the docstrings, the README), value by value."""
    t = dtype
    x = np.array([-2, -0.0, 0, 3, np.nan, np.inf, -np.inf], dtype=t)
    g = np.array([5, 5, 5, 5, 5, np.inf, np.nan], dtype=t)
    nan, inf = np.nan, np.inf
    assert_same(fastact.relu(x), np.array([0, 0, 0, 3, nan, inf, 0], t))
    s = t(0.01)
    assert_same(fastact.leaky_relu(x), np.array([s * t(-2), 0, 0, 3, nan, inf, -inf], t))
    assert_same(fastact.leaky_relu(x, -1), np.array([2, 0, 0, 3, nan, inf, inf], t))
    assert_same(fastact.leaky_relu(x, 0), np.array([0, 0, 0, 3, nan, inf, nan], t))
    # Gradient 0 at the kink; a NaN x passes the gradient; inf/NaN grads are
    # selected, never multiplied by 0.
    assert_same(fastact.relu_backward(g, x), np.array([0, 0, 0, 5, 5, inf, 0], t))
    assert_same(fastact.leaky_relu_backward(g, x),
                np.array([s * 5, s * 5, s * 5, 5, s * 5, inf, nan], t))


@pytest.mark.parametrize("dtype", DTYPES)
def test_subnormals_pass_through(dtype):
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([tiny, -tiny, 3 * tiny], dtype=dtype)
    assert_same(fastact.relu(x), np.array([tiny, 0, 3 * tiny], dtype))
    y = fastact.leaky_relu(x, negative_slope=-1)
    assert y[1] == tiny and y[0] == tiny  # not flushed to zero
    assert_same(fastact.relu_backward(x, x), np.array([tiny, 0, 3 * tiny], dtype))


def test_slope_is_rounded_to_the_dtype():
    x = np.array([-3.0], dtype=np.float32)
    # 0.1 is inexact: the product uses float32(0.1), in float32.
    assert fastact.leaky_relu(x, 0.1)[0] == np.float32(0.1) * np.float32(-3.0)
    assert fastact.leaky_relu(x.astype(np.float64), 0.1)[0] == 0.1 * -3.0


def test_inputs_numpy_accepts():
    assert_same(fastact.relu([-1.0, 2.0]), np.array([0.0, 2.0]))
    assert_same(fastact.relu(memoryview(np.array([-1.0, 2.0], np.float32))),
                np.array([0.0, 2.0], np.float32))
    r = fastact.relu(-1.5)
    assert np.ndim(r) == 0 and r == 0 and np.asarray(r).dtype == np.float64
    r = fastact.relu(np.float32(2.5))
    assert r == 2.5 and np.asarray(r).dtype == np.float32
    x = np.array(-4.0)
    assert fastact.leaky_relu(x, 0.5, out=x) is x and x == -2.0


@pytest.mark.parametrize("op", OPS)
def test_zero_size_and_0d(op):
    n_in, call, reference, _, _ = OPS[op]
    for shape in [(0,), (3, 0), (0, 5, 2)]:
        args = [np.zeros(shape, np.float32)] * n_in
        r = call(args)
        assert r.shape == shape and r.dtype == np.float32
    args = [np.array(v, np.float64) for v in (-1.0, 2.0)[:n_in]]
    compare(OPS[op], np.asarray(call(args)), reference(args), args)


def test_in_place_partial_overlap_is_as_if_copied():
    x = salted(100_001, np.float32, seed=4)
    for lo, hi in [(0, 1), (1, 0), (0, 37), (37, 0)]:
        buf = x.copy()
        src, dst = buf[lo:buf.size - hi], buf[hi:buf.size - lo]
        expected = ref.leaky_relu(src.copy(), 0.3)
        fastact.leaky_relu(src, 0.3, out=dst)
        assert_same(dst, expected)
    # Interleaved: input the even elements, output the odd ones.
    buf = x.copy()
    expected = ref.relu(buf[:-1:2].copy())
    fastact.relu(buf[:-1:2], out=buf[1::2])
    assert_same(buf[1::2], expected)
    # Backward with out overlapping x (not grad_output).
    g = salted(50_000, np.float64, seed=5)
    buf = salted(50_010, np.float64, seed=6)
    xs = buf[10:].copy()
    expected = ref.relu_backward(g, xs)
    r = fastact.relu_backward(g, buf[10:], out=buf[:50_000])
    assert_same(r, expected)


def test_mixed_memory_orders():
    x = salted(3 * 4001, np.float64, seed=7).reshape(3, 4001)
    g = salted(3 * 4001, np.float64, seed=8).reshape(3, 4001)
    expected = ref.relu_backward(g, x)
    xf = np.asfortranarray(x)
    assert_same(fastact.relu_backward(g, xf), expected)
    out = np.empty_like(x, order="F")
    assert fastact.relu_backward(g, xf, out=out) is out
    assert_same(out, expected)
    out = np.empty_like(x)
    assert_same(fastact.relu_backward(x.T.copy().T, g, out=out), ref.relu_backward(x, g))
    # A transposed view is processed without a copy (F-contiguous).
    t = salted(7 * 5001, np.float32, seed=9).reshape(7, 5001).T
    assert_same(fastact.relu(t), ref.relu(t))
    assert fastact.relu(t).flags.f_contiguous


def test_no_copies_for_contiguous_inputs():
    """C- and F-contiguous inputs are processed without copies: an in-place
    call allocates nothing that grows with the array."""
    import tracemalloc

    for order in "CF":
        x = np.asfortranarray(salted(2_000_000, np.float32).reshape(1000, 2000)) \
            if order == "F" else salted(2_000_000, np.float32)
        g = x.copy(order="K")
        fastact.relu(x, out=x)  # warm up
        tracemalloc.start()
        fastact.relu(x, out=x)
        fastact.leaky_relu_backward(g, x, out=g)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 100_000, peak



@pytest.mark.parametrize("dtype", DTYPES)
def test_piecewise_rules_value_by_value(dtype):
    """ReLU6, Hardtanh, Threshold, Hardsigmoid, Hardswish: each formula of
    the API evaluated by hand in the dtype, at the kinks and the edges."""
    t = dtype
    nan, inf = np.nan, np.inf
    x = np.array([-7, -3, -2.5, -1, -0.0, 0, 0.5, 1, 2.5, 3, 6, 7, nan, inf, -inf], t)
    g = np.full_like(x, 5)
    v = [t(a) for a in x]
    five, s6 = t(5), t(1) / t(6)

    def row(values):
        return np.array(values, t)

    assert_same(fastact.relu6(x), row([0, 0, 0, 0, 0, 0, .5, 1, 2.5, 3, 6, 6, nan, 6, 0]))
    assert_same(fastact.relu6_backward(g, x),
                row([0, 0, 0, 0, 0, 0, 5, 5, 5, 5, 0, 0, 5, 0, 0]))
    assert_same(fastact.hardtanh(x),
                row([-1, -1, -1, -1, 0, 0, .5, 1, 1, 1, 1, 1, nan, 1, -1]))
    assert_same(fastact.hardtanh_backward(g, x),
                row([0, 0, 0, 0, 5, 5, 5, 0, 0, 0, 0, 0, 5, 0, 0]))
    assert_same(fastact.threshold(x, 0.5, -9),
                row([-9] * 7 + [1, 2.5, 3, 6, 7, nan, inf, -9]))
    assert_same(fastact.threshold_backward(g, x, threshold=0.5, value=-9),
                row([0] * 7 + [5, 5, 5, 5, 5, 5, 5, 0]))
    clip6 = [min(max(a + t(3), t(0)), t(6)) if a == a else a for a in v]
    assert_same(fastact.hardsigmoid(x), row([c / t(6) for c in clip6]))
    assert_same(fastact.hardsigmoid_backward(g, x),
                row([five * s6 if -3 < a < 3 else 0 for a in v]))
    with np.errstate(invalid="ignore"):
        assert_same(fastact.hardswish(x), row([a * c / t(6) for a, c in zip(v, clip6)]))
    assert_same(fastact.hardswish(x)[-1:], row([nan]))  # -inf * 0: the formula's NaN
    assert_same(fastact.hardswish_backward(g, x),
                row([0 if a <= -3 else (five * (a / t(3) + t(0.5)) if a < 3 else five)
                     for a in v]))
    # The y path of the clipped ops: the forward output gives the same gradient.
    assert_same(fastact.relu6_backward(g, y=fastact.relu6(x)), fastact.relu6_backward(g, x))
    assert_same(fastact.hardtanh_backward(g, y=fastact.hardtanh(x, -2, 2), min_val=-2,
                                          max_val=2),
                fastact.hardtanh_backward(g, x, min_val=-2, max_val=2))


def test_parameters_are_rounded_to_the_dtype():
    """Products and comparisons use the parameters rounded to the data dtype."""
    x = np.array([0.1, 0.3, -3.0], np.float32)
    f = np.float32
    # threshold 0.1 rounds to float32(0.1): x[0] == it, so it is <= and replaced.
    assert_same(fastact.threshold(x, 0.1, 0.7), np.array([f(0.7), f(0.3), f(0.7)]))
    assert_same(fastact.hardtanh(x, -0.1, 0.1), np.array([f(0.1), f(0.1), f(-0.1)]))
    x64 = x.astype(np.float64)  # float32(0.1) != 0.1 in float64: not <= 0.1
    assert fastact.threshold(x64, 0.1, 0.7)[0] == x64[0]
