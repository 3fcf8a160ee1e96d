"""The public functions: validate, plan memory, call a kernel, return.

Conventions shared by every function (each docstring states its own edge cases):

* data arrays are float32 or float64 and never cast; all data arrays of one
  call share the dtype (``TypeError``) and the shape (``ValueError``);
* ``out`` is written and returned; it may be the input itself (the in-place
  call), non-contiguous (written through), or overlap an input (the result is
  as if the input had been copied first);
* ``n_threads``: see :func:`fastact.effective_n_threads`.
"""
import math
import numbers

import numpy as np

from ._simd import kernels as _kernels
from ._validate import (
    as_data,
    check_axis,
    check_k,
    check_out,
    destination,
    effective_n_threads,
    finish,
    kernel_view,
    pick_order,
    same_dtype,
    same_shape,
    source,
)

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

_OPS = _kernels.OPS


def _elementwise(op, a, a_name, b, b_name, out, slope, n_threads):
    """Shared body of relu, leaky_relu and their backward passes."""
    nt = effective_n_threads(n_threads)
    if _kernels.plain(a, b, out):  # the common call: nothing to plan
        if out is None:
            out = np.empty(a.shape, a.dtype)
        _kernels.elementwise(op, a, b, out, slope, nt)
        return out
    a = as_data(a, a_name)
    if b is not None:
        b = as_data(b, b_name)
        same_dtype(a, a_name, b, b_name)
        same_shape(a, a_name, b, b_name)
    if out is not None:
        check_out(out, a.shape, a.dtype)
    order = pick_order(out, a)
    dst, copy_back = destination(out, a.shape, a.dtype, order)
    outs = (out,)
    a = source(a, order, outs, alias_ok=True)
    if b is not None:
        b = source(b, order, outs, alias_ok=True)
    _kernels.elementwise(op, a, b, dst, slope, nt)
    return finish(dst, copy_back)


def _slope(negative_slope):
    """The slope as a Python float (rounded to the data dtype by the kernel)."""
    if type(negative_slope) is float or type(negative_slope) is int:
        return float(negative_slope)
    bad = isinstance(negative_slope, (bool, np.bool_)) or not isinstance(
        negative_slope, (numbers.Real, np.ndarray))
    try:
        if not bad:
            return float(negative_slope)
    except (TypeError, ValueError):
        pass
    raise TypeError(
        f"negative_slope must be a real number, got {type(negative_slope).__name__}")


def _exactly_one(a, a_name, b, b_name):
    if (a is None) == (b is None):
        raise TypeError(f"give exactly one of {a_name}= and {b_name}=")


# --------------------------------------------------------------------------
# ReLU and Leaky ReLU


def relu(x, out=None, *, n_threads=None):
    """Rectified linear unit, ``max(x, 0)``, element-wise.

    Parameters
    ----------
    x : array_like of float32 or float64
        Input; any other dtype raises ``TypeError`` (never cast).
    out : ndarray, optional
        Where to write the result: same shape and dtype as ``x``, writeable.
        ``out=x`` is the in-place call and allocates nothing.
    n_threads : int, optional
        Threads for this call; see :func:`fastact.effective_n_threads`.

    Returns
    -------
    ndarray
        ``out`` when given, else a new array.

    Notes
    -----
    ``0 if x < 0 else x``: NaN stays NaN (unlike ``np.where(x > 0, x, 0)``),
    ``+inf`` stays, ``-inf`` gives 0, subnormals pass through. The sign of a
    zero result is not specified. NumPy equivalent: ``np.maximum(x, 0)``.

    Examples
    --------
    >>> import numpy as np, fastact
    >>> x = np.array([-1.5, 0.0, 2.0, np.nan], dtype=np.float32)
    >>> fastact.relu(x, out=x)   # in place: x itself is returned
    array([ 0.,  0.,  2., nan], dtype=float32)
    >>> x
    array([ 0.,  0.,  2., nan], dtype=float32)
    """
    return _elementwise(_OPS["relu"], x, "x", None, None, out, 0.0, n_threads)


