"""Threads, fork, floating-point environment, configuration and the CLI."""
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

import fastact
from fastact import _runtime, reference
from fastact._simd import kernels as _kernels
from helpers import salted

BIG = 1_000_003  # above the serial threshold: a parallel region
# Child interpreters start outside the checkout, so that they import the
# installed fastact, not the source folder (which has no compiled kernels).
ELSEWHERE = tempfile.gettempdir()


def _run_python(code, env=None, timeout=120):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=ELSEWHERE)


def test_n_threads_rules():
    d = _runtime.max_threads()
    assert fastact.effective_n_threads(None) == d
    assert fastact.effective_n_threads(-1) == d
    assert fastact.effective_n_threads(-2) == max(1, d - 1)
    assert fastact.effective_n_threads(-10_000) == 1
    assert fastact.effective_n_threads(1) == 1
    assert fastact.effective_n_threads(np.int64(2)) == min(2, max(d, os.cpu_count()))
    assert fastact.effective_n_threads(10**9) == max(d, os.cpu_count())
    with pytest.raises(ValueError):
        fastact.effective_n_threads(0)
    for bad in (1.0, "1", True, np.bool_(True), [1]):
        with pytest.raises(TypeError):
            fastact.effective_n_threads(bad)


@pytest.mark.parametrize("omp", ["1", "3"])
def test_omp_num_threads_is_honoured(omp):
    r = _run_python("import fastact; print(fastact.effective_n_threads(None), "
                    "fastact.effective_n_threads(-2))", env={"OMP_NUM_THREADS": omp})
    assert r.returncode == 0, r.stderr
    want = omp if OPENMP else "1"  # a serial build's default is one thread
    assert r.stdout.split() == [want, str(max(1, int(want) - 1))]


def test_threadpoolctl_sees_fastacts_runtime():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not OPENMP:
        pytest.skip("serial build: no OpenMP runtime to see")
    libs = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"]
    assert libs, "threadpoolctl finds no OpenMP runtime"
    assert fastact.show_config("dicts")["threadpoolctl"].count("threads") >= 1


def test_threadpoolctl_limits_are_honoured():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fastact.effective_n_threads(None) == 1
        x = salted(BIG, np.float32)
        assert np.array_equal(fastact.relu(x), np.maximum(x, 0), equal_nan=True)


def _child_work(queue):
    x = salted(BIG, np.float32, seed=3)
    y = fastact.relu(x)
    idx = fastact.maxout(x[:BIG - BIG % 4], 4, return_indices=True)[1]
    g = fastact.prelu_backward(x.reshape(1, -1), x.reshape(1, -1), [0.5])[1]
    queue.put((bool(np.array_equal(y, np.maximum(x, 0), equal_nan=True)), int(idx.sum()),
               float(g[0]) if np.isfinite(g[0]) else 0.0, fastact.effective_n_threads()))


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_child_process_after_parallel_region(method):
    """libgomp is not fork-safe: a forked child of a parent that ran a parallel
    region must still work (it runs serially), not hang."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    x = salted(BIG, np.float32)
    fastact.relu(x, n_threads=2)  # the parent runs a parallel region first
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    p = ctx.Process(target=_child_work, args=(queue,))
    p.start()
    p.join(timeout=120)
    if p.is_alive():
        p.kill()
        pytest.fail(f"child started with {method} hung")
    assert p.exitcode == 0
    ok, _, _, child_threads = queue.get(timeout=10)
    assert ok
    if method == "fork":
        assert child_threads == 1


def test_raw_fork_child_runs_large_calls():
    x = salted(BIG, np.float64)
    fastact.leaky_relu(x, n_threads=2)
    pid = os.fork()
    if pid == 0:  # the child: a large call, then leave without cleanup
        try:
            ok = np.array_equal(fastact.maxout(x[:-3], 4), reference.maxout(x[:-3], 4),
                                equal_nan=True)
            os._exit(0 if ok else 3)
        except BaseException:
            os._exit(4)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("forked child hung")


def test_no_flush_to_zero_or_denormals_are_zero():
    """Neither importing nor running fastact changes the FP environment."""
    code = """
