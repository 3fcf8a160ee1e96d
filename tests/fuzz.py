"""API fuzzer: every public function with random dtypes, shapes (0-d,
zero-size, odd), strides (negative, zero, misaligned), aliasing between
``out`` and the inputs (exact, partial, interleaved), read-only buffers and
random parameters, wrong types included.

Every array lives inside one byte arena filled with a sentinel. Each case
must either

* raise ``TypeError`` or ``ValueError`` with the arena untouched (no partial
  write), or
* return the NumPy twin's result (computed on copies of the inputs), with
  every arena byte outside ``out`` untouched.

Run it directly (``python tests/fuzz.py --cases 100000``); the test suite
runs a small budget in a child process, so a crash fails the run instead of
killing it.
"""
import argparse
import sys

import numpy as np
from hypothesis import HealthCheck, given, seed as hypothesis_seed, settings
from hypothesis import strategies as st

import fastact
from fastact import _ops, reference as ref
from helpers import close_to_twin

ARENA_BYTES = 1 << 15
SENTINEL = 0xA5
DATA_DTYPES = [np.float32, np.float64]
BAD_DTYPES = [np.int32, np.float16, np.complex64, np.bool_]


class Case:
    """The arena and the views one case draws from it."""

    def __init__(self, draw):
        self.draw = draw
        self.arena = np.full(ARENA_BYTES, SENTINEL, np.uint8)
        self.cursor = 64

    def view(self, shape, dtype, layout):
        """A view into the arena with the given layout, filled with values."""
        dtype = np.dtype(dtype)
        n = int(np.prod(shape))
        step = {"C": 1, "strided": 2, "reversed": -1}.get(layout, 1)
        misalign = 1 if layout == "misaligned" else 0
        span = max(n, 1) * abs(step) * dtype.itemsize
        start = self.cursor + misalign
        self.cursor = start + span + 16
        if self.cursor > ARENA_BYTES:
            raise OverflowError("arena full")
        if layout == "zero":  # a broadcast, read-only view of one element
            base = np.ndarray((), dtype, buffer=self.arena, offset=start)
            base[()] = 1.5 if dtype.kind == "f" else 1
            return np.broadcast_to(base, shape)
        strides, acc = [], dtype.itemsize * abs(step)
        for d in reversed(shape):
            strides.append(acc)
            acc *= max(d, 1)
        strides = tuple(reversed(strides))
        offset = start
        if step < 0 and shape:
            strides = tuple(-s for s in strides)
            offset = start + span - dtype.itemsize
        a = np.ndarray(shape, dtype, buffer=self.arena, offset=offset, strides=strides)
        values = self.draw(st.lists(st.sampled_from(
            [0.0, -0.0, 1.0, -2.0, 0.5, np.nan, np.inf, -np.inf, 1e-40, 3.0, -3.0]),
            min_size=n, max_size=n))
        if dtype.kind == "f" or dtype.kind == "c":
            a[...] = np.array(values, dtype=np.float64).reshape(shape)
        else:
            a[...] = np.arange(n).reshape(shape) % 3
        if layout == "F" and len(shape) >= 2:
            return a.T  # a transposed view of a C block: Fortran-contiguous
        if layout == "readonly":
            a.flags.writeable = False
        return a

    def overwrite(self, a, values):
        """Write values into a's memory even where a is flagged read-only or
        is a broadcast (an out may overlap such an input's memory)."""
        if a.size == 0:
            return
        offset = a.__array_interface__["data"][0] - self.arena.__array_interface__["data"][0]
        np.ndarray(a.shape, a.dtype, buffer=self.arena, offset=offset,
                   strides=a.strides)[...] = values

    def byte_mask(self, view):
        """The arena bytes that ``view``'s elements occupy."""
        mask = np.zeros(ARENA_BYTES, bool)
        if view.size == 0:
            return mask
        base = view.__array_interface__["data"][0] - self.arena.__array_interface__["data"][0]
        if view.ndim == 0:
            offsets = np.array([base])
        else:
            idx = np.indices(view.shape).reshape(view.ndim, -1)
            offsets = base + (np.array(view.strides)[:, None] * idx).sum(axis=0)
        for b in range(view.itemsize):
            mask[offsets + b] = True
        return mask


REGISTRY_FUNCTIONS = [f for op in _ops.ELEMENTWISE for f in op.functions]
SHAPES = st.lists(st.integers(0, 6), min_size=0, max_size=3).map(tuple)
LAYOUTS = st.sampled_from(["C", "C", "F", "strided", "reversed", "misaligned", "readonly",
                           "zero"])
THREADS = st.sampled_from([None, None, 1, 2, -1, 0, 1.5, True, "2"])


