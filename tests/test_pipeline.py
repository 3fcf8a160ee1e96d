"""The pipeline benchmark (python -m fastact --pipeline): every variant of a
case does the same work, and the runs report what they should. No timing is
asserted."""
import numpy as np
import pytest

from fastact import _pipeline


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("op", _pipeline.OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_variants_compute_the_same(op, training, dtype):
    iteration = _pipeline.make_layer(op, 8, 48, dtype, training)
    results = {}
    for v in _pipeline.VARIANTS:
        for b in iteration.buffers:
            b.fill(np.nan)
        times = iteration(v)
        assert len(times) == 3 and all(t >= 0 for t in times)
        results[v] = [b.copy() for b in iteration.buffers]
    # The buffers fastact writes (NumPy may use another as scratch).
    used = [i for i, b in enumerate(results["fastact"]) if not np.isnan(b).all()]
    assert 0 in used and (not training or 2 in used)
    for v in _pipeline.VARIANTS[1:]:
        for i in used:
            np.testing.assert_allclose(results[v][i], results["numpy"][i], rtol=1e-6,
                                       atol=1e-30, err_msg=f"{v}, buffer {i}")


def test_layer_case_and_table():
    res = _pipeline.layer_case("prelu", 16, 64, training=True, rounds=2, block=2)
    assert set(res) == set(_pipeline.VARIANTS)
    for s in res.values():
        assert s["samples"] == 2 and s["iter_mean_us"] >= s["mm_median_us"] > 0
    service = _pipeline.service_case(40_000, 1, calls=3)
    assert all(v["p99_us"] >= v["median_us"] > 0 for v in service.values())
    first = _pipeline.first_calls(40_000, 1)
    assert len(first) == 5 and min(first) > 0
    table = _pipeline.format_table({
        "layers": [{"case": "train prelu", "shape": "16x64", "dtype": "float32",
                    "matmul": "numpy", "variants": res}],
        "service": [{"n": 40_000, "idle_ms": 1, "variants": service}],
        "first_calls": [{"n": 40_000, "fastact": first, "fastact 1 thread": first}]})
    assert "train prelu" in table and "Service" in table and "First calls" in table
