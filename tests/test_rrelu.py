"""RReLU: eval and training, the counter-based slopes (distribution, seeds,
the same bits for every thread count, layout and chunking), the noise, the
backward pass and its errors."""
import numpy as np
import pytest

import fastact
from fastact import _simd, reference as ref
from helpers import DTYPES, LAYOUTS, assert_bits, assert_same, in_layout, salted

LOWER, UPPER = 0.125, 1 / 3
# The references below multiply edge values (inf * 0) on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.mark.parametrize("dtype", DTYPES)
def test_eval_is_leaky_relu_with_the_mean_slope(dtype):
    x = salted(70_001, dtype, seed=1)
    for lower, upper in ((LOWER, UPPER), (0.1, 0.3), (-1.0, -1.0), (0.0, 0.0)):
        s = dtype((lower + upper) / 2)  # in float64 from the values given, rounded once
        assert_same(fastact.rrelu(x, lower, upper), np.where(x > 0, x, s * x))
        y, noise = fastact.rrelu(x, lower, upper, return_noise=True)
        assert_same(y, np.where(x > 0, x, s * x))
        assert_same(noise, np.where((x > 0) | np.isnan(x), dtype(1), s))


def test_eval_slope_is_rounded_once_from_float64():
    # (0.1 + 0.2) / 2 in float64, then to float32: not float32(0.1) + float32(0.2).
    x = np.array([-1.0], np.float32)
    assert fastact.rrelu(x, 0.1, 0.2)[0] == -np.float32((0.1 + 0.2) / 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_slopes_are_uniform_in_the_range(dtype):
    """1e6 draws: bounds, mean and variance of U(lower, upper), and no
    obvious correlation between neighbours."""
    n = 1_000_000
    x = -np.ones(n, dtype)
    lower, upper = 0.1, 0.4
    y, noise = fastact.rrelu(x, lower, upper, training=True, seed=7, return_noise=True)
    assert_same(y, -noise)
    r = noise.astype(np.float64)
    assert r.min() >= dtype(lower) and r.max() <= dtype(upper)
    width = upper - lower
    sd_mean = width / np.sqrt(12 * n)
    assert abs(r.mean() - (lower + upper) / 2) < 5 * sd_mean
    assert abs(r.var() - width**2 / 12) < 0.01 * width**2 / 12
    counts = np.histogram(r, bins=20, range=(lower, upper))[0]
    assert np.all(np.abs(counts - n / 20) < 6 * np.sqrt(n / 20))
    u = (r - lower) / width
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    assert len(np.unique(r)) > 0.9 * n if dtype == np.float64 else len(np.unique(r)) > 1e5


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_matches_the_numpy_twin_bit_for_bit(dtype):
    """The twin draws the same slopes with NumPy's uint32 arithmetic."""
    x = salted(70_001, dtype, seed=2)
    for seed in (0, 1, 2**40 + 3):
        got = fastact.rrelu(x, 0.05, 0.6, training=True, seed=seed, return_noise=True)
        want = ref.rrelu(x, 0.05, 0.6, training=True, seed=seed, return_noise=True)
        assert_same(got[0], want[0])
        assert_same(got[1], want[1])


def test_training_rules_at_edge_values():
    """x <= 0 (+-0 included) gets a slope; NaN and x > 0 pass with noise 1."""
    x = np.array([-2.0, -0.0, 0.0, 3.0, np.nan, np.inf, -np.inf], np.float64)
    y, noise = fastact.rrelu(x, training=True, seed=3, return_noise=True)
    r = noise[[0, 1, 2, 6]]
    assert np.all((r >= LOWER) & (r <= UPPER))
    assert_same(noise[3:6], np.ones(3))
    assert_same(y, np.array([-2 * r[0], 0, 0, 3, np.nan, np.inf, -np.inf]))
    assert y[0] == -2.0 * noise[0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_seed_same_bits_everywhere(dtype):
    """Every thread count, layout and size of the call's chunks gives the
    slopes of the element's C-order position."""
    n = 1_000_003
    x = -np.abs(salted(n, dtype, seed=4))
    base = fastact.rrelu(x, training=True, seed=11, return_noise=True)
    for nt in (1, 2, 3, None):
        got = fastact.rrelu(x, training=True, seed=11, return_noise=True, n_threads=nt)
        assert_bits(got[0], base[0])
        assert_bits(got[1], base[1])
    # A prefix of the array draws the same slopes as the whole array.
    head = fastact.rrelu(x[:70_001], training=True, seed=11, return_noise=True)[1]
    assert_bits(head, base[1][:70_001])
    for layout in LAYOUTS:
        xl = in_layout(x[:70_001], layout)
        y, noise = fastact.rrelu(xl, training=True, seed=11, return_noise=True)
        assert_bits(noise.reshape(-1), base[1][:70_001])  # logical C order
        assert_bits(y.reshape(-1), base[0][:70_001])
    # Fortran order: positions are C-order positions of the logical array.
    x2 = x[:70_000].reshape(700, 100)
    f = fastact.rrelu(np.asfortranarray(x2), training=True, seed=11, return_noise=True)[1]
    c = fastact.rrelu(x2, training=True, seed=11, return_noise=True)[1]
    assert_bits(f, c)


def test_seeds():
    x = -np.ones(10_000, np.float32)
    a = fastact.rrelu(x, training=True, seed=1)
    assert_bits(fastact.rrelu(x, training=True, seed=1), a)
    assert np.mean(fastact.rrelu(x, training=True, seed=2) != a) > 0.99
    # None: fresh entropy each call.
    assert np.mean(fastact.rrelu(x, training=True) != fastact.rrelu(x, training=True)) > 0.99
    # A Generator: one draw, advancing it; the same state gives the same slopes.
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    first = fastact.rrelu(x, training=True, seed=g1)
    assert_bits(fastact.rrelu(x, training=True, seed=g2), first)
    assert np.mean(fastact.rrelu(x, training=True, seed=g1) != first) > 0.99
    assert_bits(fastact.rrelu(x, training=True, seed=np.random.default_rng(5)), first)
    for bad in (-1,):
        with pytest.raises(ValueError, match="seed"):
            fastact.rrelu(x, training=True, seed=bad)
    for bad in (1.5, "1", True, [1]):
        with pytest.raises(TypeError, match="seed"):
            fastact.rrelu(x, training=True, seed=bad)


@pytest.mark.parametrize("level", _simd.supported())
def test_slopes_are_the_same_at_every_simd_level(level, monkeypatch):
    from fastact import _api

    x = -np.abs(salted(100_003, np.float64, seed=6))
    want = [fastact.rrelu(x.astype(t), training=True, seed=9, return_noise=True)
            for t in DTYPES]
    monkeypatch.setattr(_api, "_kernels", _simd.load(level))
    for t, (y, noise) in zip(DTYPES, want):
        got = fastact.rrelu(x.astype(t), training=True, seed=9, return_noise=True)
        assert_bits(got[0], y)
        assert_bits(got[1], noise)


@pytest.mark.parametrize("training", [False, True])
def test_out_pair_and_in_place(training):
    x = salted(70_001, np.float32, seed=8)
    want = fastact.rrelu(x, training=training, seed=4, return_noise=True)
    y_out, n_out = np.empty_like(x), np.empty_like(x)
    res = fastact.rrelu(x, out=(y_out, n_out), training=training, seed=4, return_noise=True)
    assert res[0] is y_out and res[1] is n_out
    assert_same(y_out, want[0])
    assert_same(n_out, want[1])
    xi = x.copy()
    assert fastact.rrelu(xi, out=xi, training=training, seed=4) is xi
    assert_same(xi, want[0])
    xi = x.copy()
    y, noise = fastact.rrelu(xi, out=(xi, None), training=training, seed=4, return_noise=True)
    assert y is xi
    assert_same(y, want[0])
    assert_same(noise, want[1])
    # Strided outs are written through.
    buf = np.full(2 * x.size, 5.0, np.float32)
    fastact.rrelu(x, out=buf[::2], training=training, seed=4)
    assert_same(buf[::2], want[0])
    assert np.all(buf[1::2] == 5.0)


def test_out_errors_before_any_write():
    x = salted(1000, np.float32, seed=9)
    y_out = np.full_like(x, 7.0)
    with pytest.raises(TypeError, match="pair"):
        fastact.rrelu(x, out=(y_out,), return_noise=True)
    with pytest.raises(TypeError, match="ndarray"):
        fastact.rrelu(x, out=(y_out, y_out))
    with pytest.raises(ValueError, match="overlap"):
        fastact.rrelu(x, out=(y_out, y_out), return_noise=True, training=True)
    with pytest.raises(TypeError, match="noise_out"):
        fastact.rrelu(x, out=(y_out, np.empty(1000)), return_noise=True)
    assert np.all(y_out == 7.0)


def test_parameters_are_checked():
    x = np.ones(3, np.float32)
    with pytest.raises(ValueError, match="lower"):
        fastact.rrelu(x, 0.5, 0.25)
    with pytest.raises(ValueError, match="finite"):
        fastact.rrelu(x, np.nan, 0.25)
    with pytest.raises(ValueError, match="float32"):
        fastact.rrelu(x, -1e300, 0.25)
    fastact.rrelu(x.astype(np.float64), -1e300, 0.25)  # finite in float64
    with pytest.raises(TypeError, match="upper"):
        fastact.rrelu(x, 0.1, "0.2")
    with pytest.raises(ValueError, match="lower"):
        fastact.rrelu_backward(x, x, lower=0.5, upper=0.25)


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward(dtype):
    x = salted(70_001, dtype, seed=10)
    g = salted(70_001, dtype, seed=11)
    y, noise = fastact.rrelu(x, 0.1, 0.3, training=True, seed=2, return_noise=True)
    assert_same(fastact.rrelu_backward(g, noise=noise, training=True), g * noise)
    assert_same(fastact.rrelu_backward(g, x, noise=noise, training=True), g * noise)
    s = dtype((0.1 + 0.3) / 2)
    assert_same(fastact.rrelu_backward(g, x, lower=0.1, upper=0.3),
                np.where(x > 0, g, s * g))
    assert_same(fastact.rrelu_backward(g, x, lower=0.1, upper=0.3),
                ref.rrelu_backward(g, x, lower=0.1, upper=0.3))
    gi = g.copy()
    assert fastact.rrelu_backward(gi, noise=noise, training=True, out=gi) is gi
    assert_same(gi, g * noise)


def test_backward_needs_its_input():
    g = np.ones(4)
    with pytest.raises(TypeError, match="noise"):
        fastact.rrelu_backward(g, g, training=True)
    with pytest.raises(TypeError, match="x"):
        fastact.rrelu_backward(g, noise=g)
    with pytest.raises(TypeError, match="dtype"):
        fastact.rrelu_backward(g, g.astype(np.float32), training=True, noise=g)
    with pytest.raises(ValueError, match="shape"):
        fastact.rrelu_backward(g, np.ones(3), noise=g, training=True)


@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 5), (3, 70_001), (2, 3, 4, 5), (1, 9)])
def test_fortran_order_without_a_copy(shape):
    """An F-ordered array is processed in memory order, each element taking
    its C-order slope; an in-place call allocates nothing that grows."""
    import tracemalloc

    x = -np.abs(salted(int(np.prod(shape)), np.float32, seed=12)).reshape(shape)
    want_y, want_noise = fastact.rrelu(x, training=True, seed=21, return_noise=True)
    for nt in (1, 2):
        y, noise = fastact.rrelu(np.asfortranarray(x), training=True, seed=21,
                                 return_noise=True, n_threads=nt)
        assert_bits(y, want_y)
        assert_bits(noise, want_noise)
    xf = np.asfortranarray(x)
    nf = np.empty_like(xf)
    fastact.rrelu(xf.copy(order="F"), out=(xf.copy(order="F"), nf), training=True, seed=21,
                  return_noise=True)  # warm up
    tracemalloc.start()
    res = fastact.rrelu(xf, out=(xf, nf), training=True, seed=21, return_noise=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert res[0] is xf and res[1] is nf and peak < 50_000, peak
    assert_bits(xf, want_y)
    assert_bits(nf, want_noise)
