"""The thread policy (fastact/_runtime.pyx) and the OpenMP spin setting
(fastact/_omp_env.py).

The policy's decisions are tested on a model that runs the same C code on
its own state with a scripted clock: each call says what it would cost
serially and in parallel, so no test depends on this machine's timing.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import fastact
from fastact import _omp_env, _runtime
from fastact import reference as ref
from helpers import salted

KIND = 0              # relu, float32
N = 1 << 20           # a size above the serial threshold
ELSEWHERE = tempfile.gettempdir()
OPENMP = fastact.show_config("dicts")["openmp"].startswith("on")


def drive(model, calls, serial_s, parallel_s, gap=1e-5, n=N, kind=KIND, start=1.0,
          max_team=2):
    """Run ``calls`` calls back to back, ``gap`` seconds apart; ``parallel_s``
    may be a function of the gap since the last parallel region ended (the
    model has no other notion of time). Returns (teams, elapsed, end time)."""
    teams, elapsed = [], []
    now, last_par_end = start, -1e9
    for _ in range(calls):
        par = parallel_s(now - last_par_end) if callable(parallel_s) else parallel_s
        team, _, t = model.call(kind, n, max_team, now, serial_s, par)
        teams.append(team)
        elapsed.append(t)
        now += t
        if team > 1:
            last_par_end = now
        now += gap
    return np.array(teams), np.array(elapsed), now


def warm_model():
    """A model whose process already ran its first parallel region (the one
    that creates the team, which is not judged), on an unrelated op."""
    m = _runtime.Model()
    for i in range(3):
        m.call(100, N, 2, 0.01 * i, 1e-3, 1e-3)
    assert m.stats()["parallel"] == 1
    return m


def test_the_first_region_creates_the_team_and_is_not_judged():
    m = _runtime.Model()
    t = 1.0
    for _ in range(2):
        m.call(KIND, N, 2, t, 1e-3, 20e-3)
        t += 0.1
    team, probe, el = m.call(KIND, N, 2, t, 1e-3, 20e-3)     # 20 ms: team creation
    assert team == 2 and m.stats()["losses"] == 0
    team, probe, _ = m.call(KIND, N, 2, t + el + 1e-5, 1e-3, 0.5e-3)
    assert (team, probe) == (2, True), "probes again at once"
    assert m.call(KIND, N, 2, t + 1.0, 1e-3, 0.5e-3)[0] == 2


def test_first_calls_run_serially():
    m = _runtime.Model()
    teams, _, _ = drive(m, 2, 1e-3, 1e-4)
    assert list(teams) == [1, 1]
    assert m.stats()["parallel"] == 0


def test_parallel_that_pays_is_used():
    m = _runtime.Model()
    teams, _, _ = drive(m, 1000, serial_s=1e-3, parallel_s=0.55e-3)
    assert teams[2] == 2, "the third call probes"
    par = (teams[3:] > 1).mean()
    # Every REFRESH-th winning call runs serially to keep the serial time current.
    assert 0.95 <= par < 1.0
    assert m.stats()["losses"] == 0


def test_parallel_that_loses_is_dropped_and_probes_get_rarer():
    """The pipeline after a GEMM: a parallel region waits for a core that
    BLAS's threads hold (10 ms), serial takes 0.15 ms."""
    m = _runtime.Model()
    serial, stall = 150e-6, 10e-3
    teams, elapsed, _ = drive(m, 20_000, serial, stall, gap=2e-3)
    probes = np.flatnonzero(teams > 1)
    assert len(probes) >= 2
    # Lost time stays a small fraction of the serial time (RATIO = 20: at
    # most 5%, less as the stake doubles), and stalls are far below 1%.
    assert elapsed.sum() <= 1.06 * serial * len(teams)
    assert len(probes) / len(teams) < 0.003
    # Probes come in bursts of at most one per gap class (the call after a
    # probe has a shorter gap since a parallel region than the probe had);
    # the waits between bursts grow.
    bursts = np.split(probes, np.flatnonzero(np.diff(probes) > 2) + 1)
    assert max(len(b) for b in bursts) <= 4
    waits = np.diff([b[0] for b in bursts])
    assert np.all(waits[1:] >= waits[:-1]) and waits[-1] > 2 * waits[0]


