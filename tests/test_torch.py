"""PyTorch's CPU kernels as an independent oracle, value for value (NaN and
infinities included). CI installs torch==2.13.0; the package never needs it."""
import numpy as np
import pytest

import fastact
from helpers import DTYPES, assert_same, salted

SIZES = [7, 1000, 70_001]


def _t(torch, a):
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_family_matches_torch(torch, dtype, n):
    F = torch.nn.functional
    x = salted(n, dtype, seed=1)
    g = salted(n, dtype, seed=2)
    tx, tg = _t(torch, x), _t(torch, g)
    assert_same(fastact.relu(x), torch.relu(tx).numpy())
    assert_same(fastact.relu_backward(g, x),
                torch.ops.aten.threshold_backward(tg, tx, 0).numpy())
    assert_same(fastact.relu_backward(g, y=fastact.relu(x)),
                torch.ops.aten.threshold_backward(tg, tx, 0).numpy())
    for s in (0.01, 0.2, -1.0, 0.0):
        assert_same(fastact.leaky_relu(x, s), F.leaky_relu(tx, s).numpy())
        assert_same(fastact.leaky_relu_backward(g, x, negative_slope=s),
                    torch.ops.aten.leaky_relu_backward(tg, tx, s, False).numpy())


@pytest.mark.parametrize("shape,axis", [((4, 3, 50, 50), 1), ((4, 50, 50, 3), -1),
                                        ((6, 5), 1), ((7,), 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_prelu_matches_torch(torch, dtype, shape, axis):
    n = int(np.prod(shape))
    x = salted(n, dtype, seed=3).reshape(shape)
    x[np.abs(x) > 1e30] = 1.0  # keep the weight-gradient sums finite
    g = salted(n, dtype, seed=4).reshape(shape)
    g[~np.isfinite(g) | (np.abs(g) > 1e30)] = 0.5
    c = 1 if len(shape) == 1 else shape[axis]
    w = np.linspace(-0.5, 0.5, c).astype(dtype)
    # PyTorch takes channels from dim 1: move channels-last there.
    tx = _t(torch, np.moveaxis(x, axis, 1) if len(shape) > 1 else x).requires_grad_()
    tw = _t(torch, w).requires_grad_()
    ty = torch.nn.functional.prelu(tx, tw)
    tg = _t(torch, np.moveaxis(g, axis, 1) if len(shape) > 1 else g)
    ty.backward(tg)
    back = (lambda a: np.moveaxis(a, 1, axis)) if len(shape) > 1 else (lambda a: a)
    assert_same(fastact.prelu(x, w, axis=axis), back(ty.detach().numpy()))
    gi, gw = fastact.prelu_backward(g, x, w, axis=axis)
    assert_same(gi, back(tx.grad.numpy()))
    # PyTorch sums in the data dtype, fastact in float64: close, not equal.
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-3 if dtype == np.float32 else 1e-9,
                               atol=1e-3 if dtype == np.float32 else 1e-9)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("dtype", DTYPES)
def test_maxout_matches_torch_max(torch, dtype, k):
    # Distinct values (no ties, where torch's index choice is unspecified) and NaN.
    rng = np.random.default_rng(k)
    x = rng.permutation(6 * 12 * k).astype(dtype).reshape(6, 12 * k) / 7
    x[2, 5] = np.nan
    x[4, :k] = np.nan
    tx = _t(torch, x).reshape(6, 12, k).requires_grad_()
    values, indices = tx.max(dim=-1)
    y, idx = fastact.maxout(x, k, return_indices=True)
    assert_same(y, values.detach().numpy())
    finite = ~np.isnan(y)
    np.testing.assert_array_equal(idx[finite], indices.numpy()[finite])
    g = rng.standard_normal(y.shape).astype(dtype)
    values.backward(_t(torch, g))
    grad_torch = tx.grad.numpy().reshape(x.shape)
    rows = np.repeat(finite, k, axis=-1)
    assert_same(fastact.maxout_backward(g, k, x)[rows], grad_torch[rows])
