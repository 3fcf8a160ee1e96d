"""The registry of fastact's ops: one entry per public activation.

Each entry states, in one place, what the rest of the package needs to know
about an op: its name and parameters, the rule it computes and the rule of its
gradient (as written in the docs), which backward inputs it accepts, the
kernel codes that compute it, its plain-NumPy twin, its PyTorch oracle and
peer, and the NumPy idiom it is benchmarked against. From this table:

* ``fastact._api`` generates the public functions of the element-wise ops
  (forward and ``*_backward``, signatures and docstrings included);
* ``fastact.reference`` exposes the twins under the public names;
* ``fastact.dask`` wraps every element-wise op;
* ``python -m fastact``, ``--peers`` and the asv suite take their cases from it;
* the tests run every generic check over it, and check that the stubs
  (the generated block of ``fastact/__init__.pyi``, see :func:`write_generated`), the
  README's API table and every layer above cover each entry.

Adding a piecewise op: its scalar rules and op codes in ``_kernels.pyx`` and
one :class:`Elementwise` entry here (with its docs: rule, notes, example);
then :func:`write_generated` rewrites the stub's and the README's generated
blocks. docs/design.md has the whole picture.

Ops whose signatures do not fit the element-wise mould (``prelu``, ``maxout``,
``rrelu``) are written by hand in ``fastact/_api.py``; they have entries here
too (:class:`Custom`), so every check of completeness covers them.
"""
import dataclasses
import functools
import math
import numbers
import os
from typing import Callable

import numpy as np

REQUIRED = object()  # a parameter without a default

# float32(v) is infinite from here up: 2**128 - 2**103, halfway between the
# largest float32 and 2**128, rounds to even, which is the infinity.
F32_OVERFLOW = 3.4028235677973366e38


@dataclasses.dataclass(frozen=True)
class Param:
    """A real parameter: rounded to the data dtype before use. ``finite``:
    NaN or an infinity (after rounding) raises ``ValueError``."""

    name: str
    default: object = REQUIRED
    doc: str = ""
    finite: bool = True
    # False: the derivative does not use it; the backward still takes it, as
    # an optional keyword when it has no default.
    grad_uses: bool = True
    # A string parameter instead: its allowed values (the kernel sees the
    # index of the one given, as a float).
    choices: tuple = ()


def _dt(x, v):
    """v rounded to x's dtype."""
    return x.dtype.type(v)


def slope_factor(mask, slope):
    """1 where mask, else slope: a branch-free NumPy select for the benchmarks'
    idioms. np.where and a masked copyto run ~10x slower on random signs
    (measured), which would flatter fastact."""
    return mask * (1 - slope) + slope


def _clip6(t):
    """min(max(t, 0), 6), NaN-propagating (np.maximum and np.minimum are)."""
    return np.minimum(np.maximum(t, t.dtype.type(0)), t.dtype.type(6))


@dataclasses.dataclass(frozen=True)
class Elementwise:
    """An element-wise activation whose functions are generated.

    ``forward``/``backward``: the kernel op codes (names in
    ``_kernels.OPS``); ``kernel_args(*params) -> (p0, p1)`` maps the public
    parameters (Python floats) onto the kernel's two. ``y``: whether the
    backward takes the forward output; ``y_error(*params)`` returns why not
    for these parameters (or None). ``check(*params)`` raises ``ValueError``
    for parameter combinations the op refuses.

    ``numpy(x, *params)`` and ``numpy_backward(g, ref, *params)`` are the
    twins (``ref`` is x, or y where allowed: the same formula);
    ``torch(torch, x, *params, out)`` and ``torch_backward(torch, g, x,
    *params, out)`` PyTorch's kernels for the same result (oracle and
    benchmark peer); ``bench(x, out, *params)`` and ``bench_backward(g, x,
    out, *params)`` the fastest NumPy idiom, for the benchmarks. ``sample``:
    parameter values the tests and benchmarks use (inexact in binary where
    that matters).
    """

    name: str
    summary: str
    rule: str
    grad_rule: str
    forward: str
    backward: str
    numpy: Callable
    numpy_backward: Callable
    bench: Callable
    bench_backward: Callable
    torch: Callable
    torch_backward: Callable
    params: tuple = ()
    kernel_args: Callable | None = None
    check: Callable | None = None
    y: bool = False
    y_error: Callable | None = None
    sample: tuple = ()
    notes: str = ""
    example: str = ""  # doctest lines of the forward's docstring
    # Where PyTorch 2.13's kernels depart from the formula, the oracle test
    # leaves these inputs out: NaN x (for a NaN x, its vectorised hardtanh and
    # relu6 gradients give 0 and its hardswish gradient NaN, where the
    # formula, like its scalar paths, gives g), and hardsigmoid's float64
    # gradient (it multiplies by the float32 constant 1/6).
    torch_skip_nan: bool = False
    torch_skip_backward_f64: bool = False
    # Smooth ops: the backward's kernel and twin from y= when that formula
    # differs from the one on x (the ELU family), and exact=False: results
    # are within the accuracy bounds of docs/accuracy.md, not the bits of a
    # NumPy expression (the twins are then float64 NumPy formulas).
    backward_y: str | None = None
    numpy_backward_y: Callable | None = None
    y_rule: str = ""  # that formula, for the docs
    exact: bool = True

    @property
    def functions(self):
        return (self.name, self.name + "_backward")

    def args(self, values):
        """The kernel's (p0, p1) for public parameter values (floats)."""
        if self.kernel_args is not None:
            return self.kernel_args(*values)
        return (tuple(values) + (0.0, 0.0))[:2]