def test_gap_classes_learn_separately():
    """Back-to-back calls find the team awake (parallel pays, once the team
    is woken: the streak pays for that); calls after a 2 ms pause wait for
    it to wake every time (parallel loses)."""
    m = _runtime.Model()
    serial = 400e-6

    def parallel(gap_since_region):
        return 220e-6 if gap_since_region < 0.5e-3 else 1.5e-3

    hot, _, end = drive(m, 500, serial, parallel, gap=5e-6)
    assert (hot[-400:] > 1).mean() > 0.9
    cold, elapsed, _ = drive(m, 2000, serial, parallel, gap=2e-3, start=end)
    assert (cold > 1).mean() < 0.01
    assert elapsed.sum() < 1.06 * serial * len(cold)


def test_a_stall_while_parallel_pays_switches_to_serial_at_once():
    m = _runtime.Model()
    drive(m, 200, 1e-3, 0.5e-3)
    now = 10.0
    team, _, _ = m.call(KIND, N, 2, now, 1e-3, 20e-3)    # a stall (busy neighbour)
    assert team == 2
    team, _, _ = m.call(KIND, N, 2, now + 0.1, 1e-3, 20e-3)
    assert team == 1
    assert m.stats()["losses"] == 1


def test_recovers_when_the_machine_frees_up():
    m = _runtime.Model()
    _, _, end = drive(m, 3000, 1e-3, 8e-3, gap=1e-5)
    teams, _, _ = drive(m, 5000, 1e-3, 0.5e-3, gap=1e-5, start=end)
    assert (teams[-1000:] > 1).mean() > 0.9


def test_sizes_and_kinds_are_learned_separately():
    m = _runtime.Model()
    drive(m, 300, 1e-3, 0.5e-3, n=N)
    # Another size bucket and another op start from nothing: serial first.
    assert drive(m, 2, 4e-3, 2e-3, n=4 * N)[0].tolist() == [1, 1]
    assert drive(m, 2, 1e-3, 0.5e-3, kind=KIND + 1)[0].tolist() == [1, 1]


def test_one_thread_allowed_is_never_parallel_and_not_timed():
    m = _runtime.Model()
    teams, _, _ = drive(m, 100, 1e-3, 1e-6, max_team=1)
    assert set(teams) == {1}
    assert m.stats() == {"serial": 0, "parallel": 0, "probes": 0, "losses": 0}


def test_modes():
    old = _runtime.set_mode("eager")
    try:
        assert _runtime.mode() == "eager"
        assert fastact.show_config("dicts")["thread_policy"].startswith("eager")
        with pytest.raises(ValueError, match="adaptive"):
            _runtime.set_mode("sometimes")
    finally:
        _runtime.set_mode(old)


def test_adaptive_calls_give_the_serial_results():
    """Whatever the policy decides, every call's result is the serial one."""
    old = _runtime.set_mode("adaptive")
    try:
        x = salted(300_001, np.float32, seed=5)
        g = salted(300_001, np.float32, seed=6)
        want = (ref.relu(x), ref.leaky_relu_backward(g, x, negative_slope=0.2))
        for _ in range(30):
            got = (fastact.relu(x), fastact.leaky_relu_backward(g, x, negative_slope=0.2))
            for a, b in zip(got, want):
                assert np.array_equal(a, b, equal_nan=True)
    finally:
        _runtime.set_mode(old)


def _python(code, env):
    full = {k: v for k, v in os.environ.items()
            if k not in ("FASTACT_THREAD_POLICY", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY",
                         "FASTACT_OPENMP_SPIN")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, timeout=120, cwd=ELSEWHERE)


def test_the_first_call_of_a_process_is_serial():
    r = _python("import numpy as np, fastact; from fastact import _runtime\n"
                "x = np.ones(1 << 21, np.float32); fastact.relu(x, out=x, n_threads=2)\n"
                "print(_runtime.stats())", {})
    assert r.returncode == 0, r.stderr
    stats = eval(r.stdout)
    assert stats["mode"] == "adaptive"
    if OPENMP:
        assert stats["serial"] == 1 and stats["parallel"] == 0


def test_bad_policy_variable_fails_import_clearly():
    r = _python("import fastact", {"FASTACT_THREAD_POLICY": "always"})
    assert r.returncode != 0 and "thread policy must be one of" in r.stderr


# --------------------------------------------------------------------------
# The spin setting of libgomp's idle threads


