"""Bad input: a clear TypeError/ValueError, raised before anything is
written; never a crash, never Cython's "No matching signature found"."""
import inspect

import numpy as np
import pytest

import fastact
from fastact import _ops
from helpers import assert_bits

F32 = np.float32
DTYPES_ALL = (np.float32, np.float64)
X = np.linspace(-2, 2, 24, dtype=F32).reshape(2, 3, 4)
G = np.ones_like(X)
Y, IDX = fastact.maxout(X, 2, return_indices=True)

# Every public function, called with good arguments, with one data argument
# that the test replaces. name -> (call(data) with data the replaced array).
CALLS = {
    "prelu": lambda a, **kw: fastact.prelu(a, [0.1, 0.2, 0.3], **kw),
    "maxout": lambda a, **kw: fastact.maxout(a, 2, **kw),
    "rrelu": lambda a, **kw: fastact.rrelu(a, **kw),
    "rrelu_training": lambda a, **kw: fastact.rrelu(a, training=True, seed=1, **kw),
    "rrelu_backward": lambda a, **kw: fastact.rrelu_backward(G, a, **kw),
    "rrelu_backward_noise": lambda a, **kw: fastact.rrelu_backward(G, noise=a, training=True,
                                                                   **kw),
    "prelu_backward": lambda a, **kw: fastact.prelu_backward(G, a, [0.1, 0.2, 0.3], **kw),
    "maxout_backward": lambda a, **kw: fastact.maxout_backward(Y, 2, a, **kw),
    "maxout_backward_idx": lambda a, **kw: fastact.maxout_backward(a, 2, indices=IDX, **kw),
}
# Every element-wise op of the registry: forward (the replaced array is x),
# backward from x and from y (the replaced array is x or y).
for _op in _ops.ELEMENTWISE:
    _f, _b = getattr(fastact, _op.name), getattr(fastact, _op.name + "_backward")
    _kw = {p.name: v for p, v in zip(_op.params, _op.sample)}
    CALLS[_op.name] = lambda a, _f=_f, _p=_op.sample, **kw: _f(a, *_p, **kw)
    CALLS[_op.name + "_backward"] = lambda a, _b=_b, _kw=_kw, **kw: _b(G, a, **_kw, **kw)
    if _op.y:
        CALLS[_op.name + "_backward_y"] = lambda a, _b=_b, _kw=_kw, **kw: _b(G, y=a, **_kw, **kw)
# Calls with a single data input: a dtype mismatch can only be with out.
SINGLE = {"prelu", "maxout", "maxout_backward_idx", "rrelu", "rrelu_training",
          *(op.name for op in _ops.ELEMENTWISE)}
BAD_DTYPES = [np.int64, np.int32, np.bool_, np.float16, np.complex64, np.complex128,
              object, np.uint8]


def _input_for(name):
    return Y if name == "maxout_backward_idx" else X


@pytest.mark.parametrize("dtype", BAD_DTYPES)
@pytest.mark.parametrize("name", CALLS)
def test_unsupported_dtype_is_a_type_error_naming_it(name, dtype):
    a = _input_for(name).astype(dtype)
    with pytest.raises(TypeError) as e:
        CALLS[name](a)
    msg = str(e.value)
    assert np.dtype(dtype).name in msg or np.dtype(dtype).str in msg
    assert "float32" in msg and "float64" in msg


@pytest.mark.parametrize("name", CALLS)
def test_int_list_and_big_endian_are_rejected(name):
    a = _input_for(name)
    with pytest.raises(TypeError, match="int64"):
        CALLS[name](a.astype(np.int64).tolist())
    with pytest.raises(TypeError, match="float32 and float64"):
        CALLS[name](a.astype(">f4"))


@pytest.mark.parametrize("name", CALLS)
def test_dtype_mismatch_is_a_type_error(name):
    a = _input_for(name).astype(np.float64)  # the others are float32
    if name in SINGLE:
        # Single data input: the mismatch is with out.
        with pytest.raises(TypeError):
            CALLS[name](_input_for(name), out=np.empty(np.shape(CALLS[name](_input_for(name))),
                                                        np.float64))
    else:
        with pytest.raises(TypeError, match="dtype"):
            CALLS[name](a)