@dataclasses.dataclass(frozen=True)
class Custom:
    """An op written by hand in fastact/_api.py (its twin in reference.py)."""

    name: str
    summary: str
    functions: tuple


def _real(name, v):
    """v as a Python float: TypeError for what is not a real number (bools
    and strings included)."""
    if type(v) is float or type(v) is int:
        return float(v)
    if not isinstance(v, (bool, np.bool_, str, bytes)):
        try:
            return float(v)
        except (TypeError, ValueError):
            pass
    raise TypeError(f"{name} must be a real number, got {type(v).__name__}")


def _choice(p, v):
    """The index of v among p's choices: TypeError for a non-string,
    ValueError for any other string."""
    if not isinstance(v, str):
        raise TypeError(f"{p.name} must be a str, got {type(v).__name__}")
    if v not in p.choices:
        allowed = ", ".join(repr(c) for c in p.choices)
        raise ValueError(f"{p.name} must be one of {allowed}, got {v!r}")
    return p.choices.index(v)


def finite_params(params, values):
    """The values as floats, checked: ``TypeError`` for a non-number,
    ``ValueError`` for NaN or an infinity. Also the message of the
    ``ValueError`` to raise if the data turn out to be float32 and a value
    that must be finite overflows there (None when none does)."""
    floats = []
    f32_error = None
    for p, v in zip(params, values):
        if p.choices:
            floats.append(float(_choice(p, v)))
            continue
        f = _real(p.name, v)
        if p.finite:
            if not math.isfinite(f):
                raise ValueError(f"{p.name} must be finite, got {f}")
            if abs(f) >= F32_OVERFLOW and f32_error is None:
                f32_error = (f"{p.name}={f} is infinite in float32, the data dtype "
                             f"(parameters are rounded to it)")
        floats.append(f)
    return floats, f32_error


# --------------------------------------------------------------------------
# The element-wise ops. Rules are written as the docs state them; every
# product and sum is formed in the data dtype, in the order written.

def _threshold_np(x, o, th, v):
    np.copyto(o, x)
    np.copyto(o, v, where=x <= th)


def _hardtanh_check(lo, hi):
    if lo > hi:
        raise ValueError(f"min_val must be <= max_val, got min_val={lo}, max_val={hi}")


def _leaky_y_error(s):
    if not s >= 0:
        return (f"y= (the forward output) needs negative_slope >= 0, got {s}: with a "
                f"negative slope y > 0 also where x < 0, so pass x= instead")
    return None


