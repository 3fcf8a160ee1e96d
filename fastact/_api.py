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

import numpy as np

from . import _ops, _runtime
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


_OPS = _kernels.OPS
_call = _kernels.call
_call_biased = _kernels.call_biased
_NO_ARGS = (0.0, 0.0)


def _elementwise(op, a, a_name, b, b_name, out, args, n_threads, f32_error=None,
                 bias=None, bias_axis=-1, bias_grad=False):
    """Shared body of every element-wise op: ``out = op(a[, b])`` with the
    kernel parameters ``args``; ``f32_error``: the message to raise if the
    data are float32 (a parameter overflows there). With ``bias``, the op
    applies to ``x + bias`` (x: ``a`` forward, ``b`` backward); with
    ``bias_grad``, a backward pass returns ``(out, grad_bias)``."""
    plain = bias is None and not bias_grad
    if f32_error is None:  # the common call: nothing to plan
        done = _call(op, a, b, out, args[0], args[1], n_threads) if plain else \
            _call_biased(op, a, b, out, bias, bias_axis, args[0], args[1], n_threads, bias_grad)
        if done is not None:
            return done
    return _planned_elementwise(op, a, a_name, b, b_name, out, args, n_threads, f32_error,
                                bias, bias_axis, bias_grad)


def _planned_elementwise(op, a, a_name, b, b_name, out, args, n_threads, f32_error,
                         bias=None, bias_axis=-1, bias_grad=False):
    """_elementwise past its common call (which the generated functions try
    themselves): every check, then the memory plan."""
    nt = effective_n_threads(n_threads)
    a = as_data(a, a_name)
    if f32_error is not None and a.dtype == np.float32:
        raise ValueError(f32_error)
    if b is not None:
        b = as_data(b, b_name)
        same_dtype(a, a_name, b, b_name)
        same_shape(a, a_name, b, b_name)
    if out is not None:
        check_out(out, a.shape, a.dtype)
    g, x = (None, a) if b is None else (a, b)  # forward: op(x); backward: op(g, x)
    if bias is not None or bias_grad:
        return _biased(op, g, x, out, args, nt, bias, bias_axis, bias_grad)
    _, dst, copy_back, x, g, _ = _planned(out, x, g, True)
    _kernels.elementwise(op, x if g is None else g, None if g is None else x, dst, None,
                         args[0], args[1], 0, nt)
    return finish(dst, copy_back)


# --------------------------------------------------------------------------
# Per-channel values (PReLU's weight, the fused bias) and the fused bias.

def _per_channel(values, x, axis, name, torch_1d=False):
    """``(v, shape, ax)``: the values cast to x's dtype and flattened, their
    original shape, and the channel axis (None for one value shared by every
    element). ``torch_1d``: PReLU's rule that 0-d and 1-D inputs with the
    default axis=1 take a single value only."""
    v_in = np.asarray(values)
    if v_in.dtype is x.dtype and v_in.ndim == 1 and _runtime.layout(v_in) & _runtime.LAYOUT_C:
        v = v_in  # already what the kernel takes
    elif v_in.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {v_in.dtype}; expected a real number array")
    else:
        v = np.ascontiguousarray(v_in, dtype=x.dtype).reshape(-1)
    if torch_1d and x.ndim < 2 and axis == 1:
        if v.size != 1:
            raise ValueError(
                f"{name} has {v.size} elements but x is {x.ndim}-D: with the default "
                f"axis=1 only a single slope is accepted (as PyTorch); pass axis=0 "
                f"for one slope per element of a 1-D x"
            )
        return v, v_in.shape, None
    ax = check_axis(axis, x.ndim)
    if v.size == 1:
        return v, v_in.shape, None
    if v.size != x.shape[ax]:
        raise ValueError(
            f"{name} has {v.size} elements; it needs 1 or x.shape[{axis}] = {x.shape[ax]}"
        )
    return v, v_in.shape, ax


def _sum_axis(x, bias_axis):
    """The channel axis of a bias gradient asked for without a bias."""
    if x.ndim == 0:
        raise ValueError("return_bias_grad=True without a bias needs x with at least one "
                         "dimension (the bias gradient has x.shape[bias_axis] values); "
                         "pass bias= to give it a shape")
    return check_axis(bias_axis, x.ndim)


def _planned(out, x, g, x_alias_ok, *extras):
    """The general path's memory plan of a call writing ``out`` from ``x``
    and ``g`` (None forward): ``(order, dst, copy_back, x, g, extras)``, the
    inputs contiguous in the working order (copied when they overlap
    ``out``), the 1-D ``extras`` (weights, biases; None kept) likewise in C
    order."""
    order = pick_order(out, x if g is None else g)
    dst, copy_back = destination(out, x.shape, x.dtype, order)
    outs = (out,)
    x = source(x, order, outs, alias_ok=x_alias_ok)
    if g is not None:
        g = source(g, order, outs, alias_ok=True)
    extras = [None if e is None else source(e, "C", outs) for e in extras]
    return order, dst, copy_back, x, g, extras


