"""``python -m fastact``: the configuration, then every op timed against its
NumPy baseline (``--json`` for machines). ``python -m fastact --help``."""
import argparse
import json
import sys

import numpy as np

from . import _bench, _peers, _pipeline
from ._config import config, show_config


def _sizes(text):
    try:
        sizes = [int(float(s)) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be numbers like 1e3,1e5: {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m fastact",
        description="Print fastact's configuration and benchmark every op against "
                    "the strongest NumPy idiom (median time per call, speed-up).")
    parser.add_argument("--sizes", type=_sizes, default=[1_000, 100_000, 10_000_000],
                        help="comma-separated element counts (default 1e3,1e5,1e7)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--threads", type=int, default=None,
                        help="n_threads for fastact (default: OpenMP's default)")
    parser.add_argument("--ops", type=lambda s: s.split(","), default=None,
                        help="only ops whose names start with these (comma-separated)")
    parser.add_argument("--peers", action="store_true",
                        help="also time PyTorch, Numba and numexpr where importable")
    parser.add_argument("--pipeline", action="store_true",
                        help="time the activations between matmuls and after idle time "
                             "(NumPy idiom, fastact default threads, fastact 1 thread)")
    parser.add_argument("--bias", action="store_true",
                        help="time the fused bias (op(x, bias=b), and backward with "
                             "return_bias_grad=True) against x + b then the op, and the "
                             "backward then grad.sum(axis=...)")
    parser.add_argument("--quick", action="store_true",
                        help="with --pipeline: fewer shapes, float32 only, shorter runs")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    if args.threads == 0:
        parser.error("--threads must not be 0")

    def progress(name, n):
        if not args.json and sys.stderr.isatty():
            at = f" at n={n:,}" if n is not None else ""
            print(f"  timing {name}{at} ...".ljust(60), end="\r", file=sys.stderr,
                  flush=True)

    if not args.json:
        show_config()
        print()
    if args.pipeline:
        result = _pipeline.run(quick=args.quick, progress=lambda text: progress(text, None))
        if args.json:
            print(json.dumps({"config": config(), "pipeline": result}, indent=2))
        else:
            if sys.stderr.isatty():
                print(" " * 60, end="\r", file=sys.stderr)
            print(_pipeline.format_table(result))
        return 0
    if args.bias:
        rows = _bench.run_bias(args.sizes, np.dtype(args.dtype).type, args.threads, args.ops,
                               progress)
        if args.json:
            print(json.dumps({"config": config(), "dtype": args.dtype,
                              "threads": args.threads, "bias": rows}, indent=2))
            return 0
        if sys.stderr.isatty():
            print(" " * 60, end="\r", file=sys.stderr)
        print(f"dtype {args.dtype}, n_threads {args.threads}; fused: one call with bias=; "
              f"two calls: NumPy's x + b then the op, or the backward then grad.sum(axis); "
              f"medians of interleaved samples, in microseconds\n")
        print(_bench.format_bias_table(rows))
        return 0
    overhead = _bench.call_overhead()
    runner = _peers if args.peers else _bench
    rows = runner.run(args.sizes, np.dtype(args.dtype).type, args.threads, args.ops, progress)
    if args.json:
        print(json.dumps({"config": config(), "dtype": args.dtype, "threads": args.threads,
                          "overhead_n1_us": {"fastact": overhead[0] * 1e6,
                                             "numpy": overhead[1] * 1e6},
                          "results": rows}, indent=2))
        return 0
    if sys.stderr.isatty():
        print(" " * 60, end="\r", file=sys.stderr)
    print(f"dtype {args.dtype}, n_threads {args.threads}; every side writes into a "
          f"preallocated out; medians of interleaved samples, in microseconds")
    print(f"per-call cost at n = 1: fastact.relu(x, out=x) {overhead[0] * 1e6:.2f} us, "
          f"np.maximum(x, 0, out=x) {overhead[1] * 1e6:.2f} us\n")
    print(runner.format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