def leaky_relu(x, negative_slope=0.01, out=None, *, n_threads=None):
    """Leaky ReLU: ``x if x > 0 else negative_slope * x``, element-wise.

    Parameters
    ----------
    x : array_like of float32 or float64
    negative_slope : float, default 0.01
        Slope below zero, rounded to ``x``'s dtype; the product is formed in
        that dtype (as PyTorch and NumPy do). ``-1`` gives ``|x|``
        (absolute-value rectification), ``0`` gives ReLU.
    out : ndarray, optional
        Same shape and dtype as ``x``; ``out=x`` is the in-place call.
    n_threads : int, optional

    Returns
    -------
    ndarray

    Notes
    -----
    NaN stays NaN, ``-inf`` gives ``s * -inf`` (``nan`` when ``s == 0``).
    NumPy equivalent: ``np.where(x > 0, x, x.dtype.type(s) * x)``.

    Examples
    --------
    >>> import numpy as np, fastact
    >>> fastact.leaky_relu(np.array([-2.0, 3.0]), negative_slope=-1)  # |x|
    array([2., 3.])
    """
    return _elementwise(_OPS["leaky_relu"], x, "x", None, None, out,
                        _slope(negative_slope), n_threads)


def relu_backward(grad_output, x=None, *, y=None, out=None, n_threads=None):
    """Gradient of :func:`relu`: ``0 if x <= 0 else grad_output``.

    Parameters
    ----------
    grad_output : array_like of float32 or float64
        Gradient with respect to the ReLU output.
    x : array_like, optional
        The forward input. Give exactly one of ``x`` and ``y``.
    y : array_like, optional
        The forward output ``relu(x)``: it is ``<= 0`` exactly where ``x`` is,
        so it gives the same gradient and lets the forward pass run in place.
    out : ndarray, optional
        ``out=grad_output`` is the in-place call.
    n_threads : int, optional

    Returns
    -------
    ndarray
        The gradient with respect to ``x``.

    Notes
    -----
    As PyTorch's ``threshold_backward``, value for value: the derivative at the
    kink ``x == 0`` is 0; a NaN ``x`` passes the gradient through (NaN <= 0 is
    false); an infinite or NaN ``grad_output`` is passed or zeroed, never
    multiplied. NumPy equivalent: ``np.where(x <= 0, 0, grad_output)``.

    Examples
    --------
    >>> import numpy as np, fastact
    >>> g = np.ones(3); x = np.array([-1.0, 0.0, 2.0])
    >>> fastact.relu_backward(g, x, out=g)
    array([0., 0., 1.])
    """
    _exactly_one(x, "x", y, "y")
    ref, ref_name = (x, "x") if x is not None else (y, "y")
    return _elementwise(_OPS["relu_grad"], grad_output, "grad_output", ref, ref_name,
                        out, 0.0, n_threads)


def leaky_relu_backward(grad_output, x=None, *, y=None, negative_slope=0.01, out=None,
                        n_threads=None):
    """Gradient of :func:`leaky_relu`: ``grad_output if x > 0 else s * grad_output``.

    Parameters
    ----------
    grad_output : array_like of float32 or float64
    x : array_like, optional
        The forward input. Give exactly one of ``x`` and ``y``.
    y : array_like, optional
        The forward output. Accepted only when ``negative_slope >= 0``: with a
        negative slope the output does not tell the sign of the input
        (``ValueError``).
    negative_slope : float, default 0.01
        Rounded to the data dtype, as in the forward.
    out : ndarray, optional
        ``out=grad_output`` is the in-place call.
    n_threads : int, optional

    Returns
    -------
    ndarray

    Notes
    -----
    As PyTorch's ``leaky_relu_backward``: the slope side at the kink
    ``x == 0`` and for NaN ``x``. NumPy equivalent:
    ``np.where(x > 0, g, x.dtype.type(s) * g)``.
    """
    _exactly_one(x, "x", y, "y")
    s = _slope(negative_slope)
    if y is not None and not s >= 0:
        raise ValueError(
            f"y= (the forward output) needs negative_slope >= 0, got {s}: with a "
            f"negative slope y > 0 also where x < 0, so pass x= instead"
        )
    ref, ref_name = (x, "x") if x is not None else (y, "y")
    return _elementwise(_OPS["leaky_relu_grad"], grad_output, "grad_output", ref, ref_name,
                        out, s, n_threads)


