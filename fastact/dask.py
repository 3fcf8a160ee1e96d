"""fastact on Dask arrays: every op, chunk by chunk, for data beyond one
machine's memory or one machine (``pip install "fastact[dask]"``).

* Element-wise ops run through ``map_blocks``, out of place: a block mutated
  in place corrupts a persisted array (blocks are shared between graphs).
* PReLU needs every channel of a block: the channel axis is rechunked to a
  single chunk (channel counts are small). Its weight gradient is a tree
  reduction of per-block float64 partial sums, rounded to the data dtype once
  at the end, as the in-memory function does (the sums differ from it only in
  order).
* Maxout rechunks the grouped axis to multiples of ``k`` when needed; indices
  are positions within each group, so they are valid for the whole array.
* Backward ops take arrays aligned with the forward ones (Dask unifies their
  chunks).

In ``dask.distributed`` workers ``OMP_NUM_THREADS`` is 1 (set by the nanny),
so ``n_threads=None`` means one thread per task: parallelism comes from the
worker threads. Pass ``n_threads`` explicitly to use more per task.
"""
import numpy as np

import fastact
from fastact import _api
from fastact._validate import as_data, check_axis, check_k, same_dtype, same_shape

try:
    import dask.array as da
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError('fastact.dask needs Dask: pip install "fastact[dask]"') from e

__all__ = ["relu", "leaky_relu", "prelu", "maxout", "relu_backward",
           "leaky_relu_backward", "prelu_backward", "maxout_backward"]


def _dask(a, name):
    """A dask array of a supported dtype (checked the way fastact checks)."""
    a = a if isinstance(a, da.Array) else da.asarray(a)
    as_data(np.empty(0, a.dtype), name)
    return a


def _same(a, a_name, b, b_name):
    """The in-memory functions' dtype and shape checks, on dask arrays."""
    same_dtype(a, a_name, b, b_name)
    same_shape(a, a_name, b, b_name)


def relu(x, *, n_threads=None):
    """:func:`fastact.relu` of a dask array."""
    x = _dask(x, "x")
    return x.map_blocks(fastact.relu, n_threads=n_threads, dtype=x.dtype)


def leaky_relu(x, negative_slope=0.01, *, n_threads=None):
    """:func:`fastact.leaky_relu` of a dask array."""
    x = _dask(x, "x")
    return x.map_blocks(fastact.leaky_relu, negative_slope, n_threads=n_threads,
                        dtype=x.dtype)


def _pair(grad_output, x, y):
    _api._exactly_one(x, "x", y, "y")
    g = _dask(grad_output, "grad_output")
    ref, name = (x, "x") if x is not None else (y, "y")
    ref = _dask(ref, name)
    _same(g, "grad_output", ref, name)
    return g, ref.rechunk(g.chunks), name


def relu_backward(grad_output, x=None, *, y=None, n_threads=None):
    """:func:`fastact.relu_backward` of dask arrays."""
    g, ref, name = _pair(grad_output, x, y)
    return da.map_blocks(lambda gb, rb: fastact.relu_backward(gb, **{name: rb},
                                                              n_threads=n_threads),
                         g, ref, dtype=g.dtype)


def leaky_relu_backward(grad_output, x=None, *, y=None, negative_slope=0.01, n_threads=None):
    """:func:`fastact.leaky_relu_backward` of dask arrays."""
    g, ref, name = _pair(grad_output, x, y)
    if name == "y" and not float(negative_slope) >= 0:
        raise ValueError("y= (the forward output) needs negative_slope >= 0; pass x=")
    return da.map_blocks(
        lambda gb, rb: fastact.leaky_relu_backward(gb, **{name: rb},
                                                   negative_slope=negative_slope,
                                                   n_threads=n_threads),
        g, ref, dtype=g.dtype)


def _channels(x, weight, axis):
    """x with the channel axis in one chunk, the weight, the axis (None: one
    shared slope)."""
    like = np.broadcast_to(np.empty((), x.dtype), x.shape)  # no memory: shape and dtype
    w, _, ax = _api._prelu_weight(weight, like, axis)
    if ax is not None:
        x = x.rechunk({ax: -1})
    return x, w, ax


def prelu(x, weight, *, axis=1, n_threads=None):
    """:func:`fastact.prelu` of a dask array (the channel axis in one chunk)."""
    x = _dask(x, "x")
    x, w, _ = _channels(x, weight, axis)
    return x.map_blocks(fastact.prelu, w, axis=axis, n_threads=n_threads, dtype=x.dtype)