@pytest.mark.parametrize("name", [n for n in CALLS if n not in SINGLE
                                  and not n.startswith("maxout")])
def test_shape_mismatch_with_equal_size_is_a_value_error(name):
    with pytest.raises(ValueError, match="shape"):
        CALLS[name](X.reshape(2, 4, 3))


def test_maxout_backward_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        fastact.maxout_backward(Y.reshape(2, 6, 1), 2, X)
    with pytest.raises(ValueError, match="shape"):
        fastact.maxout_backward(Y, 2, indices=IDX.reshape(2, 6, 1))


@pytest.mark.parametrize("name", CALLS)
def test_bad_out_leaves_everything_untouched(name):
    call = CALLS[name]
    good = call(_input_for(name))
    good = good[0] if isinstance(good, tuple) else good
    sentinel = 77.0
    cases = [
        (np.full(good.shape + (1,), sentinel, F32), ValueError),        # shape
        (np.full(good.size, sentinel, F32), ValueError) if good.ndim != 1 else None,
        (np.full(good.shape, sentinel, np.float64), TypeError),         # dtype
        (np.full(good.shape, sentinel, np.int32), TypeError),
    ]
    ro = np.full(good.shape, sentinel, F32)
    ro.flags.writeable = False
    cases.append((ro, ValueError))
    for out, err in filter(None, cases):
        with pytest.raises(err):
            call(_input_for(name), out=out)
        assert np.all(out == sentinel)
    with pytest.raises(TypeError, match="ndarray"):
        call(_input_for(name), out=[0.0] * good.size)


@pytest.mark.parametrize("bad", [0, 1.5, 2.0, "2", True, False, [2], np.float64(2)])
@pytest.mark.parametrize("name", CALLS)
def test_bad_n_threads(name, bad):
    with pytest.raises(ValueError if bad == 0 and not isinstance(bad, bool) else TypeError):
        CALLS[name](_input_for(name), n_threads=bad)


@pytest.mark.parametrize("k", [0, -1, 2.0, 5, 7, "2", None, True])
def test_bad_k_is_a_value_error(k):
    out = np.full(Y.shape, 5.0, F32)
    with pytest.raises(ValueError, match="k"):
        fastact.maxout(X, k, out=out)
    with pytest.raises(ValueError, match="k"):
        fastact.maxout_backward(Y, k, X)
    assert np.all(out == 5.0)
    if k not in (5, 7):  # any k >= 1 fits the indices path
        with pytest.raises(ValueError, match="k"):
            fastact.maxout_backward(Y, k, indices=IDX)


@pytest.mark.parametrize("axis", [3, -4, 10])
def test_bad_axis_is_an_axis_error(axis):
    for call in (lambda: fastact.maxout(X, 1, axis=axis),
                 lambda: fastact.maxout_backward(Y, 1, X, axis=axis),
                 lambda: fastact.maxout_backward(Y, 1, indices=IDX, axis=axis),
                 lambda: fastact.prelu(X, [1.0, 2.0], axis=axis),
                 lambda: fastact.prelu_backward(G, X, [1.0, 2.0], axis=axis)):
        with pytest.raises(np.exceptions.AxisError):
            call()
    with pytest.raises(ValueError):  # AxisError is a ValueError
        fastact.maxout(X, 1, axis=axis)
    with pytest.raises(TypeError):
        fastact.maxout(X, 1, axis=1.0)


def test_maxout_of_0d_takes_axis_0_or_minus_1_only():
    with pytest.raises(np.exceptions.AxisError):
        fastact.maxout(np.float32(1.0), 1, axis=1)
    with pytest.raises(ValueError, match="k=2"):
        fastact.maxout(np.float32(1.0), 2)
    with pytest.raises(ValueError, match="shape"):
        fastact.maxout(np.float32(1.0), 1, out=np.empty(1, F32))


