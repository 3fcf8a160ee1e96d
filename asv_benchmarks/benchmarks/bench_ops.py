"""asv suite: every fastact op beside its NumPy baseline, in the same class.

* ``Ops``: time and peak memory of each op (``impl`` = fastact or numpy),
  float32/float64, 1e3/1e5/1e7 elements, ``n_threads`` 1 and the default.
  Inputs are left unchanged and outputs are preallocated, so repeated calls
  time the same data.
* ``SpeedUp``: ``track_`` of NumPy time / fastact time, measured interleaved
  in one process (a ratio that survives machine drift).
* ``InPlace``: every element-wise op of the registry in place on fresh data
  every sample (``number = 1`` makes asv run ``setup`` before each sample: a
  second in-place ReLU would time the all-positive case, and repeated Leaky
  ReLU drifts into subnormals), beside fastact's plain streaming kernel of
  the same memory traffic (``impl="stream"``; ``asv_benchmarks/limits.py``
  prints the same comparison as a table).

The cases and their NumPy idioms are those of ``python -m fastact``
(``fastact/_bench.py``). ``FASTACT_ASV_SIZES=1000`` (comma-separated) narrows
the sizes, e.g. for CI's one quick pass.
"""
import os

import numpy as np

from fastact import _bench

SIZES = [int(float(s)) for s in
         os.environ.get("FASTACT_ASV_SIZES", "1e3,1e5,1e7").split(",")]
DTYPES = ["float32", "float64"]
THREADS = [1, None]
CASES = list(_bench.CASES)


class Ops:
    params = (CASES, DTYPES, SIZES, THREADS, ["fastact", "numpy"])
    param_names = ["op", "dtype", "n", "n_threads", "impl"]
    timeout = 600

    def setup(self, op, dtype, n, n_threads, impl):
        if impl == "numpy" and n_threads is not None:
            raise NotImplementedError("NumPy runs on one thread: timed once")
        ours, theirs = _bench.case(op, n, np.dtype(dtype).type, n_threads)
        self.func = ours if impl == "fastact" else theirs

    def time_op(self, op, dtype, n, n_threads, impl):
        self.func()

    def peakmem_op(self, op, dtype, n, n_threads, impl):
        self.func()


class SpeedUp:
    params = (CASES, DTYPES, SIZES, THREADS)
    param_names = ["op", "dtype", "n", "n_threads"]
    timeout = 600

    def track_speedup(self, op, dtype, n, n_threads):
        ours, theirs = _bench.case(op, n, np.dtype(dtype).type, n_threads)
        t_ours, t_numpy = _bench.compare(ours, theirs, budget=0.1 if n < 1e6 else 0.3)
        return t_numpy / t_ours

    track_speedup.unit = "x (NumPy / fastact)"


class InPlace:
    params = (_bench.in_place_names(), DTYPES, SIZES, THREADS, ["fastact", "stream"])
    param_names = ["op", "dtype", "n", "n_threads", "impl"]
    number = 1          # setup (fresh data) before every sample
    repeat = (3, 25, 5.0)
    warmup_time = 0     # no untimed calls on the fresh data either
    timeout = 600

    def setup(self, op, dtype, n, n_threads, impl):
        calls, streams, fresh = _bench.in_place_calls(n, np.dtype(dtype).type, n_threads)
        fresh()
        ours, passes = calls[op]
        self.func = ours if impl == "fastact" else streams[passes]

    def time_inplace(self, op, dtype, n, n_threads, impl):
        self.func()