def prelu_backward(grad_output, x, weight, *, axis=1, n_threads=None):
    """:func:`fastact.prelu_backward` of dask arrays: ``(grad_input,
    grad_weight)``, the weight gradient a tree reduction of float64 partials."""
    g, x = _dask(grad_output, "grad_output"), _dask(x, "x")
    _same(g, "grad_output", x, "x")
    x, w, ax = _channels(x, weight, axis)
    g = g.rechunk(x.chunks)
    w_shape = np.shape(weight)
    grad_input = da.map_blocks(
        lambda gb, xb: fastact.prelu_backward(gb, xb, w, axis=axis, n_threads=n_threads)[0],
        g, x, dtype=x.dtype)
    if ax is None:  # one slope: a partial sum per block, summed as a tree
        partial_chunks = tuple((1,) * len(c) for c in x.chunks)
        keep = None
    else:
        partial_chunks = tuple((1,) * len(c) if d != ax else c for d, c in enumerate(x.chunks))
        keep = ax

    def partial(gb, xb):
        shape = [1] * xb.ndim
        if keep is not None:
            shape[keep] = w.size
        return _api._prelu_partial_weight_grad(gb, xb, w, axis).reshape(shape)

    partials = da.map_blocks(partial, g, x, dtype=np.float64, chunks=partial_chunks)
    axes = tuple(d for d in range(x.ndim) if d != keep)
    grad_weight = partials.sum(axis=axes, dtype=np.float64).astype(x.dtype).reshape(w_shape)
    return grad_input, grad_weight


def _grouped(x, k, axis):
    """x with every chunk along axis a multiple of k long."""
    ax = check_axis(axis, x.ndim)
    if x.shape[ax] % k:
        raise ValueError(f"k={k} does not divide x.shape[{axis}] = {x.shape[ax]}")
    chunks = x.chunks[ax]
    if all(c % k == 0 for c in chunks):
        return x, ax
    target = max(k, (max(chunks) // k) * k)
    sizes = [target] * (x.shape[ax] // target)
    if x.shape[ax] % target:
        sizes.append(x.shape[ax] % target)
    return x.rechunk({ax: tuple(sizes)}), ax


def maxout(x, k, axis=-1, *, return_indices=False, n_threads=None):
    """:func:`fastact.maxout` of a dask array (the grouped axis rechunked to
    multiples of k when needed). With ``return_indices`` the blocks are
    computed once per output."""
    x = _dask(x, "x")
    k = check_k(k)
    x, ax = _grouped(x, k, axis)
    chunks = tuple(tuple(c // k for c in cs) if d == ax else cs for d, cs in enumerate(x.chunks))
    y = x.map_blocks(fastact.maxout, k, axis, n_threads=n_threads, dtype=x.dtype,
                     chunks=chunks)
    if not return_indices:
        return y
    idx = x.map_blocks(lambda b: fastact.maxout(b, k, axis, return_indices=True,
                                                n_threads=n_threads)[1],
                       dtype=np.intp, chunks=chunks)
    return y, idx


def maxout_backward(grad_output, k, x=None, *, indices=None, axis=-1, n_threads=None):
    """:func:`fastact.maxout_backward` of dask arrays."""
    _api._exactly_one(x, "x", indices, "indices")
    g = _dask(grad_output, "grad_output")
    k = check_k(k)
    if x is not None:
        x = _dask(x, "x")
        same_dtype(g, "grad_output", x, "x")
        x, ax = _grouped(x, k, axis)
        g_chunks = tuple(tuple(c // k for c in cs) if d == ax else cs
                         for d, cs in enumerate(x.chunks))
        if g.shape != tuple(sum(c) for c in g_chunks):
            raise ValueError(f"grad_output has shape {g.shape} but maxout(x) needs "
                             f"{tuple(sum(c) for c in g_chunks)}")
        g = g.rechunk(g_chunks)
        return da.map_blocks(
            lambda gb, xb: fastact.maxout_backward(gb, k, xb, axis=axis, n_threads=n_threads),
            g, x, dtype=g.dtype, chunks=x.chunks)
    idx = indices if isinstance(indices, da.Array) else da.asarray(indices)
    if idx.shape != g.shape:
        raise ValueError(f"indices has shape {idx.shape} but grad_output has {g.shape}")
    ax = check_axis(axis, g.ndim)
    idx = idx.rechunk(g.chunks)
    chunks = tuple(tuple(c * k for c in cs) if d == ax else cs for d, cs in enumerate(g.chunks))
    return da.map_blocks(
        lambda gb, ib: fastact.maxout_backward(gb, k, indices=ib, axis=axis,
                                               n_threads=n_threads),
        g, idx, dtype=g.dtype, chunks=chunks)
