"""fastact on Dask arrays: every op, chunk by chunk, for data beyond one
machine's memory or one machine (``pip install "fastact[dask]"``).

* Element-wise ops (every entry of the registry, fastact/_ops.py) run
  through ``map_blocks``, out of place: a block mutated in place corrupts a
  persisted array (blocks are shared between graphs).
* RReLU in training draws each block's slopes with a key derived from the
  seed and the block's position (reproducible for a seed and a chunking).
* PReLU needs every channel of a block: the channel axis is rechunked to a
  single chunk (channel counts are small). Its weight gradient is a tree
  reduction of per-block float64 partial sums, rounded to the data dtype once
  at the end, as the in-memory function does (the sums differ from it only in
  order).
* Maxout rechunks the grouped axis to multiples of ``k`` when needed; indices
  are positions within each group, so they are valid for the whole array.
* Backward ops take arrays aligned with the forward ones (Dask unifies their
  chunks).
* A fused ``bias=`` is sliced to each block's part of ``bias_axis`` (PReLU's
  backward and RReLU form ``x + bias`` as a Dask step first); the bias
  gradient (``return_bias_grad=True``) is a tree reduction of per-block
  float64 sums, rounded once at the end.

In ``dask.distributed`` workers ``OMP_NUM_THREADS`` is 1 (set by the nanny),
so ``n_threads=None`` means one thread per task: parallelism comes from the
worker threads. Pass ``n_threads`` explicitly to use more per task.
"""
import inspect

import numpy as np

import fastact
from fastact import _api, _ops
from fastact._validate import as_data, check_axis, check_k, same_dtype, same_shape

try:
    import dask.array as da
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError('fastact.dask needs Dask: pip install "fastact[dask]"') from e

__all__ = _ops.public_functions()


def _dask(a, name):
    """A dask array of a supported dtype (checked the way fastact checks)."""
    a = a if isinstance(a, da.Array) else da.asarray(a)
    as_data(np.empty(0, a.dtype), name)
    return a


def _same(a, a_name, b, b_name):
    """The in-memory functions' dtype and shape checks, on dask arrays."""
    same_dtype(a, a_name, b, b_name)
    same_shape(a, a_name, b, b_name)


def _pair(grad_output, ref, ref_name):
    g = _dask(grad_output, "grad_output")
    ref = _dask(ref, ref_name)
    _same(g, "grad_output", ref, ref_name)
    return g, ref.rechunk(g.chunks)


def _bias_parts(x, bias, bias_axis, grad):
    """``(b, b_shape, ax)``: the bias cast and flattened (None without one),
    the bias gradient's shape and the bias axis (None: one shared value),
    checked as the in-memory functions check them."""
    like = np.broadcast_to(np.empty((), x.dtype), x.shape)  # no memory: shape and dtype
    if bias is not None:
        return _api._per_channel(bias, like, bias_axis, "bias")
    if grad:
        ax = _api._sum_axis(like, bias_axis)
        return None, (x.shape[ax],), ax
    return None, None, None


def _block_bias(b, ax, block_info):
    """The part of the bias that a block's elements take."""
    if b is None or ax is None:
        return b
    lo, hi = block_info[0]["array-location"][ax]
    return b[lo:hi]


def _plus_bias(x, b, ax):
    """x + b along ax, lazily, in x's dtype (NumPy's bits)."""
    if b is None:
        return x
    shape = [1] * x.ndim
    if ax is not None:
        shape[ax] = b.size
    return da.add(x, b.reshape(shape), dtype=x.dtype)


def _bias_grad(grad_input, ax, b_shape):
    """The bias gradient: a tree reduction of per-block float64 sums over
    every axis but ``ax``, rounded to the data dtype once at the end."""
    axes = tuple(d for d in range(grad_input.ndim) if d != ax)
    chunks = tuple(c if d == ax else (1,) * len(c) for d, c in enumerate(grad_input.chunks))
    partials = grad_input.map_blocks(
        lambda gi: np.sum(gi, axis=axes, dtype=np.float64, keepdims=True),
        dtype=np.float64, chunks=chunks)
    return _rounded(partials.sum(axis=axes, dtype=np.float64), grad_input.dtype).reshape(b_shape)


def _rounded(sums, dtype):
    """Float64 sums rounded to the data dtype, as the in-memory functions
    round them (a sum beyond float32 becomes inf, without a warning)."""
    def cast(block):
        with np.errstate(over="ignore"):
            return block.astype(dtype)
    return sums.map_blocks(cast, dtype=dtype)


def _without_out(func):
    """func's signature less ``out`` (results are new dask arrays)."""
    sig = inspect.signature(func)
    return sig.replace(parameters=[p for p in sig.parameters.values() if p.name != "out"])


