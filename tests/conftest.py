"""Fixtures: the PyTorch oracle."""
import os

import pytest


@pytest.fixture(scope="session")
def torch():
    """PyTorch as an oracle. CI installs it and sets FASTACT_REQUIRE_TORCH=1,
    so a missing torch fails there instead of skipping."""
    try:
        import torch as _torch
    except ImportError:
        if os.environ.get("FASTACT_REQUIRE_TORCH") == "1":
            raise
        pytest.skip("PyTorch is not installed (pip install torch==2.13.0)")
    _torch.set_num_threads(1)
    return _torch


# Every test but the thread policy's own runs with the "eager" policy, so that
# calls above the serial threshold do enter parallel regions (the adaptive
# policy would run many of them serially) and the thread-count rules are
# tested on real teams. Child processes inherit it.
os.environ.setdefault("FASTACT_THREAD_POLICY", "eager")