import numpy as np
tiny = np.float32(1e-45)
before = (tiny * np.float32(1.0), np.float64(5e-324) * 1.0)
import fastact
x = np.full(1_000_003, tiny, np.float32)
fastact.relu(x, n_threads=2); fastact.leaky_relu(x, -1.0)
after = (tiny * np.float32(1.0), np.float64(5e-324) * 1.0)
assert before == after and after[0] != 0 and after[1] != 0, (before, after)
assert fastact.relu(x)[0] == tiny and fastact.leaky_relu(-x, -1.0)[0] == tiny
print("ok")
"""
    r = _run_python(code)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_show_config(capsys):
    fastact.show_config()
    text = capsys.readouterr().out
    for key in ("fastact", "openmp", "default_threads", "serial_threshold", "simd",
                "compiler", "flags"):
        assert key in text
    cfg = fastact.show_config(mode="dicts")
    assert cfg["fastact"] == fastact.__version__
    assert cfg["serial_threshold"] == _kernels.build_info()["serial_threshold"]
    assert cfg["default_threads"] == fastact.effective_n_threads()
    assert json.loads(fastact.show_config(mode="json")) == cfg
    with pytest.raises(ValueError):
        fastact.show_config(mode="yaml")


OPENMP = _runtime.build_info()["openmp_version"] > 0


def test_openmp_build_is_reported_and_required_in_ci():
    cfg = fastact.show_config(mode="dicts")
    assert cfg["openmp"].startswith("on" if OPENMP else "off")
    if os.environ.get("FASTACT_FAIL_NO_OPENMP") == "1":
        assert OPENMP, "CI builds must have OpenMP"
    if os.environ.get("FASTACT_EXPECT_DEBUG") == "1":
        assert cfg["debug_checks"], "the debug build has the kernels' checks compiled in"
    if os.environ.get("FASTACT_EXPECT_SERIAL") == "1":
        # The serial build: still every function, on one thread.
        assert not OPENMP and cfg["default_threads"] == 1
        assert cfg["openmp"].startswith("off") and cfg["openmp_runtime"] is None


def test_serial_threshold_means_no_parallel_region_below_it():
    """Below the threshold a call runs on the calling thread alone: with a
    busy team, a small call must still finish quickly and correctly."""
    n = _kernels.build_info()["serial_threshold"]
    x = salted(n, np.float32)
    for nt in (1, 2, 8):
        assert np.array_equal(fastact.relu(x, n_threads=nt), np.maximum(x, 0), equal_nan=True)


def test_cli_json():
    r = subprocess.run([sys.executable, "-m", "fastact", "--json", "--sizes", "1000",
                        "--ops", "relu,maxout"], capture_output=True, text=True, timeout=300,
                       cwd=ELSEWHERE)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    ops = {row["op"] for row in data["results"]}
    assert {"relu", "relu_backward", "maxout k=2", "maxout+indices k=4"} <= ops
    assert all(row["fastact_us"] > 0 and row["numpy_us"] > 0 for row in data["results"])
    assert data["config"]["fastact"] == fastact.__version__


def test_cli_bad_option():
    r = subprocess.run([sys.executable, "-m", "fastact", "--sizes", "abc"],
                       capture_output=True, text=True, timeout=60, cwd=ELSEWHERE)
    assert r.returncode == 2 and "sizes" in r.stderr


def test_cli_peers_table():
    r = subprocess.run([sys.executable, "-m", "fastact", "--peers", "--sizes", "1000",
                        "--ops", "relu,maxout k=2"], capture_output=True, text=True,
                       timeout=600, cwd=ELSEWHERE)
    assert r.returncode == 0, r.stderr
    assert "best other / fastact" in r.stdout and "relu" in r.stdout
