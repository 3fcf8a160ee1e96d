/* The math of fastact's smooth ops, in plain C that gcc vectorizes at every
 * SIMD level with the same bits: no libm call (libm runs scalar and a vector
 * library may round differently), no fused multiply-add (setup.py builds with
 * -ffp-contract=off), branches written as selects. docs/accuracy.md states
 * the method and the error bounds; tests/accuracy.py measures them.
 *
 * Every function works in double. A float32 op evaluates its formula in
 * double and rounds once: every step below is accurate to a few units of
 * 2**-53, far inside half a float32 ulp. A float64 op passes hi = 1 and the
 * functions add the corrections a double result needs (double-double steps
 * where one rounding of an argument would cost an ulp or more); with hi = 0
 * (a constant at every call site) the compiler drops them.
 *
 * Included by fastact/_kernels.pyx. */
#ifndef FASTACT_MATH_H
#define FASTACT_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Every function here is forced inline: an op's loop vectorizes only when
   its whole body is in the loop, and gcc's inlining budget runs out in a
   module with dozens of such loops (the loops then stayed scalar, 20x slower). */
#if defined(__GNUC__) || defined(__clang__)
#define FASTACT_MATH static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define FASTACT_MATH static __forceinline
#else
#define FASTACT_MATH static inline
#endif

/* ---- float32 lanes with fused multiply-adds (SiLU so far).
 *
 * A float32 op in double costs two vectors of 8 lanes per 16 elements plus
 * the conversions; these functions work in float32 lanes (16 per AVX-512
 * vector) and reach float32 accuracy with float-float steps built on fmaf:
 * a product's error is fmaf(a, b, -a * b), a reciprocal's residual
 * fmaf(-r, d, 1) is exact. fmaf is correctly rounded wherever it runs (an
 * FMA instruction on the AVX2/AVX-512 builds and on ARM, glibc's exact
 * software fmaf on an x86-64 baseline CPU without FMA), so every SIMD level
 * still gives the same bits; the x86-64 baseline build is scalar for these
 * ops (docs/accuracy.md gives the numbers). */

#define FASTACT_SHIFTER_F 0x1.8p23f       /* 1.5 * 2**23: rounds to an integer */
#define FASTACT_INV_LN2_F 0x1.715476p+0f
#define FASTACT_LN2_F 0x1.62e430p-1f        /* ln2 rounded to float32 */
#define FASTACT_LN2_F_ERR 0x1.05c610p-29f   /* LN2_F - ln2 (to 2**-53) */