PIECEWISE = (
    Elementwise(
        name="relu",
        summary="Rectified linear unit, ``max(x, 0)``",
        rule="0 if x < 0 else x",
        grad_rule="0 if x <= 0 else g",
        notes="NaN stays NaN (unlike ``np.where(x > 0, x, 0)``), ``+inf`` stays, "
              "``-inf`` gives 0. The gradient is 0 at the kink ``x == 0`` and a NaN "
              "``x`` passes it, as PyTorch's ``threshold_backward``; ``y`` is "
              "``<= 0`` exactly where ``x`` is.",
        example="""
>>> x = np.array([-1.5, 0.0, 2.0, np.nan], dtype=np.float32)
>>> fastact.relu(x, out=x)   # in place: x itself is returned
array([ 0.,  0.,  2., nan], dtype=float32)""",
        forward="relu", backward="relu_grad", y=True,
        numpy=lambda x: np.maximum(x, _dt(x, 0)),
        numpy_backward=lambda g, x: np.where(x <= 0, _dt(g, 0), g),
        bench=lambda x, o: np.maximum(x, 0, out=o),
        bench_backward=lambda g, x, o: np.multiply(g, x > 0, out=o),
        torch=lambda torch, x, o: torch.clamp_min(x, 0, out=o),
        torch_backward=lambda torch, g, x, o: torch.ops.aten.threshold_backward.grad_input(
            g, x, 0, grad_input=o),
    ),
    Elementwise(
        name="leaky_relu",
        summary="Leaky ReLU",
        rule="x if x > 0 else s * x",
        grad_rule="g if x > 0 else s * g",
        notes="``s`` is ``negative_slope`` rounded to the data dtype; ``-1`` gives "
              "``|x|`` (absolute-value rectification), ``0`` ReLU. NaN stays NaN. "
              "The gradient takes the slope side at the kink and for NaN ``x`` "
              "(as PyTorch). ``y=`` needs ``negative_slope >= 0``.",
        params=(Param("negative_slope", 0.01, "slope below zero", finite=False),),
        example="""
>>> fastact.leaky_relu(np.array([-2.0, 3.0]), negative_slope=-1)  # |x|
array([2., 3.])""",
        forward="leaky_relu", backward="leaky_relu_grad", y=True, y_error=_leaky_y_error,
        sample=(0.2,),
        numpy=lambda x, s: np.where(x > 0, x, _dt(x, s) * x),
        numpy_backward=lambda g, x, s: np.where(x > 0, g, _dt(g, s) * g),
        bench=lambda x, o, s: np.maximum(x, np.multiply(x, _dt(x, s), out=o), out=o),
        bench_backward=lambda g, x, o, s: np.multiply(g, slope_factor(x > 0, _dt(x, s)),
                                                       out=o),
        torch=lambda torch, x, s, o: torch._C._nn.leaky_relu(x, s, out=o),
        torch_backward=lambda torch, g, x, s, o: torch.ops.aten.leaky_relu_backward.grad_input(
            g, x, s, False, grad_input=o),
    ),
    Elementwise(
        name="relu6",
        summary="ReLU6, ReLU clipped at 6",
        rule="0 if x < 0 else (6 if x > 6 else x)",
        grad_rule="0 if (x <= 0 or x >= 6) else g",
        notes="NaN stays NaN; the gradient is 0 at both kinks. ``y=`` gives the "
              "same gradient as ``x=``.",
        example="""
>>> fastact.relu6(np.array([-1.0, 3.0, 8.0]))
array([0., 3., 6.])""",
        forward="hardtanh", backward="hardtanh_grad", y=True,
        kernel_args=lambda: (0.0, 6.0),
        numpy=lambda x: np.minimum(np.maximum(x, _dt(x, 0)), _dt(x, 6)),
        numpy_backward=lambda g, x: np.where((x <= 0) | (x >= 6), _dt(g, 0), g),
        bench=lambda x, o: np.clip(x, 0, 6, out=o),
        bench_backward=lambda g, x, o: np.multiply(g, (x > 0) & (x < 6), out=o),
        torch=lambda torch, x, o: torch.ops.aten.hardtanh.out(x, 0.0, 6.0, out=o),
        torch_backward=lambda torch, g, x, o: torch.ops.aten.hardtanh_backward.grad_input(
            g, x, 0.0, 6.0, grad_input=o),
        torch_skip_nan=True,
    ),
    Elementwise(
        name="hardtanh",
        summary="Hardtanh, ``x`` clipped to ``[min_val, max_val]``",
        rule="min_val if x < min_val else (max_val if x > max_val else x)",
        grad_rule="0 if (x <= min_val or x >= max_val) else g",
        notes="``min_val > max_val`` raises ``ValueError``. NaN stays NaN; the "
              "gradient is 0 at both kinks. ``y=`` gives the same gradient as ``x=``.",
        params=(Param("min_val", -1.0, "lower bound"), Param("max_val", 1.0, "upper bound")),
        example="""
>>> fastact.hardtanh(np.array([-3.0, 0.5, 3.0]), -2.0, 2.0)
array([-2. ,  0.5,  2. ])""",
        forward="hardtanh", backward="hardtanh_grad", y=True, check=_hardtanh_check,
        sample=(-0.7, 1.3),
        numpy=lambda x, lo, hi: np.where(x < _dt(x, lo), _dt(x, lo),
                                         np.where(x > _dt(x, hi), _dt(x, hi), x)),
        numpy_backward=lambda g, x, lo, hi: np.where((x <= _dt(x, lo)) | (x >= _dt(x, hi)),
                                                     _dt(g, 0), g),
        bench=lambda x, o, lo, hi: np.clip(x, _dt(x, lo), _dt(x, hi), out=o),
        bench_backward=lambda g, x, o, lo, hi: np.multiply(
            g, (x > _dt(x, lo)) & (x < _dt(x, hi)), out=o),
        torch=lambda torch, x, lo, hi, o: torch.ops.aten.hardtanh.out(x, lo, hi, out=o),
        torch_backward=lambda torch, g, x, lo, hi, o: torch.ops.aten.hardtanh_backward.grad_input(
            g, x, lo, hi, grad_input=o),
        torch_skip_nan=True,
    ),
    Elementwise(
        name="threshold",
        summary="Threshold: ``x`` above ``threshold``, ``value`` elsewhere",
        rule="value if x <= threshold else x",
        grad_rule="0 if x <= threshold else g",
        notes="NaN stays NaN (it is not ``<= threshold``) and passes the gradient.",
        params=(Param("threshold", doc="the cut"), Param("value", doc="the value at and below it", grad_uses=False)),
        example="""
>>> fastact.threshold(np.array([-1.0, 0.1, 2.0]), 0.5, -9.0)
array([-9., -9.,  2.])""",
        forward="threshold", backward="threshold_grad",
        sample=(0.3, -2.5),
        numpy=lambda x, th, v: np.where(x <= _dt(x, th), _dt(x, v), x),
        numpy_backward=lambda g, x, th, v: np.where(x <= _dt(x, th), _dt(g, 0), g),
        bench=lambda x, o, th, v: _threshold_np(x, o, _dt(x, th), _dt(x, v)),
        bench_backward=lambda g, x, o, th, v: np.multiply(g, x > _dt(x, th), out=o),
        torch=lambda torch, x, th, v, o: torch.ops.aten.threshold.out(x, th, v, out=o),
        torch_backward=lambda torch, g, x, th, v, o: torch.ops.aten.threshold_backward.grad_input(
            g, x, th, grad_input=o),
    ),
    Elementwise(
        name="hardsigmoid",
        summary="Hard sigmoid, the piecewise-linear sigmoid of MobileNetV3",
        rule="min(max(x + 3, 0), 6) / 6",
        grad_rule="g * s6 if -3 < x < 3 else 0",
        notes="min and max propagate NaN; the result is a true division by 6. "
              "``s6`` is 1/6 rounded to the data dtype (PyTorch's float64 kernel "
              "uses the float32 constant; fastact does not), and a NaN ``x`` "
              "gives a 0 gradient.",
        example="""
>>> fastact.hardsigmoid(np.array([-4.0, 0.0, 1.5, 4.0]))
array([0.  , 0.5 , 0.75, 1.  ])""",
        forward="hardsigmoid", backward="hardsigmoid_grad",
        numpy=lambda x: _clip6(x + _dt(x, 3)) / _dt(x, 6),
        numpy_backward=lambda g, x: np.where((x > -3) & (x < 3),
                                             g * (_dt(g, 1) / _dt(g, 6)), _dt(g, 0)),
        bench=lambda x, o: np.divide(np.clip(np.add(x, 3, out=o), 0, 6, out=o), 6, out=o),
        bench_backward=lambda g, x, o: np.multiply(
            g, ((x > -3) & (x < 3)) * _dt(g, 1 / 6), out=o),
        torch=lambda torch, x, o: torch.ops.aten.hardsigmoid.out(x, out=o),
        torch_backward=lambda torch, g, x, o: torch.ops.aten.hardsigmoid_backward.grad_input(
            g, x, grad_input=o),
        torch_skip_backward_f64=True,
    ),
    Elementwise(
        name="hardswish",
        summary="Hard swish, ``x * hardsigmoid(x)`` as MobileNetV3 writes it",
        rule="x * min(max(x + 3, 0), 6) / 6",
        grad_rule="0 if x <= -3 else (g * (x / 3 + 0.5) if x < 3 else g)",
        notes="Formed left to right: ``(x * min(max(x + 3, 0), 6)) / 6``. NaN stays "
              "NaN and a NaN ``x`` passes the gradient.",
        example="""
>>> fastact.hardswish(np.array([-4.0, -1.5, 0.0, 1.5, 4.0]))
array([-0.   , -0.375,  0.   ,  1.125,  4.   ])""",
        forward="hardswish", backward="hardswish_grad",
        numpy=lambda x: x * _clip6(x + _dt(x, 3)) / _dt(x, 6),
        numpy_backward=lambda g, x: np.where(
            x <= -3, _dt(g, 0), np.where(x < 3, g * (x / _dt(x, 3) + _dt(x, 0.5)), g)),
        bench=lambda x, o: np.divide(np.multiply(
            np.clip(np.add(x, 3, out=o), 0, 6, out=o), x, out=o), 6, out=o),
        bench_backward=lambda g, x, o: np.copyto(o, np.where(
            x <= -3, 0, np.where(x < 3, g * (x / 3 + _dt(x, 0.5)), g))),
        torch=lambda torch, x, o: torch.ops.aten.hardswish.out(x, out=o),
        torch_backward=lambda torch, g, x, o: torch.ops.aten.hardswish_backward.out(
            g, x, out=o),
        torch_skip_nan=True,
    ),
)


