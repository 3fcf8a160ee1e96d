"""Every SIMD level this machine runs gives the same bits as the baseline
build (NaN payloads aside), on every op, with edge values, on both sides of
the threshold."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import fastact
from fastact import _api, _ops, _simd
from helpers import assert_bits, salted

LEVELS = _simd.supported()


def _all_ops(seed, n, dtype):
    """Every public op on salted inputs; returns the list of results."""
    x = salted(n, dtype, seed=seed)
    g = salted(n, dtype, seed=seed + 1)
    m = n - n % 12
    x3 = x[:m].reshape(-1, 3, 4) if m else x[:0].reshape(0, 3, 4)
    g3 = g[:m].reshape(x3.shape)
    w = np.array([0.25, -1.0, 0.0], dtype)
    out = [fastact.leaky_relu(x, -1)]
    for op in _ops.ELEMENTWISE:  # every registry op, sample and default parameters
        for values in dict.fromkeys((op.sample, _ops.bench_values(op))):
            kw = dict(zip((p.name for p in op.params), values))
            out += [getattr(fastact, op.name)(x, *values),
                    getattr(fastact, op.name + "_backward")(g, x, **kw)]
    out += [*fastact.rrelu(x, 0.1, 0.3, training=True, seed=3, return_noise=True),
            *fastact.rrelu(x, return_noise=True),
            fastact.rrelu_backward(g, x), fastact.rrelu_backward(g, noise=x, training=True),
            *fastact.rrelu(np.asfortranarray(x3), training=True, seed=4, return_noise=True),
            fastact.prelu(x3, w), *fastact.prelu_backward(g3, x3, w),
            *fastact.prelu_backward(np.moveaxis(g3, 1, -1).copy(),
                                    np.moveaxis(x3, 1, -1).copy(), w, axis=-1)]
    for k in (1, 2, 3, 4, 6):
        for axis in (-1, 0):
            xx = x[:m].reshape(-1, 12) if axis == -1 else x[:m].reshape(12, -1)
            y, idx = fastact.maxout(xx, k, axis, return_indices=True)
            out += [y, idx, fastact.maxout(xx, k, axis),
                    fastact.maxout_backward(np.ones_like(y), k, xx, axis=axis),
                    fastact.maxout_backward(np.ones_like(y), k, indices=idx, axis=axis)]
    return out


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("n", [12 * 83, 12 * 10_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_level_gives_the_baseline_bits(level, n, dtype, monkeypatch):
    monkeypatch.setattr(_api, "_kernels", _simd.load("baseline"))
    expected = _all_ops(1, n, dtype)
    monkeypatch.setattr(_api, "_kernels", _simd.load(level))
    for got, want in zip(_all_ops(1, n, dtype), expected):
        if got.dtype.kind == "f":
            # NaN payloads may differ (an add's operands can be swapped), and
            # nothing promises them; every other bit must agree.
            both_nan = np.isnan(got) & np.isnan(want)
            got, want = np.where(both_nan, 0, got), np.where(both_nan, 0, want)
        assert_bits(got, want)


def test_best_level_is_the_default():
    assert _simd.level == os.environ.get("FASTACT_SIMD", LEVELS[0])
    assert "baseline" in LEVELS


@pytest.mark.parametrize("value,ok", [("baseline", True), ("bogus", False)])
def test_forcing_a_level(value, ok):
    r = subprocess.run([sys.executable, "-c", "import fastact; "
                        "print(fastact.show_config('dicts')['simd'])"],
                       env={**os.environ, "FASTACT_SIMD": value}, capture_output=True,
                       text=True, cwd=tempfile.gettempdir(), timeout=60)
    if ok:
        assert r.returncode == 0 and r.stdout.startswith(value), r.stderr
    else:
        assert r.returncode != 0 and "FASTACT_SIMD" in r.stderr