def _biased(op, g, x, out, args, nt, bias, bias_axis, bias_grad):
    """``op(x + bias)`` (g None) or ``op(g, x + bias)``, and with
    ``bias_grad`` the per-channel sums of the result: ``(result,
    grad_bias)``. x, g and out are checked."""
    if bias is not None:
        bv, b_shape, ax = _per_channel(bias, x, bias_axis, "bias")
    else:
        bv, ax = None, _sum_axis(x, bias_axis)
        b_shape = (x.shape[ax],)
    grad_b = np.empty(b_shape, x.dtype) if bias_grad else None
    order, dst, copy_back, x, g, (bv,) = _planned(out, x, g, True, bv)
    C, inner = (1, max(x.size, 1)) if ax is None else \
        (x.shape[ax], _inner_size(x.shape, ax, order))
    _kernels.biased(op, None if g is None else kernel_view(g, order), kernel_view(x, order),
                    bv, None, kernel_view(dst, order), None, grad_b, None, C, inner,
                    args[0], args[1], 0, nt)
    result = finish(dst, copy_back)
    return (result, grad_b) if bias_grad else result


def _exactly_one(a, a_name, b, b_name):
    if (a is None) == (b is None):
        raise TypeError(f"give exactly one of {a_name}= and {b_name}=")


def _required(a, a_name, why=""):
    if a is None:
        raise TypeError(f"{a_name}= is required{why}")


def _out_pair(out, pair, flag, second):
    """(first_out, second_out) from the ``out`` of a call that returns a pair
    when ``flag`` (``return_indices``, ``return_noise``) is true: then ``out``
    may be one array (the first) or a pair; otherwise only one array."""
    if not pair:
        if isinstance(out, tuple):
            raise TypeError(f"out must be one ndarray when {flag} is False")
        return out, None
    if isinstance(out, tuple):
        if len(out) != 2:
            raise TypeError(f"out must be an ndarray or a pair (y_out, {second})")
        return out
    return out, None


# --------------------------------------------------------------------------
# The element-wise ops of the registry (fastact/_ops.py): functions generated
# from each entry, with real signatures (what a def gives: fast argument
# parsing, introspection, no **kwargs), as dataclasses and namedtuple do.

def _params(op, values):
    """(the floats, the kernel's (p0, p1), the float32 overflow message)."""
    floats, f32_error = _ops.finite_params(op.params, values)
    if op.check is not None:
        op.check(*floats)
    return floats, op.args(floats), f32_error


# Parameters: the defaults are recognised by identity (free); other values
# are converted and checked once per distinct tuple of Python floats (a dict
# lookup), anything else (ints, NumPy scalars, 0-d arrays, errors) each call.
_PARAMS_SOURCE = """
    if {defaults}:
        floats, args, f32_error = _DEFAULT_FLOATS, _DEFAULT_ARGS, None
    else:
        key = ({values})
        hit = _SEEN.get(key) if {all_float} else None
        if hit is None:
            hit = _params(_OP, key)
            if {all_float} and len(_SEEN) < 256:
                _SEEN[key] = hit
        floats, args, f32_error = hit"""

# The common call (exact C-contiguous arrays, n_threads None or an int >= 1)
# goes to the kernel in one C call: at n = 1e3 a call costs about what a
# Numba function costs to dispatch.
_FORWARD_SOURCE = """
def {name}({signature}):{params}
    if f32_error is None and bias is None:
        done = _call(_CODE, x, None, out, args[0], args[1], n_threads)
        if done is not None:
            return done
    if bias is not None:
        return _elementwise(_CODE, x, "x", None, None, out, args, n_threads, f32_error,
                            bias, bias_axis)
    return _planned_elementwise(_CODE, x, "x", None, None, out, args, n_threads, f32_error)
"""

_BACKWARD_SOURCE = """
def {name}_backward({signature}):{params}
    if {x_only} and f32_error is None and bias is None and not return_bias_grad:
        done = _call(_CODE, grad_output, x, out, args[0], args[1], n_threads)
        if done is not None:
            return done
    {refs}
    if y is not None and _OP.y_error is not None:
        why = _OP.y_error(*floats)
        if why:
            raise ValueError(why)
    if y is not None and bias is not None:
        raise TypeError(_Y_BIAS)
    ref, ref_name, code = (x, "x", _CODE) if x is not None else (y, "y", _CODE_Y)
    # The x path without bias tried its common call above.
    run = _planned_elementwise if x is not None and bias is None and not return_bias_grad \
        else _elementwise
    return run(code, grad_output, "grad_output", ref, ref_name, out, args, n_threads,
               f32_error, bias, bias_axis, return_bias_grad)
"""