def _wrap(op):
    """The Dask wrappers of a registry entry's forward and backward. Their
    parameters are checked at once, by the in-memory function on an empty
    array of the data dtype (same errors, before any graph is built)."""
    forward = getattr(fastact, op.name)
    backward = getattr(fastact, op.name + "_backward")

    def fwd(x, *args, n_threads=None, bias=None, bias_axis=-1, **kwargs):
        x = _dask(x, "x")
        forward(np.empty(0, x.dtype), *args, **kwargs)
        b, _, ax = _bias_parts(x, bias, bias_axis, False)
        return x.map_blocks(
            lambda xb, block_info=None: forward(
                xb, *args, bias=_block_bias(b, ax, block_info), bias_axis=bias_axis,
                n_threads=n_threads, **kwargs),
            dtype=x.dtype)

    def bwd(grad_output, x=None, *, y=None, n_threads=None, bias=None, bias_axis=-1,
            return_bias_grad=False, **kwargs):
        if op.y:
            _api._exactly_one(x, "x", y, "y")
        else:
            _api._required(x, "x")
        if y is not None and bias is not None:
            raise TypeError(_api._Y_BIAS)
        name = "x" if x is not None else "y"
        g, ref = _pair(grad_output, x if x is not None else y, name)
        empty = np.empty(0, g.dtype)
        backward(empty, **{name: empty}, **kwargs)
        b, b_shape, ax = _bias_parts(g, bias, bias_axis, return_bias_grad)
        grad_input = da.map_blocks(
            lambda gb, rb, block_info=None: backward(
                gb, **{name: rb}, bias=_block_bias(b, ax, block_info), bias_axis=bias_axis,
                n_threads=n_threads, **kwargs),
            g, ref, dtype=g.dtype)
        if not return_bias_grad:
            return grad_input
        return grad_input, _bias_grad(grad_input, ax, b_shape)

    for func, target in ((fwd, forward), (bwd, backward)):
        func.__name__ = func.__qualname__ = target.__name__
        func.__signature__ = _without_out(target)
        func.__doc__ = f":func:`fastact.{target.__name__}` of dask arrays, block by block."
    return {forward.__name__: fwd, backward.__name__: bwd}


for _op in _ops.ELEMENTWISE:
    globals().update(_wrap(_op))
del _op


def rrelu(x, lower=0.125, upper=1 / 3, *, training=False, seed=None, return_noise=False,
          bias=None, bias_axis=-1, n_threads=None):
    """:func:`fastact.rrelu` of a dask array. In training, each block draws its
    slopes with its own key, derived from the seed's key and the block's
    position: reproducible for a seed and a chunking (the slopes differ from
    those of the in-memory call on the whole array, whose positions count
    over the whole array)."""
    x = _dask(x, "x")
    fastact.rrelu(np.empty(0, x.dtype), lower, upper, training=training, seed=0)
    b, _, ax = _bias_parts(x, bias, bias_axis, False)
    x = _plus_bias(x, b, ax)
    key = _ops.rrelu_key(seed) if training else 0

    def block(b, block_id=None, part=0):
        s = int(np.random.SeedSequence([key, *block_id]).generate_state(1, np.uint64)[0])
        r = fastact.rrelu(b, lower, upper, training=training, seed=s,
                          return_noise=return_noise, n_threads=n_threads)
        return r[part] if return_noise else r

    y = x.map_blocks(block, dtype=x.dtype)
    if not return_noise:
        return y
    return y, x.map_blocks(block, part=1, dtype=x.dtype)


def rrelu_backward(grad_output, x=None, *, noise=None, lower=0.125, upper=1 / 3,
                   training=False, bias=None, bias_axis=-1, return_bias_grad=False,
                   n_threads=None):
    """:func:`fastact.rrelu_backward` of dask arrays."""
    name, ref = ("noise", noise) if training else ("x", x)
    _api._required(ref, name, f" when training={bool(training)}")
    g, ref = _pair(grad_output, ref, name)
    empty = np.empty(0, g.dtype)
    fastact.rrelu_backward(empty, **{name: empty}, lower=lower, upper=upper, training=training,
                           bias=None if bias is None else 0.0)
    b, b_shape, ax = _bias_parts(g, bias, bias_axis, return_bias_grad)
    grad_input = da.map_blocks(
        lambda gb, rb: fastact.rrelu_backward(gb, **{name: rb}, lower=lower, upper=upper,
                                              training=training, n_threads=n_threads),
        g, _plus_bias(ref, b, ax), dtype=g.dtype)
    if not return_bias_grad:
        return grad_input
    return grad_input, _bias_grad(grad_input, ax, b_shape)


def _channels(x, weight, axis):
    """x with the channel axis in one chunk, the weight, the axis (None: one
    shared slope)."""
    like = np.broadcast_to(np.empty((), x.dtype), x.shape)  # no memory: shape and dtype
    w, _, ax = _api._per_channel(weight, like, axis, "weight", torch_1d=True)
    if ax is not None:
        x = x.rechunk({ax: -1})
    return x, w, ax


def prelu(x, weight, *, axis=1, bias=None, bias_axis=-1, n_threads=None):
    """:func:`fastact.prelu` of a dask array (the channel axis in one chunk)."""
    x = _dask(x, "x")
    x, w, _ = _channels(x, weight, axis)
    b, _, bax = _bias_parts(x, bias, bias_axis, False)
    return x.map_blocks(
        lambda xb, block_info=None: fastact.prelu(
            xb, w, axis=axis, bias=_block_bias(b, bax, block_info), bias_axis=bias_axis,
            n_threads=n_threads),
        dtype=x.dtype)


def prelu_backward(grad_output, x, weight, *, axis=1, bias=None, bias_axis=-1,
                   return_bias_grad=False, n_threads=None):
    """:func:`fastact.prelu_backward` of dask arrays: ``(grad_input,
    grad_weight)`` (and ``grad_bias``), the weight and bias gradients tree
    reductions of float64 partials."""
    g, x = _dask(grad_output, "grad_output"), _dask(x, "x")
    _same(g, "grad_output", x, "x")
    x, w, ax = _channels(x, weight, axis)
    b, b_shape, bax = _bias_parts(x, bias, bias_axis, return_bias_grad)
    x = _plus_bias(x, b, bax)  # the gradients are taken at x + b: NumPy's bits
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
    grad_weight = _rounded(partials.sum(axis=axes, dtype=np.float64), x.dtype).reshape(w_shape)
    if not return_bias_grad:
        return grad_input, grad_weight
    return grad_input, grad_weight, _bias_grad(grad_input, bax, b_shape)


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