# --------------------------------------------------------------------------
# The smooth ops. Their twins evaluate the formula in float64 NumPy, in a
# form that neither overflows nor cancels, with the limits at +-inf, and
# round once to the data dtype: not the kernels' bits (those are within the
# accuracy bounds of docs/accuracy.md of the exact value), but within a few
# float64 ulps of it where NumPy's own functions are.

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
GELU_K1 = 2 * math.sqrt(2 / math.pi)   # the tanh GELU is x * sigmoid(z),
GELU_K3 = GELU_K1 * 0.044715           # z = x * (K1 + K3 * x**2)
_ERFC = np.frompyfunc(math.erfc, 1, 1)  # NumPy has no erf


def _sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _limits(x, value, at_pos_inf, at_neg_inf):
    return np.where(x == np.inf, at_pos_inf, np.where(x == -np.inf, at_neg_inf, value))


def _in64(formula):
    """A twin from a float64 formula: x (and g) and the real parameters
    rounded to the data dtype, then to float64; the result rounded once."""
    @functools.wraps(formula)
    def twin(*args):
        data = [a for a in args if isinstance(a, np.ndarray)]
        dtype = data[0].dtype
        vals = [a.astype(np.float64) if isinstance(a, np.ndarray) else
                a if isinstance(a, str) else float(dtype.type(a)) for a in args]
        return np.asarray(formula(*vals)).astype(dtype)
    return twin


def _phi_cdf(x):
    return _ERFC(-x / math.sqrt(2)).astype(np.float64) / 2


def _gelu_np(x, approximate):
    if approximate == "tanh":
        y = x * _sigmoid(x * (GELU_K1 + GELU_K3 * x * x))
    else:
        y = x * _phi_cdf(x)
    return _limits(x, y, np.inf, 0.0)


def _gelu_grad_np(g, x, approximate):
    if approximate == "tanh":
        xc = np.clip(x, -1e4, 1e4)  # z is saturated long before; x**3 would overflow
        z = xc * (GELU_K1 + GELU_K3 * xc * xc)
        f = _sigmoid(z) * (1 + xc * _sigmoid(-z) * (GELU_K1 + 3 * GELU_K3 * xc * xc))
    else:
        f = _phi_cdf(x) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return g * _limits(x, f, 1.0, 0.0)


_ERF = np.frompyfunc(math.erf, 1, 1)


