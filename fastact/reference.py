"""Plain-NumPy twins of every fastact function.

Same names and results as the kernels, written to be obviously correct with
the strongest NumPy idiom for each (Bottleneck keeps ``bottleneck.slow`` for
the same purpose): the tests use them as the reference and ``python -m
fastact`` as the baseline. They allocate their results (no ``out``) and take
no ``n_threads``.
"""
import functools

import numpy as np

__all__ = [
    "relu",
    "leaky_relu",
    "prelu",
    "maxout",
    "relu_backward",
    "leaky_relu_backward",
    "prelu_backward",
    "maxout_backward",
]


def _quiet(func):
    # Edge values (inf * 0, NaN) are the point here: no RuntimeWarnings, just
    # like the kernels, which never raise floating-point warnings.
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return func(*args, **kwargs)
    return wrapper


@_quiet
def relu(x):
    # np.maximum propagates NaN.
    x = np.asarray(x)
    return np.maximum(x, x.dtype.type(0))


@_quiet
def leaky_relu(x, negative_slope=0.01):
    x = np.asarray(x)
    return np.where(x > 0, x, x.dtype.type(negative_slope) * x)


@_quiet
def relu_backward(grad_output, x=None, *, y=None):
    ref = np.asarray(x if x is not None else y)
    g = np.asarray(grad_output)
    return np.where(ref <= 0, g.dtype.type(0), g)


@_quiet
def leaky_relu_backward(grad_output, x=None, *, y=None, negative_slope=0.01):
    ref = np.asarray(x if x is not None else y)
    g = np.asarray(grad_output)
    return np.where(ref > 0, g, g.dtype.type(negative_slope) * g)


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