_Y_BIAS = ("bias= goes with x= (the gradient is taken at x + bias); the forward "
           "output y already includes the bias: pass y= alone")

_X_DOC = """x : array_like of float32 or float64
    Input; any other dtype raises ``TypeError`` (never cast)."""
_OUT_DOC = """out : ndarray, optional
    Where to write the result: same shape and dtype as ``x``, writeable.
    ``out=x`` is the in-place call and allocates nothing."""
_GRAD_DOC = """grad_output : array_like of float32 or float64
    Gradient with respect to the output."""
_GRAD_OUT_DOC = """out : ndarray, optional
    Same shape and dtype as ``grad_output``; ``out=grad_output`` is the
    in-place call."""
_THREADS_DOC = """n_threads : int, optional
    Threads for this call; see :func:`fastact.effective_n_threads`."""
_BIAS_DOC = """bias : array_like, optional
    Fused bias: the op applies to ``x + bias[c]``, ``c`` the index along
    ``bias_axis``, the sum formed in the data dtype (so the result equals the
    op applied to NumPy's ``x + b``, bit for bit). A scalar, 1 element, or
    ``x.shape[bias_axis]`` elements; cast to the data dtype.
bias_axis : int, default -1
    The bias's axis: -1 features last (after ``X @ W``), 1 NCHW channels."""
_BIAS_BACKWARD_DOC = """bias : array_like, optional
    The forward's fused bias: the gradient is taken at ``x + bias[c]``
    (``x`` required: with ``y=`` it raises ``TypeError``).
bias_axis : int, default -1
    The bias's axis, as in the forward.
return_bias_grad : bool, default False
    Also return the bias gradient: ``grad_input`` summed over every axis
    but ``bias_axis``, in float64 (the same bits for every thread count),
    rounded to the data dtype; shaped like ``bias``, or
    ``(x.shape[bias_axis],)`` without one."""


def _docstring(op, backward):
    """numpydoc text of a generated function, from its registry entry."""
    params = []
    for p in op.params:
        d = _ops.default(p, backward)
        t = "str" if p.choices else "float"
        kind = (t if d is _ops.REQUIRED else f"{t}, optional" if d is None
                else f"{t}, default {d!r}")
        note = " Unused by the gradient, accepted as the forward takes it." \
            if backward and not p.grad_uses else ""
        finite = ", where it must be finite" if p.finite else ""
        how = "" if p.choices else f"; rounded to the data dtype{finite}"
        params.append(f"{p.name} : {kind}\n    {p.doc[:1].upper()}{p.doc[1:]}{how}.{note}")
    if not backward:
        head = f"{op.summary}: ``{op.rule}``, element-wise."
        sections = [_X_DOC, *params, _OUT_DOC, _BIAS_DOC, _THREADS_DOC]
        returns = "ndarray\n    ``out`` when given, else a new array."
        twin = op.name
    else:
        head = (f"Gradient of :func:`fastact.{op.name}`: ``{op.grad_rule}``, "
                f"``g`` = ``grad_output``.")
        y_doc = (f"The forward output: ``{op.y_rule}``, formed in the data dtype."
                 if op.y_rule else
                 "The forward output: the same formula applied to it gives the same "
                 "gradient.")
        refs = ["x : array_like, optional\n    The forward input; give exactly one of "
                "``x`` and ``y``.",
                f"y : array_like, optional\n    {y_doc}"] if op.y else \
            ["x : array_like\n    The forward input (required)."]
        sections = [_GRAD_DOC, *refs, *params, _GRAD_OUT_DOC, _BIAS_BACKWARD_DOC,
                    _THREADS_DOC]
        returns = ("ndarray\n    The gradient with respect to ``x``; with "
                   "``return_bias_grad=True`` the pair ``(grad_input, grad_bias)``.")
        twin = op.name + "_backward"
    example = "" if backward or not op.example else (
        "\n\nExamples\n--------\n>>> import numpy as np, fastact" + op.example)
    return (f"{head}\n\nParameters\n----------\n" + "\n".join(sections)
            + f"\n\nReturns\n-------\n{returns}\n\nNotes\n-----\n{op.notes} "
            f"The sign of a zero result is not specified. Plain-NumPy twin: "
            f"``fastact.reference.{twin}``.{example}\n")