def _gelu_bench(x, approximate):
    """What NumPy offers: the tanh form in the dtype, or math.erf element by
    element (NumPy has no erf)."""
    h, one = _dt(x, 0.5), _dt(x, 1)
    if approximate == "tanh":
        return x * h * (one + np.tanh(_dt(x, GELU_K1 / 2) * (x + _dt(x, 0.044715) * x * x * x)))
    return x * h * (one + _ERF(x / _dt(x, math.sqrt(2))).astype(x.dtype))


def _mish_grad_np(g, x):
    t = np.tanh(np.logaddexp(0, x))
    return g * _limits(x, t + x * _sigmoid(x) * (1 - t * t), 1.0, 0.0)


def _softplus_cut(x, beta, th):
    """The cut ``x * beta > threshold``, formed in the data dtype."""
    return x * _dt(x, beta) > _dt(x, th)


def _elu_y_error(alpha):
    if not alpha >= 0:
        return (f"y= (the forward output) needs alpha >= 0, got {alpha}: with a negative "
                f"alpha y > 0 also where x < 0, so pass x= instead")
    return None


def _celu_y_error(alpha):
    if not alpha > 0:
        return (f"y= (the forward output) needs alpha > 0, got {alpha}: otherwise y > 0 "
                f"also where x < 0, so pass x= instead")
    return None


def _celu_check(alpha):
    if alpha == 0:
        raise ValueError("alpha must be nonzero: celu divides x by it")


def _softplus_check(beta, threshold):
    if beta == 0:
        raise ValueError("beta must be nonzero: softplus divides by it")


_SMOOTH_NOTE = ("Accurate to the last bits (docs/accuracy.md): float32 within 1 ulp "
                "of the exact value, float64 within 2; the gradient within 2 ulp "
                "(float32) or 4 ulp (float64), or ``2**-23 |g|`` / ``2**-51 |g|`` "
                "near its zeros. The same bits for every thread count and SIMD level. "
                "NaN gives NaN. ")


def _fill(o, v):
    np.copyto(o, v)
    return o