# --------------------------------------------------------------------------
# PReLU


def _prelu_weight(weight, x, axis):
    """The weight cast to x's dtype and flattened, its original shape, and the
    channel axis (None for a single shared slope)."""
    w_in = np.asarray(weight)
    if w_in.dtype is x.dtype and w_in.ndim == 1 and _kernels.layout(w_in) & _kernels.LAYOUT_C:
        w = w_in  # already what the kernel takes
    elif w_in.dtype.kind not in "biuf":
        raise TypeError(f"weight has dtype {w_in.dtype}; expected a real number array")
    else:
        w = np.ascontiguousarray(w_in, dtype=x.dtype).reshape(-1)
    if x.ndim < 2 and axis == 1:
        # PyTorch's convention: 0-d and 1-D inputs have no channel dim 1.
        if w.size != 1:
            raise ValueError(
                f"weight has {w.size} elements but x is {x.ndim}-D: with the default "
                f"axis=1 only a single slope is accepted (as PyTorch); pass axis=0 "
                f"for one slope per element of a 1-D x"
            )
        return w, w_in.shape, None
    ax = check_axis(axis, x.ndim)
    if w.size == 1:
        return w, w_in.shape, None
    if w.size != x.shape[ax]:
        raise ValueError(
            f"weight has {w.size} elements; it needs 1 or x.shape[{axis}] = "
            f"{x.shape[ax]}"
        )
    return w, w_in.shape, ax


def _inner_size(shape, ax, order):
    """The number of elements after ``axis`` in the C-ordered kernel view (the
    view is ``a.T`` for Fortran order, where axis ``i`` is ``ndim - 1 - i``)."""
    if order == "F":
        shape, ax = shape[::-1], len(shape) - 1 - ax
    return math.prod(shape[ax + 1:])


_FORWARD = object()  # the g of a forward call, so that a None grad_output is an error


def _prelu(g, x, weight, out, axis, n_threads, grad_weight_dtype=None):
    """Shared body of prelu (g is _FORWARD) and prelu_backward (the weight
    gradient in x's dtype, or in ``grad_weight_dtype``)."""
    nt = effective_n_threads(n_threads)
    x = as_data(x, "x")
    if g is _FORWARD:
        g = None
    else:
        g = as_data(g, "grad_output")
        same_dtype(g, "grad_output", x, "x")
        same_shape(g, "grad_output", x, "x")
    w, w_shape, ax = _prelu_weight(weight, x, axis)
    if out is not None:
        check_out(out, x.shape, x.dtype)
    if ax is None:  # one shared slope: a single channel
        C, inner = 1, max(x.size, 1)
    else:
        C = x.shape[ax]
    grad_w = None if g is None else np.empty(w_shape, grad_weight_dtype or x.dtype)
    if _kernels.plain(x, g, out) and (out is None or not _kernels.overlap(w, out)):
        # The common call: C-contiguous, nothing to copy.
        dst = np.empty(x.shape, x.dtype) if out is None else out
        if ax is not None:
            inner = _inner_size(x.shape, ax, "C")
        _kernels.prelu(g, x, w, dst, grad_w, C, inner, nt)
        return dst if g is None else (dst, grad_w)
    lead = x if g is None else g
    order = pick_order(out, lead)
    dst, copy_back = destination(out, x.shape, x.dtype, order)
    outs = (out,)
    x = source(x, order, outs, alias_ok=g is None)
    if g is not None:
        g = source(g, order, outs, alias_ok=True)
    w = source(w, "C", outs)
    if ax is not None:
        inner = _inner_size(x.shape, ax, order)
    if x.size or grad_w is not None:
        _kernels.prelu(None if g is None else kernel_view(g, order), kernel_view(x, order),
                       w, kernel_view(dst, order), grad_w, C, inner, nt)
    result = finish(dst, copy_back)
    if g is None:
        return result
    return result, grad_w


