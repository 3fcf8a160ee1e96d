"""Checked by mypy in CI (`mypy tests/typing_example.py`): the public API's
types as an IDE sees them. Also importable and run by tests/test_typing.py."""
from typing import Any, assert_type

import numpy as np
from numpy.typing import NDArray

import fastact

Float = NDArray[np.floating[Any]]


def example() -> None:
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    g = np.ones_like(x)
    assert_type(fastact.relu(x), Float)
    assert_type(fastact.relu(x, out=x, n_threads=2), Float)
    assert_type(fastact.leaky_relu([1.0, -2.0], 0.1), Float)
    assert_type(fastact.prelu(x, [0.1, 0.2, 0.3], axis=0), Float)
    assert_type(fastact.maxout(x, 2), Float)
    y, idx = fastact.maxout(x, 2, return_indices=True)
    assert_type(y, Float)
    assert_type(idx, NDArray[np.intp])
    assert_type(fastact.relu_backward(g, x), Float)
    assert_type(fastact.relu_backward(g, y=x), Float)
    assert_type(fastact.leaky_relu_backward(g, x, negative_slope=0.2), Float)
    gi, gw = fastact.prelu_backward(g, x, [0.1, 0.2, 0.3], axis=0)
    assert_type(gi, Float)
    assert_type(gw, Float)
    assert_type(fastact.maxout_backward(y, 2, indices=idx), Float)
    b = np.zeros(4, np.float32)
    assert_type(fastact.gelu(x, bias=b), Float)
    assert_type(fastact.relu_backward(g, x, bias=b), Float)
    gi, gb = fastact.relu_backward(g, x, bias=b, return_bias_grad=True)
    assert_type(gb, Float)
    gi, gw, gb = fastact.prelu_backward(g, x, [0.1, 0.2, 0.3], axis=0, bias=[1.0, 2.0, 3.0],
                                        bias_axis=0, return_bias_grad=True)
    assert_type(gb, Float)
    assert_type(fastact.rrelu_backward(g, x, return_bias_grad=True), tuple[Float, Float])
    assert_type(fastact.effective_n_threads(-1), int)
    assert_type(fastact.show_config("dicts"), dict[str, Any])
    assert_type(fastact.show_config("json"), str)


if __name__ == "__main__":
    example()
