"""Runtime SIMD dispatch.

On x86-64 the kernels are built three times from ``_kernels.pyx``: for the
baseline instruction set (``_kernels``), AVX2 (``_kernels_avx2``) and AVX-512
(``_kernels_avx512``). At import, fastact uses the best level that was built
and that this CPU supports, so a portable build runs as fast as a
``-march=native`` one. ``FASTACT_SIMD=baseline|avx2|avx512`` forces a level
(an unknown or unsupported one raises at import). Every level gives the same
bits: the build turns off FMA contraction, and the fused multiply-adds that the
float32-lane math writes out (``fmaf``) are correctly rounded on every level
(hardware FMA on AVX2/AVX-512, which is why the AVX2 level also needs the CPU's
FMA3; libm's exact ``fmaf`` on the baseline).
"""
import importlib
import importlib.util
import os

from . import _kernels as _baseline
from ._runtime import cpu_levels

ENV = "FASTACT_SIMD"
LEVELS = ("avx512", "avx2", "baseline")  # best first


def built():
    """The levels compiled into this installation."""
    return [lv for lv in LEVELS
            if lv == "baseline" or importlib.util.find_spec(f"fastact._kernels_{lv}")]


def supported():
    """The levels that are built and that this CPU runs, best first."""
    cpu = cpu_levels()
    return [lv for lv in built() if lv == "baseline" or cpu[lv]]


def resolve(level=None):
    """The level to use: ``level``, else ``$FASTACT_SIMD``, else the best
    supported one; an unknown or unsupported level raises."""
    if level is None:
        level = os.environ.get(ENV, "").strip().lower() or supported()[0]
    if level not in LEVELS:
        raise ValueError(f"{ENV}={level!r}: the levels are {', '.join(LEVELS)}")
    if level not in supported():
        raise RuntimeError(f"{ENV}={level!r} is not available here (built: "
                           f"{', '.join(built())}; this CPU runs: {', '.join(supported())})")
    return level


def load(level=None):
    """The kernel module of a level (see :func:`resolve`)."""
    level = resolve(level)
    if level == "baseline":
        return _baseline
    return importlib.import_module(f"fastact._kernels_{level}")


level = resolve()
kernels = load(level)