SMOOTH = (
    Elementwise(
        name="elu",
        summary="Exponential linear unit",
        rule="x if x > 0 else alpha * expm1(x)",
        grad_rule="g if x > 0 else g * alpha * exp(x)",
        notes=_SMOOTH_NOTE + "``elu(-inf) = -alpha``. ``y=`` needs ``alpha >= 0`` and "
              "computes ``g if y > 0 else g * (y + alpha)`` in the data dtype.",
        params=(Param("alpha", 1.0, "the value approached as x goes to -inf is -alpha"),),
        example="""
>>> fastact.elu(np.array([-np.inf, -1.0, 0.0, 2.0]))
array([-1.        , -0.63212056,  0.        ,  2.        ])""",
        torch_skip_nan=True,  # its gradient passes g for a NaN x (x <= 0 is false)
        forward="elu", backward="elu_grad", y=True, y_error=_elu_y_error,
        backward_y="elu_grad_y", y_rule="g if y > 0 else g * (y + alpha)",
        exact=False, sample=(0.7,),
        numpy=_in64(lambda x, a: np.where(x > 0, x, a * np.expm1(x))),
        numpy_backward=_in64(lambda g, x, a: np.where(x > 0, g, g * (a * np.exp(x)))),
        numpy_backward_y=lambda g, y, a: np.where(y > 0, g, g * (y + _dt(y, a))),
        bench=lambda x, o, a: _fill(o, np.where(x > 0, x, _dt(x, a) * np.expm1(x))),
        bench_backward=lambda g, x, o, a: _fill(o, np.where(x > 0, g, g * (_dt(x, a)
                                                                          * np.exp(x)))),
        torch=lambda torch, x, a, o: torch.ops.aten.elu.out(x, a, 1, 1, out=o),
        torch_backward=lambda torch, g, x, a, o: torch.ops.aten.elu_backward.grad_input(
            g, a, 1, 1, False, x, grad_input=o),
    ),
    Elementwise(
        name="celu",
        summary="Continuously differentiable exponential linear unit",
        rule="x if x > 0 else alpha * expm1(x / alpha)",
        grad_rule="g if x > 0 else g * exp(x / alpha)",
        notes=_SMOOTH_NOTE + "``alpha == 0`` raises ``ValueError``. ``y=`` needs "
              "``alpha > 0`` and computes ``g if y > 0 else (g * r) * (y + alpha)`` in "
              "the data dtype, ``r`` = 1/alpha rounded to it.",
        params=(Param("alpha", 1.0, "the scale of the negative side (nonzero)"),),
        example="""
>>> fastact.celu(np.array([-2.0, 1.0]), alpha=2.0)
array([-1.26424112,  1.        ])""",
        torch_skip_nan=True,  # its gradient passes g for a NaN x (x <= 0 is false)
        forward="celu", backward="celu_grad", y=True, y_error=_celu_y_error,
        backward_y="celu_grad_y", y_rule="g if y > 0 else (g * r) * (y + alpha)",
        exact=False, check=_celu_check, sample=(1.3,),
        numpy=_in64(lambda x, a: np.where(x > 0, x, a * np.expm1(x / a))),
        numpy_backward=_in64(lambda g, x, a: np.where(x > 0, g, g * np.exp(x / a))),
        numpy_backward_y=lambda g, y, a: np.where(
            y > 0, g, (g * (_dt(y, 1) / _dt(y, a))) * (y + _dt(y, a))),
        bench=lambda x, o, a: _fill(o, np.where(x > 0, x, _dt(x, a)
                                                * np.expm1(x / _dt(x, a)))),
        bench_backward=lambda g, x, o, a: _fill(o, np.where(x > 0, g,
                                                            g * np.exp(x / _dt(x, a)))),
        torch=lambda torch, x, a, o: torch.ops.aten.celu.out(x, a, out=o),
        torch_backward=lambda torch, g, x, a, o: torch.ops.aten.elu_backward.grad_input(
            g, a, 1, 1 / a, False, x, grad_input=o),
    ),
    Elementwise(
        name="selu",
        summary="Scaled exponential linear unit (self-normalising networks)",
        rule="scale * x if x > 0 else scale * alpha * expm1(x)",
        grad_rule="g * scale if x > 0 else g * scale * alpha * exp(x)",
        notes=_SMOOTH_NOTE + "``alpha`` = 1.6732632423543772848170429916717 and "
              "``scale`` = 1.0507009873554804934193349852946 (PyTorch's), exact reals: "
              "``scale * alpha`` is not rounded first. ``selu(-inf) = -scale * alpha``. "
              "``y=`` computes ``g * scale if y > 0 else g * (y + scale * alpha)`` in "
              "the data dtype (the constants and their product rounded to it).",
        example="""
>>> fastact.selu(np.array([-1.0, 1.0]))
array([-1.11133074,  1.05070099])""",
        torch_skip_nan=True,  # its gradient passes g for a NaN x (x <= 0 is false)
        forward="selu", backward="selu_grad", y=True, backward_y="selu_grad_y",
        y_rule="g * scale if y > 0 else g * (y + scale * alpha)",
        exact=False,
        numpy=_in64(lambda x: np.where(x > 0, SELU_SCALE * x,
                                       SELU_SCALE * SELU_ALPHA * np.expm1(x))),
        numpy_backward=_in64(lambda g, x: np.where(
            x > 0, g * SELU_SCALE, g * (SELU_SCALE * SELU_ALPHA * np.exp(x)))),
        numpy_backward_y=lambda g, y: np.where(
            y > 0, g * _dt(y, SELU_SCALE), g * (y + _dt(y, SELU_SCALE) * _dt(y, SELU_ALPHA))),
        bench=lambda x, o: _fill(o, _dt(x, SELU_SCALE) * np.where(
            x > 0, x, _dt(x, SELU_ALPHA) * np.expm1(x))),
        bench_backward=lambda g, x, o: _fill(o, g * _dt(x, SELU_SCALE) * np.where(
            x > 0, _dt(x, 1), _dt(x, SELU_ALPHA) * np.exp(x))),
        torch=lambda torch, x, o: torch.ops.aten.elu.out(x, SELU_ALPHA, SELU_SCALE, 1, out=o),
        torch_backward=lambda torch, g, x, o: torch.ops.aten.elu_backward.grad_input(
            g, SELU_ALPHA, SELU_SCALE, 1, False, x, grad_input=o),
    ),
    Elementwise(
        name="gelu",
        summary="Gaussian error linear unit",
        rule="x * Phi(x)",
        grad_rule="g * (Phi(x) + x * phi(x))",
        notes=_SMOOTH_NOTE + "``Phi`` is the standard normal CDF, computed from "
              "``erfc`` so the lower tail keeps its digits (``0.5 * (1 + erf(x / "
              "sqrt(2)))`` cancels to 0 below about -5.5 in float32). "
              "``approximate='tanh'``: ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * "
              "x**3)))``, computed as ``x * sigmoid(2 * sqrt(2/pi) * (x + 0.044715 * x**3))`` "
              "(the same real number, without the cancellation), its gradient the exact "
              "derivative of that formula. Any other string raises ``ValueError``. "
              "``gelu(-inf) = 0``, ``gelu(inf) = inf``.",
        params=(Param("approximate", "none", "'none' (the erf form) or 'tanh'",
                      finite=False, choices=("none", "tanh")),),
        example="""
>>> fastact.gelu(np.array([-1.0, 0.0, 1.0]))
array([-0.15865525,  0.        ,  0.84134475])""",
        forward="gelu", backward="gelu_grad", exact=False, sample=("tanh",),
        numpy=_in64(_gelu_np),
        numpy_backward=_in64(_gelu_grad_np),
        bench=lambda x, o, a: _fill(o, _gelu_bench(x, a)),
        bench_backward=lambda g, x, o, a: _fill(o, _gelu_grad_np(g, x, a)),
        torch=lambda torch, x, a, o: torch.ops.aten.gelu.out(x, approximate=a, out=o),
        torch_backward=lambda torch, g, x, a, o: torch.ops.aten.gelu_backward.grad_input(
            g, x, approximate=a, grad_input=o),
    ),
    Elementwise(
        name="silu",
        summary="Sigmoid linear unit (Swish)",
        rule="x * sigmoid(x)",
        grad_rule="g * sigmoid(x) * (1 + x * (1 - sigmoid(x)))",
        notes=_SMOOTH_NOTE + "``silu(-inf) = 0``.",
        example="""
>>> fastact.silu(np.array([-1.0, 0.0, 1.0]))
array([-0.26894142,  0.        ,  0.73105858])""",
        forward="silu", backward="silu_grad", exact=False,
        numpy=_in64(lambda x: _limits(x, x * _sigmoid(x), np.inf, 0.0)),
        numpy_backward=_in64(lambda g, x: g * _limits(
            x, _sigmoid(x) * (1 + x * _sigmoid(-x)), 1.0, 0.0)),
        bench=lambda x, o: np.divide(x, np.add(np.exp(np.negative(x, out=o), out=o), 1,
                                               out=o), out=o),
        bench_backward=lambda g, x, o: _fill(o, g * (s := 1 / (1 + np.exp(-x)))
                                             * (1 + x * (1 - s))),
        torch=lambda torch, x, o: torch.ops.aten.silu.out(x, out=o),
        torch_backward=lambda torch, g, x, o: torch.ops.aten.silu_backward.grad_input(
            g, x, grad_input=o),
    ),
    Elementwise(
        name="mish",
        summary="Mish, ``x * tanh(softplus(x))``",
        rule="x * tanh(softplus(x))",
        grad_rule="g * (t + x * sigmoid(x) * (1 - t * t)), t = tanh(softplus(x))",
        notes=_SMOOTH_NOTE + "Computed as ``x * n / (n + 2)``, ``n = e**x * (e**x + 2)`` "
              "(the same real number). ``mish(-inf) = 0``.",
        example="""
>>> fastact.mish(np.array([-1.0, 0.0, 1.0]))
array([-0.30340146,  0.        ,  0.86509839])""",
        forward="mish", backward="mish_grad", exact=False,
        numpy=_in64(lambda x: _limits(x, x * np.tanh(np.logaddexp(0, x)), np.inf, 0.0)),
        numpy_backward=_in64(_mish_grad_np),
        bench=lambda x, o: np.multiply(x, np.tanh(np.logaddexp(0, x, out=o), out=o), out=o),
        bench_backward=lambda g, x, o: _fill(o, _mish_grad_np(g, x)),
        torch=lambda torch, x, o: torch.ops.aten.mish.out(x, out=o),
        torch_backward=lambda torch, g, x, o: o.copy_(torch.ops.aten.mish_backward(g, x)),
    ),
    Elementwise(
        name="softplus",
        summary="Softplus, a smooth ReLU",
        rule="x if x * beta > threshold else log1p(exp(beta * x)) / beta",
        grad_rule="g if x * beta > threshold else g * sigmoid(beta * x)",
        notes=_SMOOTH_NOTE + "The cut ``x * beta > threshold`` is formed in the data "
              "dtype (as PyTorch); ``beta == 0`` raises ``ValueError``. "
              "``softplus(-inf) = 0`` for ``beta > 0``.",
        params=(Param("beta", 1.0, "the sharpness (nonzero)"),
                Param("threshold", 20.0, "above it (in x * beta) the result is x")),
        example="""
>>> fastact.softplus(np.array([-1.0, 0.0, 30.0]))
array([ 0.31326169,  0.69314718, 30.        ])""",
        forward="softplus", backward="softplus_grad", exact=False, check=_softplus_check,
        sample=(0.7, 3.0),
        numpy=lambda x, b, th: np.where(_softplus_cut(x, b, th), x, _in64(
            lambda x, b: np.logaddexp(0, b * x) / b)(x, b)),
        numpy_backward=lambda g, x, b, th: np.where(_softplus_cut(x, b, th), g, _in64(
            lambda g, x, b: g * _sigmoid(b * x))(g, x, b)),
        bench=lambda x, o, b, th: _fill(o, np.where(x * _dt(x, b) > th, x, np.log1p(
            np.exp(x * _dt(x, b))) / _dt(x, b))),
        bench_backward=lambda g, x, o, b, th: _fill(o, np.where(
            x * _dt(x, b) > th, g, g / (1 + np.exp(-x * _dt(x, b))))),
        torch=lambda torch, x, b, th, o: torch.ops.aten.softplus.out(x, b, th, out=o),
        torch_backward=lambda torch, g, x, b, th, o: torch.ops.aten.softplus_backward.grad_input(
            g, x, b, th, grad_input=o),
    ),
)