def _prelu_partial_weight_grad(g, x, weight, axis, n_threads=None):
    """The weight gradient of one block in float64, unrounded: the partial
    sums fastact.dask reduces as a tree."""
    return _prelu(g, x, weight, None, axis, n_threads, np.float64)[1].reshape(-1)


def prelu(x, weight, out=None, *, axis=1, n_threads=None):
    """Parametric ReLU: ``x if x > 0 else w[c] * x``, ``c`` the index along ``axis``.

    Parameters
    ----------
    x : array_like of float32 or float64
    weight : array_like
        The learned slopes: a scalar, 1 element, or ``x.shape[axis]`` elements
        (any shape with that many). Cast to ``x``'s dtype.
    out : ndarray, optional
        ``out=x`` is the in-place call.
    axis : int, default 1
        The channel axis: 1 is PyTorch's NCHW, -1 channels-last. For 0-d and
        1-D ``x`` with the default axis only a single slope is accepted, as in
        PyTorch; a per-element weight on 1-D ``x`` needs ``axis=0``.
    n_threads : int, optional

    Returns
    -------
    ndarray

    Notes
    -----
    NaN stays NaN. NumPy equivalent, with ``w`` reshaped to broadcast along
    ``axis``: ``np.where(x > 0, x, w * x)``.

    Examples
    --------
    >>> import numpy as np, fastact
    >>> x = -np.ones((2, 3, 2), dtype=np.float32)
    >>> fastact.prelu(x, [0.1, 0.2, 0.3])[0]
    array([[-0.1, -0.1],
           [-0.2, -0.2],
           [-0.3, -0.3]], dtype=float32)
    """
    return _prelu(_FORWARD, x, weight, out, axis, n_threads)


def prelu_backward(grad_output, x, weight, out=None, *, axis=1, n_threads=None):
    """Gradients of :func:`prelu` with respect to the input and the weight.

    Parameters
    ----------
    grad_output : array_like of float32 or float64
    x : array_like
        The forward input, same dtype and shape as ``grad_output``.
    weight : array_like
        The slopes, as in :func:`prelu`.
    out : ndarray, optional
        Receives the input gradient; ``out=grad_output`` is the in-place call.
    axis : int, default 1
    n_threads : int, optional

    Returns
    -------
    grad_input : ndarray
        ``grad_output if x > 0 else w[c] * grad_output``.
    grad_weight : ndarray
        ``grad_weight[c]`` = sum over channel ``c`` of ``grad_output * x``
        where ``x`` is *not* ``> 0``, so a NaN ``x`` makes it NaN (as
        PyTorch). Accumulated in float64 in fixed blocks, so the bits do not
        depend on the thread count; returned in ``x``'s dtype with the shape
        of ``np.asarray(weight)``.

    Notes
    -----
    Both gradients come from one pass over the data.
    """
    return _prelu(grad_output, x, weight, out, axis, n_threads)


# --------------------------------------------------------------------------
# Maxout


def _on_0d(func, a, out, axis, k, **kwargs):
    """maxout / maxout_backward of a 0-d array, as NumPy's and PyTorch's
    reductions take it: axis 0 or -1 of a single element (so k must be 1)."""
    check_axis(axis, 1)
    if a.ndim != 0:  # maxout_backward with a 0-d x
        raise ValueError(f"grad_output has shape {a.shape} but maxout(x) needs ()")
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        if isinstance(o, np.ndarray) and o.shape != ():
            raise ValueError(f"out has shape {o.shape}, expected ()")
    as1 = [o.reshape(1) if isinstance(o, np.ndarray) else o for o in outs]
    for name in ("x", "indices"):
        if kwargs.get(name) is not None:
            kwargs[name] = np.asarray(kwargs[name]).reshape(1)
    res = func(a.reshape(1), k, axis=0,
               out=tuple(as1) if isinstance(out, tuple) else as1[0], **kwargs)
    res = res if isinstance(res, tuple) else (res,)
    outs = outs + (None,) * (len(res) - len(outs))
    final = tuple(o if o is not None else r.reshape(()) for o, r in zip(outs, res))
    return final if len(final) > 1 else final[0]


