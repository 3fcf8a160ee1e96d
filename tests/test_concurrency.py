"""Python threads calling fastact at once: correct results, the GIL released
during kernels, and concurrent calls sharing the thread budget instead of
multiplying OpenMP teams (issue 4)."""
import multiprocessing
import sys
import threading
import time

import numpy as np
import pytest

import fastact
from fastact import _ops, _runtime, reference as ref
from helpers import assert_same, salted


def _every_op(x, g, k=4):
    """Every op on x (and g), as a list of results."""
    m = x.size - x.size % (k * 3)
    xm, gm = x[:m].reshape(-1, 3, k), g[:m].reshape(-1, 3, k)
    w = np.array([0.1, -0.5, 2.0], x.dtype)
    y, idx = fastact.maxout(xm, k, return_indices=True)
    out = []
    for op in _ops.ELEMENTWISE:  # every registry op
        kw = dict(zip((p.name for p in op.params), op.sample))
        out += [getattr(fastact, op.name)(x, *op.sample),
                getattr(fastact, op.name + "_backward")(g, x, **kw)]
    return out + [*fastact.rrelu(x, training=True, seed=5, return_noise=True),
                  fastact.prelu(xm, w), *fastact.prelu_backward(gm, xm, w), y, idx,
                  fastact.maxout_backward(np.ones_like(y), k, xm),
                  fastact.maxout_backward(np.ones_like(y), k, indices=idx)]


def test_eight_threads_hammering_every_op():
    cases = []
    for i, n in enumerate([1_200, 70_008, 300_000]):
        x, g = salted(n, np.float32, seed=i), salted(n, np.float32, seed=i + 10)
        cases.append((x, g, _every_op(x, g)))  # serial results, for reference
    errors = []

    def worker(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(15):
                x, g, expected = cases[rng.integers(len(cases))]
                for got, want in zip(_every_op(x, g), expected):
                    assert_same(got, want)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, errors[0]


def test_the_gil_is_released_during_kernels():
    """While another thread runs long kernels, this thread keeps running: its
    longest pause is far shorter than one kernel call."""
    x = np.full(100_000_000, -1.0, np.float32)
    t0 = time.perf_counter()
    fastact.leaky_relu(x, 0.1, out=x, n_threads=1)
    one_call = time.perf_counter() - t0
    done = threading.Event()
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)  # GIL hand-offs well below one call

    def kernels():
        for _ in range(4):
            fastact.leaky_relu(x, 0.1, out=x, n_threads=1)
        done.set()

    t = threading.Thread(target=kernels)
    t.start()
    gaps, last = [], time.perf_counter()
    while not done.is_set():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    t.join()
    sys.setswitchinterval(old_interval)
    # Holding the GIL would pause this loop for a whole call (>= one_call).
    assert max(gaps) < 0.5 * one_call, (max(gaps), one_call)


def test_concurrent_calls_share_the_thread_budget():
    """k calls at once get max(1, n_threads // k) threads each: a pool of
    Python threads does not multiply OpenMP teams."""
    if fastact.effective_n_threads() < 2:
        pytest.skip("one thread by default here")
    before = _runtime.stats()["calls_shared"]
    x = salted(2_000_000, np.float32)
    expected = ref.relu(x)
    barrier = threading.Barrier(8)
    results = []

    def worker():
        barrier.wait()
        for _ in range(10):
            results.append(np.array_equal(fastact.relu(x), expected, equal_nan=True))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert all(results) and len(results) == 80
    assert _runtime.stats()["calls_shared"] - before >= 20


def _spin(stop):
    while not stop.is_set():
        pass


def test_small_calls_finish_with_a_busy_core():
    """With a process spinning on a core, many calls just above the serial
    threshold finish (no hang, no runaway stalls; a generous bound)."""
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
    spinner.start()
    try:
        x = salted(70_001, np.float32)
        o = np.empty_like(x)
        t0 = time.perf_counter()
        for _ in range(3_000):
            fastact.leaky_relu(x, 0.1, out=o)
        assert time.perf_counter() - t0 < 60
        assert_same(o, ref.leaky_relu(x, 0.1))
    finally:
        stop.set()
        spinner.join(timeout=10)