ELEMENTWISE = PIECEWISE + SMOOTH

CUSTOM = (
    Custom("prelu", "Parametric ReLU, one learned slope per channel",
           ("prelu", "prelu_backward")),
    Custom("maxout", "Maxout over groups of k consecutive elements",
           ("maxout", "maxout_backward")),
    Custom("rrelu", "Randomized leaky ReLU, slopes drawn while training",
           ("rrelu", "rrelu_backward")),
)

REGISTRY = {op.name: op for op in ELEMENTWISE + CUSTOM}


def bench_values(op):
    """The parameters the benchmarks use: the defaults, else the sample."""
    if all(p.default is not REQUIRED for p in op.params):
        return tuple(p.default for p in op.params)
    return op.sample


def public_functions():
    """Every public op function's name, forward then backward, in registry order."""
    return [f for op in REGISTRY.values() for f in op.functions]


# --------------------------------------------------------------------------
# RReLU's key: how a seed becomes the 64-bit key of the counter-based slopes
# (shared by the kernels' caller and the NumPy twin).

def rrelu_key(seed):
    """The 64-bit key of RReLU's random slopes: fresh entropy for None; for an
    int >= 0, a key derived with ``np.random.SeedSequence`` (so seeds 0, 1,
    2, ... give unrelated slopes); one 64-bit draw from a
    ``np.random.Generator`` (advancing it)."""
    if type(seed) is int and seed >= 0:
        return _key_of_int(seed)
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**64, dtype=np.uint64))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, an int >= 0 or a numpy.random.Generator, "
                        f"got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return _key_of_int(int(seed))


