"""How close each kernel runs to the memory system: time / (bytes moved /
streaming bandwidth), where the bandwidth is that of an in-place
read-modify-write streaming kernel (``np.abs(x, out=x)``, one thread) on the
same number of elements, measured in the same run ("x limit"); and time /
(bytes moved / the bandwidth of fastact's plain streaming kernel on the same
threads: ``x = |x|`` in place, or for the element-wise backward passes
``g = g * x``, the same traffic): "x stream", the stricter figure with two
threads. Then each op's per-call cost at n = 1 beside relu's.

    python asv_benchmarks/limits.py [--threads N] [--dtype float32]

In-place calls get fresh data before every sample (copied outside the
timing). Medians of interleaved samples. Prints a table; no assertion.
"""
import argparse
import time

import numpy as np

import fastact
from fastact import _bench


def _median_time(func, prepare, samples):
    ts = []
    for _ in range(samples):
        prepare()
        t0 = time.perf_counter()
        func()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def measure(n, dtype, n_threads, samples):
    rng = np.random.default_rng(0)
    b = np.dtype(dtype).itemsize
    x0 = rng.standard_normal(n).astype(dtype)
    g0 = rng.standard_normal(n).astype(dtype)
    x, g = x0.copy(), g0.copy()

    def fresh():
        np.copyto(x, x0)
        np.copyto(g, g0)

    nt = n_threads
    stream = _median_time(lambda: np.abs(x, out=x), fresh, samples)
    bandwidth = 2 * n * b / stream
    rows = []
    # fastact's plain streaming kernels of 2 and 3 passes, same threads.
    calls, streams, fresh_ew = _bench.in_place_calls(n, dtype, n_threads)
    stream_t = {k: _median_time(f, fresh_ew, samples) for k, f in streams.items()}
    ours = 2 * n * b / stream_t[2]

    def row(name, func, nbytes, prepare=fresh, same_threads=None):
        t = _median_time(func, prepare, samples)
        vs_stream = t / same_threads if same_threads else t / (nbytes / ours)
        rows.append((name, n, t * 1e6, nbytes / bandwidth * 1e6, t / (nbytes / bandwidth),
                     vs_stream))

    # Every element-wise op of the registry in place, against fastact's plain
    # streaming kernel of the same traffic; maxout against the bandwidth of
    # fastact's x = |x| for the bytes it moves.
    for name, (func, passes) in calls.items():
        row(f"{name} (in place)", func, passes * n * b, fresh_ew, stream_t[passes])
    for k in (2, 4):
        m = n - n % k
        xm, y = x[:m], np.empty(m // k, dtype)
        idx = np.empty(m // k, np.intp)
        gm = g[: m // k]
        _, idx_ref = fastact.maxout(xm, k, return_indices=True)
        row(f"maxout k={k}", lambda: fastact.maxout(xm, k, out=y, n_threads=nt), (m + m // k) * b)
        row(f"maxout+indices k={k}",
            lambda: fastact.maxout(xm, k, out=(y, idx), return_indices=True, n_threads=nt),
            (m + m // k) * b + m // k * 8)
        row(f"maxout_backward (x, out=x) k={k}",
            lambda: fastact.maxout_backward(gm, k, xm, out=xm, n_threads=nt), (2 * m + m // k) * b)
        row(f"maxout_backward (indices) k={k}",
            lambda: fastact.maxout_backward(gm, k, indices=idx_ref, out=xm, n_threads=nt),
            (m + m // k) * b + m // k * 8)
    return stream, rows


def _layout_rows(dtype, n_threads, samples, shape, cases):
    """Rows of in-place calls on one shape: ``cases(x, g)`` gives (name,
    call, passes over the data); fresh data before every sample, and both
    limits measured on the same shape."""
    rng = np.random.default_rng(0)
    b = np.dtype(dtype).itemsize
    x0 = rng.standard_normal(shape).astype(dtype)
    g0 = rng.standard_normal(shape).astype(dtype)
    x, g = x0.copy(), g0.copy()
    n = x.size

    def fresh():
        np.copyto(x, x0)
        np.copyto(g, g0)

    stream = _median_time(lambda: np.abs(x, out=x), fresh, samples)
    bw = 2 * n * b / stream
    _, streams, fresh_s = _bench.in_place_calls(n, dtype, n_threads)
    ours = {k: _median_time(f, fresh_s, samples) for k, f in streams.items()}
    del streams, fresh_s
    rows = []
    for name, func, passes in cases(x, g):
        t = _median_time(func, fresh, samples)
        nbytes = passes * n * b
        rows.append((name, n, t * 1e6, nbytes / bw * 1e6, t / (nbytes / bw),
                     t / ours[passes]))
    return rows


def prelu_rows(dtype, n_threads, samples):
    """PReLU on (32, 64, 56, 56), NCHW and channels-last, in place."""
    w = np.random.default_rng(1).uniform(0, 0.3, 64).astype(dtype)
    nt = n_threads
    rows = []
    for layout, shape, axis in (("NCHW", (32, 64, 56, 56), 1), ("NHWC", (32, 56, 56, 64), -1)):

        def cases(x, g, layout=layout, axis=axis):
            return (
                (f"prelu {layout} (in place)",
                 lambda: fastact.prelu(x, w, out=x, axis=axis, n_threads=nt), 2),
                (f"prelu_backward {layout} (in place)",
                 lambda: fastact.prelu_backward(g, x, w, out=g, axis=axis, n_threads=nt), 3))
        rows += _layout_rows(dtype, n_threads, samples, shape, cases)
    return rows


def bias_rows(dtype, n_threads, samples):
    """The fused bias in place, features last (39 062, 256) and NCHW
    (32, 64, 56, 56): forwards move x once each way, backwards with the bias
    gradient read g and x and write g (the bias and its gradient are noise)."""
    rng = np.random.default_rng(1)
    nt = n_threads
    rows = []
    for layout, shape, ax in (("features-last", (39_062, 256), -1),
                              ("NCHW", (32, 64, 56, 56), 1)):
        bias = rng.uniform(-0.5, 0.5, shape[ax]).astype(dtype)
        w = rng.uniform(0, 0.3, shape[ax]).astype(dtype)

        def cases(x, g, layout=layout, ax=ax, bias=bias, w=w):
            return (
                (f"relu +bias {layout}",
                 lambda: fastact.relu(x, out=x, bias=bias, bias_axis=ax, n_threads=nt), 2),
                (f"leaky_relu +bias {layout}",
                 lambda: fastact.leaky_relu(x, out=x, bias=bias, bias_axis=ax, n_threads=nt), 2),
                (f"prelu +bias {layout}",
                 lambda: fastact.prelu(x, w, out=x, axis=ax, bias=bias, bias_axis=ax,
                                       n_threads=nt), 2),
                (f"relu_backward +grad_b {layout}",
                 lambda: fastact.relu_backward(g, x, out=g, bias_axis=ax, return_bias_grad=True,
                                               n_threads=nt), 3),
                (f"leaky_relu_backward +b +grad_b {layout}",
                 lambda: fastact.leaky_relu_backward(g, x, out=g, bias=bias, bias_axis=ax,
                                                     return_bias_grad=True, n_threads=nt), 3),
                (f"prelu_backward +grad_b {layout}",
                 lambda: fastact.prelu_backward(g, x, w, out=g, axis=ax, bias_axis=ax,
                                                return_bias_grad=True, n_threads=nt), 3))
        rows += _layout_rows(dtype, n_threads, samples, shape, cases)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--sizes", default="1e5,1e7")
    args = p.parse_args()
    dtype = np.dtype(args.dtype).type
    print(f"fastact {fastact.__version__}, SIMD {fastact.show_config('dicts')['simd']}, "
          f"n_threads {args.threads}, {args.dtype}")
    print(f"{'op':<40}{'n':>12}{'us':>11}{'limit us':>11}{'x limit':>9}{'x stream':>10}")
    rows = []
    for n in (int(float(s)) for s in args.sizes.split(",")):
        samples = 61 if n < 1e6 else 15
        rows += measure(n, dtype, args.threads, samples)[1]
    rows += prelu_rows(dtype, args.threads, 9)
    rows += bias_rows(dtype, args.threads, 9)
    for name, n, t, lim, ratio, vs_stream in rows:
        same = f"{vs_stream:>9.2f}x" if vs_stream else f"{'':>10}"
        print(f"{name:<40}{n:>12,}{t:>11.1f}{lim:>11.1f}{ratio:>8.2f}x{same}")
    # The per-call cost at n = 1: each op beside relu (forward) or
    # relu_backward (backward), interleaved.
    calls, _, _ = _bench.in_place_calls(1, dtype, args.threads)
    print(f"\n{'per-call cost at n = 1':<36}{'us':>11}{'relu us':>11}{'ratio':>9}")
    for name, (func, passes) in calls.items():
        base = calls["relu_backward" if passes == 3 else "relu"][0]
        t, t_base = _bench.compare(func, base, budget=0.2, samples=9)
        print(f"{name:<36}{t * 1e6:>11.2f}{t_base * 1e6:>11.2f}{t / t_base:>8.2f}x")


if __name__ == "__main__":
    main()