def test_spin_plan_rules():
    assert _omp_env.plan({}, False)[0] == _omp_env.SPINCOUNT
    assert _omp_env.plan({"FASTACT_OPENMP_SPIN": "5000"}, False)[0] == "5000"
    for user in ({"GOMP_SPINCOUNT": "100"}, {"OMP_WAIT_POLICY": "passive"},
                 {"OMP_WAIT_POLICY": "active", "FASTACT_OPENMP_SPIN": "5000"}):
        count, reason = _omp_env.plan(user, False)
        assert count is None and "left to the environment" in reason
    assert _omp_env.plan({"FASTACT_OPENMP_SPIN": "keep"}, False)[0] is None
    count, reason = _omp_env.plan({}, True)
    assert count is None and "already loaded" in reason
    assert _omp_env.plan({}, None)[0] is None
    with pytest.raises(ValueError, match="FASTACT_OPENMP_SPIN"):
        _omp_env.plan({"FASTACT_OPENMP_SPIN": "lots"}, False)


SHOW_SPIN = ("import os, fastact\n"
             "print(fastact.show_config('dicts')['openmp_spin'])\n"
             "print('GOMP_SPINCOUNT' in os.environ)")


@pytest.mark.skipif(not (OPENMP and sys.platform.startswith("linux")),
                    reason="the spin setting applies to libgomp on Linux")
def test_spin_is_set_while_libgomp_loads_and_not_left_behind():
    r = _python(SHOW_SPIN, {})
    assert r.returncode == 0, r.stderr
    line, leaked = r.stdout.split("\n")[:2]
    assert f"GOMP_SPINCOUNT={_omp_env.SPINCOUNT}" in line and "set by fastact" in line
    assert leaked == "False", "children must see the user's environment"


@pytest.mark.skipif(not OPENMP, reason="serial build")
@pytest.mark.parametrize("env", [{"OMP_WAIT_POLICY": "passive"}, {"GOMP_SPINCOUNT": "7"}])
def test_the_users_openmp_settings_win(env):
    r = _python(SHOW_SPIN + "\nprint(os.environ.get('GOMP_SPINCOUNT'))", env)
    assert r.returncode == 0, r.stderr
    line, _, kept = r.stdout.split("\n")[:3]
    assert "left to the environment" in line
    assert kept == env.get("GOMP_SPINCOUNT", "None")


def test_bad_spin_variable_fails_import_clearly():
    r = _python("import fastact", {"FASTACT_OPENMP_SPIN": "lots"})
    assert r.returncode != 0 and "FASTACT_OPENMP_SPIN" in r.stderr


def test_a_loss_after_a_short_gap_holds_longer_gaps_back():
    m = warm_model()
    t, serial = 1.0, 1e-3
    for _ in range(2):                       # serial samples
        assert m.call(KIND, N, 2, t, serial, 5e-3)[0] == 1
        t += 0.1
    team, probe, el = m.call(KIND, N, 2, t, serial, 2e-3)   # after a long gap: loses
    assert (team, probe) == (2, True)
    t += el + 1e-3                           # 1 ms later: its own cell, probes, loses big
    team, probe, el = m.call(KIND, N, 2, t, serial, 9e-3)
    assert (team, probe) == (2, True)
    t += el + 10e-3                          # 10 ms later: a cell never probed, held back
    assert m.call(KIND, N, 2, t, serial, 9e-3)[0] == 1
    assert m.stats()["losses"] == 2


def test_cheap_stalls_still_come_less_than_once_in_a_hundred_calls():
    """A stall of 0.5 ms on a 0.1 ms call would allow a probe every 80 calls
    by the time rule alone; the call floor keeps stalls out of the p99."""
    m = _runtime.Model()
    teams, elapsed, _ = drive(m, 5000, 100e-6, 500e-6, gap=2e-3)
    for lo in range(0, 5000, 1000):
        assert (teams[lo:lo + 1000] > 1).sum() <= 10
    assert np.percentile(elapsed, 99) == pytest.approx(100e-6)


