"""How long fastact's idle OpenMP threads spin, set before libgomp loads.

After a parallel region, libgomp's worker threads spin waiting for the next
one for ``GOMP_SPINCOUNT`` iterations (300,000 by default: about 7 ms on the
2-core machine this was measured on), holding a core the whole time. Inside a
pipeline that core belongs to the next matmul: NumPy's OpenBLAS threads then
share it with a spinning thread, and the matmul slows down (1.95 -> 2.74 ms
for a 1024 x 512 layer, docs/threads.md). fastact therefore loads libgomp
with ``GOMP_SPINCOUNT=30000`` (about 0.7 ms there): long enough that calls in
a loop find their team awake, short enough to give the core back before the
next matmul needs it.

Rules (``show_config()`` reports which one applied):

* only when the user set none of ``GOMP_SPINCOUNT``, ``OMP_WAIT_POLICY`` and
  ``FASTACT_OPENMP_SPIN``: their settings always win;
  ``FASTACT_OPENMP_SPIN=keep`` leaves libgomp's default alone,
  ``FASTACT_OPENMP_SPIN=<count>`` uses that count;
* only when libgomp is not loaded yet (libgomp reads its environment once,
  when it loads): otherwise the process keeps what it has, and says so;
* the variable is removed from ``os.environ`` again right after the load, so
  child processes and libraries loaded later see the user's environment.

libgomp is shared by every extension in the process that links it, so the
setting also applies to their OpenMP regions. Other runtimes (LLVM's libomp,
MSVC's vcomp) are not touched: set ``KMP_BLOCKTIME`` for libomp yourself.
"""
import contextlib
import os
import sys

SPINCOUNT = "30000"
USER_VARS = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
ENV = "FASTACT_OPENMP_SPIN"

# What happened at import, for show_config().
status = "not configured"


def _libgomp_loaded():
    """True/False on Linux (from /proc/self/maps), None where unknown."""
    try:
        with open("/proc/self/maps") as f:
            return any("libgomp" in line for line in f)
    except OSError:
        return None


def plan(environ, libgomp_loaded):
    """``(count or None, reason)``: the GOMP_SPINCOUNT fastact sets, given
    the environment and whether libgomp is loaded already (None: unknown)."""
    own = environ.get(ENV, "").strip().lower()
    user = [f"{v}={environ[v]}" for v in USER_VARS if v in environ]
    if user:
        return None, f"left to the environment ({', '.join(user)})"
    if own == "keep":
        return None, f"libgomp's default ({ENV}=keep)"
    if own and not own.isdigit():
        raise ValueError(f"{ENV} must be 'keep' or a spin count, got {own!r}")
    if libgomp_loaded is None:
        return None, "not set (cannot tell whether libgomp is loaded on this platform)"
    if libgomp_loaded:
        return None, ("not set: libgomp was already loaded by another library, and "
                      "reads GOMP_SPINCOUNT only when it loads")
    count = own or SPINCOUNT
    return count, f"GOMP_SPINCOUNT={count}, set by fastact while loading libgomp"


@contextlib.contextmanager
def loading():
    """Wrap the first import of the kernels: GOMP_SPINCOUNT is in the
    environment while libgomp loads (see :func:`plan`), and gone after."""
    global status
    loaded = _libgomp_loaded() if sys.platform.startswith("linux") else None
    count, reason = plan(os.environ, loaded)
    if count is None:
        status = reason
        yield
        return
    os.environ["GOMP_SPINCOUNT"] = count
    try:
        yield
    finally:
        del os.environ["GOMP_SPINCOUNT"]
    if _libgomp_loaded():
        status = reason
    else:
        status = "not set: the kernels do not use libgomp"