def _define(op):
    """The forward and backward functions of a registry entry, by name."""
    made = {}
    for backward in (False, True):
        scope = {"_elementwise": _elementwise, "_planned_elementwise": _planned_elementwise,
                 "_params": _params, "_OP": op, "_call": _call,
                 "_exactly_one": _exactly_one, "_required": _required,
                 "_CODE": _OPS[op.backward if backward else op.forward], "_SEEN": {},
                 "_CODE_Y": _OPS[op.backward_y or op.backward], "_Y_BIAS": _Y_BIAS}
        scope.update({"_D_" + p.name: p.default for p in op.params
                      if p.default is not _ops.REQUIRED})
        if all(p.default is not _ops.REQUIRED for p in op.params):
            floats, args, _ = _params(op, [p.default for p in op.params])
            scope.update(_DEFAULT_FLOATS=floats, _DEFAULT_ARGS=args)
            defaults = " and ".join(f"{p.name} is _D_{p.name}" for p in op.params) or "True"
        else:
            defaults = "False"
        # An optional parameter the gradient does not use is checked only when given.
        values = "".join(f"{p.name}, " if _ops.default(p, backward) is not None else
                         f"0.0 if {p.name} is None else {p.name}, " for p in op.params)
        refs = ('_exactly_one(x, "x", y, "y")' if op.y else
                'y = None\n    _required(x, "x")')
        all_float = " and ".join(
            f"type({p.name}) is {'str' if p.choices else 'float'}"
            if _ops.default(p, backward) is not None else
            f"({p.name} is None or type({p.name}) is float)" for p in op.params) or "True"
        params = _PARAMS_SOURCE.format(defaults=defaults, values=values, all_float=all_float)
        x_only = "x is not None and y is None" if op.y else "x is not None"
        source = (_BACKWARD_SOURCE if backward else _FORWARD_SOURCE).format(
            name=op.name, signature=_ops.signature(op, backward, defaults="_D_"),
            params=params, refs=refs, x_only=x_only)
        exec(source, scope)  # noqa: S102 - source built from the registry entry
        func = scope[op.name + ("_backward" if backward else "")]
        func.__module__ = "fastact"
        func.__doc__ = _docstring(op, backward)
        made[func.__name__] = func
    return made


__test__ = {}  # doctest finds generated functions here (their globals are their own)
for _op in _ops.ELEMENTWISE:
    __test__.update(_define(_op))
globals().update(__test__)
del _op


# --------------------------------------------------------------------------
# RReLU

_LOWER, _UPPER = 0.125, 1 / 3  # the default objects: recognised by identity
_RRELU_PARAMS = (_ops.Param("lower", _LOWER), _ops.Param("upper", _UPPER))


_RRELU_SEEN = {}


def _rrelu_bounds(lower, upper):
    """(lower, upper) as checked floats, the float32 overflow message, and
    the kernel arguments of eval mode (the mean slope, in float64 from the
    values given); checked once per distinct pair of Python floats."""
    if lower is _LOWER and upper is _UPPER:
        return _RRELU_DEFAULT
    exact = type(lower) is float and type(upper) is float
    hit = _RRELU_SEEN.get((lower, upper)) if exact else None
    if hit is None:
        (lo, hi), f32_error = _ops.finite_params(_RRELU_PARAMS, (lower, upper))
        if lo > hi:
            raise ValueError(f"lower must be <= upper, got lower={lo}, upper={hi}")
        hit = lo, hi, f32_error, ((lo + hi) / 2, 0.0)
        if exact and len(_RRELU_SEEN) < 256:
            _RRELU_SEEN[(lower, upper)] = hit
    return hit


_RRELU_DEFAULT = (_LOWER, _UPPER, None, ((_LOWER + _UPPER) / 2, 0.0))


