"""Shared test helpers: salted inputs, memory layouts, comparisons."""
import numpy as np

DTYPES = [np.float32, np.float64]
THREADS = [1, 2, None]
# Both sides of the serial threshold (32768 elements) and of the parallel
# chunk (16384), odd lengths included.
SIZES = [0, 1, 7, 1000, 70_001, 1_000_003]
LAYOUTS = ["C", "F", "strided", "reversed", "readonly", "misaligned"]


def edge_values(dtype):
    """0, -0.0, NaN, +-inf, subnormals, huge and ordinary values."""
    info = np.finfo(dtype)
    return np.array(
        [0.0, -0.0, np.nan, np.inf, -np.inf, info.smallest_subnormal,
         -info.smallest_subnormal, info.smallest_normal / 4, -info.smallest_normal / 3,
         info.max, -info.max, 1.0, -1.0, 0.5, -2.5],
        dtype=dtype,
    )


def salted(n, dtype, seed=0, scale=1.0):
    """n normal values, with every edge value sprinkled in (at least once
    each when n allows, in random places)."""
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(n) * scale).astype(dtype)
    edges = edge_values(dtype)
    if n:
        count = min(n, max(len(edges), n // 50))
        pos = rng.choice(n, size=count, replace=False)
        a[pos] = np.resize(edges, count)
    return a


def in_layout(a, layout):
    """A copy of the 1-D array ``a`` in the given memory layout, with the
    same values in logical order (so references can run on ``a``):
    C, F (a 2-D Fortran array), strided (every other element of a buffer),
    reversed (negative stride), readonly, misaligned (a byte-offset buffer)."""
    n = a.size
    if layout == "C":
        return a.copy()
    if layout == "F":
        # n values as a 2-D F-contiguous array when n factors, else (n, 1).
        rows = next((r for r in (3, 7, 2) if n % r == 0 and n > r), 1)
        return np.array(a.reshape(rows, n // rows), order="F", copy=True)  # a copy, always
    if layout == "strided":
        buf = np.full(2 * n, 123.0, dtype=a.dtype)
        buf[::2] = a
        return buf[::2]
    if layout == "reversed":
        return a[::-1].copy()[::-1]
    if layout == "readonly":
        b = a.copy()
        b.flags.writeable = False
        return b
    if layout == "misaligned":
        raw = np.zeros(n * a.itemsize + 1, dtype=np.uint8)
        b = raw[1:].view(a.dtype)
        b[...] = a
        assert n == 0 or not b.flags.aligned
        return b
    raise AssertionError(layout)


def assert_same(actual, expected):
    """Equal values, NaN where NaN, shape and dtype equal; the sign of a zero
    is not part of the contract."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_array_equal(actual, expected, strict=False)


def close_to_twin(actual, expected, g=None):
    """Where a smooth op (not bit-exact: docs/accuracy.md) and its float64
    NumPy twin may differ: a few ulps of the expected value (the twin is
    itself a few float64 ulps off), plus a few eps times |g| for gradients
    (their zero crossings, and the y= formulas, which take y's rounding).
    True where within; NaN must match NaN and infinities must be equal."""
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    dtype = np.asarray(expected).dtype
    ulps = 4 if dtype == np.float32 else 64
    eps = float(np.finfo(dtype).eps)
    with np.errstate(over="ignore", invalid="ignore"):  # spacing(inf) is NaN, and that's fine
        tol = ulps * np.spacing(np.abs(e).astype(dtype)).astype(np.float64) + ulps * float(
            np.finfo(dtype).smallest_subnormal)
    with np.errstate(invalid="ignore"):
        if g is not None:
            g = np.asarray(g, np.float64)
            tol = tol + 4 * eps * np.abs(g)
        ok = (np.abs(a - e) <= tol) | (a == e) | (np.isnan(a) & np.isnan(e))
        if g is not None:
            # An infinite g times a derivative that is tiny but not 0 is an
            # infinity; the float64 twin may have rounded the derivative to 0.
            ok |= np.isinf(g) & np.isnan(e) & np.isinf(a)
    return ok


def assert_close(actual, expected, g=None):
    """close_to_twin everywhere, and the same shape and dtype."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    ok = close_to_twin(actual, expected, g)
    bad = np.flatnonzero(~ok.reshape(-1))
    assert bad.size == 0, (f"{bad.size} values off, first at {bad[:5]}: "
                           f"{actual.reshape(-1)[bad[:5]]} vs {expected.reshape(-1)[bad[:5]]}")


def assert_matches(op, actual, expected, g=None):
    """The op's result against its twin: bit for bit for exact ops, within
    close_to_twin for the smooth ones."""
    if op.exact:
        assert_same(actual, expected)
    else:
        assert_close(actual, expected, g)


def assert_bits(a, b):
    """Bitwise identical (used across thread counts)."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()




def nd_layout(a, layout):
    """Like in_layout, for an N-D array ``a`` (shape kept): C, F, strided
    (every other element along the last axis), reversed, readonly,
    misaligned."""
    if a.ndim == 0 and layout not in ("readonly", "misaligned"):
        return a.copy()
    if layout == "F":
        return np.array(a, order="F", copy=True)
    if layout == "strided":
        buf = np.full(a.shape[:-1] + (2 * a.shape[-1],), 123.0, dtype=a.dtype)
        buf[..., ::2] = a
        return buf[..., ::2]
    if layout == "reversed":
        return a[..., ::-1].copy()[..., ::-1]
    return in_layout(a.reshape(-1), layout).reshape(a.shape)


def salted_nd(shape, dtype, seed=0):
    return salted(int(np.prod(shape)), dtype, seed=seed).reshape(shape)


def sum_tolerance(terms, result_dtype):
    """How far two float64 sums of ``terms`` taken in different orders may
    differ, plus the final rounding to ``result_dtype``."""
    terms = np.asarray(terms, np.float64)
    terms = terms[np.isfinite(terms)]
    bound = 4 * terms.size * np.finfo(np.float64).eps * np.abs(terms).sum()
    return bound, np.finfo(result_dtype).eps


# --------------------------------------------------------------------------
# The element-wise ops of the registry, as test cases: every generic test
# runs over these, so a new registry entry is tested without editing tests.

def _kwargs(op, values):
    return {p.name: v for p, v in zip(op.params, values)}


def registry_cases():
    """name -> (number of data inputs, fastact call(args, **kw), reference on
    the x-based inputs, forward used to make y or None, the op's entry).
    Each op with its sample parameters: forward, backward from x, and
    backward from y where the op takes y (the reference then sees x: the
    result must agree, within close_to_twin for the smooth ops). Compare
    with ``compare(case, actual, expected, args)``."""
    import fastact
    from fastact import _ops, reference

    cases = {}
    for op in _ops.ELEMENTWISE:
        fwd, bwd = getattr(fastact, op.name), getattr(fastact, op.name + "_backward")
        rf, rb = getattr(reference, op.name), getattr(reference, op.name + "_backward")
        p, kw = op.sample, _kwargs(op, op.sample)
        cases[op.name] = (1, lambda a, fwd=fwd, p=p, **k: fwd(a[0], *p, **k),
                          lambda a, rf=rf, p=p: rf(a[0], *p), None, op)
        cases[op.name + "_backward_x"] = (
            2, lambda a, bwd=bwd, kw=kw, **k: bwd(a[0], a[1], **kw, **k),
            lambda a, rb=rb, kw=kw: rb(a[0], a[1], **kw), None, op)
        if op.y:
            cases[op.name + "_backward_y"] = (
                2, lambda a, bwd=bwd, kw=kw, **k: bwd(a[0], y=a[1], **kw, **k),
                lambda a, rb=rb, kw=kw: rb(a[0], a[1], **kw),
                lambda x, fwd=fwd, p=p: fwd(x, *p), op)
    return cases


def compare(case, actual, expected, args):
    """A registry case's result against its reference (args: the inputs,
    grad_output first for a backward)."""
    op = case[4]
    if op is None:
        assert_same(actual, expected)
    else:
        assert_matches(op, actual, expected, args[0] if case[0] == 2 else None)