def test_prelu_weight_rules():
    with pytest.raises(ValueError, match="weight"):
        fastact.prelu(X, [0.1, 0.2])                 # neither 1 nor 3 elements
    with pytest.raises(ValueError, match="weight"):
        fastact.prelu_backward(G, X, [0.1, 0.2])
    x1 = np.linspace(-1, 1, 5, dtype=F32)
    with pytest.raises(ValueError, match="axis=0"):
        fastact.prelu(x1, np.ones(5))                # 1-D, default axis
    fastact.prelu(x1, np.ones(5), axis=0)            # fine with axis=0
    fastact.prelu(x1, [0.5])                         # one slope: fine
    with pytest.raises(ValueError, match="weight"):
        fastact.prelu(np.float32(-1.0), [0.5, 0.5])  # 0-d
    with pytest.raises(TypeError, match="weight"):
        fastact.prelu(X, ["a", "b", "c"])
    with pytest.raises(TypeError, match="weight"):
        fastact.prelu(X, [1j, 2j, 3j])


def test_exactly_one_of():
    with pytest.raises(TypeError, match="exactly one"):
        fastact.relu_backward(G, X, y=X)
    with pytest.raises(TypeError, match="exactly one"):
        fastact.relu_backward(G)
    with pytest.raises(TypeError, match="exactly one"):
        fastact.leaky_relu_backward(G, X, y=X)
    with pytest.raises(TypeError, match="exactly one"):
        fastact.maxout_backward(Y, 2, X, indices=IDX)
    with pytest.raises(TypeError, match="exactly one"):
        fastact.maxout_backward(Y, 2)


def test_leaky_backward_from_y_needs_a_nonnegative_slope():
    with pytest.raises(ValueError, match="negative_slope"):
        fastact.leaky_relu_backward(G, y=X, negative_slope=-0.5)
    with pytest.raises(ValueError, match="negative_slope"):
        fastact.leaky_relu_backward(G, y=X, negative_slope=float("nan"))
    fastact.leaky_relu_backward(G, y=X, negative_slope=0.0)
    with pytest.raises(TypeError, match="negative_slope"):
        fastact.leaky_relu(X, "0.1")


@pytest.mark.parametrize("bad", [np.array([[[0, 2]]]), np.array([[[-1, 0]]])])
def test_out_of_range_indices_write_nothing(bad):
    idx = np.broadcast_to(bad.astype(np.intp), Y.shape[:-1] + (2,)).copy()
    for dt in (np.intp, np.int16, np.uint8) if bad.min() >= 0 else (np.intp, np.int16):
        out = np.full(X.shape, 5.0, F32)
        with pytest.raises(ValueError, match="0..1"):
            fastact.maxout_backward(Y, 2, indices=idx.astype(dt), out=out)
        assert np.all(out == 5.0)


@pytest.mark.parametrize("k", [2, 3, 4, 6])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_out_of_range_np_intp_indices_found_anywhere_in_a_large_call(k, n_threads):
    # np.intp indices are checked by the kernel in a parallel pass before it
    # writes: one bad value at the start, in the middle or at the very end of
    # 200 000 groups (both sides of a chunk edge), for k a power of two (an
    # OR of the values) or not (a compare per value), over or under the range.
    g = np.ones(200_003, F32)
    good = np.arange(g.size, dtype=np.intp) % k
    out = np.full(g.size * k, 5.0, F32)
    for pos in (0, 16383, 16384, g.size // 2, g.size - 1):
        for value in (k, -1, np.iinfo(np.intp).min, np.iinfo(np.intp).max):
            idx = good.copy()
            idx[pos] = value
            with pytest.raises(ValueError, match=f"0..{k - 1}"):
                fastact.maxout_backward(g, k, indices=idx, out=out, n_threads=n_threads)
            assert np.all(out == 5.0)
    fastact.maxout_backward(g, k, indices=good, out=out, n_threads=n_threads)
    assert np.array_equal(out.reshape(-1, k), np.eye(k, dtype=F32)[good])


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.bool_])
def test_non_integer_indices_are_a_type_error(dt):
    with pytest.raises(TypeError, match="integer"):
        fastact.maxout_backward(Y, 2, indices=IDX.astype(dt))