def rrelu(x, lower=_LOWER, upper=_UPPER, out=None, *, training=False, seed=None,
          return_noise=False, bias=None, bias_axis=-1, n_threads=None):
    """Randomized leaky ReLU: ``x if x > 0 else r * x``.

    Parameters
    ----------
    x : array_like of float32 or float64
    lower, upper : float, default 1/8 and 1/3
        The range of the slopes, ``lower <= upper`` (``ValueError``
        otherwise); finite in the data dtype.
    out : ndarray or (ndarray, ndarray), optional
        The output, or with ``return_noise=True`` the pair ``(y_out,
        noise_out)`` so that repeated calls allocate nothing. ``out=x`` is the
        in-place call.
    training : bool, default False
        False: every element uses ``r = s``, ``s = (lower + upper) / 2``
        computed in float64 from the parameters as given and rounded once to
        the data dtype. True: every element with ``x <= 0`` (+-0 included)
        gets its own slope ``r`` drawn uniformly from ``[lower, upper]``
        (rounded to the dtype); NaN and ``x > 0`` pass through.
    seed : None, int >= 0 or numpy.random.Generator
        The slopes' key (training only): None draws fresh entropy each call;
        an int gives the same slopes every time; a Generator gives one 64-bit
        key and advances. The slope of an element depends only on the key and
        its position in the array's C order, so the same seed gives the same
        bits for every thread count, SIMD level, memory layout and chunking.
    return_noise : bool, default False
        Also return ``noise`` (PyTorch's name): 1 where ``x > 0`` or NaN, the
        slope used elsewhere, in ``x``'s dtype and shape. The training
        gradient is ``grad_output * noise`` (:func:`rrelu_backward`).
    bias : array_like, optional
        Fused bias: RReLU of ``x + bias[c]``, ``c`` the index along
        ``bias_axis``, the sum formed in the data dtype (bit for bit NumPy's
        ``x + b``); 1 or ``x.shape[bias_axis]`` values. One pass in eval
        mode; in training mode, or with ``return_noise``, the sum is formed
        first.
    bias_axis : int, default -1
    n_threads : int, optional

    Returns
    -------
    y : ndarray
    noise : ndarray, only with ``return_noise=True``

    Notes
    -----
    The slopes come from a counter-based generator (a hash of the key and
    the element's C-order position, see docs/design.md), not from NumPy's
    global state. A Fortran-ordered ``x`` is processed in place, in memory
    order, each element still taking the slope of its C-order position. Plain-NumPy twin:
    ``fastact.reference.rrelu`` (the same slopes, bit for bit).
    """
    lo, hi, f32_error, eval_args = _rrelu_bounds(lower, upper)
    if not training and not return_noise:
        return _elementwise(_OPS["leaky_relu"], x, "x", None, None, out, eval_args,
                            n_threads, f32_error, bias, bias_axis)
    if bias is not None:
        x = _plus_bias(x, bias, bias_axis)
    key = _ops.rrelu_key(seed) if training else 0
    nt = effective_n_threads(n_threads)
    if training and not return_noise and _runtime.plain(x, None, out) and (
            f32_error is None or x.dtype != np.float32):
        # The common training call: C-contiguous, nothing to plan.
        dst = np.empty(x.shape, x.dtype) if out is None else out
        _kernels.elementwise(_OPS["rrelu_train"], x, None, dst, None, lo, hi, key, nt)
        return dst
    x = as_data(x, "x")
    if f32_error is not None and x.dtype == np.float32:
        raise ValueError(f32_error)
    y_out, n_out = _out_pair(out, return_noise, "return_noise", "noise_out")
    for o, name in ((y_out, "out"), (n_out, "noise_out")):
        if o is not None:
            check_out(o, x.shape, x.dtype, name)
    if y_out is not None and n_out is not None and _runtime.overlap(y_out, n_out):
        raise ValueError("y_out and noise_out overlap")
    order = pick_order(y_out, x)
    y, y_back = destination(y_out, x.shape, x.dtype, order)
    noise, n_back = destination(n_out, x.shape, x.dtype, order) if return_noise else (None, None)
    x = source(x, order, (y_out, n_out), alias_ok=True)
    if training and order == "F" and x.ndim > 1:
        # The slopes follow C order; memory runs in F order.
        _kernels.rrelu_fortran(x, y, noise, lo, hi, key, nt)
    else:
        code, args = (_OPS["rrelu_train"], (lo, hi)) if training else \
            (_OPS["rrelu_eval_noise"], eval_args)
        _kernels.elementwise(code, x, None, y, noise, args[0], args[1], key, nt)
    y = finish(y, y_back)
    return (y, finish(noise, n_back)) if return_noise else y