def _draw_call(draw, case):
    """(name, callable on fastact or a twin, arrays, out or None)."""
    name = draw(st.sampled_from(["prelu", "maxout", "prelu_backward", "maxout_backward",
                                 "rrelu", "rrelu_backward"] + REGISTRY_FUNCTIONS))
    dtype = draw(st.sampled_from(DATA_DTYPES * 6 + BAD_DTYPES))
    shape = draw(SHAPES)
    x = case.view(shape, dtype, draw(LAYOUTS))
    g_dtype = dtype if draw(st.integers(0, 9)) else draw(st.sampled_from(DATA_DTYPES))
    nt = draw(THREADS)
    kw = {"n_threads": nt}
    slope = draw(st.sampled_from([0.01, -1.0, 0.0, 0.3, float("nan"), "x"]))
    axis = draw(st.sampled_from([-1, 0, 1, 2, -4, 1.0]))
    k = draw(st.sampled_from([1, 2, 3, 4, 0, -1, 2.5]))
    c = shape[axis] if isinstance(axis, int) and -len(shape) <= axis < len(shape) else 1
    weight = list(np.linspace(-1, 1, draw(st.sampled_from([1, c, c + 1]))))

    def out_for(out_shape, out_dtype, inputs):
        how = draw(st.sampled_from(["none", "none", "fresh", "alias", "partial", "bad",
                                    "readonly"]))
        if how == "none":
            return None
        if how == "alias" and inputs:
            return draw(st.sampled_from(inputs))
        if how == "partial" and inputs and inputs[0].size > 1 and inputs[0].strides \
                and min(inputs[0].strides) > 0:
            # Starts inside the first input's bytes and runs past them.
            src = inputs[0]
            start = (src.__array_interface__["data"][0]
                     - case.arena.__array_interface__["data"][0]
                     + src.itemsize * draw(st.integers(1, src.size - 1)))
            nbytes = int(np.prod(out_shape)) * np.dtype(out_dtype).itemsize
            if start + nbytes <= ARENA_BYTES:
                return np.ndarray(out_shape, out_dtype, buffer=case.arena, offset=start)
        if how == "bad":
            return case.view(tuple(out_shape) + (2,), out_dtype, "C")
        return case.view(out_shape, out_dtype,
                         "readonly" if how == "readonly" else draw(LAYOUTS.filter(
                             lambda s: s not in ("zero", "readonly"))))

    if name in REGISTRY_FUNCTIONS:  # every element-wise op of the registry
        op = _ops.REGISTRY[name.removesuffix("_backward")]
        values = [draw(st.sampled_from([v, d, slope, 1e300, float("inf")]))
                  for v, d in zip(op.sample, (p.default for p in op.params))]
        if not name.endswith("_backward"):
            out = out_for(shape, dtype, [x])
            return name, lambda m: getattr(m, name)(
                x, *values, **({"out": out, **kw} if m is fastact else {})), [x], out
        g = case.view(shape, g_dtype, draw(LAYOUTS))
        params = {p.name: v for p, v in zip(op.params, values)}
        ref_name = "y" if op.y and draw(st.booleans()) else "x"
        out = out_for(shape, dtype, [g, x])
        return name, lambda m: getattr(m, name)(
            g, **{ref_name: x}, **params,
            **({"out": out, **kw} if m is fastact else {})), [g, x], out
    if name in ("rrelu", "rrelu_backward"):
        training = draw(st.booleans())
        lower, upper = draw(st.sampled_from([(0.125, 1 / 3), (0.3, 0.1), (-1.0, 0.5),
                                             (float("nan"), 0.2)]))
        seed = draw(st.sampled_from([0, 7, -1, 1.5]))
        if name == "rrelu":
            noise = draw(st.booleans())
            out = out_for(shape, dtype, [x])
            return name, lambda m: getattr(m, name)(
                x, lower, upper, training=training, seed=seed, return_noise=noise,
                **({"out": out, **kw} if m is fastact else {})), [x], out
        g = case.view(shape, g_dtype, draw(LAYOUTS))
        out = out_for(shape, dtype, [g, x])
        ref_kw = {"noise": x} if training else {"x": x}
        return name, lambda m: getattr(m, name)(
            g, **ref_kw, lower=lower, upper=upper, training=training,
            **({"out": out, **kw} if m is fastact else {})), [g, x], out
    if name in ("prelu", "prelu_backward"):
        g = case.view(shape, g_dtype, draw(LAYOUTS))
        out = out_for(shape, dtype, [x, g])
        if name == "prelu":
            return name, lambda m: (fastact.prelu(x, weight, out=out, axis=axis, **kw)
                                    if m is fastact else ref.prelu(x, weight, axis=axis)), \
                [x], out
        return name, lambda m: (fastact.prelu_backward(g, x, weight, out=out, axis=axis, **kw)
                                if m is fastact else ref.prelu_backward(g, x, weight,
                                                                        axis=axis)), [g, x], out
    if name == "maxout":
        ri = draw(st.booleans())
        y_shape = list(shape)
        if isinstance(axis, int) and -len(shape) <= axis < len(shape) and \
                isinstance(k, int) and k > 0:
            y_shape[axis] //= k
        out = out_for(tuple(y_shape), dtype, [x])
        return name, lambda m: (fastact.maxout(x, k, axis, out=out, return_indices=ri, **kw)
                                if m is fastact else ref.maxout(x, k, axis,
                                                                return_indices=ri)), [x], out
    # maxout_backward, from x or from indices
    y_shape = list(shape)
    if isinstance(axis, int) and -len(shape) <= axis < len(shape) and isinstance(k, int) \
            and k > 0:
        y_shape[axis] //= k
    g = case.view(tuple(y_shape), g_dtype, draw(LAYOUTS))
    out = out_for(shape, dtype, [x])
    if draw(st.booleans()):
        idx_dtype = draw(st.sampled_from([np.intp, np.int8, np.uint16, np.float32]))
        hi = draw(st.sampled_from([k if isinstance(k, int) else 2, 9]))
        idx = (np.arange(g.size).reshape(g.shape) % max(hi, 1)).astype(idx_dtype)
        return name, lambda m: (fastact.maxout_backward(g, k, indices=idx, axis=axis, out=out,
                                                        **kw)
                                if m is fastact else ref.maxout_backward(
                                    g, k, indices=idx, axis=axis)), [g], out
    return name, lambda m: (fastact.maxout_backward(g, k, x, axis=axis, out=out, **kw)
                            if m is fastact else ref.maxout_backward(g, k, x, axis=axis)), \
        [g, x], out


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
        a, b, equal_nan=a.dtype.kind in "fc")