def test_maxout_out_pair_rules():
    with pytest.raises(TypeError):
        fastact.maxout(X, 2, out=(np.empty(Y.shape, F32), np.empty(Y.shape, np.int32)),
                       return_indices=True)
    with pytest.raises(TypeError):
        fastact.maxout(X, 2, out=(np.empty(Y.shape, F32), np.empty(Y.shape, np.intp)))
    with pytest.raises(TypeError):
        fastact.maxout(X, 2, out=(np.empty(Y.shape, F32),), return_indices=True)
    with pytest.raises(ValueError):
        fastact.maxout(X, 2, out=(np.empty(Y.shape, F32), np.empty(Y.shape[:-1], np.intp)),
                       return_indices=True)


def test_prelu_backward_without_grad_output_raises():
    """None must not be read as 'forward' by the shared PReLU body."""
    x = np.ones((2, 3, 4), np.float32)
    with pytest.raises(TypeError, match="grad_output"):
        fastact.prelu_backward(None, x, np.ones(3, np.float32))


def test_reference_is_an_attribute_of_the_package():
    # In a fresh interpreter: other tests import fastact.reference themselves.
    import subprocess
    import sys
    import tempfile
    r = subprocess.run([sys.executable, "-c", "import fastact; print(fastact.reference.relu)"],
                       capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir())
    assert r.returncode == 0, r.stderr


def test_relu_docstring_states_the_nan_keeping_rule():
    assert "0 if x < 0 else x" in fastact.relu.__doc__
    assert "x if x > 0 else 0" not in fastact.relu.__doc__


def test_unknown_elementwise_op_code_is_refused_before_any_write():
    """The kernels' op dispatch has no catch-all branch computing some other
    op's result."""
    from fastact._simd import kernels
    x = np.ones(70_001, np.float32)
    out = np.full_like(x, 7.0)
    with pytest.raises(ValueError, match="op code"):
        kernels.elementwise(max(kernels.OPS.values()) + 1, x, x, out, None, 0.5, 0.0, 0, 1)
    assert np.all(out == 7.0)


# --------------------------------------------------------------------------
# Parameters of the registry's ops

PARAM_OPS = [op for op in _ops.ELEMENTWISE if any(p.finite for p in op.params)]


def _both(op, values):
    """The forward and the backward (from x) with these parameter values."""
    kw = {p.name: v for p, v in zip(op.params, values)}
    return [lambda x: getattr(fastact, op.name)(x, *values),
            lambda x: getattr(fastact, op.name + "_backward")(np.ones_like(x), x, **kw)]


@pytest.mark.parametrize("op", PARAM_OPS, ids=lambda op: op.name)
def test_parameters_must_be_finite_in_the_dtype(op):
    """NaN and infinities raise ValueError; so does a value that overflows
    to inf when rounded to float32 (1e300), but not in float64; out is
    untouched."""
    for i, p in enumerate(op.params):
        if not p.finite:
            continue
        for bad, dtypes in ((np.nan, DTYPES_ALL), (np.inf, DTYPES_ALL), (-np.inf, DTYPES_ALL),
                            (1e300 if i else -1e300, (np.float32,))):
            values = list(op.sample)
            values[i] = bad
            for dtype in dtypes:
                for call in _both(op, values):
                    with pytest.raises(ValueError, match=p.name):
                        call(np.ones(70_001, dtype))
        values = list(op.sample)
        values[i] = 1e300 if i else -1e300
        for call in _both(op, values):
            call(np.ones(5, np.float64))  # finite in float64


@pytest.mark.parametrize("op", [op for op in _ops.ELEMENTWISE if op.params],
                         ids=lambda op: op.name)
