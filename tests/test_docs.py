"""The docstring examples run and print what they say."""
import doctest

import numpy as np

from fastact import _api


def test_docstring_examples():
    with np.printoptions(legacy=False):
        result = doctest.testmod(_api, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0, result
