"""Argument checking and memory planning, done before any kernel runs.

Every public function goes through these helpers, so that a bad argument is a
clear ``TypeError`` (type, dtype) or ``ValueError`` (shape, value) raised
before anything is written, and the kernels only ever see C-contiguous arrays
of one float dtype that do not partially overlap their output.
"""
import operator
import os

import numpy as np

from . import _runtime

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_INTP = np.dtype(np.intp)
SUPPORTED = "float32 and float64"


# --------------------------------------------------------------------------
# Threads

_in_forked_child = False
# os.cpu_count() costs ~6 us (it reads sysfs): once, at import.
_CPU_COUNT = os.cpu_count() or 1


def _after_fork_in_child():
    # libgomp's thread pool does not survive fork(): a parallel region in the
    # child of a parent that ran one waits forever for threads that do not
    # exist. Children created by fork therefore run every kernel serially.
    global _in_forked_child
    _in_forked_child = True
    _runtime.set_thread_facts(_CPU_COUNT, True)


_runtime.set_thread_facts(_CPU_COUNT, False)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def effective_n_threads(n_threads=None):
    """Resolve ``n_threads`` into the number of threads a call may use.

    * ``None``: OpenMP's default for the calling thread,
      ``omp_get_max_threads()``, which honours ``OMP_NUM_THREADS`` and
      ``threadpoolctl.threadpool_limits(..., user_api="openmp")``;
    * an int ``n >= 1``: at most ``n`` threads (capped at the larger of the
      default and the CPU count, so a typo cannot start thousands);
    * a negative int ``n``: ``max(1, D + 1 + n)`` with ``D`` the default, so
      ``-1`` is the default and ``-2`` one fewer;
    * ``0`` raises ``ValueError``; a bool, float or str raises ``TypeError``;
    * in a process created by ``fork()``: always 1 (libgomp is not fork-safe),
      and 1 when fastact was built without OpenMP.

    At run time the kernels may use fewer: k calls above the serial threshold
    running at once (from several Python threads) get ``max(1, n // k)``
    each, and the thread policy runs a call serially where parallel regions
    were measured slower than serial for its op, size and idle time (a core
    held by BLAS after a matmul, a sleeping core, a busy neighbour; see
    ``show_config()``'s ``thread_policy`` and ``FASTACT_THREAD_POLICY``).
    """
    if n_threads is None:
        n = _runtime.max_threads()
    elif type(n_threads) is int and n_threads > 0:
        n = min(n_threads, max(_runtime.max_threads(), _CPU_COUNT))
    else:
        if isinstance(n_threads, (bool, np.bool_)):
            raise TypeError("n_threads must be an int or None, got a bool")
        try:
            n = operator.index(n_threads)
        except TypeError:
            raise TypeError(
                f"n_threads must be an int or None, got {type(n_threads).__name__}"
            ) from None
        if n == 0:
            raise ValueError("n_threads=0 is not allowed: use None for the default, "
                             "a positive count, or a negative one (-1 = default)")
        default = _runtime.max_threads()
        if n < 0:
            n = max(1, default + 1 + n)
        else:
            n = min(n, max(default, _CPU_COUNT))
    if _in_forked_child:
        return 1
    return n


# --------------------------------------------------------------------------
# Arrays


def as_data(a, name):
    """``np.asarray(a)``, which must be float32 or float64: never cast."""
    a = np.asarray(a)
    dt = a.dtype
    if dt is not _F32 and dt is not _F64 and dt != _F32 and dt != _F64:
        raise TypeError(
            f"{name} has dtype {dt.str if dt.byteorder not in '=|' else dt.name}; "
            f"fastact supports {SUPPORTED} (native byte order) and never casts "
            f"data arrays silently"
        )
    return a