@pytest.mark.parametrize("bad", ["0.5", None, True, [0.5], 1j])
def test_parameters_must_be_real_numbers(op, bad):
    values = list(op.sample)
    values[0] = bad
    if op.params[0].choices:  # a string parameter: other strings are ValueErrors
        with pytest.raises(ValueError if isinstance(bad, str) else TypeError,
                           match=op.params[0].name):
            getattr(fastact, op.name)(np.ones(3), *values)
        return
    with pytest.raises(TypeError, match=op.params[0].name):
        getattr(fastact, op.name)(np.ones(3), *values)


def test_parameter_types_numpy_accepts():
    x = np.array([-2.0, 0.5, 3.0], np.float32)
    want = fastact.hardtanh(x, -1.0, 1.0)
    for lo, hi in ((np.float32(-1), np.float64(1)), (-1, 1), (np.array(-1.0), np.int8(1))):
        assert_bits(fastact.hardtanh(x, lo, hi), want)


def test_hardtanh_bounds_must_be_ordered():
    out = np.full(3, 7.0)
    with pytest.raises(ValueError, match="min_val"):
        fastact.hardtanh(np.ones(3), 1.0, -1.0, out=out)
    with pytest.raises(ValueError, match="min_val"):
        fastact.hardtanh_backward(np.ones(3), np.ones(3), min_val=1.0, max_val=-1.0, out=out)
    assert np.all(out == 7.0)
    assert_bits(fastact.hardtanh(np.array([-2.0, 0.5, 2.0]), 0.5, 0.5), np.full(3, 0.5))


@pytest.mark.parametrize("op", _ops.ELEMENTWISE, ids=lambda op: op.name)
def test_backward_inputs(op):
    """y= exists only where the API allows it; x (or y) is required; both
    at once is a TypeError."""
    bwd = getattr(fastact, op.name + "_backward")
    kw = {p.name: v for p, v in zip(op.params, op.sample)}
    g = np.ones(4)
    with pytest.raises(TypeError):
        bwd(g, **kw)
    if op.y:
        with pytest.raises(TypeError, match="exactly one"):
            bwd(g, g, y=g, **kw)
    else:
        assert "y" not in inspect.signature(bwd).parameters
        with pytest.raises(TypeError, match="y"):
            bwd(g, y=g, **kw)


def test_backward_takes_every_forward_parameter():
    """threshold_backward takes value= although its derivative does not use it."""
    g = x = np.array([0.2, 0.8])
    assert_bits(fastact.threshold_backward(g, x, threshold=0.5, value=3.0),
                fastact.threshold_backward(g, x, threshold=0.5))
    with pytest.raises(TypeError):
        fastact.threshold_backward(g, x, value=3.0)  # threshold is required
    with pytest.raises(ValueError, match="value"):
        fastact.threshold_backward(g, x, threshold=0.5, value=np.nan)
    fastact.threshold_backward(g, x, threshold=0.5, value=1)  # cached under (0.5, 1)
    with pytest.raises(TypeError, match="value"):
        fastact.threshold_backward(g, x, threshold=0.5, value=True)


def test_cached_parameters_keep_their_checks():
    """A value seen before is served from the cache, but only Python floats
    are: a bool equal to a cached 1.0 still raises."""
    x = np.array([-2.0, 0.5])
    fastact.hardtanh(x, -1.0, 1.0)
    fastact.hardtanh(x, -1.0, 1.0)
    with pytest.raises(TypeError, match="max_val"):
        fastact.hardtanh(x, -1.0, True)
    with pytest.raises(ValueError, match="min_val"):
        fastact.hardtanh(x, 2.0, 1.0)
    with pytest.raises(ValueError, match="min_val"):
        fastact.hardtanh(x, 2.0, 1.0)  # errors are not cached
    x32 = x.astype(np.float32)
    fastact.hardtanh(x, -1e300, 1.0)   # fine in float64, cached...
    with pytest.raises(ValueError, match="float32"):
        fastact.hardtanh(x32, -1e300, 1.0)  # ...and still refused for float32
