"""The registry of ops (fastact/_ops.py) is complete, and everything that
lists ops is driven by it or checked against it: a public op without a twin,
a stub entry, a Dask wrapper, a benchmark case or a README row fails here."""
import inspect
import os

import numpy as np
import pytest

import fastact
from fastact import _bench, _ops, _peers, reference
from fastact._simd import kernels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = {"effective_n_threads", "show_config", "__version__"}
FUNCTIONS = _ops.public_functions()


def test_every_public_op_is_in_the_registry():
    assert sorted(set(fastact.__all__) - TOOLS) == sorted(FUNCTIONS)
    assert len(set(FUNCTIONS)) == len(FUNCTIONS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_op_has_its_layers(name):
    func = getattr(fastact, name)
    assert callable(func) and func.__doc__ and func.__module__ in ("fastact", "fastact._api")
    twin = getattr(reference, name)
    assert callable(twin), f"reference.{name} is missing"
    # A benchmark case (python -m fastact and asv) named after it.
    assert any(c == name or c.startswith(name + " ") for c in _bench.CASES), name
    assert any(c == name or c.startswith(name + " ") for c in _peers.OPS), name


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_op_has_a_dask_wrapper(name):
    pytest.importorskip("dask")
    import fastact.dask as fd

    assert name in fd.__all__ and callable(getattr(fd, name))


def test_the_generated_stubs_are_current():
    with open(os.path.join(os.path.dirname(fastact.__file__), "__init__.pyi")) as f:
        assert _ops.stub_text() in f.read(), (
            "fastact/__init__.pyi is stale: python -c 'from fastact import _ops; "
            "_ops.write_generated()'")


def test_the_readme_lists_every_op():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    assert _ops.readme_rows() in readme, (
        "README.md's generated rows are stale: python -c 'from fastact import _ops; "
        "_ops.write_generated()'")
    for name in FUNCTIONS:
        assert f"| `{name}(" in readme, f"no API row for {name} in README.md"


@pytest.mark.parametrize("op", _ops.ELEMENTWISE, ids=lambda op: op.name)
def test_entries_are_complete(op):
    """Every field a generic layer reads is there and consistent."""
    assert op.forward in kernels.OPS and op.backward in kernels.OPS
    assert len(op.sample) == len(op.params)
    assert all(isinstance(p.doc, str) and p.doc for p in op.params)
    assert op.summary and op.rule and op.grad_rule and op.notes
    n = len(op.params)
    for f, arity in ((op.numpy, 1 + n), (op.numpy_backward, 2 + n), (op.bench, 2 + n),
                     (op.bench_backward, 3 + n), (op.torch, 3 + n),
                     (op.torch_backward, 4 + n)):
        assert len(inspect.signature(f).parameters) == arity, (op.name, f)
    x = np.linspace(-8, 8, 33)
    o = np.empty_like(x)
    op.bench(x, o, *_ops.bench_values(op))  # the NumPy idiom runs
    assert np.allclose(o, op.numpy(x, *_ops.bench_values(op)), equal_nan=True)


def test_every_kernel_op_code_is_used():
    """No kernel loop that no public op reaches (RReLU's codes are used by
    its hand-written functions)."""
    used = {c for op in _ops.ELEMENTWISE for c in (op.forward, op.backward, op.backward_y)}
    used |= {"rrelu_train", "rrelu_eval_noise", "mul"}
    used.discard(None)
    assert used == set(kernels.OPS)
    assert sorted(kernels.OPS.values()) == list(range(len(kernels.OPS)))


def test_generated_functions_have_real_signatures():
    sig = inspect.signature(fastact.hardtanh)
    assert list(sig.parameters) == ["x", "min_val", "max_val", "out", "bias", "bias_axis",
                                    "n_threads"]
    for name in ("bias", "bias_axis", "n_threads"):
        assert sig.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
    sig = inspect.signature(fastact.threshold_backward)
    assert sig.parameters["threshold"].default is inspect.Parameter.empty
    assert list(sig.parameters)[-4:] == ["bias", "bias_axis", "return_bias_grad", "n_threads"]
    assert sig.parameters["return_bias_grad"].default is False
    assert "Parameters" in fastact.hardtanh.__doc__ and "min_val" in fastact.hardtanh.__doc__