@functools.lru_cache(maxsize=256)
def _key_of_int(seed):
    # SeedSequence costs ~10 us: a loop of training steps reusing a few
    # seeds pays it once per seed.
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])


# --------------------------------------------------------------------------
# Signatures, shared by the generated functions, the twins and the stubs.

def default(p, backward):
    if p.default is not REQUIRED:
        return p.default
    return None if backward and not p.grad_uses else REQUIRED


def signature(op, backward, api=True, types=False, defaults=None, bias_grad=None):
    """The parameter list of an element-wise op's forward or backward
    function, as Python source: the public one (``api``) or its twin's
    (no ``out``, no fused bias, no ``n_threads``), with stub annotations
    (``types``). ``defaults``: a prefix that names each parameter's default
    object (``_D_min_val``) instead of spelling its value, so that the
    function can tell a default from a value passed by identity.
    ``bias_grad``: with ``types``, the ``Literal`` of ``return_bias_grad``
    in one of a backward's two overloads (None: plain ``bool``)."""
    arr = ": ArrayLike" if types else ""
    opt_arr = ": ArrayLike | None" if types else ""
    bias = ["bias" + opt_arr + (" = " if types else "=") + "None",
            "bias_axis" + (": int = " if types else "=") + "-1"]
    flag = {None: ": bool = False", False: ": Literal[False] = False",
            True: ": Literal[True]"}[bias_grad] if types else "=False"

    def param(p, backward):
        d = default(p, backward)
        kind = ("Literal[" + ", ".join(f'"{c}"' for c in p.choices) + "]"
                if p.choices else "float")
        ann = "" if not types else (f": {kind} | None" if d is None else f": {kind}")
        if d is REQUIRED:
            return p.name + ann
        shown = defaults + p.name if defaults and d is not None else repr(d)
        return f"{p.name}{ann}{' = ' if types else '='}{shown}"

    eq = " = " if types else "="
    if not backward:
        parts = ["x" + arr] + [param(p, False) for p in op.params]
        if api:
            parts.append("out" + (": _Float | None" if types else "") + eq + "None")
            parts += ["*", *bias, "n_threads" + (": _Threads" if types else "") + eq + "None"]
        return ", ".join(parts)
    parts = ["grad_output" + arr, "x" + opt_arr + eq + "None", "*"]
    if op.y:
        parts.append("y" + opt_arr + eq + "None")
    parts += [param(p, True) for p in op.params]
    if api:
        parts.append("out" + (": _Float | None" if types else "") + eq + "None")
        parts += [*bias, "return_bias_grad" + flag]
        parts.append("n_threads" + (": _Threads" if types else "") + eq + "None")
    if parts[-1] == "*":
        parts.pop()
    return ", ".join(parts)


STUB_BEGIN = ("# --- generated from fastact/_ops.py: do not edit; after a registry change run\n"
              "# python -c 'from fastact import _ops; _ops.write_generated()' ---")
STUB_END = "# --- end of generated stubs ---"


def _stub_def(name, params, returns="_Float"):
    line = f"def {name}({params}) -> {returns}: ..."
    if len(line) <= 88:
        return line
    body = "".join(f"    {p},\n" for p in params.split(", "))
    return f"def {name}(\n{body}) -> {returns}: ..."


def stub_text():
    """The stub lines of every generated function (a backward has two
    overloads: the gradient alone, or with ``return_bias_grad=True`` the pair
    (gradient, bias gradient))."""
    lines = [STUB_BEGIN]
    for op in ELEMENTWISE:
        lines.append(_stub_def(op.name, signature(op, False, types=True)))
        for flag, returns in ((False, "_Float"), (True, "tuple[_Float, _Float]")):
            lines.append("@overload")
            lines.append(_stub_def(op.name + "_backward",
                                   signature(op, True, types=True, bias_grad=flag), returns))
    lines.append(STUB_END)
    return "\n".join(lines)


README_BEGIN = "<!-- generated from fastact/_ops.py: do not edit (see _ops.write_generated) -->"
README_END = "<!-- end of generated rows -->"


def readme_rows():
    """The README's API table rows of every generated function."""
    lines = [README_BEGIN]
    for op in ELEMENTWISE:
        lines.append(f"| `{op.name}({signature(op, False)})` | `{op.rule}` |")
        y = "; `y=` (the forward output) gives the same" if op.y else ""
        if op.y_rule:
            y = f"; `y=` (the forward output): `{op.y_rule}` in the data dtype"
        lines.append(f"| `{op.name}_backward({signature(op, True)})` | "
                     f"`{op.grad_rule}`, `g` = `grad_output`{y} |")
    lines.append(README_END)
    return "\n".join(lines)


def _replace_block(path, begin, end, block):
    with open(path) as f:
        text = f.read()
    head, rest = text.split(begin.split("\n")[0].split(":")[0], 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(head + block + tail)


def write_generated(root=None):
    """Rewrite the generated blocks of the stub (fastact/__init__.pyi) and of
    the README's API table (in a checkout) after a registry change:
    ``python -c "from fastact import _ops; _ops.write_generated()"``."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = root or os.path.dirname(here)
    _replace_block(os.path.join(here, "__init__.pyi"), STUB_BEGIN, STUB_END, stub_text())
    _replace_block(os.path.join(root, "README.md"), README_BEGIN, README_END, readme_rows())