def rrelu_backward(grad_output, x=None, *, noise=None, lower=_LOWER, upper=_UPPER,
                   training=False, out=None, bias=None, bias_axis=-1, return_bias_grad=False,
                   n_threads=None):
    """Gradient of :func:`rrelu`.

    Parameters
    ----------
    grad_output : array_like of float32 or float64
    x : array_like, optional
        The forward input: required when ``training`` is False.
    noise : array_like, optional
        The noise from ``rrelu(..., training=True, return_noise=True)``:
        required when ``training`` is True (``TypeError`` without it).
    lower, upper : float
        As in the forward (the eval slope is ``(lower + upper) / 2``).
    training : bool, default False
    out : ndarray, optional
        ``out=grad_output`` is the in-place call.
    bias : array_like, optional
        Eval mode: the forward's fused bias, the gradient taken at
        ``x + bias[c]``. Training mode reads ``noise``, not ``x``: a bias
        there raises ``TypeError``.
    bias_axis : int, default -1
    return_bias_grad : bool, default False
        Also return the bias gradient: the result summed over every axis but
        ``bias_axis`` in float64, rounded to the data dtype.
    n_threads : int, optional

    Returns
    -------
    ndarray
        training: ``grad_output * noise``; eval: ``grad_output if x > 0 else
        s * grad_output`` (a NaN ``x`` takes the slope side, as Leaky ReLU).
        With ``return_bias_grad=True``, the pair ``(grad_input, grad_bias)``.

    Notes
    -----
    As PyTorch's ``rrelu_with_noise_backward``, the input that the mode does
    not use is not read (it is checked when given: dtype and shape).
    """
    lo, hi, f32_error, eval_args = _rrelu_bounds(lower, upper)
    if training:
        _required(noise, "noise", " when training=True (rrelu(..., return_noise=True) "
                                  "gives it)")
        a, a_name, b, b_name, unused, unused_name = \
            grad_output, "grad_output", noise, "noise", x, "x"
        code, args = _OPS["mul"], _NO_ARGS
        if bias is not None:
            raise TypeError("bias= goes with x= in eval mode; the training gradient "
                            "reads noise=, which the bias does not change")
    else:
        _required(x, "x", " when training=False")
        a, a_name, b, b_name, unused, unused_name = \
            grad_output, "grad_output", x, "x", noise, "noise"
        code, args = _OPS["leaky_relu_grad"], eval_args
    if unused is not None:
        g, other = as_data(a, a_name), as_data(unused, unused_name)
        same_dtype(g, a_name, other, unused_name)
        same_shape(g, a_name, other, unused_name)
    return _elementwise(code, a, a_name, b, b_name, out, args, n_threads, f32_error,
                        bias, bias_axis, return_bias_grad)


def _plus_bias(x, bias, bias_axis):
    """NumPy's ``x + bias`` along ``bias_axis``, in x's dtype."""
    x = as_data(x, "x")
    b, _, ax = _per_channel(bias, x, bias_axis, "bias")
    return _add_along(x, b, ax)


def _add_along(x, b, ax):
    """``x + b[c]``, c the index along ``ax`` (None: b holds one value)."""
    shape = [1] * x.ndim
    if ax is not None:
        shape[ax] = b.size
    return np.add(x, b.reshape(shape), dtype=x.dtype)


# --------------------------------------------------------------------------
# PReLU


def _inner_size(shape, ax, order):
    """The number of elements after ``axis`` in the C-ordered kernel view (the
    view is ``a.T`` for Fortran order, where axis ``i`` is ``ndim - 1 - i``)."""
    if order == "F":
        shape, ax = shape[::-1], len(shape) - 1 - ax
    return math.prod(shape[ax + 1:])


_FORWARD = object()  # the g of a forward call, so that a None grad_output is an error


def _prelu(g, x, weight, out, axis, n_threads, grad_weight_dtype=None, bias=None,
           bias_axis=-1, bias_grad=False):
    """Shared body of prelu (g is _FORWARD) and prelu_backward (the weight
    gradient in x's dtype, or in ``grad_weight_dtype``); with a fused bias
    or its gradient, _prelu_biased."""
    nt = effective_n_threads(n_threads)
    backward = g is not _FORWARD
    plan = None
    if bias is not None or bias_grad:
        if grad_weight_dtype is None:  # the common call, checked and allocated in C
            done = _call_biased(0, g if backward else x, x if backward else None, out, bias,
                                bias_axis, 0.0, 0.0, nt, bias_grad, weight, axis)
            if done is not None:
                return done
        return _prelu_biased(g, x, weight, out, axis, nt, bias, bias_axis, bias_grad)
    if grad_weight_dtype is None:
        plan = _runtime.prelu_plan(g if backward else None, x, weight, axis, out, backward)
    if plan is not None:  # the common call, checked and allocated in C
        dst, grad_w, C, inner = plan
        _kernels.prelu(g if backward else None, x, weight, dst, grad_w, C, inner, nt)
        return (dst, grad_w) if backward else dst
    x = as_data(x, "x")
    if g is _FORWARD:
        g = None
    else:
        g = as_data(g, "grad_output")
        same_dtype(g, "grad_output", x, "x")
        same_shape(g, "grad_output", x, "x")
    w, w_shape, ax = _per_channel(weight, x, axis, "weight", torch_1d=True)
    if out is not None:
        check_out(out, x.shape, x.dtype)
    if ax is None:  # one shared slope: a single channel
        C, inner = 1, max(x.size, 1)
    else:
        C = x.shape[ax]
    grad_w = None if g is None else np.empty(w_shape, grad_weight_dtype or x.dtype)
    if _runtime.plain(x, g, out) and (out is None or not _runtime.overlap(w, out)):
        # The common call: C-contiguous, nothing to copy.
        dst = np.empty(x.shape, x.dtype) if out is None else out
        if ax is not None:
            inner = _inner_size(x.shape, ax, "C")
        _kernels.prelu(g, x, w, dst, grad_w, C, inner, nt)
        return dst if g is None else (dst, grad_w)
    order, dst, copy_back, x, g, (w,) = _planned(out, x, g, g is None, w)
    if ax is not None:
        inner = _inner_size(x.shape, ax, order)
    if x.size or grad_w is not None:
        _kernels.prelu(None if g is None else kernel_view(g, order), kernel_view(x, order),
                       w, kernel_view(dst, order), grad_w, C, inner, nt)
    result = finish(dst, copy_back)
    if g is None:
        return result
    return result, grad_w


