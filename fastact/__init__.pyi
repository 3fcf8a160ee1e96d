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

def relu(x: ArrayLike, out: _Float | None = None, *, n_threads: _Threads = None) -> _Float: ...
def leaky_relu(
    x: ArrayLike,
    negative_slope: float = 0.01,
    out: _Float | None = None,
    *,
    n_threads: _Threads = None,
) -> _Float: ...
def prelu(
    x: ArrayLike,
    weight: ArrayLike,
    out: _Float | None = None,
    *,
    axis: int = 1,
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
def relu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    out: _Float | None = None,
    n_threads: _Threads = None,
) -> _Float: ...
def leaky_relu_backward(
    grad_output: ArrayLike,
    x: ArrayLike | None = None,
    *,
    y: ArrayLike | None = None,
    negative_slope: float = 0.01,
    out: _Float | None = None,
    n_threads: _Threads = None,
) -> _Float: ...
def prelu_backward(
    grad_output: ArrayLike,
    x: ArrayLike,
    weight: ArrayLike,
    out: _Float | None = None,
    *,
    axis: int = 1,
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
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
def effective_n_threads(n_threads: _Threads = None) -> int: ...
@overload
def show_config(mode: Literal["stdout"] = "stdout") -> None: ...
@overload
def show_config(mode: Literal["dicts"]) -> dict[str, Any]: ...
@overload
def show_config(mode: Literal["json"]) -> str: ...

__all__ = [
    "relu",
    "leaky_relu",
    "prelu",
    "maxout",
    "relu_backward",
    "leaky_relu_backward",
    "prelu_backward",
    "maxout_backward",
    "effective_n_threads",
    "show_config",
    "__version__",
]