FASTACT_MATH float fastact_f32_from_bits(uint32_t b) {
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

FASTACT_MATH uint32_t fastact_f32_bits(float v) {
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* c ? a : b by bit masks: gcc keeps it a blend, where a ?: with a constant
   arm let it duplicate the code after it along both arms (twice the work in
   the vector loop). */
FASTACT_MATH float fastact_selectf(int c, float a, float b) {
    uint32_t m = (uint32_t)0 - (uint32_t)(c != 0);
    return fastact_f32_from_bits((fastact_f32_bits(a) & m) | (fastact_f32_bits(b) & ~m));
}

/* exp(-a) for a in [0, 120] as 2**k (hi + lo), |hi + lo - e**(-a-k ln2)|
   below 2**-27 relative; *p64 = 2**(k + 64) (a normal float for every such
   a: the caller scales results that fall below float32's normal range).
   The reduction t = -a - k LN2_F is exact (k has at most 8 bits, LN2_F is a
   multiple of 2**-24 and |a| >= ln2/2 when k != 0, so the difference is a
   multiple of 2**-25 below 1/2); ln2's own rounding, k (LN2_F - ln2) below
   2**-21.5, enters as the factor (1 + u). exp(t) = (1 + t) + t**2 q(t), 1 + t
   split exactly (Fast2Sum), q of degree 5 (docs/fits.py); the sum
   renormalized at the end (Fast2Sum again), so that lo is below half an ulp
   of hi and the one Newton step of sigmoid's reciprocal converges. */
FASTACT_MATH float fastact_exp_neg_ff(float a, float* lo, float* p64) {
    float kd = fmaf(-a, FASTACT_INV_LN2_F, FASTACT_SHIFTER_F);
    float k = kd - FASTACT_SHIFTER_F;
    float t = fmaf(k, -FASTACT_LN2_F, -a);
    float hi = 1.0f + t;
    float slo = (1.0f - hi) + t;
    float q = 0x1.a124e4p-13f;
    q = fmaf(q, t, 0x1.6d4316p-10f);
    q = fmaf(q, t, 0x1.1110e0p-7f);
    q = fmaf(q, t, 0x1.5554eap-5f);
    q = fmaf(q, t, 0x1.555556p-3f);
    q = fmaf(q, t, 0.5f);
    float l0 = fmaf(t * t, q, slo);
    float u = k * FASTACT_LN2_F_ERR;   /* e**(k (LN2_F - ln2)) - 1, to 2**-43 */
    float l = fmaf(u, hi + l0, l0);
    float e = hi + l;           /* normalized: |lo| <= half an ulp of the result */
    *lo = (hi - e) + l;
    /* kd's bits are 0x4B400000 + k: (k + 64 + 127) << 23, the upper bits
       shifted out */
    *p64 = fastact_f32_from_bits((fastact_f32_bits(kd) + 191u) << 23);
    return e;
}

/* The sigmoid's parts at |x| = a: e = exp(-a) = eh + el (eh and el are 0
   below 2**-149), d = 1 + e = dh + dl (exactly dh + Fast2Sum's part + el),
   r = 1 / dh rounded and rho = 1 - r d, so that 1 / d = r (1 + rho) to
   about 2**-46. ehs, els: e at 2**(-k) times its size (in [0.7, 1.42]),
   with p64 = 2**(k + 64) to scale products of it. */
typedef struct { float ehs, els, p64, eh, el, dh, dl, r, rho; } fastact_sig_f32;

FASTACT_MATH fastact_sig_f32 fastact_sig_parts_f32(float a) {
    fastact_sig_f32 s;
    s.ehs = fastact_exp_neg_ff(a, &s.els, &s.p64);
    float p0 = s.p64 * 0x1p-64f;    /* 2**k, exact (0 below 2**-149) */
    s.eh = s.ehs * p0;
    s.el = s.els * p0;
    s.dh = 1.0f + s.eh;
    s.dl = ((1.0f - s.dh) + s.eh) + s.el;
    s.r = 1.0f / s.dh;
    s.rho = fmaf(-s.r, s.dl, fmaf(-s.r, s.dh, 1.0f));
    return s;
}

/* SiLU on float32 data: x / (1 + e) for x >= 0 and x e / (1 + e) below,
   e = exp(-|x|); the numerator n + nl (x times e as a float-float, at
   2**(-k) times its size for x < 0) times r (1 + rho), rounded once, then
   scaled by 2**k in two exact steps and one final rounding for subnormal
   results. Above 20, silu(x) rounds to x (e**-20 is below 2**-25); below
   -120 it is 0. <= 0.51 ulp on every float32 (tests/accuracy.py
   --exhaustive). */
/* |x|, clamped to m (NaN stays NaN): one and, one min. */
FASTACT_MATH float fastact_abs_min_f32(float x, float m) {
    float a = fastact_f32_from_bits(fastact_f32_bits(x) & 0x7fffffffu);
    return a > m ? m : a;
}

FASTACT_MATH float fastact_silu_f32(float x) {
    float a = fastact_abs_min_f32(x, 120.0f);
    fastact_sig_f32 s = fastact_sig_parts_f32(a);
    float m = fastact_selectf(x < 0, s.ehs, 1.0f);
    float ml = fastact_selectf(x < 0, s.els, 0.0f);
    float xc = x < -120.0f ? -120.0f : x;
    float n = xc * m;
    float nl = fmaf(xc, ml, fmaf(xc, m, -n));
    float c = fmaf(n, s.r * s.rho, nl * s.r);
    float ys = fmaf(n, s.r, c);
    float yneg = (ys * s.p64) * 0x1p-64f;
    float y = fastact_selectf(x < 0, yneg, ys);
    y = x > 20.0f ? x : y;
    return x != x ? x : y; /* NaN: the input's bits */
}

/* SiLU's derivative on float32 data: g s (1 + w), s = sigmoid(x), w = x (1 - s),
   as h + (h w + corr): h + hl = g s and w = wh + wl as float-floats (x < 0:
   1 + w cancels at x = -1.28), the rest in float32. Above 40 the result is
   g; below -120, 0 times g. Within 2 ulp or 2**-23 |g| (the contract's
   bound): e**x is not rescaled below -87, where the absolute term is the
   bound. */
FASTACT_MATH float fastact_silu_grad_f32(float g, float x) {
    float xc = x < -120.0f ? -120.0f : x;
    xc = xc > 40.0f ? 40.0f : xc;
    float a = fastact_abs_min_f32(xc, 120.0f);
    fastact_sig_f32 s = fastact_sig_parts_f32(a);
    float m = fastact_selectf(xc < 0, s.eh, 1.0f);   /* s = (m + ml) r (1 + rho) */
    float ml = fastact_selectf(xc < 0, s.el, 0.0f);
    float sh = m * s.r;
    float sl = fmaf(m, s.r, -sh) + fmaf(sh, s.rho, ml * s.r);
    float h = g * sh;
    float hl = fmaf(g, sh, -h) + g * sl;
    float xm = xc * fastact_selectf(xc < 0, 1.0f, s.eh);   /* w = xm r (1 + rho) */
    float wh = xm * s.r;
    float wl = fmaf(xm, s.r, -wh) + wh * s.rho;
    float corr = fmaf(h, wl, hl * (1.0f + wh));
    float y = h + fmaf(h, wh, corr);
    float ha = h < 0 ? -h : h;
    y = ha < 0x1p126f ? y : h * (1.0f + wh); /* g near overflow: no inf - inf */
    y = x > 40.0f ? g : y;
    return x != x ? x : y;
}

/* g * (c + cl) * exp(-|v|) on float32 data, for the ELU family's
   gradients: c e as a float-float at 2**k scale (scaled first, so that g
   times it overflows only where the result does), g times it rounded once:
   about 0.5 ulp above 2**-126; below, e and the result are subnormal and the
   bound's absolute term 2**-23 |g| holds. */
FASTACT_MATH float fastact_g_c_exp_f32(float g, float c, float cl, float v) {
    float lo, p64, hi = fastact_exp_neg_ff(fastact_abs_min_f32(v, 120.0f), &lo, &p64);
    float p0 = p64 * 0x1p-64f;
    float ch = c * hi;
    float clo = fmaf(cl, hi, fmaf(c, lo, fmaf(c, hi, -ch)));
    float y0 = g * (ch * p0);
    float y = fmaf(g, ch * p0, g * (clo * p0));
    /* g infinite (or the product overflowing): the plain product, no inf - inf */
    return fastact_abs_min_f32(y0, HUGE_VALF) < HUGE_VALF ? y : y0;
}

FASTACT_MATH float fastact_elu_grad_f32(float g, float x, float alpha) {
    float y = fastact_g_c_exp_f32(g, alpha, 0.0f, x);
    y = x > 0 ? g : y;
    return x != x ? x : y;
}

#define FASTACT_SELU_SCALE_F 0x1.0cfabep+0f   /* PyTorch's scale in float32 */
#define FASTACT_SELU_SA_F_HI 0x1.c212ccp+0f   /* scale * alpha (the exact real) */
#define FASTACT_SELU_SA_F_LO 0x1.903c0cp-26f        /* as a float-float */

FASTACT_MATH float fastact_selu_grad_f32(float g, float x) {
    float y = fastact_g_c_exp_f32(g, FASTACT_SELU_SA_F_HI, FASTACT_SELU_SA_F_LO, x);
    y = x > 0 ? g * FASTACT_SELU_SCALE_F : y;
    return x != x ? x : y;
}

/* CELU, alpha > 0: g * exp(q + ql) = g e (1 + ql), q = x / alpha (as
   x * (1 / alpha) rounded: no division per element) and ql its error (q's rounding alone is |q| 2**-24 relative, up
   to 120 ulps at q = -120), clamped so that nothing overflows where e is 0. */
FASTACT_MATH float fastact_celu_grad_f32(float g, float x, float alpha, float ralpha) {
    float q = x * ralpha;
    float qc = q < -120.0f ? -120.0f : q;
    float ql = fmaf(-qc, alpha, x) * ralpha;  /* exact residual: q is faithful */
    ql = ql < -1.0f ? -1.0f : ql;
    ql = ql > 1.0f ? 1.0f : ql;
    float y = fastact_g_c_exp_f32(g, 1.0f, ql, qc);
    y = x > 0 ? g : y;
    return x != x ? x : y;
}

/* ---- Double-double helpers. */

typedef struct { double hi, lo; } fastact_dd;

/* a * b == hi + lo exactly (Dekker's product with Veltkamp's split; no fma,
   so the same bits everywhere). Needs |a|, |b| below 2**995. */
FASTACT_MATH fastact_dd fastact_two_prod(double a, double b) {
    const double split = 134217729.0; /* 2**27 + 1 */
    double ca = split * a, cb = split * b;
    double ah = ca - (ca - a), al = a - ah;
    double bh = cb - (cb - b), bl = b - bh;
    fastact_dd r;
    r.hi = a * b;
    r.lo = ((ah * bh - r.hi) + ah * bl + al * bh) + al * bl;
    return r;
}

/* a + b == hi + lo exactly (Knuth's TwoSum: any magnitudes). */
FASTACT_MATH fastact_dd fastact_two_sum(double a, double b) {
    fastact_dd r;
    r.hi = a + b;
    double bb = r.hi - a;
    r.lo = (a - (r.hi - bb)) + (b - bb);
    return r;
}

/* (a.hi + a.lo) + b as a double-double (to about 2**-104 relative). */
FASTACT_MATH fastact_dd fastact_dd_add(fastact_dd a, double b) {
    fastact_dd s = fastact_two_sum(a.hi, b);
    s.lo += a.lo;
    return fastact_two_sum(s.hi, s.lo);
}

/* n / d for double-doubles, to about 2**-104 relative: one correction step. */
FASTACT_MATH double fastact_dd_div(fastact_dd n, fastact_dd d, double* lo) {
    double q = n.hi / d.hi;
    fastact_dd p = fastact_two_prod(q, d.hi);
    double r = ((n.hi - p.hi) - p.lo + n.lo) - q * d.lo;
    *lo = r / d.hi;
    return q;
}

/* ---- exp and expm1. Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, with
   ln2 split so that k * LN2_HI is exact; expm1(r) by its Taylor polynomial
   to degree 13 (truncation below 2**-58 relative on |r| <= 0.347); 2**k
   built from the bits of the rounding shifter. */
#define FASTACT_SHIFTER 0x1.8p52
#define FASTACT_INV_LN2 0x1.71547652b82fep0
#define FASTACT_LN2_HI 0x1.62e42fee00000p-1
#define FASTACT_LN2_LO 0x1.a39ef35793c76p-33

/* expm1(r) = r + r**2 q(r) for float32 data: q of degree 5, a Chebyshev fit
   on |r| <= ln2/2 (made with mpmath, docs/accuracy.md): 2**-30.8 relative,
   enough for a result rounded to float32 (and half the work). */
FASTACT_MATH double fastact_expm1_poly_f32(double r) {
    double q = 0x1.a124e3f154d32p-13;
    q = q * r + 0x1.6d431504c53d3p-10;
    q = q * r + 0x1.1110e0f726534p-7;
    q = q * r + 0x1.5554e9114ecf9p-5;
    q = q * r + 0x1.5555555a78232p-3;
    q = q * r + 0x1.0000000b8f62bp-1;
    return (q * r) * r + r;
}

/* 1 / d for float32 data: a float32 division (twice the lanes, and
   correctly rounded on every level) and one Newton step in double: about
   2**-46 relative. d must lie in float32's normal range. */
FASTACT_MATH double fastact_recip_f32(double d) {
    double r = (double)(1.0f / (float)d);
    return r + r * (1.0 - d * r);
}

FASTACT_MATH double fastact_expm1_poly(double r) {
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    return (p * r) * r + r; /* r + r^2 (1/2 + r/6 + ...) */
}

/* 2**k for the integer k held in kd = k + FASTACT_SHIFTER, -1022 <= k <= 1023. */
FASTACT_MATH double fastact_pow2_from_shifted(double kd) {
    uint64_t b;
    double s;
    memcpy(&b, &kd, sizeof b);
    b = (b + 1023u) << 52;
    memcpy(&s, &b, sizeof s);
    return s;
}

/* exp(x) * 2**scale, for x in [-800, 709.7] and an integer scale (as a double)
   that keeps k + scale in the normal exponents: scale = 128 reaches x = -790
   with full precision, for results that are scaled down in one rounding at
   the end (below the normal range, 2**-128 times a product of e**x). */
FASTACT_MATH double fastact_exp_scaled(double x, double scale, int hi) {
    double kd = x * FASTACT_INV_LN2 + FASTACT_SHIFTER;
    double k = kd - FASTACT_SHIFTER;
    double r = (x - k * FASTACT_LN2_HI) - k * FASTACT_LN2_LO;
    double p = hi ? fastact_expm1_poly(r) : fastact_expm1_poly_f32(r);
    return fastact_pow2_from_shifted(kd + scale) * (1.0 + p);
}

/* The same as a double-double: 2**k (1 + p) = 2**k + 2**k p, both exact
   (unless 2**k p is subnormal), so only p's own error (below 2**-60 relative)
   and the reduction's remain. */
FASTACT_MATH fastact_dd fastact_exp_scaled_dd(double x, double scale) {
    double kd = x * FASTACT_INV_LN2 + FASTACT_SHIFTER;
    double k = kd - FASTACT_SHIFTER;
    double r = (x - k * FASTACT_LN2_HI) - k * FASTACT_LN2_LO;
    double s = fastact_pow2_from_shifted(kd + scale);
    return fastact_two_sum(s, s * fastact_expm1_poly(r));
}

/* The scale a tail below -700 takes in fastact_exp_scaled ("tiny"), and
   |x| clamped to where exp(-|x|) is valid: 790 when tiny; 708 otherwise
   (e**-708 ~ 3e-308 stands for anything smaller where it is only added to
   a number near 1, or where the result is rounded to float32). */
#define FASTACT_TINY_SCALE 128.0
#define FASTACT_TINY_UNSCALE 0x1p-128
FASTACT_MATH double fastact_tail_clamp(double a, int tiny) {
    double m = tiny ? 790.0 : 708.0;
    return a > m ? m : a;
}

/* Whether v can enter fastact_two_prod. */
FASTACT_MATH double fastact_abs(double v) { return v < 0 ? -v : v; }
FASTACT_MATH double fastact_max(double a, double b) { return a > b ? a : b; }
FASTACT_MATH int fastact_splittable(double v) { return fastact_abs(v) < 1e290; }
/* (Conditions are single comparisons of selected values: gcc's vectorizer
   does not take `&&` of comparisons feeding a select.) */

/* expm1(x) for any double: -1 below -60 (the true value is -1 + e**-60 with
   e**-60 below half an ulp of 1), +inf above ~709.78, NaN for NaN. */
/* For float32 data (hi = 0) exp and expm1 clamp x to [-200, 200] and skip
   the edge handling: a result that also takes a float32 factor (g, alpha,
   1/beta) over- or underflows float32 all the same there, and NaN passes. */
FASTACT_MATH double fastact_exp_f32(double x) {
    double xc = x < -200.0 ? -200.0 : x;
    xc = xc > 200.0 ? 200.0 : xc;
    return fastact_exp_scaled(xc, 0.0, 0);
}

FASTACT_MATH double fastact_expm1_f32(double x) {
    double xc = x < -60.0 ? -60.0 : x;
    xc = xc > 200.0 ? 200.0 : xc;
    double kd = xc * FASTACT_INV_LN2 + FASTACT_SHIFTER;
    double k = kd - FASTACT_SHIFTER;
    double r = (xc - k * FASTACT_LN2_HI) - k * FASTACT_LN2_LO;
    double s = fastact_pow2_from_shifted(kd);
    return s * fastact_expm1_poly_f32(r) + (s - 1.0);
}

FASTACT_MATH double fastact_expm1(double x, int hi) {
    if (!hi)
        return fastact_expm1_f32(x);
    double xc = x < -60.0 ? -60.0 : (x > 709.79 ? 709.79 : x);
    double kd = xc * FASTACT_INV_LN2 + FASTACT_SHIFTER;
    double k = kd - FASTACT_SHIFTER;
    double r = (xc - k * FASTACT_LN2_HI) - k * FASTACT_LN2_LO;
    double p = fastact_expm1_poly(r); /* float64 data: float32 returned above */
    double s = fastact_pow2_from_shifted(kd);
    double y = s * p + (s - 1.0); /* 2**k (1 + p) - 1 */
    /* k = 1024 near the top: 2**(k-1) (1 + p) * 2, no intermediate overflow */
    double top = 2.0 * (fastact_pow2_from_shifted(kd - 1.0) * (1.0 + p)) - 1.0;
    y = xc > 709.0 ? top : y;
    y = x > 709.782712893384 ? HUGE_VAL : y;
    return x != x ? x : y;
}

/* exp(x) for any double: 0 below -745.14 (the true value is below half the
   smallest subnormal), +inf above ~709.78, NaN for NaN. Results below the
   normal range are formed at 2**64 times their size and scaled down once. */
FASTACT_MATH double fastact_exp(double x, int hi) {
    if (!hi)
        return fastact_exp_f32(x);
    /* one select per statement: gcc's if-conversion gives up on nested ones */
    double xc = x < -745.2 ? -745.2 : x;
    xc = xc > 709.79 ? 709.79 : xc;
    double scale = xc < -700.0 ? 64.0 : 0.0;
    scale = xc > 709.0 ? -1.0 : scale;
    double unscale = xc < -700.0 ? 0x1p-64 : 1.0;
    unscale = xc > 709.0 ? 2.0 : unscale;
    double y = fastact_exp_scaled(xc, scale, hi) * unscale;
    y = x > 709.782712893384 ? HUGE_VAL : y;
    y = x < -745.2 ? 0.0 : y;
    return x != x ? x : y;
}

/* log1p(e) for e in [0, 1]: u = 1 + e rounded, c = e - (u - 1) exactly,
   log1p(e) = log(u) + c / u; log(u) = k ln2 + log(m), m = u or u / 2 in
   [0.707, 1.415], log(1 + s) = s - f (s - T), f = s / (2 + s), T = sum of
   2 f**2j / (2j + 1) (that is 2 atanh(f) rearranged so that the rounding of
   the f term is small beside s). */
FASTACT_MATH double fastact_log1p_unit(double e, int hi) {
    double u = 1.0 + e;
    double c = e - (u - 1.0);
    double m = u > 1.4142135623730951 ? 0.5 * u : u;
    double s = m - 1.0;
    double f = hi ? s / (2.0 + s) : s * fastact_recip_f32(2.0 + s);
    double f2 = f * f;
    double t = hi ? 2.0 / 25.0 : 0.0; /* float32 data: the series to f**14 */
    if (hi) {
        t = t * f2 + 2.0 / 23.0;
        t = t * f2 + 2.0 / 21.0;
        t = t * f2 + 2.0 / 19.0;
        t = t * f2 + 2.0 / 17.0;
        t = t * f2 + 2.0 / 15.0;
    } else {
        t = 2.0 / 15.0;
    }
    t = t * f2 + 2.0 / 13.0;
    t = t * f2 + 2.0 / 11.0;
    t = t * f2 + 2.0 / 9.0;
    t = t * f2 + 2.0 / 7.0;
    t = t * f2 + 2.0 / 5.0;
    t = t * f2 + 2.0 / 3.0;
    t = t * f2;
    double k = u > 1.4142135623730951 ? 1.0 : 0.0;
    double lo = k * FASTACT_LN2_LO + c / u;
    return k * FASTACT_LN2_HI + ((s - f * (s - t)) + lo);
}

/* ---- ELU family. */

/* PyTorch's constants to double precision (both round to float32 in one
   step as they do from their decimal digits). */
#define FASTACT_SELU_SCALE 0x1.0cfabd6a91132p+0
#define FASTACT_SELU_ALPHA 0x1.ac5afad782cf1p+0
#define FASTACT_SELU_SA_HI 0x1.c212cc640f031p+0   /* scale * alpha, exact real, */
#define FASTACT_SELU_SA_LO 0x1.05161b045a1fep-56  /* as a double-double */

FASTACT_MATH double fastact_elu(double x, double alpha, int hi) {
    return x > 0 ? x : alpha * fastact_expm1(x, hi);
}

/* g * (c + clo) * exp(x + xlo) for float64 data, rounded once: exp as a
   double-double (2**64 times its value below e**-700, scaled down at the
   end), the products in double-double. The float64 gradients of the ELU
   family (c = alpha, or scale * alpha). */
FASTACT_MATH double fastact_g_c_exp(double g, double c, double clo, double x, double xlo) {
    double xc = x < -745.2 ? -745.2 : x;
    xc = xc > 709.0 ? 709.0 : xc;
    double scale = xc < -700.0 ? 64.0 : 0.0;
    double unscale = xc < -700.0 ? 0x1p-64 : 1.0;
    fastact_dd e = fastact_exp_scaled_dd(xc, scale);
    e.lo += e.hi * xlo;
    fastact_dd ce = fastact_two_prod(c, e.hi);
    ce.lo += c * e.lo + clo * e.hi;
    int ok = fastact_splittable(g);
    fastact_dd y = fastact_two_prod(ok ? g : 0.0, ce.hi);
    double r = ok ? (y.hi + (y.lo + g * ce.lo)) * unscale : g * (ce.hi * unscale);
    /* above e**709 (alpha * e**x needs x <= 0 here, but CELU's x / alpha may
       be large): the plain product, which overflows as it should */
    double big = g * (c * fastact_exp(x, 1));
    r = x > 709.0 ? big : r;
    r = x < -745.2 ? g * 0.0 : r;
    return x != x ? x : r;
}

FASTACT_MATH double fastact_elu_grad(double g, double x, double alpha, int hi) {
    double neg = hi ? fastact_g_c_exp(g, alpha, 0.0, x, 0.0)
                    : g * (alpha * fastact_exp(x, hi));
    return x > 0 ? g : neg;
}

/* x / alpha as q + r (r = the division's rounding error, for float64 data),
   both finite where x <= 0 matters. */
FASTACT_MATH double fastact_celu_arg(double x, double alpha, int hi, double* r) {
    double q = x / alpha;
    *r = 0.0;
    if (hi) {
        int ok = fastact_splittable(fastact_abs(q) < 800.0 ? alpha : HUGE_VAL);
        fastact_dd p = fastact_two_prod(ok ? q : 0.0, ok ? alpha : 0.0);
        *r = ok ? ((x - p.hi) - p.lo) / alpha : 0.0;
    }
    return q;
}

FASTACT_MATH double fastact_celu(double x, double alpha, int hi) {
    double r, q = fastact_celu_arg(x, alpha, hi, &r);
    double em = fastact_expm1(q, hi);
    if (hi)
        em = em + r * (em + 1.0); /* expm1(q + r) to first order in r */
    return x > 0 ? x : alpha * em;
}

FASTACT_MATH double fastact_celu_grad(double g, double x, double alpha, int hi) {
    double r, q = fastact_celu_arg(x, alpha, hi, &r);
    double neg = hi ? fastact_g_c_exp(g, 1.0, 0.0, q, r) : g * fastact_exp(q, hi);
    return x > 0 ? g : neg;
}

FASTACT_MATH double fastact_selu(double x, int hi) {
    double em = fastact_expm1(x, hi);
    double neg = FASTACT_SELU_SA_HI * em;
    if (hi)
        neg = neg + FASTACT_SELU_SA_LO * em;
    return x > 0 ? FASTACT_SELU_SCALE * x : neg;
}

FASTACT_MATH double fastact_selu_grad(double g, double x, int hi) {
    double neg = hi ? fastact_g_c_exp(g, FASTACT_SELU_SA_HI, FASTACT_SELU_SA_LO, x, 0.0)
                    : g * (FASTACT_SELU_SA_HI * fastact_exp(x, hi));
    return x > 0 ? g * FASTACT_SELU_SCALE : neg;
}

/* ---- Sigmoid-based: SiLU, the tanh GELU, Mish, Softplus.
   sigmoid(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) below, e = exp(-|z|)
   in (0, 1], so nothing overflows and 1 + e in [1, 2] keeps its low bits
   (d_lo, exact) for float64 data. */

typedef struct {
    double e, elo;  /* exp(-|z|) (times 2**128 when tiny); elo: the rest (hi only) */
    double d, dlo;  /* 1 + e, and the rest (hi only) */
    int tiny;       /* z < -700 (hi only): e scaled by 2**128; d is then 1 */
} fastact_sig;

FASTACT_MATH fastact_sig fastact_sig_parts(double z, double zlo, int hi) {
    fastact_sig s;
    double a = z < 0 ? -z : z;
    s.tiny = hi && z < -700.0;
    double arg = -fastact_tail_clamp(a, s.tiny);
    double scale = s.tiny ? FASTACT_TINY_SCALE : 0.0;
    /* below e**-708, 0 beside 1; below e**-790, 0 (times any finite g) */
    int gone = a >= (s.tiny ? 790.0 : 708.0);
    if (hi) {
        fastact_dd e = fastact_exp_scaled_dd(arg, scale);
        /* exp(-|z + zlo|) = exp(-|z|) (1 -+ zlo) */
        s.e = gone ? 0.0 : e.hi;
        s.elo = gone ? 0.0 : e.lo - e.hi * (z < 0 ? -zlo : zlo);
        fastact_dd d = fastact_two_sum(1.0, s.tiny ? 0.0 : s.e);
        s.d = d.hi;
        s.dlo = s.tiny ? 0.0 : d.lo + s.elo;
    } else { /* float32 data: exp(-|z|) clamped at e**-200 is 0 beside 1, and x e**-200 too */
        s.e = fastact_exp_f32(-a);
        s.elo = 0.0;
        s.d = 1.0 + s.e;
        s.dlo = 0.0;
    }
    return s;
}

/* (n + nlo) / (d + dlo), one correction step when hi (to ~2**-104). */
FASTACT_MATH double fastact_quot(double n, double nlo, double d, double dlo, int hi) {
    if (!hi) /* float32 data: d is 1 + e in [1, 2] */
        return n * fastact_recip_f32(d);
    double q = n / d;
    int ok = fastact_splittable(q);
    fastact_dd p = fastact_two_prod(ok ? q : 0.0, d);
    double r = ((n - p.hi) - p.lo + nlo) - q * dlo;
    return ok ? q + r / d : q;
}

/* x * (e + elo) as (hi, *lo): the numerator of x * sigmoid for z < 0. */
FASTACT_MATH double fastact_times_e(double x, fastact_sig s, int hi, double* lo) {
    *lo = 0.0;
    if (!hi)
        return x * s.e;
    int ok = fastact_splittable(x);
    fastact_dd p = fastact_two_prod(ok ? x : 0.0, s.e);
    *lo = ok ? p.lo + x * s.elo : 0.0;
    return ok ? p.hi : x * s.e;
}

/* SiLU: x * sigmoid(x). */
FASTACT_MATH double fastact_silu(double x, int hi) {
    fastact_sig s = fastact_sig_parts(x, 0.0, hi);
    double xc = x < -790.0 ? -790.0 : x;
    double nlo, n = fastact_times_e(xc, s, hi, &nlo);
    double pos = fastact_quot(x, 0.0, s.d, s.dlo, hi);
    double neg = fastact_quot(n, nlo, s.d, s.dlo, hi);
    double y = x >= 0 ? pos : neg;
    y = s.tiny ? y * FASTACT_TINY_UNSCALE : y;
    return x != x ? x : y; /* NaN: the input's bits, whichever path */
}

/* SiLU's derivative: s (1 + x (1 - s)), s = sigmoid(x), 1 - s = e / (1 + e)
   or 1 / (1 + e) formed without cancellation. */
FASTACT_MATH double fastact_silu_grad(double g, double x, int hi) {
    fastact_sig s = fastact_sig_parts(x, 0.0, hi);
    double xc = x < -790.0 ? -790.0 : (x > 800.0 ? 800.0 : x);
    double sp = fastact_quot(x >= 0 ? 1.0 : s.e, x >= 0 ? 0.0 : s.elo, s.d, s.dlo, hi);
    double sm = fastact_quot(x >= 0 ? s.e : 1.0, x >= 0 ? s.elo : 0.0, s.d, s.dlo, hi);
    double f = sp * (1.0 + xc * sm);
    double y = g * f;
    y = s.tiny ? y * FASTACT_TINY_UNSCALE : y;
    return x != x ? x : (x > 800.0 ? g : (x == -HUGE_VAL ? 0.0 * g : y));
}

/* The tanh GELU: x * sigmoid(z), z = 2 sqrt(2/pi) (x + 0.044715 x**3)
   = x (K1 + K3 x**2), K1 and K3 exact reals held as double-doubles. */
#define FASTACT_GT_K1_HI 0x1.9884533d43651p+0
#define FASTACT_GT_K1_LO -0x1.cbc0d30ebfd15p-54
#define FASTACT_GT_K3_HI 0x1.2444f2a4d8b4bp-4
#define FASTACT_GT_K3_LO -0x1.6c843a29d1c70p-61

/* z = x (K1 + K3 x**2) as zhi + zlo (zlo only when hi; |x| clamped to 1e4,
   where z is far past both saturations). */
FASTACT_MATH double fastact_gelu_tanh_arg(double x, int hi, double* zlo) {
    double xc = x < -1e4 ? -1e4 : (x > 1e4 ? 1e4 : x);
    double x2 = xc * xc;
    double c = FASTACT_GT_K1_HI + FASTACT_GT_K3_HI * x2;
    double z = xc * c;
    *zlo = 0.0;
    if (hi) {
        fastact_dd sq = fastact_two_prod(xc, xc);
        fastact_dd k3 = fastact_two_prod(FASTACT_GT_K3_HI, sq.hi);
        fastact_dd cs = fastact_two_sum(FASTACT_GT_K1_HI, k3.hi); /* cs.hi == c */
        double clo = cs.lo + (k3.lo + FASTACT_GT_K3_HI * sq.lo + FASTACT_GT_K3_LO * sq.hi
                              + FASTACT_GT_K1_LO);
        fastact_dd zz = fastact_two_prod(xc, c);
        z = zz.hi;
        *zlo = zz.lo + xc * clo;
    }
    return z;
}

FASTACT_MATH double fastact_gelu_tanh(double x, int hi) {
    double zlo, z = fastact_gelu_tanh_arg(x, hi, &zlo);
    fastact_sig s = fastact_sig_parts(z, zlo, hi);
    double xc = x < -1e4 ? -1e4 : x;
    double nlo, n = fastact_times_e(xc, s, hi, &nlo);
    double pos = fastact_quot(x, 0.0, s.d, s.dlo, hi);
    double neg = fastact_quot(n, nlo, s.d, s.dlo, hi);
    double y = z >= 0 ? pos : neg;
    y = s.tiny ? y * FASTACT_TINY_UNSCALE : y;
    return x != x ? x : y; /* NaN: the input's bits, whichever path */
}

/* d/dx x sigmoid(z) = s + x s (1 - s) z', z' = K1 + 3 K3 x**2. */
FASTACT_MATH double fastact_gelu_tanh_grad(double g, double x, int hi) {
    double zlo, z = fastact_gelu_tanh_arg(x, hi, &zlo);
    fastact_sig s = fastact_sig_parts(z, zlo, hi);
    double xc = x < -1e4 ? -1e4 : (x > 1e4 ? 1e4 : x);
    double sp = fastact_quot(z >= 0 ? 1.0 : s.e, z >= 0 ? 0.0 : s.elo, s.d, s.dlo, hi);
    double sm = fastact_quot(z >= 0 ? s.e : 1.0, z >= 0 ? s.elo : 0.0, s.d, s.dlo, hi);
    double dz = FASTACT_GT_K1_HI + (3.0 * FASTACT_GT_K3_HI) * (xc * xc);
    double f = sp * (1.0 + xc * sm * dz);
    double y = g * f;
    y = s.tiny ? y * FASTACT_TINY_UNSCALE : y;
    return x != x ? x : (x > 1e4 ? g : (x < -1e4 ? 0.0 * g : y));
}

/* Mish: x tanh(softplus(x)) = x n / (n + 2), n = e**x (e**x + 2) (since
   tanh(log(1 + e**x)) = ((1 + e**x)**2 - 1) / ((1 + e**x)**2 + 1)); for
   x > 0, with e = e**-x, n / (n + 2) = (1 + 2e) / (1 + 2e + 2e**2). */
FASTACT_MATH double fastact_mish_t(double x, double e, int tiny, double* den) {
    double num = x >= 0 ? 1.0 + 2.0 * e : e * (e + 2.0);
    *den = x >= 0 ? num + 2.0 * e * e : (tiny ? 2.0 : num + 2.0);
    return num;
}

FASTACT_MATH double fastact_mish(double x, int hi) {
    double a = x < 0 ? -x : x;
    int tiny = hi && x < -700.0;
    double e = hi ? fastact_exp_scaled(-fastact_tail_clamp(a, tiny),
                                       tiny ? FASTACT_TINY_SCALE : 0.0, hi)
                  : fastact_exp_f32(-a);
    double xc = x < -790.0 ? -790.0 : x;
    double den, num = fastact_mish_t(x, e, tiny, &den);
    double y = hi ? (xc * num) / den : (xc * num) * fastact_recip_f32(den);
    if (hi) { /* t = num / den in double-double, then x t rounded once */
        fastact_dd n, d, e2 = fastact_two_prod(e, e);
        if (x >= 0) {
            n = fastact_two_sum(1.0, 2.0 * e);
            d = fastact_dd_add(n, 2.0 * e2.hi);
            d.lo += 2.0 * e2.lo;
        } else {
            n = fastact_dd_add(e2, 2.0 * e);
            d = fastact_dd_add(n, tiny ? 0.0 : 2.0);
            d.hi = tiny ? 2.0 : d.hi;
            d.lo = tiny ? 0.0 : d.lo;
        }
        double tlo, t = fastact_dd_div(n, d, &tlo);
        fastact_dd xt = fastact_two_prod(xc, t);
        y = fastact_splittable(xc) ? xt.hi + (xt.lo + xc * tlo) : y;
    }
    y = tiny ? y * FASTACT_TINY_UNSCALE : y;
    return x != x ? x : y; /* NaN: the input's bits, whichever path */
}

/* Mish's derivative: t + x sigmoid(x) (1 - t**2), 1 - t**2 = 4 (n + 1) /
   (n + 2)**2, written per side so that nothing overflows or cancels. */
FASTACT_MATH double fastact_mish_grad(double g, double x, int hi) {
    double a = x < 0 ? -x : x;
    int tiny = hi && x < -700.0;
    double e = hi ? fastact_exp_scaled(-fastact_tail_clamp(a, tiny),
                                       tiny ? FASTACT_TINY_SCALE : 0.0, hi)
                  : fastact_exp_f32(-a);
    double den, num = fastact_mish_t(x, e, tiny, &den);
    double rden = hi ? 1.0 / den : fastact_recip_f32(den);
    double t = num * rden;
    double xc = x < -790.0 ? -790.0 : (x > 800.0 ? 800.0 : x);
    /* x >= 0: e = e**-x; sigmoid = 1 / (1 + e); 1 - t**2 = 4 e**2 (1 + e)**2 / den**2
       x < 0: e = e**x; sigmoid = e / (1 + e); 1 - t**2 = 4 (1 + e)**2 / den**2 */
    double ope = 1.0 + (tiny ? 0.0 : e);
    double rope = hi ? 1.0 / ope : fastact_recip_f32(ope);
    double w = x >= 0 ? (2.0 * e * ope) * rden : (2.0 * ope) * rden;
    double sig = x >= 0 ? rope : e * rope;
    double f = t + xc * sig * (w * w);
    double y = g * f;
    y = tiny ? y * FASTACT_TINY_UNSCALE : y;
    y = x < -790.0 ? 0.0 * g : y; /* below e**-790: 0 times any finite g */
    return x != x ? x : (x > 800.0 ? g : y);
}

/* z = beta * x, and for float64 data *zlo = its rounding error (beta x =
   z + zlo exactly) where it can matter, |z| < 800; x clamped to +-1e300. */
FASTACT_MATH double fastact_softplus_arg(double x, double beta, int hi, double* zlo) {
    double xc = x < -1e300 ? -1e300 : (x > 1e300 ? 1e300 : x);
    double z = beta * xc;
    *zlo = 0.0;
    if (hi) {
        int ok = fastact_splittable(fastact_abs(z) < 800.0 ? fastact_max(fastact_abs(xc),
                                                                          fastact_abs(beta))
                                                           : HUGE_VAL);
        *zlo = fastact_two_prod(ok ? xc : 0.0, ok ? beta : 0.0).lo;
    }
    return z;
}

/* Softplus: log1p(exp(z)) / beta, z = beta * x (exact as z + zlo when hi),
   as max(z, 0) + log1p(exp(-|z|)): nothing overflows; the caller takes x
   itself above the threshold. */
FASTACT_MATH double fastact_softplus(double x, double beta, int hi) {
    double zlo, z = fastact_softplus_arg(x, beta, hi, &zlo);
    double a = z < 0 ? -z : z;
    double e = fastact_exp(-a, hi);
    double l = fastact_log1p_unit(e, hi);
    if (!hi)
        return (z > 0 ? z + l : l) * (1.0 / beta);
    /* float64: log1p(e + elo) = log1p(e) + elo / (1 + e); d softplus / dz =
       sigmoid(z); r = rh + rl, then (rh + rl) / beta with one rounding. */
    fastact_dd ed = fastact_exp_scaled_dd(-(a > 708.0 ? 708.0 : a), 0.0);
    double elo = a > 700.0 ? 0.0 : (ed.hi - e) + ed.lo;
    double sg = z > 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    fastact_dd r = fastact_two_sum(z > 0 ? z : 0.0, l);
    r.lo += elo / (1.0 + e) + zlo * sg;
    double q = r.hi / beta;
    int ok = fastact_splittable(fastact_max(fastact_abs(q), fastact_abs(beta)));
    fastact_dd p = fastact_two_prod(ok ? q : 0.0, ok ? beta : 0.0);
    return ok ? q + (((r.hi - p.hi) - p.lo) + r.lo) / beta : q;
}

FASTACT_MATH double fastact_softplus_grad(double g, double x, double beta, int hi) {
    double zlo, z = fastact_softplus_arg(x, beta, hi, &zlo);
    fastact_sig s = fastact_sig_parts(z, zlo, hi);
    double sp = fastact_quot(z >= 0 ? 1.0 : s.e, z >= 0 ? 0.0 : s.elo, s.d, s.dlo, hi);
    double y = g * sp;
    y = s.tiny ? y * FASTACT_TINY_UNSCALE : y;
    return x != x ? x : (z == -HUGE_VAL ? 0.0 * g : y);
}

/* ---- GELU: x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (never 1 + erf, which
   cancels in the lower tail). With t = |x| / sqrt 2, erfc(t) = exp(-t**2)
   erfcx(t) and Phi = erfc(t) / 2 below 0, 1 - erfc(t) / 2 above; erfcx(t)
   (t + K) is a polynomial in z = (t - K) / (t + K), a Chebyshev fit made
   with mpmath (docs/accuracy.md): K = 3, degree 12 on [0, 10.5] for float32
   data; K = 2, degree 26 on [0, inf) in double-double for float64, where
   t < 0.5 takes erf's Taylor series instead. */
#define FASTACT_INV_SQRT2_HI 0x1.6a09e667f3bcdp-1
#define FASTACT_INV_SQRT2_LO -0x1.bdd3413b26456p-55
#define FASTACT_INV_SQRT2PI 0x1.9884533d43651p-2
#define FASTACT_TWO_OVER_SQRTPI_HI 0x1.20dd750429b6dp+0
#define FASTACT_TWO_OVER_SQRTPI_LO 0x1.1ae3a914fed80p-56

/* erfcx(t) as a double-double (float64 data): z = (t - 2) / (t + 2) with its
   rounding error zlo, the last three Horner steps and the division by t + 2
   in double-double, and zlo times the derivative (summed alongside);
   about 0.7 ulp (tests/accuracy.py). */
FASTACT_MATH double fastact_erfcx_dd(double t, double* lo) {
    /* erfcx(t) (t + 2) in z, highest degree first (docs/fits.py) */
    static const double c[27] = {
        0x1.596877110afefp-29, 0x1.2735f74279980p-29, -0x1.5a45630156d0ap-26,
        -0x1.c9527d233dbe6p-26, 0x1.01a974790c1c5p-24, 0x1.2c497202d616ap-23,
        -0x1.c3e4ef7e17454p-28, -0x1.8093ce17f306fp-22, -0x1.30c56fd442c94p-21,
        0x1.e6fc549aa0219p-26, 0x1.0c598f305d1b1p-19, 0x1.e724afaf6150cp-19,
        -0x1.2dd46b2be6392p-20, -0x1.0e5f7edaf2cdfp-16, -0x1.6c01e59722616p-16,
        0x1.1e7327f5e1fb5p-15, 0x1.2efa2b097caddp-13, 0x1.20549f16b27b3p-15,
        -0x1.5ba4384a6030fp-11, -0x1.b6fbfa8ac510cp-11, 0x1.9517bb705147ap-9,
        0x1.a89eaffa38120p-8, -0x1.606e4155297f3p-6, -0x1.2a88e6107eee1p-5,
        0x1.1e2deea6b1173p-2, -0x1.5fd386754eff5p-1, 0x1.058671b52c776p+0};
    fastact_dd nu = fastact_two_sum(t, -2.0), de = fastact_two_sum(t, 2.0);
    double z = nu.hi / de.hi;
    fastact_dd zq = fastact_two_prod(z, de.hi);
    double zlo = (((nu.hi - zq.hi) - zq.lo) + nu.lo - z * de.lo) / de.hi;
    double p = c[0], dp = 0.0, plo = 0.0;
    /* Both loops must unroll completely: the op's loop around them is the one
       that vectorizes. */
#if defined(__clang__)
#pragma clang loop unroll(full)
#elif defined(__GNUC__)
#pragma GCC unroll 32
#endif
    for (int i = 1; i < 24; i++) {  /* Horner, with the derivative alongside */
        dp = dp * z + p;
        p = p * z + c[i];
    }
#if defined(__clang__)
#pragma clang loop unroll(full)
#elif defined(__GNUC__)
#pragma GCC unroll 4
#endif
    for (int i = 24; i < 27; i++) { /* the last three steps in double-double */
        dp = dp * z + p;
        fastact_dd a = fastact_two_prod(p, z);
        fastact_dd b = fastact_two_sum(a.hi, c[i]);
        fastact_dd r = fastact_two_sum(b.hi, b.lo + (a.lo + plo * z));
        p = r.hi;
        plo = r.lo;
    }
    plo += dp * zlo;
    double q = p / de.hi;
    fastact_dd qd = fastact_two_prod(q, de.hi);
    *lo = (((p - qd.hi) - qd.lo) + plo - q * de.lo) / de.hi;
    return q;
}

/* erf(t) for |t| <= 0.5: t times its Taylor series in t**2 to t**26
   (the next term is below 2**-57 relative). */
/* erf(t) - 2 t / sqrt(pi) for |t| <= 0.5. */
FASTACT_MATH double fastact_erf_cubic(double t) {
    double t2 = t * t;
    double p = -0x1.d8453cb0c46eap-38;
    p = p * t2 + 0x1.9e6ad5e55a730p-34;
    p = p * t2 - 0x1.51d7181c5d36dp-30;
    p = p * t2 + 0x1.fcc5720624c1cp-27;
    p = p * t2 - 0x1.5f742ec43e71ap-23;
    p = p * t2 + 0x1.b9e6c9dc651a3p-20;
    p = p * t2 - 0x1.f4d25c3e0c2ebp-17;
    p = p * t2 + 0x1.f9a326f9b89b7p-14;
    p = p * t2 - 0x1.c02db40040b86p-11;
    p = p * t2 + 0x1.565bcd0e6a53fp-8;
    p = p * t2 - 0x1.b82ce31288b51p-6;
    p = p * t2 + 0x1.ce2f21a042be2p-4;
    p = p * t2 - 0x1.812746b0379e7p-2;
    return t * (p * t2);
}

/* Phi(x) for float64 data as a double-double, in double-double to the end:
   t = |x| / sqrt 2 and t**2 as double-doubles, exp(-t**2) as a double-double
   (its reduction error is all that remains), erfc(t) = exp(-t**2) erfcx(t),
   and for t < 0.5 erf(t) with its leading term exact. *ex: exp(-x**2 / 2)
   rounded. Below x = -37.4 both are 2**128 times their value (*unscale is
   then 2**-128, else 1). |x| is clamped to 40 (Phi(-40) is below the
   smallest double). */
FASTACT_MATH fastact_dd fastact_phi_f64(double x, double* ex, double* unscale) {
    double a = x < 0 ? -x : x;
    a = a > 40.0 ? 40.0 : a;
    fastact_dd th = fastact_two_prod(a, FASTACT_INV_SQRT2_HI);
    double t = th.hi, tlo = th.lo + a * FASTACT_INV_SQRT2_LO;
    fastact_dd sq = fastact_two_prod(t, t);
    double t2lo = sq.lo + 2.0 * t * tlo;
    /* flags as doubles: the vectorizer does not take ints combined in selects */
    double lower_tail = x < 0 ? sq.hi : 0.0;
    double scale = lower_tail > 700.0 ? FASTACT_TINY_SCALE : 0.0;
    double arg = sq.hi > (scale != 0.0 ? 790.0 : 708.0) ? (scale != 0.0 ? 790.0 : 708.0) : sq.hi;
    fastact_dd e = fastact_exp_scaled_dd(-arg, scale);
    e.lo -= e.hi * t2lo;
    *ex = e.hi + e.lo;
    *unscale = scale != 0.0 ? FASTACT_TINY_UNSCALE : 1.0;
    /* erfc(t + tlo) = erfc(t) - tlo 2/sqrt(pi) exp(-t**2): the exp part is in
       e (through t2lo); erfcx takes tlo (2 t erfcx(t) - 2/sqrt(pi)). */
    double rlo, r = fastact_erfcx_dd(t, &rlo);
    rlo += tlo * (2.0 * t * r - FASTACT_TWO_OVER_SQRTPI_HI);
    fastact_dd c = fastact_two_prod(e.hi, r);
    c.lo += e.hi * rlo + e.lo * r;
    double hh = 0.5 * c.hi, hl = 0.5 * c.lo;                 /* erfc(t) / 2 */
    fastact_dd up = fastact_two_sum(1.0, -hh);
    up.lo -= hl;                                              /* 1 - erfc / 2 */
    /* t < 0.5: erf(t) = t (c0 + t**2 P(t**2)), c0 = 2/sqrt(pi) */
    double ts = t < 0.5 ? t : 0.5, tsl = t < 0.5 ? tlo : 0.0, t2 = ts * ts;
    double pe = fastact_erf_cubic(ts);
    fastact_dd lead = fastact_two_prod(ts, FASTACT_TWO_OVER_SQRTPI_HI);
    lead.lo += ts * FASTACT_TWO_OVER_SQRTPI_LO + tsl * FASTACT_TWO_OVER_SQRTPI_HI * (1.0 - t2) + pe;
    fastact_dd erf = fastact_two_sum(lead.hi, lead.lo);
    fastact_dd sm_lo = fastact_two_sum(0.5, -0.5 * erf.hi);
    sm_lo.lo -= 0.5 * erf.lo;                                 /* Phi(-|x|), small t */
    fastact_dd sm_up = fastact_two_sum(0.5, 0.5 * erf.hi);
    sm_up.lo += 0.5 * erf.lo;
    double big_hi = x < 0 ? hh : up.hi, big_lo = x < 0 ? hl : up.lo;
    double sml_hi = x < 0 ? sm_lo.hi : sm_up.hi, sml_lo = x < 0 ? sm_lo.lo : sm_up.lo;
    fastact_dd phi;
    phi.hi = t < 0.5 ? sml_hi : big_hi;
    phi.lo = t < 0.5 ? sml_lo : big_lo;
    return phi;
}

/* GELU for float64 data: x Phi(x) rounded once. */
FASTACT_MATH double fastact_gelu_f64(double x) {
    double e, unscale;
    fastact_dd phi = fastact_phi_f64(x, &e, &unscale);
    double xc = x < -40.0 ? -40.0 : x;
    xc = xc > 1e300 ? 1e300 : xc;
    fastact_dd y = fastact_two_prod(xc, phi.hi);
    double r1 = (y.hi + (y.lo + xc * phi.lo)) * unscale;
    r1 = x > 1e300 ? x * phi.hi : r1;
    r1 = x != x ? x : r1;
    return x < -40.0 ? 0.0 : r1;
}

/* Phi(x) for float32 data, and exp(-x**2 / 2) through *ex: erfc(t) =
   exp(-t**2) erfcx(t) for every t (no cancellation: for x > 0, Phi = 1 -
   erfc / 2 >= 1/2), erfcx(t) (t + 3) a degree-12 polynomial in (t - 3) /
   (t + 3) on [0, 10.5] (2**-33.7 relative), one reciprocal for both. */
FASTACT_MATH double fastact_phi_f32(double x, double* ex) {
    double a = x < 0 ? -x : x;
    double t = (a > 14.8 ? 14.8 : a) * FASTACT_INV_SQRT2_HI;
    double e = fastact_exp_scaled(-(t * t), 0.0, 0);
    double r = fastact_recip_f32(t + 3.0);
    double z = (t - 3.0) * r;
    double p = 0x1.125051ff9b3fap-20;
    p = p * z + 0x1.635380a9ceeb1p-15;
    p = p * z + 0x1.9890a86dde046p-14;
    p = p * z - 0x1.2f3fd2d91d32ap-12;
    p = p * z - 0x1.1f1003d20d470p-11;
    p = p * z + 0x1.8e3af9c4f335bp-9;
    p = p * z - 0x1.3db572474258ep-10;
    p = p * z - 0x1.b78c304204e10p-6;
    p = p * z + 0x1.e995d8e99e2c8p-4;
    p = p * z - 0x1.3deb1e9eff6b6p-2;
    p = p * z + 0x1.2e32696c18406p-1;
    p = p * z - 0x1.c44c472200899p-1;
    p = p * z + 0x1.12f21ddd7de04p+0;
    double h = 0.5 * (e * (p * r));   /* erfc(t) / 2 */
    *ex = e;
    return x < 0 ? h : 1.0 - h;
}

FASTACT_MATH double fastact_gelu(double x, int hi) {
    if (hi)
        return fastact_gelu_f64(x);
    double e, p = fastact_phi_f32(x, &e);
    double y = x * p;
    y = x < -14.8 ? 0.0 : y;
    return x != x ? x : y; /* NaN: the input's bits, whichever path */
}

/* GELU's derivative: Phi(x) + x phi(x), phi(x) = exp(-x**2 / 2) / sqrt(2 pi). */
FASTACT_MATH double fastact_gelu_grad(double g, double x, int hi) {
    double e, unscale = 1.0, p;
    if (hi) {
        fastact_dd phi = fastact_phi_f64(x, &e, &unscale);
        p = phi.hi + phi.lo;
    } else {
        p = fastact_phi_f32(x, &e);
    }
    double xc = x < -40.0 ? -40.0 : x;
    xc = xc > 40.0 ? 40.0 : xc;
    double f = p + xc * (e * FASTACT_INV_SQRT2PI);
    double y = (g * f) * unscale;
    y = x < -40.0 ? 0.0 * g : y;
    y = x > 40.0 ? g : y;
    return x != x ? x : y;
}

#endif
