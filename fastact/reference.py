"""Plain-NumPy twins of every fastact function.

Same names and results as the kernels, written to be obviously correct with
the strongest NumPy idiom for each (Bottleneck keeps ``bottleneck.slow`` for
the same purpose): the tests use them as the reference and ``python -m
fastact`` as the baseline. They allocate their results (no ``out``) and take
no ``n_threads``.
"""
import functools

import numpy as np

from . import _ops


def _quiet(func):
    # Edge values (inf * 0, NaN) are the point here: no RuntimeWarnings, just
    # like the kernels, which never raise floating-point warnings.
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return func(*args, **kwargs)
    return wrapper


# --------------------------------------------------------------------------
# The element-wise ops: the twins stated in the registry (fastact/_ops.py),
# under the public names and signatures (less ``out`` and ``n_threads``).

def _twins(op):
    scope = {"op": op, "np": np}
    params = ", ".join(p.name for p in op.params)
    src = f"""
def {op.name}({_ops.signature(op, False, api=False)}):
    return op.numpy(np.asarray(x), {params})

def {op.name}_backward({_ops.signature(op, True, api=False)}):
    twin = op.numpy_backward
    if {'y is not None' if op.y else 'False'} and op.numpy_backward_y is not None:
        twin = op.numpy_backward_y
    ref = np.asarray(x if x is not None else {'y' if op.y else 'None'})
    return twin(np.asarray(grad_output), ref, {params})
"""
    exec(src, scope)  # noqa: S102 - source built from the registry entry
    for name in op.functions:
        scope[name].__module__ = __name__
        scope[name].__doc__ = f"Plain-NumPy twin of :func:`fastact.{name}`."
    return {name: _quiet(scope[name]) for name in op.functions}


for _op in _ops.ELEMENTWISE:
    globals().update(_twins(_op))
del _op


def _channel_weight(weight, x, axis):
    """weight in x's dtype, shaped to broadcast along ``axis``; and the
    axes to sum over for its gradient."""
    w = np.asarray(weight, dtype=x.dtype).reshape(-1)
    if w.size == 1:
        return w.reshape(()), None
    axis = axis % x.ndim
    shape = [1] * x.ndim
    shape[axis] = w.size
    return w.reshape(shape), tuple(i for i in range(x.ndim) if i != axis)


@_quiet
def prelu(x, weight, *, axis=1):
    x = np.asarray(x)
    w, _ = _channel_weight(weight, x, axis)
    return np.where(x > 0, x, w * x)


@_quiet
def prelu_backward(grad_output, x, weight, *, axis=1):
    x = np.asarray(x)
    g = np.asarray(grad_output)
    w, sum_axes = _channel_weight(weight, x, axis)
    grad_input = np.where(x > 0, g, w * g)
    terms = np.where(x > 0, 0.0, g.astype(np.float64) * x.astype(np.float64))
    grad_weight = terms.sum(axis=sum_axes)
    return grad_input, grad_weight.astype(x.dtype).reshape(np.shape(weight))


@_quiet
def maxout(x, k, axis=-1, *, return_indices=False):
    x = np.asarray(x)
    xm = np.moveaxis(x, axis, -1)
    # Strided slices reduced with np.maximum: many times faster than
    # reshape(...).max(-1), and NaN-propagating.
    y = np.maximum.reduce([xm[..., i::k] for i in range(k)])
    y = np.moveaxis(np.asarray(y), -1, axis)
    if not return_indices:
        return y
    groups = xm.reshape(xm.shape[:-1] + (xm.shape[-1] // k, k))
    indices = np.moveaxis(np.argmax(groups, axis=-1), -1, axis)
    return y, indices


@_quiet
def maxout_backward(grad_output, k, x=None, *, indices=None, axis=-1):
    g = np.asarray(grad_output)
    if indices is None:
        indices = maxout(x, k, axis, return_indices=True)[1]
    gm = np.moveaxis(g, axis, -1)
    im = np.moveaxis(np.asarray(indices, dtype=np.intp), axis, -1)
    grad = np.zeros(gm.shape + (k,), dtype=g.dtype)
    np.put_along_axis(grad, im[..., None], gm[..., None], axis=-1)
    grad = grad.reshape(gm.shape[:-1] + (gm.shape[-1] * k,))
    return np.moveaxis(grad, -1, axis)


# --------------------------------------------------------------------------
# RReLU: the same slopes as the kernels, from the same counter-based hash
# written with NumPy's uint32 arithmetic (see docs/design.md).

def _word(pos, k0, k1):
    lo = (pos & 0xFFFFFFFF).astype(np.uint32)
    hi = (pos >> 32).astype(np.uint32)
    h = lo ^ np.uint32(k0)
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h ^ hi ^ np.uint32(k1)
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def rrelu_slopes(shape, dtype, lower, upper, key):
    """The training slope of every element of an array of this shape, by
    C-order position: uniform in [lower, upper] rounded to ``dtype``."""
    pos = np.arange(int(np.prod(shape)), dtype=np.uint64).reshape(shape)
    k0, k1 = key & 0xFFFFFFFF, key >> 32
    a = _word(pos, k0, k1)
    t = np.dtype(dtype).type
    if np.dtype(dtype) == np.float32:
        u = (np.uint32(0x3F800000) | (a >> np.uint32(9))).view(np.float32) - t(1)
    else:
        b = _word(pos, k1 ^ 0x9E3779B9, k0 ^ 0x7F4A7C15).astype(np.uint64)
        bits = np.uint64(0x3FF0000000000000) | (a.astype(np.uint64) << np.uint64(20)) \
            ^ (b >> np.uint64(12))
        u = bits.view(np.float64) - t(1)
    lo, hi = t(lower), t(upper)
    return np.minimum(np.maximum(lo * (t(1) - u) + hi * u, lo), hi)


@_quiet
def rrelu(x, lower=0.125, upper=1 / 3, *, training=False, seed=None, return_noise=False):
    x = np.asarray(x)
    t = x.dtype.type
    if training:
        r = rrelu_slopes(x.shape, x.dtype, lower, upper, _ops.rrelu_key(seed))
        y = np.where(x <= 0, x * r, x)
        noise = np.where(x <= 0, r, t(1))
    else:
        s = t((float(lower) + float(upper)) / 2)
        y = np.where(x > 0, x, s * x)
        noise = np.where(x <= 0, s, t(1))
    return (y, noise) if return_noise else y


@_quiet
def rrelu_backward(grad_output, x=None, *, noise=None, lower=0.125, upper=1 / 3,
                   training=False):
    g = np.asarray(grad_output)
    if training:
        return g * np.asarray(noise)
    s = g.dtype.type((float(lower) + float(upper)) / 2)
    return np.where(np.asarray(x) > 0, g, s * g)


__all__ = _ops.public_functions()
