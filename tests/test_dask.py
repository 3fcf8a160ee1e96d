"""fastact.dask on a dask.distributed LocalCluster of worker processes
against the in-memory functions (issue 5). CI installs the dask extra and
sets FASTACT_REQUIRE_DASK=1, so a missing Dask fails there."""
import os

import numpy as np
import pytest

import fastact
from fastact import _ops
from helpers import assert_bits, salted

if os.environ.get("FASTACT_REQUIRE_DASK") == "1":
    import dask.array as da
    from dask.distributed import Client, LocalCluster
else:
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("dask.distributed")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

import fastact.dask as fd  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def _data(shape, dtype, seed):
    return salted(int(np.prod(shape)), dtype, seed=seed).reshape(shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_element_wise_ops(client, dtype):
    x, g = _data((300, 70), dtype, 1), _data((300, 70), dtype, 2)
    dx, dg = da.from_array(x, chunks=(37, 50)), da.from_array(g, chunks=(100, 70))
    assert_bits(fd.relu(dx).compute(), fastact.relu(x))
    assert_bits(fd.leaky_relu(dx, 0.2).compute(), fastact.leaky_relu(x, 0.2))
    assert_bits(fd.relu_backward(dg, dx).compute(), fastact.relu_backward(g, x))
    assert_bits(fd.relu_backward(dg, y=fd.relu(dx)).compute(), fastact.relu_backward(g, x))
    assert_bits(fd.leaky_relu_backward(dg, dx, negative_slope=0.3).compute(),
                fastact.leaky_relu_backward(g, x, negative_slope=0.3))
    for op in _ops.ELEMENTWISE:  # every registry op, with its sample parameters
        kw = dict(zip((p.name for p in op.params), op.sample))
        fwd, bwd = getattr(fd, op.name), getattr(fd, op.name + "_backward")
        assert_bits(fwd(dx, *op.sample).compute(), getattr(fastact, op.name)(x, *op.sample))
        want = getattr(fastact, op.name + "_backward")(g, x, **kw)
        assert_bits(bwd(dg, dx, **kw).compute(), want)
        if op.y:
            want = getattr(fastact, op.name + "_backward")(
                g, y=getattr(fastact, op.name)(x, *op.sample), **kw)
            assert_bits(bwd(dg, y=fwd(dx, *op.sample), **kw).compute(), want)


def test_parameters_are_checked_before_any_graph():
    dx = da.ones((10, 10), chunks=5)
    with pytest.raises(ValueError, match="min_val"):
        fd.hardtanh(dx, 2.0, 1.0)
    with pytest.raises(TypeError):
        fd.hardsigmoid_backward(dx, y=dx)
    with pytest.raises(ValueError, match="negative_slope"):
        fd.leaky_relu_backward(dx, y=dx, negative_slope=-1)
    with pytest.raises(TypeError, match="noise"):
        fd.rrelu_backward(dx, dx, training=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rrelu(client, dtype):
    x, g = _data((300, 70), dtype, 5), _data((300, 70), dtype, 6)
    dx, dg = da.from_array(x, chunks=(37, 50)), da.from_array(g, chunks=(100, 70))
    assert_bits(fd.rrelu(dx, 0.1, 0.3).compute(), fastact.rrelu(x, 0.1, 0.3))
    y, noise = fd.rrelu(dx, training=True, seed=4, return_noise=True)
    y, noise = y.compute(), noise.compute()
    # Reproducible for a seed and a chunking; slopes in range; y = x * noise.
    assert_bits(fd.rrelu(dx, training=True, seed=4).compute(), y)
    slopes = noise[x <= 0]
    assert np.all((slopes >= dtype(0.125)) & (slopes <= dtype(1 / 3)))
    assert len(np.unique(slopes)) > 0.9 * slopes.size
    assert_bits(y, np.where(x <= 0, x * noise, x))
    dn = da.from_array(noise, chunks=(37, 50))
    assert_bits(fd.rrelu_backward(dg, noise=dn, training=True).compute(), g * noise)
    assert_bits(fd.rrelu_backward(dg, dx).compute(), fastact.rrelu_backward(g, x))


@pytest.mark.parametrize("axis,shape,chunks", [(1, (6, 5, 40), (2, 2, 15)),
                                               (-1, (6, 40, 5), (4, 13, 5)),
                                               (0, (5, 30), (5, 7))])
def test_prelu(client, axis, shape, chunks):
    x, g = _data(shape, np.float32, 3), _data(shape, np.float32, 4)
    x[np.abs(x) > 1e30] = 1.0
    g[~np.isfinite(g)] = 0.5
    c = shape[axis]
    w = np.linspace(-0.5, 0.5, c).astype(np.float32)
    dx, dg = da.from_array(x, chunks=chunks), da.from_array(g, chunks=chunks)
    assert_bits(fd.prelu(dx, w, axis=axis).compute(), fastact.prelu(x, w, axis=axis))
    gi, gw = fd.prelu_backward(dg, dx, w, axis=axis)
    gi_ref, gw_ref = fastact.prelu_backward(g, x, w, axis=axis)
    assert_bits(gi.compute(), gi_ref)
    # float64 partials, one rounding: equal to the in-memory sum up to order.
    got = gw.compute()
    assert got.shape == gw_ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, gw_ref, rtol=1e-6)
    gi, gw = fd.prelu_backward(dg, dx, 0.25, axis=axis)  # one shared slope
    np.testing.assert_allclose(gw.compute(), fastact.prelu_backward(g, x, 0.25)[1],
                               rtol=1e-6)


@pytest.mark.parametrize("k,axis,chunks", [(2, -1, (10, 7)), (4, 0, (9, 11)),
                                           (3, -1, (20, 30))])
def test_maxout_rechunks_to_groups(client, k, axis, chunks):
    x = _data((36, 60), np.float64, 5)
    dx = da.from_array(x, chunks=chunks)
    y, idx = fd.maxout(dx, k, axis, return_indices=True)
    y_ref, idx_ref = fastact.maxout(x, k, axis, return_indices=True)
    assert_bits(y.compute(), y_ref)
    assert_bits(idx.compute(), idx_ref)
    g = np.random.default_rng(0).standard_normal(y_ref.shape)
    dg = da.from_array(g, chunks=5)
    assert_bits(fd.maxout_backward(dg, k, dx, axis=axis).compute(),
                fastact.maxout_backward(g, k, x, axis=axis))
    assert_bits(fd.maxout_backward(dg, k, indices=idx, axis=axis).compute(),
                fastact.maxout_backward(g, k, indices=idx_ref, axis=axis))


def test_persisted_input_is_not_mutated(client):
    x = _data((1000,), np.float32, 6)
    dx = da.from_array(x, chunks=100).persist()
    fd.relu(dx).compute()
    fd.leaky_relu(dx, -1).compute()
    assert_bits(dx.compute(), x)


def test_errors_at_graph_build_time():
    dx = da.ones((10, 4), chunks=5, dtype=np.int64)
    with pytest.raises(TypeError, match="int64"):
        fd.relu(dx)
    with pytest.raises(ValueError, match="k=3"):
        fd.maxout(da.ones((10, 4), chunks=5), 3)
    with pytest.raises(ValueError, match="shape"):
        fd.relu_backward(da.ones((4, 10)), da.ones((10, 4)))


def test_workers_run_one_thread_per_task_by_default(client):
    threads = client.run(fastact.effective_n_threads)
    assert set(threads.values()) == {1}
