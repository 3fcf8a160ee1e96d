"""Leaks and huge arrays (issue 4): many calls leave RSS and reference
counts flat; arrays over 2**31 elements give correct results (opt-in:
FASTACT_HUGE_TESTS=1 and 16 GiB available; peak use ~13 GiB, ~40 s)."""
import gc
import os
import sys

import numpy as np
import pytest

import fastact
from helpers import salted


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _mem_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _all_ops_once(x, g, w, y_out, i_out, bwd):
    fastact.relu(x, out=x)
    fastact.leaky_relu(x, 0.1)
    fastact.relu_backward(g, x, out=g)
    fastact.leaky_relu_backward(g, y=x)
    fastact.prelu(x.reshape(-1, 2), w)
    fastact.prelu_backward(g.reshape(-1, 2), x.reshape(-1, 2), w)
    fastact.maxout(x, 2, out=(y_out, i_out), return_indices=True)
    fastact.maxout_backward(y_out, 2, indices=i_out, out=bwd)
    fastact.maxout_backward(y_out, 2, x)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
@pytest.mark.parametrize("n,calls", [(8, 100_000), (200_000, 1_200)])
def test_many_calls_leave_memory_and_refcounts_flat(n, calls):
    x = salted(n, np.float32)
    g = salted(n, np.float32, seed=1)
    w = np.array([0.2, 0.3], np.float32)
    y_out, i_out = np.empty(n // 2, np.float32), np.empty(n // 2, np.intp)
    bwd = np.empty(n, np.float32)
    arrays = (x, g, w, y_out, i_out, bwd)
    for _ in range(100):  # warm up allocator pools
        _all_ops_once(*arrays)
    gc.collect()
    refs = [sys.getrefcount(a) for a in arrays]
    rss = _rss_bytes()
    for _ in range(calls):
        _all_ops_once(*arrays)
    gc.collect()
    assert [sys.getrefcount(a) for a in arrays] == refs
    grown = _rss_bytes() - rss
    assert grown < 8 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over {calls} rounds"


def test_a_million_small_relu_calls_do_not_leak():
    x = np.zeros(4, np.float32)
    for _ in range(10_000):
        fastact.relu(x, out=x)
    refs, rss = sys.getrefcount(x), _rss_bytes()
    for _ in range(1_000_000):
        fastact.relu(x, out=x)
    assert sys.getrefcount(x) == refs
    assert _rss_bytes() - rss < 4 * 2**20


HUGE = 2**31 + 33  # float32: 8 GiB; indices past 2**31 must not wrap


@pytest.mark.skipif(os.environ.get("FASTACT_HUGE_TESTS") != "1"
                    or _mem_available() < 16 * 2**30,
                    reason="opt-in: FASTACT_HUGE_TESTS=1 and >= 16 GiB available")
def test_more_than_2_31_elements():
    x = np.empty(HUGE, np.float32)
    probe = np.array([0, 1, 2**31 - 2, 2**31 - 1, 2**31, 2**31 + 1, HUGE - 2, HUGE - 1])
    values = np.array([-1.0, 2.0, -3.0, 4.0, -5.0, 6.0, -7.0, 8.0], np.float32)
    x[::4096] = -1.0
    x[probe] = values
    fastact.leaky_relu(x, 0.5, out=x)
    np.testing.assert_array_equal(x[probe], np.where(values > 0, values, 0.5 * values))
    x[probe] = values
    y = fastact.maxout(x[:HUGE - 1], 2)  # 2**30 groups: r * k passes 2**31
    pairs = (probe[probe < HUGE - 1] // 2)
    np.testing.assert_array_equal(y[pairs], x[:HUGE - 1].reshape(-1, 2)[pairs].max(axis=1))
    del y
    fastact.relu(x, out=x)
    assert x[probe].min() >= 0 and x[HUGE - 1] == 8.0