def _prelu_biased(g, x, weight, out, axis, nt, bias, bias_axis, bias_grad):
    """PReLU of ``x + bias`` (g is _FORWARD) or its gradients, and with
    ``bias_grad`` the bias gradient last: ``(grad_input, grad_weight,
    grad_bias)``. One fused pass when the weight and the bias have one
    channel axis (or either is a single value); otherwise the sum is formed
    by NumPy first and the bias gradient summed by NumPy after (in float64,
    one thread: the same bits for every thread count either way)."""
    x = as_data(x, "x")
    g = None if g is _FORWARD else as_data(g, "grad_output")
    if g is not None:
        same_dtype(g, "grad_output", x, "x")
        same_shape(g, "grad_output", x, "x")
    w, w_shape, wax = _per_channel(weight, x, axis, "weight", torch_1d=True)
    if bias is not None:
        b, b_shape, bax = _per_channel(bias, x, bias_axis, "bias")
    else:
        b, bax = None, _sum_axis(x, bias_axis)
        b_shape = (x.shape[bax],)
    if out is not None:
        check_out(out, x.shape, x.dtype)
    if wax is not None and bax is not None and wax != bax:
        return _prelu_two_axes(g, x, b, bax, b_shape, weight, out, axis, nt, bias_grad)
    ax = bax if wax is None else wax
    if ax is not None:  # one layout for both: a single value spread over the channels
        C = x.shape[ax]
        if w.size != C:
            w = np.full(C, w[0], x.dtype)
        if b is not None and b.size != C:
            b = np.full(C, b[0], x.dtype)
    else:
        C = 1
    order, dst, copy_back, x, g, (w, b) = _planned(out, x, g, g is None, w, b)
    inner = max(x.size, 1) if ax is None else _inner_size(x.shape, ax, order)
    # Per-channel float64 sums, rounded below (a single weight or bias
    # spread over the channels takes the total).
    sum_w = None if g is None else np.empty(C, np.float64)
    sum_b = np.empty(C, np.float64) if bias_grad else None
    _kernels.biased(0, None if g is None else kernel_view(g, order), kernel_view(x, order),
                    b, w, kernel_view(dst, order), None, sum_b, sum_w, C, inner,
                    0.0, 0.0, 0, nt)
    result = finish(dst, copy_back)
    if g is None:
        return result
    grads = [result, _rounded(sum_w, w_shape, x.dtype)]
    if bias_grad:
        grads.append(_rounded(sum_b, b_shape, x.dtype))
    return tuple(grads)


def _rounded(sums, shape, dtype):
    """Float64 channel sums as a gradient of ``shape``: one rounding to the
    dtype, the total when the parameter is a single value (C casts: a sum
    beyond float32 becomes inf without a warning, as in the kernels)."""
    if math.prod(shape) != sums.size:
        sums = np.array([sums.sum()])
    with np.errstate(over="ignore"):
        return sums.astype(dtype).reshape(shape)


def _prelu_two_axes(g, x, b, bax, b_shape, weight, out, axis, nt, bias_grad):
    """_prelu_biased when the weight and the bias lie on different axes."""
    if b is not None:
        x = _add_along(x, b, bax)
    if g is None:
        return _prelu(_FORWARD, x, weight, out, axis, nt)
    grad_input, grad_weight = _prelu(g, x, weight, out, axis, nt)
    if not bias_grad:
        return grad_input, grad_weight
    others = tuple(d for d in range(x.ndim) if d != bax)
    sums = np.sum(grad_input, axis=others, dtype=np.float64)
    return grad_input, grad_weight, _rounded(sums, b_shape, x.dtype)