def _apart_and_contiguous(x, *outs):
    """Every given out is C-contiguous and shares no memory with x."""
    for o in outs:
        if o is not None and (not _kernels.layout(o) & _kernels.LAYOUT_C
                              or _kernels.overlap(x, o)):
            return False
    return True


def _maxout_outs(out, return_indices):
    if not return_indices:
        if isinstance(out, tuple):
            raise TypeError("out must be one ndarray when return_indices is False")
        return out, None
    if isinstance(out, tuple):
        if len(out) != 2:
            raise TypeError("out must be an ndarray or a pair (y_out, indices_out)")
        return out
    return out, None


def maxout(x, k, axis=-1, out=None, *, return_indices=False, n_threads=None):
    """Maxout: the maximum of each group of ``k`` consecutive elements along ``axis``.

    Parameters
    ----------
    x : array_like of float32 or float64
    k : int
        Group size, >= 1, dividing ``x.shape[axis]`` (else ``ValueError``).
    axis : int, default -1
    out : ndarray or (ndarray, ndarray), optional
        The output (``x.shape`` with ``x.shape[axis] // k`` at ``axis``), or,
        with ``return_indices=True``, the pair ``(y_out, indices_out)``
        (``indices_out`` of dtype ``np.intp``) so repeated calls allocate
        nothing.
    return_indices : bool, default False
        Also return the position of each maximum within its group.
    n_threads : int, optional

    Returns
    -------
    y : ndarray
    indices : ndarray of np.intp, only with ``return_indices=True``
        Position ``0..k-1`` of the maximum within its group: the first one on
        ties, the first NaN if the group holds one. Exactly ``np.argmax`` over
        the group axis of the reshaped input.

    Notes
    -----
    A group holding a NaN gives NaN. Each output is the element at its
    index. NumPy equivalent: ``np.maximum.reduce([x[..., i::k] for i in
    range(k)])`` (for ``axis=-1``). A 0-d ``x`` is one group of one along
    axis 0 or -1 (so ``k`` must be 1), as NumPy's and PyTorch's reductions
    take it.

    Examples
    --------
    >>> import numpy as np, fastact
    >>> fastact.maxout(np.array([1.0, 3.0, 2.0, 2.0]), 2, return_indices=True)
    (array([3., 2.]), array([1, 0]))
    """
    nt = effective_n_threads(n_threads)
    x = as_data(x, "x")
    k = check_k(k)
    if x.ndim == 0:
        return _on_0d(maxout, x, out, axis, k, return_indices=return_indices,
                      n_threads=n_threads)
    ax = check_axis(axis, x.ndim)
    if x.shape[ax] % k:
        raise ValueError(f"k={k} does not divide x.shape[{axis}] = {x.shape[ax]}")
    y_shape = x.shape[:ax] + (x.shape[ax] // k,) + x.shape[ax + 1:]
    y_out, i_out = _maxout_outs(out, return_indices)
    if y_out is not None:
        check_out(y_out, y_shape, x.dtype)
    if i_out is not None:
        check_out(i_out, y_shape, np.intp, "indices_out")
        if y_out is not None and _kernels.overlap(y_out, i_out):
            raise ValueError("y_out and indices_out overlap")
    if _kernels.plain(x, None, None) and _apart_and_contiguous(x, y_out, i_out):
        # The common call: C-contiguous, nothing to copy or copy back.
        y = np.empty(y_shape, x.dtype) if y_out is None else y_out
        idx = i_out if i_out is not None or not return_indices else np.empty(y_shape, np.intp)
        if x.size:
            _kernels.maxout(x, y, idx, k, math.prod(x.shape[ax + 1:]), nt)
        return (y, idx) if return_indices else y
    order = pick_order(y_out, x)
    y, y_back = destination(y_out, y_shape, x.dtype, order)
    idx, i_back = (None, None)
    if return_indices:
        idx, i_back = destination(i_out, y_shape, np.intp, order)
    x = source(x, order, (y_out, i_out), alias_ok=k == 1)
    if x.size:
        inner = _inner_size(x.shape, ax, order)
        _kernels.maxout(kernel_view(x, order), kernel_view(y, order),
                        None if idx is None else kernel_view(idx, order), k, inner, nt)
    y = finish(y, y_back)
    if not return_indices:
        return y
    return y, finish(idx, i_back)


def _check_indices(indices, g, k, order, outs):
    """Indices of an integer dtype with g's shape and values in 0..k-1, as a
    contiguous np.intp array; checked before anything is written."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices has dtype {idx.dtype}; it needs an integer dtype "
                        f"(np.intp, as maxout(..., return_indices=True) gives)")
    same_shape(g, "grad_output", idx, "indices")
    if idx.dtype != np.intp:
        if idx.size and (idx.min() < 0 or idx.max() >= k):
            raise ValueError(f"indices must lie in 0..{k - 1} (k={k})")
        return np.array(idx, dtype=np.intp, order=order)
    idx = source(idx, order, outs)
    if idx.size and _kernels.count_out_of_range(kernel_view(idx, order), k):
        raise ValueError(f"indices must lie in 0..{k - 1} (k={k})")
    return idx


def maxout_backward(grad_output, k, x=None, *, indices=None, axis=-1, out=None,
                    n_threads=None):
    """Gradient of :func:`maxout` with respect to its input.

    Parameters
    ----------
    grad_output : array_like of float32 or float64
        Gradient with respect to the maxout output.
    k : int
        The group size of the forward call.
    x : array_like, optional
        The forward input. Give exactly one of ``x`` and ``indices``.
    indices : array_like of int, optional
        The indices from ``maxout(..., return_indices=True)``: ``grad_output``'s
        shape, an integer dtype, values in ``0..k-1`` (``ValueError`` before
        anything is written).
    axis : int, default -1
    out : ndarray, optional
        Shaped like the forward input. ``out=x`` overwrites the input buffer
        with the gradient.
    n_threads : int, optional

    Returns
    -------
    ndarray
        Shaped like the forward input: each group holds ``grad_output`` at its
        argmax (first on ties, first NaN if any, as :func:`maxout`) and 0
        elsewhere. The ``x`` and ``indices`` paths agree bit for bit.
    """
    _exactly_one(x, "x", indices, "indices")
    nt = effective_n_threads(n_threads)
    g = as_data(grad_output, "grad_output")
    k = check_k(k)
    if g.ndim == 0 or (x is not None and np.ndim(x) == 0):
        return _on_0d(maxout_backward, g, out, axis, k, x=x, indices=indices,
                      n_threads=n_threads)
    if x is not None:
        x = as_data(x, "x")
        same_dtype(g, "grad_output", x, "x")
        ax = check_axis(axis, x.ndim)
        if x.shape[ax] % k:
            raise ValueError(f"k={k} does not divide x.shape[{axis}] = {x.shape[ax]}")
        x_shape = x.shape
        same_shape(x, "maxout(x)", g, "grad_output",
                   x_shape[:ax] + (x_shape[ax] // k,) + x_shape[ax + 1:])
    else:
        ax = check_axis(axis, g.ndim)
        x_shape = g.shape[:ax] + (g.shape[ax] * k,) + g.shape[ax + 1:]
    if out is not None:
        check_out(out, x_shape, g.dtype)
    order = pick_order(out, x if x is not None else g)
    outs = (out,)
    idx = None
    if x is None:
        idx = _check_indices(indices, g, k, order, outs)
    dst, copy_back = destination(out, x_shape, g.dtype, order)
    g = source(g, order, outs)
    if x is not None:
        x = source(x, order, outs, alias_ok=True)
    if dst.size:
        inner = _inner_size(x_shape, ax, order)
        _kernels.maxout_backward(kernel_view(g, order),
                                 None if x is None else kernel_view(x, order),
                                 None if idx is None else kernel_view(idx, order),
                                 kernel_view(dst, order), k, inner, nt)
    return finish(dst, copy_back)