def check_one(data):
    case = Case(data.draw)
    try:
        name, call, inputs, out = _draw_call(data.draw, case)
    except OverflowError:
        return "skipped"
    copies = [np.array(a, copy=True) for a in inputs]
    before = case.arena.copy()
    try:
        got = call(fastact)
    except (TypeError, ValueError):
        assert np.array_equal(case.arena, before), f"{name}: an error left a partial write"
        return "rejected"
    # Success: the twin's result on copies of the inputs, and no stray write.
    allowed = np.zeros(ARENA_BYTES, bool)
    for o in (out if isinstance(out, tuple) else (out,)):
        if isinstance(o, np.ndarray) and o.size:
            allowed |= case.byte_mask(o)
    stray = (case.arena != before) & ~allowed
    assert not stray.any(), f"{name}: wrote outside out at bytes {np.nonzero(stray)[0][:8]}"
    got = tuple(np.array(v, copy=True) for v in (got if isinstance(got, tuple) else (got,)))
    saved = [np.array(a, copy=True) for a in inputs]
    for a, c in zip(inputs, copies):  # the twin sees the inputs as they were
        case.overwrite(a, c)
    try:
        with np.errstate(all="ignore"):
            want = call(ref)
    except Exception:
        return "twin-failed"
    finally:
        for a, s in zip(inputs, saved):
            case.overwrite(a, s)
    got_t = got
    want_t = want if isinstance(want, tuple) else (want,)
    for gv, wv in zip(got_t, want_t):
        if name == "prelu_backward" and gv is got_t[-1] and len(got_t) == 2:
            np.testing.assert_allclose(np.asarray(gv, np.float64), np.asarray(wv, np.float64),
                                       rtol=1e-5, atol=1e-30)
        elif name.removesuffix("_backward") in _ops.REGISTRY and not getattr(
                _ops.REGISTRY[name.removesuffix("_backward")], "exact", True):
            g = copies[0] if name.endswith("_backward") else None
            assert gv.shape == np.shape(wv) and close_to_twin(gv, wv, g).all(), \
                f"{name}: result off the NumPy twin by more than its accuracy"
        else:
            assert _same(gv, wv), f"{name}: result differs from the NumPy twin"
    return "checked"


def run(cases, seed=0):
    counts = {}

    @settings(max_examples=cases, deadline=None, database=None, derandomize=seed == 0,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(st.data())
    def fuzz(data):
        outcome = check_one(data)
        counts[outcome] = counts.get(outcome, 0) + 1

    if seed:
        fuzz = hypothesis_seed(seed)(fuzz)
    fuzz()
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description="fuzz fastact's public API")
    p.add_argument("--cases", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0, help="0: a fixed, reproducible run")
    args = p.parse_args(argv)
    counts = run(args.cases, args.seed)
    total = sum(counts.values())
    print(f"fuzz: {total} cases: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
