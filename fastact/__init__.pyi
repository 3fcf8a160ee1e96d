# Type stubs of fastact's public API (PEP 561: the package ships py.typed).
# tests/test_typing.py checks that these signatures match the implementation,
# and CI runs mypy over tests/typing_example.py.
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import reference as reference

__version__: str

_Float = NDArray[np.floating[Any]]
_Threads = int | None

# --- generated from fastact/_ops.py: do not edit; after a registry change run
# python -c 'from fastact import _ops; _ops.write_generated()' ---
def relu(
    x: ArrayLike,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def relu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def relu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def leaky_relu(
    x: ArrayLike,
    negative_slope: float = 0.01,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def leaky_relu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    negative_slope: float = 0.01,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def leaky_relu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    negative_slope: float = 0.01,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def relu6(
    x: ArrayLike,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def relu6_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def relu6_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def hardtanh(
    x: ArrayLike,
    min_val: float = -1.0,
    max_val: float = 1.0,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def hardtanh_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    min_val: float = -1.0,
    max_val: float = 1.0,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def hardtanh_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    min_val: float = -1.0,
    max_val: float = 1.0,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def threshold(
    x: ArrayLike,
    threshold: float,
    value: float,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def threshold_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    threshold: float,
    value: float | None = None,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def threshold_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    threshold: float,
    value: float | None = None,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def hardsigmoid(
    x: ArrayLike,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def hardsigmoid_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def hardsigmoid_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def hardswish(
    x: ArrayLike,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def hardswish_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def hardswish_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def elu(
    x: ArrayLike,
    alpha: float = 1.0,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def elu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    alpha: float = 1.0,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def elu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    alpha: float = 1.0,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def celu(
    x: ArrayLike,
    alpha: float = 1.0,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def celu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    alpha: float = 1.0,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def celu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    alpha: float = 1.0,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def selu(
    x: ArrayLike,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def selu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def selu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def gelu(
    x: ArrayLike,
    approximate: Literal["none",
    "tanh"] = 'none',
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def gelu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    approximate: Literal["none",
    "tanh"] = 'none',
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def gelu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    approximate: Literal["none",
    "tanh"] = 'none',
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def silu(
    x: ArrayLike,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def silu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def silu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def mish(
    x: ArrayLike,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def mish_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def mish_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def softplus(
    x: ArrayLike,
    beta: float = 1.0,
    threshold: float = 20.0,
    out: _Float | None = None,
    *,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def softplus_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    beta: float = 1.0,
    threshold: float = 20.0,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def softplus_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    beta: float = 1.0,
    threshold: float = 20.0,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
# --- end of generated stubs ---

def prelu(
    x: ArrayLike,
    weight: ArrayLike,
    out: _Float | None = None,
    *,
    axis: int = 1,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def maxout(
    x: ArrayLike,
    k: int,
    axis: int = -1,
    out: _Float | None = None,
    *,
    return_indices: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def maxout(
    x: ArrayLike,
    k: int,
    axis: int = -1,
    out: _Float | tuple[_Float, NDArray[np.intp]] | None = None,
    *,
    return_indices: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, NDArray[np.intp]]: ...
@overload
def prelu_backward(
    grad_output: ArrayLike,
    x: ArrayLike,
    weight: ArrayLike,
    out: _Float | None = None,
    *,
    axis: int = 1,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
@overload
def prelu_backward(
    grad_output: ArrayLike,
    x: ArrayLike,
    weight: ArrayLike,
    out: _Float | None = None,
    *,
    axis: int = 1,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float, _Float]: ...
def maxout_backward(
    grad_output: ArrayLike,
    k: int,
    x: ArrayLike | None = None,
    *,
    indices: ArrayLike | None = None,
    axis: int = -1,
    out: _Float | None = None,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def rrelu(
    x: ArrayLike,
    lower: float = 0.125,
    upper: float = 1 / 3,
    out: _Float | None = None,
    *,
    training: bool = False,
    seed: int | np.random.Generator | None = None,
    return_noise: Literal[False] = False,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def rrelu(
    x: ArrayLike,
    lower: float = 0.125,
    upper: float = 1 / 3,
    out: _Float | tuple[_Float, _Float] | None = None,
    *,
    training: bool = False,
    seed: int | np.random.Generator | None = None,
    return_noise: Literal[True],
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
@overload
def rrelu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    noise: ArrayLike | None = None,
    lower: float = 0.125,
    upper: float = 1 / 3,
    training: bool = False,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[False] = False,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def rrelu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    noise: ArrayLike | None = None,
    lower: float = 0.125,
    upper: float = 1 / 3,
    training: bool = False,
    out: _Float | None = None,
    bias: ArrayLike | None = None,
    bias_axis: int = -1,
    return_bias_grad: Literal[True],
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
def effective_n_threads(n_threads: _Threads = None) -> int: ...
@overload
def show_config(mode: Literal["stdout"] = "stdout") -> None: ...
@overload
def show_config(mode: Literal["dicts"]) -> dict[str, Any]: ...
@overload
def show_config(mode: Literal["json"]) -> str: ...

__all__ = [
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "relu6",
    "relu6_backward",
    "hardtanh",
    "hardtanh_backward",
    "threshold",
    "threshold_backward",
    "hardsigmoid",
    "hardsigmoid_backward",
    "hardswish",
    "hardswish_backward",
    "prelu",
    "prelu_backward",
    "maxout",
    "maxout_backward",
    "rrelu",
    "rrelu_backward",
    "effective_n_threads",
    "show_config",
    "__version__",
]
