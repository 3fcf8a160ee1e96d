"""fastact: ReLU-family and Maxout kernels, forward and backward, in place.

Typed Cython loops run in parallel with OpenMP over contiguous float32 and
float64 NumPy buffers. The contract of every function (NaN, ties, the
gradient at 0, backward from the output, threads) is in each docstring.
"""
from . import _omp_env

try:
    # Loads libgomp: with fastact's spin setting, unless the user has one.
    with _omp_env.loading():
        from . import _kernels  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on how it was installed
    raise ImportError(
        "fastact's compiled kernels (fastact._kernels) are not built here: install with "
        "`pip install -e .` (or `pip install .` and import from outside the source tree)"
    ) from e

from ._api import *  # noqa: F401,F403  (every op of the registry, fastact/_ops.py)
from ._api import __all__ as _ops_all
from . import reference  # noqa: F401  (the plain-NumPy twins, as the stub says)
from ._config import show_config
from ._validate import effective_n_threads
from ._version import __version__

__all__ = [*_ops_all, "effective_n_threads", "show_config", "__version__"]
