"""Regenerate the polynomial coefficients of fastact/_math.h (needs mpmath).

    python docs/fits.py

Each fit is a Chebyshev interpolation made in 120-bit arithmetic and printed
as C hex literals, highest degree first (the order of the Horner steps):

* expm1 for float32 data: expm1(r) = r + r**2 q(r) on |r| <= ln2/2, q of
  degree 5 (2**-30.8 relative); the float32-lane exp (fastact_exp_neg_ff)
  uses the same q with its coefficients rounded to float32 (2**-30.4);
* erfcx(t) (t + 3) in z = (t - 3) / (t + 3) on t in [0, 10.5], degree 12
  (float32 GELU: 2**-33.7 relative);
* erfcx(t) (t + 2) in z = (t - 2) / (t + 2) on t in [0, inf), degree 26
  (float64 GELU, evaluated in double-double at the end);
* erf's Taylor coefficients 2/sqrt(pi) (-1)**k / (k! (2k + 1)), k = 1..13.

The float64 exp/expm1 use expm1's Taylor coefficients 1/k! directly.
"""
import mpmath as mp

mp.mp.prec = 120


def erfcx(t):
    return mp.exp(t * t) * mp.erfc(t)


def chebyshev_monomials(f, a, b, degree):
    """Monomial coefficients (lowest first) of the polynomial interpolating
    f at the Chebyshev nodes of [a, b]."""
    n = degree + 1
    nodes = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (k + mp.mpf(0.5)) / n)
             for k in range(n)]
    vandermonde = mp.matrix([[z ** j for j in range(n)] for z in nodes])
    c = mp.lu_solve(vandermonde, mp.matrix([f(z) for z in nodes]))
    return [c[j] for j in range(n)]


def erfcx_in_z(k, t_max, degree):
    k = mp.mpf(k)
    z_max = mp.mpf(1) if t_max is None else (t_max - k) / (t_max + k)

    def f(z):
        t = k * (1 + z) / (1 - z)
        return erfcx(t) * (t + k) if z < 1 else 1 / mp.sqrt(mp.pi)
    return chebyshev_monomials(f, mp.mpf(-1), z_max, degree)


def show(name, coefs):
    print(f"{name}:")
    for c in reversed(coefs):
        print(f"    {float(c).hex()}")


def main():
    half_ln2 = mp.log(2) / 2
    show("expm1 q(r), float32", chebyshev_monomials(
        lambda r: (mp.expm1(r) - r) / r ** 2 if r else mp.mpf(0.5), -half_ln2, half_ln2, 5))
    show("erfcx (t + 3), float32", erfcx_in_z(3, mp.mpf(10.5), 12))
    show("erfcx (t + 2), float64", erfcx_in_z(2, None, 26))
    show("erf Taylor, t**(2k+1), k = 13..1", [
        2 / mp.sqrt(mp.pi) * (-1) ** k / (mp.factorial(k) * (2 * k + 1)) for k in range(1, 14)])


if __name__ == "__main__":
    main()
