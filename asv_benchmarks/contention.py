"""Calls while another process keeps one core busy: each size's median, p99
and mean time per call with the default thread count, against its own
``n_threads=1`` run in the same conditions.

    python asv_benchmarks/contention.py [--busy 1] [--seconds-per-case 1.5]

``--busy 0`` measures the idle machine. Prints a table; no assertion.
"""
import argparse
import multiprocessing
import time

import numpy as np

import fastact
from fastact import _runtime


def _spin(stop):
    while not stop.is_set():
        pass


def _samples(func, seconds):
    ts = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        func()
        ts.append(time.perf_counter() - t0)
    return np.array(ts) * 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--busy", type=int, default=1, help="busy processes on the side")
    p.add_argument("--seconds-per-case", type=float, default=1.5)
    args = p.parse_args()
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
                for _ in range(args.busy)]
    for s in spinners:
        s.start()
    time.sleep(0.2)
    try:
        print(f"{args.busy} busy process(es); leaky_relu(x, out=o), float32; us per call")
        print(f"{'n':>12}{'threads':>9}{'median':>10}{'p99':>10}{'mean':>10}"
              f"{'mean / 1-thread mean':>23}")
        for n in (70_001, 1_000_000, 10_000_000):
            x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
            o = np.empty_like(x)
            base = None
            for nt in (1, None):
                ts = _samples(lambda: fastact.leaky_relu(x, 0.1, out=o, n_threads=nt),
                              args.seconds_per_case)
                base = ts.mean() if base is None else base
                print(f"{n:>12,}{str(nt):>9}{np.median(ts):>10.1f}"
                      f"{np.percentile(ts, 99):>10.1f}{ts.mean():>10.1f}"
                      f"{ts.mean() / base:>22.2f}x   calls {ts.size}, "
                      f"{_runtime.stats()}")
    finally:
        stop.set()
        for s in spinners:
            s.join()


if __name__ == "__main__":
    main()