def test_noise_does_not_end_a_good_streak():
    """Parallel pays on average (0.5x and 1.1x serial, alternating): once a
    streak runs, runs a little slower than serial, and a one-off stall, are
    paid from what it saved, not a reason to stop."""
    m = _runtime.Model()
    runs = iter([0.5e-3, 1.1e-3] * 1000)
    teams, _, end = drive(m, 100, 1e-3, lambda gap: next(runs))
    # (A serial refresh can move the next call to a colder gap class, whose
    # own probe must win alone: a few serial calls, not the end of the streak.)
    assert (teams[-50:] > 1).mean() > 0.85
    losses = m.stats()["losses"]
    team, _, _ = m.call(KIND, N, 2, end, 1e-3, 6e-3)      # a hiccup: a stall
    assert team == 2
    teams, _, _ = drive(m, 900, 1e-3, lambda gap: next(runs), start=end + 6e-3 + 1e-5)
    assert teams[0] == 2, "the stall was paid from the bank"
    assert (teams > 1).mean() > 0.9
    assert m.stats()["losses"] - losses <= 20, "only probes that drew a slow run"


def test_a_mild_loser_costs_little():
    """Parallel always 1.2x serial, never a stall: probes keep the lost time
    within 1/RATIO of the serial time."""
    m = _runtime.Model()
    teams, elapsed, _ = drive(m, 20_000, 1e-3, 1.2e-3)
    assert elapsed.sum() <= 1.05 * 1e-3 * len(teams)
    assert (teams > 1).sum() >= 5, "it keeps looking"


def test_a_streak_pays_for_waking_the_team_but_not_more():
    """Calls back to back after a serial stretch: the first parallel run
    wakes the team (expensive), the next ones are cheap. Entering pays when
    waking costs less than the streak's loan (4 serial calls), and a team
    too slow to wake is left asleep."""
    for wake, enters in ((1.2e-3, True), (5e-3, False)):
        m = warm_model()
        teams, elapsed, _ = drive(m, 3000, 400e-6,
                                  lambda gap: 220e-6 if gap < 0.5e-3 else wake)
        if enters:
            assert (teams[-1000:] > 1).mean() > 0.9
        else:
            assert (teams > 1).mean() < 0.01
            assert elapsed.sum() < 1.05 * 400e-6 * len(teams)


def test_waking_probes_count_what_they_cost():
    """Back-to-back calls where parallel never pays, not even awake (1.2x
    serial) but waking is cheap enough to pass the loan: the waking probes'
    cost is part of the stake, so the lost time stays within 1/RATIO."""
    m = _runtime.Model()
    serial = 10e-6
    teams, elapsed, _ = drive(m, 50_000, serial,
                              lambda gap: 12e-6 if gap < 0.5e-3 else 35e-6)
    assert elapsed.sum() <= 1.06 * serial * len(teams)


def test_a_stall_holds_back_the_other_ops_of_that_size():
    """A training step: forward and backward ops after a GEMM whose BLAS
    threads hold the other core. The backward op does not pay for its own
    first stall once the forward one stalled; a mild loss does not spread."""
    m = warm_model()
    t = 1.0
    for kind in (KIND, KIND + 2):
        for _ in range(2):
            m.call(kind, N, 2, t, 150e-6, 10e-3)
            t += 5e-3
    team, probe, el = m.call(KIND, N, 2, t, 150e-6, 10e-3)
    assert (team, probe) == (2, True)
    t += el + 5e-3
    assert m.call(KIND + 2, N, 2, t, 150e-6, 10e-3)[0] == 1
    other = _runtime.Model()
    for kind in (KIND, KIND + 2):
        for _ in range(2):
            other.call(kind, N, 2, t, 150e-6, 160e-6)
            t += 5e-3
    other.call(KIND, N, 2, t, 150e-6, 160e-6)      # slower, not a stall
    t += 5e-3
    assert other.call(KIND + 2, N, 2, t, 150e-6, 160e-6)[1], "probes on its own"


def test_the_documented_constants():
    """docs/threads.md and the README state these numbers."""
    p = _runtime.parameters()
    assert p["ratio"] == 20 and p["win"] == 0.9 and p["refresh"] == 64
    assert p["bank_calls"] == 32 and p["loan_calls"] == 4 and p["max_doublings"] == 6
    assert p["gap_edges_s"] == [0.5e-3, 5e-3, 50e-3]
    assert (p["stall_factor"], p["stall_abs_s"]) == (3.0, 100e-6)


def test_show_config_names_the_neighbours():
    pytest.importorskip("threadpoolctl")
    a = np.ones((64, 64))
    a @ a  # loads NumPy's BLAS if it was not yet
    cfg = fastact.show_config("dicts")
    assert cfg["other_pools"] != "threadpoolctl not installed"
    assert {"thread_policy", "openmp_spin"} <= set(cfg)
