"""show_config(): what this build of fastact is and how it will run."""
import json
import os
import platform
import sys

import numpy as np

from . import _omp_env, _runtime, _simd
from ._simd import kernels as _kernels
from ._validate import effective_n_threads
from ._version import __version__


def _openmp_runtime():
    """The OpenMP runtime library loaded in this process (Linux: from
    /proc/self/maps; elsewhere through threadpoolctl when it is installed)."""
    names = ("libgomp", "libomp", "libiomp", "vcomp")
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
        found = sorted(p for p in paths if any(n in os.path.basename(p) for n in names))
        if found:
            return ", ".join(found)
    except OSError:
        pass
    libs = _threadpool_libs() or []
    return ", ".join(i["filepath"] for i in libs if i.get("user_api") == "openmp") or "unknown"


def _threadpool_libs():
    """threadpoolctl's view of the process's thread pools, or None when it
    is not installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return threadpool_info()


def _describe(lib):
    return f"{lib.get('internal_api')} {lib.get('version')} ({lib.get('num_threads')} threads)"


def _threadpoolctl_view():
    """The OpenMP runtimes threadpoolctl finds (and would limit), if installed."""
    libs = _threadpool_libs()
    if libs is None:
        return "threadpoolctl not installed"
    return "; ".join(f"{_describe(i)}: {i.get('filepath')}" for i in libs
                     if i.get("user_api") == "openmp") or "no OpenMP runtime found"


def _other_pools():
    """The other thread pools of this process that threadpoolctl finds (BLAS
    libraries, other OpenMP runtimes): the neighbours fastact's threads share
    the cores with (docs/threads.md)."""
    libs = _threadpool_libs()
    if libs is None:
        return "threadpoolctl not installed"
    ours = _openmp_runtime()
    return "; ".join(_describe(i) for i in libs if i.get("user_api") != "openmp"
                     or i.get("filepath") not in ours) or "none found"


def _policy_line():
    if _runtime.mode() == "eager":
        return ("eager: parallel whenever a call is above the serial threshold "
                "(FASTACT_THREAD_POLICY=eager)")
    return ("adaptive: serial or parallel per call from times measured in this "
            "process (FASTACT_THREAD_POLICY=eager: always parallel)")


def config():
    """The facts show_config() prints, as a dict."""
    info = {**_runtime.build_info(), **_kernels.build_info()}
    openmp = info["openmp_version"] > 0
    return {
        "fastact": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "openmp": f"on (OpenMP {info['openmp_version']})" if openmp
                  else "off: serial build (no OpenMP when it was built)",
        "openmp_runtime": _openmp_runtime() if openmp else None,
        "threadpoolctl": _threadpoolctl_view(),
        "other_pools": _other_pools(),
        "default_threads": effective_n_threads(None),
        "serial_threshold": info["serial_threshold"],
        "thread_policy": _policy_line(),
        "openmp_spin": _omp_env.status if openmp else None,
        "parallel_chunk": info["chunk"],
        "simd": f"{_simd.level} ({info['simd']}); this machine runs: "
                f"{', '.join(_simd.supported())}",
        "debug_checks": info["debug_checks"],
        "compiler": info["compiler"],
        "flags": info["flags"],
    }


def show_config(mode="stdout"):
    """Print (or, with ``mode="dicts"``, return) fastact's build and runtime
    configuration: version, OpenMP on/off and its runtime, default thread
    count, serial threshold (arrays of at most this many elements never enter
    a parallel region), the thread policy above it, the spin setting of
    OpenMP's idle threads, the process's other thread pools (threadpoolctl),
    SIMD level compiled in, compiler and flags.
    ``mode="json"`` returns the same as a JSON string."""
    cfg = config()
    if mode == "dicts":
        return cfg
    if mode == "json":
        return json.dumps(cfg, indent=2)
    if mode != "stdout":
        raise ValueError(f"mode must be 'stdout', 'dicts' or 'json', got {mode!r}")
    width = max(map(len, cfg))
    for key, value in cfg.items():
        print(f"{key:<{width}}  {value}")
