"""The API fuzzer (tests/fuzz.py) in a child process: a crash there fails
this test instead of killing the run. CI's budget: 2,000 cases;
`python tests/fuzz.py --cases 100000` runs the long version."""
import os
import subprocess
import sys
import tempfile

FUZZ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz.py")


def test_fuzz_in_a_child_process():
    cases = os.environ.get("FASTACT_FUZZ_CASES", "2000")
    r = subprocess.run([sys.executable, FUZZ, "--cases", cases], capture_output=True,
                       text=True, timeout=1800, cwd=tempfile.gettempdir())
    assert r.returncode == 0, (r.returncode, r.stdout[-3000:], r.stderr[-6000:])
    assert "fuzz:" in r.stdout and "checked" in r.stdout, r.stdout
