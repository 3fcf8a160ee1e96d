"""Bad input: a clear TypeError/ValueError, raised before anything is
written; never a crash, never Cython's "No matching signature found"."""
import numpy as np
import pytest

import fastact

F32 = np.float32
X = np.linspace(-2, 2, 24, dtype=F32).reshape(2, 3, 4)
G = np.ones_like(X)
Y, IDX = fastact.maxout(X, 2, return_indices=True)

# Every public function, called with good arguments, with one data argument
# that the test replaces. name -> (call(data) with data the replaced array).
CALLS = {
    "relu": lambda a, **kw: fastact.relu(a, **kw),
    "leaky_relu": lambda a, **kw: fastact.leaky_relu(a, 0.1, **kw),
    "prelu": lambda a, **kw: fastact.prelu(a, [0.1, 0.2, 0.3], **kw),
    "maxout": lambda a, **kw: fastact.maxout(a, 2, **kw),
    "relu_backward": lambda a, **kw: fastact.relu_backward(a, X, **kw),
    "relu_backward_y": lambda a, **kw: fastact.relu_backward(G, y=a, **kw),
    "leaky_relu_backward": lambda a, **kw: fastact.leaky_relu_backward(G, a, **kw),
    "prelu_backward": lambda a, **kw: fastact.prelu_backward(G, a, [0.1, 0.2, 0.3], **kw),
    "maxout_backward": lambda a, **kw: fastact.maxout_backward(Y, 2, a, **kw),
    "maxout_backward_idx": lambda a, **kw: fastact.maxout_backward(a, 2, indices=IDX, **kw),
}
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
    if name in ("relu", "leaky_relu", "prelu", "maxout", "maxout_backward_idx"):
        # Single data input: the mismatch is with out.
        with pytest.raises(TypeError):
            CALLS[name](_input_for(name), out=np.empty(np.shape(CALLS[name](_input_for(name))),
                                                        np.float64))
    else:
        with pytest.raises(TypeError, match="dtype"):
            CALLS[name](a)


@pytest.mark.parametrize("name", ["relu_backward", "relu_backward_y", "leaky_relu_backward",
                                  "prelu_backward"])
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