def same_dtype(a, a_name, b, b_name):
    if a.dtype is not b.dtype and a.dtype != b.dtype:
        raise TypeError(
            f"{b_name} has dtype {b.dtype.name} but {a_name} has {a.dtype.name}: "
            f"every data array of one call must share the dtype"
        )


def same_shape(a, a_name, b, b_name, shape=None):
    want = a.shape if shape is None else shape
    if b.shape != want:
        raise ValueError(f"{b_name} has shape {b.shape} but {a_name} needs {want}")


def check_out(out, shape, dtype, name="out"):
    """An ``out`` argument: an ndarray of the right shape, dtype, writeable."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"{name} has shape {out.shape}, expected {tuple(shape)}")
    if out.dtype is not dtype and out.dtype != dtype:
        raise TypeError(f"{name} has dtype {out.dtype}, expected {np.dtype(dtype).name}")
    if not _runtime.layout(out) & _runtime.LAYOUT_WRITEABLE:
        raise ValueError(f"{name} is read-only")


def check_k(k):
    if type(k) is int and k >= 1:
        return k
    if isinstance(k, (bool, np.bool_)):
        raise ValueError("k must be an int >= 1, got a bool")
    try:
        k = operator.index(k)
    except TypeError:
        raise ValueError(f"k must be an int >= 1, got {k!r}") from None
    if k < 1:
        raise ValueError(f"k must be an int >= 1, got {k}")
    return k


def check_axis(axis, ndim):
    if type(axis) is int and -ndim <= axis < ndim:
        return axis % ndim
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError("axis must be an int, got a bool")
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an int, got {type(axis).__name__}") from None
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


_ORDER_BIT = {"C": _runtime.LAYOUT_C, "F": _runtime.LAYOUT_F}


def order_of(a):
    """'C' or 'F' when ``a`` is aligned and contiguous in that order (C first),
    else None: the kernels then work through an aligned contiguous copy."""
    bits = _runtime.layout(a)
    if bits & _runtime.LAYOUT_C:
        return "C"
    if bits & _runtime.LAYOUT_F:
        return "F"
    return None


def is_contiguous(a, order):
    """Aligned and contiguous in ``order``: what the kernels can use as is."""
    return _runtime.layout(a) & _ORDER_BIT[order]


def pick_order(out, like):
    """The memory order a call works in: that of ``out`` when it is
    contiguous (so it is written directly), else that of the main input."""
    if out is not None:
        order = order_of(out)
        if order is not None:
            return order
    return order_of(like) or "C"


def destination(out, shape, dtype, order):
    """``(dst, copy_back)``: the contiguous array the kernel writes, and the
    user's ``out`` to copy it into afterwards when ``out`` is not contiguous
    in ``order`` (like a ufunc, a strided ``out`` is written through)."""
    if out is None:
        return np.empty(shape, dtype, order=order), None
    if is_contiguous(out, order):
        return out, None
    return np.empty(shape, dtype, order=order), out


def source(a, order, outs, alias_ok=False):
    """``a`` contiguous in ``order``, copied when it is not, or when it
    overlaps one of the user's ``outs``: then the result is as if ``a`` had
    been copied first. With ``alias_ok``, an ``a`` that is exactly an out
    (same memory, same shape) is kept: that is the in-place call."""
    if not is_contiguous(a, order):
        return np.array(a, order=order)
    for dst in outs:
        if dst is not None and dst is not a:
            shared = _runtime.overlap(a, dst)
            if shared == 2 or (shared == 1 and not alias_ok):
                return np.array(a, order=order)
        elif dst is a and not alias_ok:
            return np.array(a, order=order)
    return a


def kernel_view(a, order):
    """The C-contiguous view the kernels read: ``a`` itself, or ``a.T`` when
    ``a`` is Fortran-ordered (then axis ``i`` becomes ``ndim - 1 - i``)."""
    return a if order == "C" else a.T


def finish(dst, copy_back):
    if copy_back is None:
        return dst
    np.copyto(copy_back, dst)
    return copy_back