def _prelu_partial_weight_grad(g, x, weight, axis, n_threads=None):
    """The weight gradient of one block in float64, unrounded: the partial
    sums fastact.dask reduces as a tree."""
    return _prelu(g, x, weight, None, axis, n_threads, np.float64)[1].reshape(-1)


def prelu(x, weight, out=None, *, axis=1, bias=None, bias_axis=-1, n_threads=None):
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
    bias : array_like, optional
        Fused bias: the result is PReLU of ``x + bias[c]``, ``c`` the index
        along ``bias_axis``, the sum formed in the data dtype (so the result
        equals PReLU of NumPy's ``x + b``, bit for bit). A scalar, 1 element,
        or ``x.shape[bias_axis]`` elements; cast to the data dtype.
    bias_axis : int, default -1
        The bias's axis. One pass when it is the weight's axis (or either is
        a single value), else NumPy forms ``x + bias`` first.
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
    return _prelu(_FORWARD, x, weight, out, axis, n_threads, bias=bias, bias_axis=bias_axis)


def prelu_backward(grad_output, x, weight, out=None, *, axis=1, bias=None, bias_axis=-1,
                   return_bias_grad=False, n_threads=None):
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
    bias : array_like, optional
        The forward's fused bias: the gradients are taken at ``x + bias[c]``.
    bias_axis : int, default -1
        The bias's axis, as in the forward.
    return_bias_grad : bool, default False
        Also return the bias gradient (third): ``grad_input`` summed over
        every axis but ``bias_axis``, in float64 (the same bits for every
        thread count), rounded to the data dtype; shaped like ``bias``, or
        ``(x.shape[bias_axis],)`` without one.
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

    grad_bias : ndarray, only with ``return_bias_grad=True``

    Notes
    -----
    Every gradient comes from one pass over the data (with a bias on
    another axis than the weight's, the bias gradient takes a second).
    """
    return _prelu(grad_output, x, weight, out, axis, n_threads, bias=bias,
                  bias_axis=bias_axis, bias_grad=return_bias_grad)


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
    y_out, i_out = _out_pair(out, return_indices, "return_indices", "indices_out")
    plan = _runtime.maxout_plan(x, k, axis, y_out, i_out, return_indices)
    if plan is not None:  # the common call, checked and allocated in C
        y, idx, inner = plan
        _kernels.maxout(x, y, idx, k, inner, nt)
        return (y, idx) if return_indices else y
    x = as_data(x, "x")
    k = check_k(k)
    if x.ndim == 0:
        return _on_0d(maxout, x, out, axis, k, return_indices=return_indices,
                      n_threads=n_threads)
    ax = check_axis(axis, x.ndim)
    if x.shape[ax] % k:
        raise ValueError(f"k={k} does not divide x.shape[{axis}] = {x.shape[ax]}")
    y_shape = x.shape[:ax] + (x.shape[ax] // k,) + x.shape[ax + 1:]
    if y_out is not None:
        check_out(y_out, y_shape, x.dtype)
    if i_out is not None:
        check_out(i_out, y_shape, np.intp, "indices_out")
        if y_out is not None and _runtime.overlap(y_out, i_out):
            raise ValueError("y_out and indices_out overlap")
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


def _out_of_range(k):
    return ValueError(f"indices must lie in 0..{k - 1} (k={k})")


def _check_indices(indices, g, k, order, outs):
    """Indices of an integer dtype with g's shape, as a contiguous np.intp
    array. Values outside 0..k-1 raise before anything is written: here for
    other integer dtypes, in the kernel (a parallel read-only pass) for np.intp."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices has dtype {idx.dtype}; it needs an integer dtype "
                        f"(np.intp, as maxout(..., return_indices=True) gives)")
    same_shape(g, "grad_output", idx, "indices")
    if idx.dtype != np.intp:
        if idx.size and (idx.min() < 0 or idx.max() >= k):
            raise _out_of_range(k)
        return np.array(idx, dtype=np.intp, order=order)
    return source(idx, order, outs)


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
    plan = _runtime.maxout_backward_plan(grad_output, k, x, indices, axis, out)
    if plan is not None:  # the common call, checked and allocated in C
        dst, inner = plan
        if not _kernels.maxout_backward(grad_output, x, indices, dst, k, inner, nt):
            raise _out_of_range(k)  # found before anything was written
        return dst
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
        if not _kernels.maxout_backward(kernel_view(g, order),
                                        None if x is None else kernel_view(x, order),
                                        None if idx is None else kernel_view(idx, order),
                                        kernel_view(dst, order), k, inner, nt):
            raise _out_of_range(k)  # found before anything was written
    return finish(dst, copy_back)


__all__ = _ops.public_functions()  # registry order, forward then backward
