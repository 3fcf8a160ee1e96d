/* Maxout over contiguous groups of k = 2 and k = 4 (maxout along the last
 * axis), forward and backward, written with GCC/Clang generic vectors.
 *
 * Why not plain loops: a group is k adjacent elements, so a vector of
 * results needs its inputs de-interleaved (and a backward pass re-interleaves
 * its outputs). gcc vectorizes the plain k = 2 loop with four cross-lane
 * permutes per vector, and the k = 4 loops and every backward loop hardly at
 * all (3-20x the memory limit). Here each step is one shuffle of two vectors
 * (__builtin_shufflevector; the compiler picks the instructions for the
 * target: SSE2, AVX2, AVX-512, NEON), and a group of 4 is two rounds of
 * pairs, which keeps every vector in natural order:
 *
 *   forward, k = 2:  e = evens(a, b), o = odds(a, b), take = beats(o, e),
 *                    y = take ? o : e, index = take & 1;
 *   forward, k = 4:  the pairs' winners p, q (masks m1, m2), then the same
 *                    step on evens(p, q) and odds(p, q) (mask m3); index =
 *                    m3 ? 2 + odd bit : even bit;
 *   backward:        the inverse: the group's gradient goes to the first or
 *                    second element of its pair (interleave(g & ~m, g & m)),
 *                    for k = 4 first to its pair, then within the pair.
 *
 * `beats(v, best)` is maxout's tie and NaN rule, np.argmax's: a later element
 * wins only when strictly greater, or when it is the first NaN of its group.
 * Pairs then pairs of pairs give the same winner as a scan (the rule picks
 * the first position of the group's largest value, NaN counting as largest).
 * Every result is an input element (or +0.0 in a backward pass), so the bits
 * equal the scalar loops' in fastact/_kernels.pyx.
 *
 * Each function handles the whole vectors of its range and returns how many
 * groups it did; the caller finishes the tail with the scalar loop. With a
 * compiler that lacks these builtins (or a 32-bit np.intp) the functions do
 * nothing and return 0. Loads and stores go through memcpy (unaligned, no
 * aliasing assumptions), and each step reads its whole block before writing
 * it, so a backward pass may write over its x (out = x).
 *
 * Included by fastact/_kernels.pyx. */
#ifndef FASTACT_MAXOUT_H
#define FASTACT_MAXOUT_H

#include <string.h>

#if defined(__has_builtin) && (defined(__GNUC__) || defined(__clang__))
#if __has_builtin(__builtin_shufflevector) && __has_builtin(__builtin_convertvector) \
    && defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 8
#define FASTACT_MAXOUT_VECTOR 1
#endif
#endif
#ifndef FASTACT_MAXOUT_VECTOR
#define FASTACT_MAXOUT_VECTOR 0
#endif

#if FASTACT_MAXOUT_VECTOR

/* Vectors of 32 bytes where the target has them (AVX and up: 8 float32 or 4
   float64 lanes), else 16 (SSE2, NEON). V: the data; IV: a mask of the same
   lane width (what a comparison gives: -1 or 0 per lane). */
#if defined(__AVX__)
#define FASTACT_VBYTES 32
#else
#define FASTACT_VBYTES 16
#endif
typedef float fastact_vf32 __attribute__((vector_size(FASTACT_VBYTES)));
typedef int fastact_vi32 __attribute__((vector_size(FASTACT_VBYTES)));
typedef double fastact_vf64 __attribute__((vector_size(FASTACT_VBYTES)));
typedef long long fastact_vi64 __attribute__((vector_size(FASTACT_VBYTES)));
/* Half a float32 mask, and as many np.intp (64-bit) lanes. */
typedef int fastact_hi32 __attribute__((vector_size(FASTACT_VBYTES / 2)));
typedef long long fastact_hp32 __attribute__((vector_size(FASTACT_VBYTES)));

/* Streaming stores: an output too large to stay in cache is written with
   stores that bypass it (x86: movntdq, 16 bytes at a time, to a 16-byte
   aligned address). A plain store first reads the line it writes
   (read-for-ownership), so a write-only output costs its bytes twice; a
   streaming store writes them once. Elsewhere (or unaligned): plain stores.
   fastact_put(p, v, bytes, stream) stores bytes (a multiple of 16) of v. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define FASTACT_CAN_STREAM 1
#else
#define FASTACT_CAN_STREAM 0
#endif

static inline void fastact_put(void* p, const void* v, size_t bytes, int stream) {
#if FASTACT_CAN_STREAM
    if (stream) {
        size_t o;
        for (o = 0; o < bytes; o += 16) {
            __m128i t;
            memcpy(&t, (const char*)v + o, 16);
            _mm_stream_si128((__m128i*)((char*)p + o), t);
        }
        return;
    }
#endif
    memcpy(p, v, bytes);
}

/* Whether p may take streaming stores; after them, a fence orders them
   before whatever the thread writes next (the end of a parallel region). */
static inline int fastact_streamable(const void* p) {
    return FASTACT_CAN_STREAM && p != NULL && ((size_t)p & 15) == 0;
}
static inline void fastact_stream_done(int stream) {
#if FASTACT_CAN_STREAM
    if (stream) _mm_sfence();
#else
    (void)stream;
#endif
}

#define FASTACT_CAT_(a, b) a##b
#define FASTACT_CAT(a, b) FASTACT_CAT_(a, b)

/* Lane indices of the shuffles, by lane count. EVENS and ODDS of two vectors
   (a, b) are taken within 128-bit halves (one shufps or unpcklpd on x86: a
   natural-order evens across 256 bits costs two cross-lane permutes and a
   blend), which leaves the winners in a mixed order that FIX restores once
   per step. LOW and HIGH interleave the first and second halves of (a, b);
   LOWER and UPPER are the halves of one vector, WHOLE joins two halves. */
#if FASTACT_VBYTES == 32
#define FASTACT_EVENS_8 0, 2, 8, 10, 4, 6, 12, 14
#define FASTACT_ODDS_8 1, 3, 9, 11, 5, 7, 13, 15
#define FASTACT_FIX_8 0, 1, 4, 5, 2, 3, 6, 7
#define FASTACT_LOW_8 0, 8, 1, 9, 2, 10, 3, 11
#define FASTACT_HIGH_8 4, 12, 5, 13, 6, 14, 7, 15
#define FASTACT_LOWER_8 0, 1, 2, 3
#define FASTACT_UPPER_8 4, 5, 6, 7
#define FASTACT_WHOLE_8 0, 1, 2, 3, 4, 5, 6, 7
#define FASTACT_EVENS_4 0, 4, 2, 6
#define FASTACT_ODDS_4 1, 5, 3, 7
#define FASTACT_FIX_4 0, 2, 1, 3
#define FASTACT_L32 8
#define FASTACT_L64 4
#else
#define FASTACT_EVENS_4 0, 2, 4, 6
#define FASTACT_ODDS_4 1, 3, 5, 7
#define FASTACT_FIX_4 0, 1, 2, 3
#define FASTACT_LOWER_4 0, 1
#define FASTACT_UPPER_4 2, 3
#define FASTACT_WHOLE_4 0, 1, 2, 3
#define FASTACT_EVENS_2 0, 2
#define FASTACT_ODDS_2 1, 3
#define FASTACT_FIX_2 0, 1
#define FASTACT_LOW_2 0, 2
#define FASTACT_HIGH_2 1, 3
#define FASTACT_L32 4
#define FASTACT_L64 2
#endif
#define FASTACT_LOW_4 0, 4, 1, 5
#define FASTACT_HIGH_4 2, 6, 3, 7

/* The positions of L groups (a mask-width vector) to and from np.intp:
   float64 masks have 64-bit lanes already; float32 ones are widened in two
   halves (a vector twice the width would go through the stack). */
static inline void fastact_store_index_f32(Py_ssize_t* p, fastact_vi32 index, int stream) {
    fastact_hp32 lo = __builtin_convertvector(
        __builtin_shufflevector(index, index, FASTACT_CAT(FASTACT_LOWER_, FASTACT_L32)),
        fastact_hp32);
    fastact_hp32 hi = __builtin_convertvector(
        __builtin_shufflevector(index, index, FASTACT_CAT(FASTACT_UPPER_, FASTACT_L32)),
        fastact_hp32);
    fastact_put(p, &lo, sizeof lo, stream);
    fastact_put(p + FASTACT_L32 / 2, &hi, sizeof hi, stream);
}
static inline fastact_vi32 fastact_load_index_f32(const Py_ssize_t* p) {
    fastact_hp32 lo, hi;
    memcpy(&lo, p, sizeof lo);
    memcpy(&hi, p + FASTACT_L32 / 2, sizeof hi);
    fastact_hi32 l = __builtin_convertvector(lo, fastact_hi32);
    fastact_hi32 h = __builtin_convertvector(hi, fastact_hi32);
    return __builtin_shufflevector(l, h, FASTACT_CAT(FASTACT_WHOLE_, FASTACT_L32));
}
static inline void fastact_store_index_f64(Py_ssize_t* p, fastact_vi64 index, int stream) {
    fastact_put(p, &index, sizeof index, stream);
}
static inline fastact_vi64 fastact_load_index_f64(const Py_ssize_t* p) {
    fastact_vi64 v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define FASTACT_MAXOUT_DEFINE(SUF, T, V, IV, L)                                           \
                                                                                         \
static inline V fastact_load_##SUF(const T* p) { V v; memcpy(&v, p, sizeof v); return v; } \
static inline void fastact_store_##SUF(T* p, V v, int stream) {                         \
    fastact_put(p, &v, sizeof v, stream);                                                \
}                                                                                        \
                                                                                         \
/* mask ? a : b, lane by lane (mask lanes are -1 or 0). */                               \
static inline V fastact_sel_##SUF(IV mask, V a, V b) {                                   \
    return (V)(((IV)a & mask) | ((IV)b & ~mask));                                        \
}                                                                                        \
                                                                                         \
static inline IV fastact_vbeats_##SUF(V v, V best) {                                     \
    return (v > best) | ((v != v) & (best == best));                                     \
}                                                                                        \
                                                                                         \
/* The winners of the L pairs held in (a, b) and the mask of the pairs that  \
   the second element won, both in natural order; *mixed: the mask in the    \
   order of FASTACT_EVENS (for fastact_quads). */                                        \
static inline V fastact_pairs_##SUF(V a, V b, IV* second, IV* mixed) {                   \
    V e = __builtin_shufflevector(a, b, FASTACT_CAT(FASTACT_EVENS_, L));                              \
    V o = __builtin_shufflevector(a, b, FASTACT_CAT(FASTACT_ODDS_, L));                               \
    IV m = fastact_vbeats_##SUF(o, e);                                                   \
    V w = fastact_sel_##SUF(m, o, e);                                                    \
    *mixed = m;                                                                          \
    *second = __builtin_shufflevector(m, m, FASTACT_CAT(FASTACT_FIX_, L));                            \
    return __builtin_shufflevector(w, w, FASTACT_CAT(FASTACT_FIX_, L));                               \
}                                                                                        \
                                                                                         \
/* The groups of 4 held in (a, b, c, d): their winners; m1, m2: the masks of  \
   the pairs of (a, b) and (c, d); m3: the groups whose second pair won;     \
   *index: each winner's position in its group. */                                      \
static inline V fastact_quads_##SUF(V a, V b, V c, V d, IV* m1, IV* m2, IV* m3,          \
                                    IV* index) {                                         \
    IV mixed;                                                                            \
    V p = fastact_pairs_##SUF(a, b, m1, &mixed);                                         \
    V q = fastact_pairs_##SUF(c, d, m2, &mixed);                                         \
    V w = fastact_pairs_##SUF(p, q, m3, &mixed);                                         \
    IV even = __builtin_shufflevector(*m1, *m2, FASTACT_CAT(FASTACT_EVENS_, L)) & 1;                  \
    IV odd = __builtin_shufflevector(*m1, *m2, FASTACT_CAT(FASTACT_ODDS_, L)) & 1;                    \
    IV i = (mixed & (odd + 2)) | (~mixed & even);                                        \
    *index = __builtin_shufflevector(i, i, FASTACT_CAT(FASTACT_FIX_, L));                             \
    return w;                                                                            \
}                                                                                        \
                                                                                         \
/* g's L values to the first (mask lane 0) or second (-1) element of their   \
   pairs: 2L values at out. */                                                           \
static inline void fastact_unpair_##SUF(T* out, V g, IV second, int stream) {            \
    V first = fastact_sel_##SUF(second, (V){0}, g);                                      \
    V other = fastact_sel_##SUF(second, g, (V){0});                                      \
    fastact_store_##SUF(out, __builtin_shufflevector(first, other, FASTACT_CAT(FASTACT_LOW_, L)), \
                        stream);                                                         \
    fastact_store_##SUF(out + L, __builtin_shufflevector(first, other, FASTACT_CAT(FASTACT_HIGH_, L)), \
                        stream);                                                         \
}                                                                                        \
                                                                                         \
/* The inverse of fastact_quads: g's L values to their groups' winners, 4L     \
   values at out. */                                                                     \
static inline void fastact_unquad_##SUF(T* out, V g, IV m1, IV m2, IV m3, int stream) {  \
    V first = fastact_sel_##SUF(m3, (V){0}, g);                                          \
    V other = fastact_sel_##SUF(m3, g, (V){0});                                          \
    fastact_unpair_##SUF(out, __builtin_shufflevector(first, other, FASTACT_CAT(FASTACT_LOW_, L)), \
                         m1, stream);                                                    \
    fastact_unpair_##SUF(out + 2 * L, __builtin_shufflevector(first, other, FASTACT_CAT(FASTACT_HIGH_, L)), \
                         m2, stream);                                                    \
}                                                                                        \
                                                                                         \
/* Forward: groups [0, n) of x to y (and idx, unless NULL); stream: outputs  \
   too large to stay cached (streaming stores where the address allows). */             \
static Py_ssize_t fastact_maxout2_##SUF(const T* x, T* y, Py_ssize_t* idx, Py_ssize_t n, \
                                        int stream) {                                    \
    Py_ssize_t r;                                                                        \
    IV m, mixed;                                                                         \
    int sy = stream && fastact_streamable(y), si = stream && fastact_streamable(idx);    \
    for (r = 0; r + L <= n; r += L) {                                                    \
        fastact_store_##SUF(y + r, fastact_pairs_##SUF(fastact_load_##SUF(x + 2 * r),    \
                                                       fastact_load_##SUF(x + 2 * r + L), \
                                                       &m, &mixed), sy);                 \
        if (idx) fastact_store_index_##SUF(idx + r, m & 1, si);                          \
    }                                                                                    \
    fastact_stream_done(sy | si);                                                        \
    return r;                                                                            \
}                                                                                        \
                                                                                         \
static Py_ssize_t fastact_maxout4_##SUF(const T* x, T* y, Py_ssize_t* idx, Py_ssize_t n, \
                                        int stream) {                                    \
    Py_ssize_t r;                                                                        \
    IV m1, m2, m3, index;                                                                \
    int sy = stream && fastact_streamable(y), si = stream && fastact_streamable(idx);    \
    for (r = 0; r + L <= n; r += L) {                                                    \
        const T* xr = x + 4 * r;                                                         \
        fastact_store_##SUF(y + r, fastact_quads_##SUF(                                  \
            fastact_load_##SUF(xr), fastact_load_##SUF(xr + L), fastact_load_##SUF(xr + 2 * L), \
            fastact_load_##SUF(xr + 3 * L), &m1, &m2, &m3, &index), sy);                 \
        if (idx) fastact_store_index_##SUF(idx + r, index, si);                          \
    }                                                                                    \
    fastact_stream_done(sy | si);                                                        \
    return r;                                                                            \
}                                                                                        \
                                                                                         \
/* Backward: g (groups [0, n)) to out (2n or 4n values), the winners from x   \
   or, when x is NULL, from idx (values 0..k-1, checked by the caller). */               \
static Py_ssize_t fastact_maxout2_grad_##SUF(const T* g, const T* x, const Py_ssize_t* idx, \
                                             T* out, Py_ssize_t n, int stream) {         \
    Py_ssize_t r;                                                                        \
    IV m, mixed;                                                                         \
    int so = stream && fastact_streamable(out);                                          \
    for (r = 0; r + L <= n; r += L) {                                                    \
        if (x) fastact_pairs_##SUF(fastact_load_##SUF(x + 2 * r),                        \
                                   fastact_load_##SUF(x + 2 * r + L), &m, &mixed);       \
        else m = -fastact_load_index_##SUF(idx + r);                                     \
        fastact_unpair_##SUF(out + 2 * r, fastact_load_##SUF(g + r), m, so);             \
    }                                                                                    \
    fastact_stream_done(so);                                                             \
    return r;                                                                            \
}                                                                                        \
                                                                                         \
static Py_ssize_t fastact_maxout4_grad_##SUF(const T* g, const T* x, const Py_ssize_t* idx, \
                                             T* out, Py_ssize_t n, int stream) {         \
    Py_ssize_t r;                                                                        \
    IV m1, m2, m3, i, bit;                                                               \
    int so = stream && fastact_streamable(out);                                          \
    for (r = 0; r + L <= n; r += L) {                                                    \
        if (x) {                                                                         \
            const T* xr = x + 4 * r;                                                     \
            fastact_quads_##SUF(fastact_load_##SUF(xr), fastact_load_##SUF(xr + L),      \
                                fastact_load_##SUF(xr + 2 * L), fastact_load_##SUF(xr + 3 * L), \
                                &m1, &m2, &m3, &i);                                      \
        } else {                                                                         \
            /* Only the winning pair receives a gradient, so both pairs of a */         \
            /* group may take the index's low bit as their mask. */                      \
            i = fastact_load_index_##SUF(idx + r);                                       \
            m3 = -(i >> 1);                                                              \
            bit = -(i & 1);                                                              \
            m1 = __builtin_shufflevector(bit, bit, FASTACT_CAT(FASTACT_LOW_, L));                     \
            m2 = __builtin_shufflevector(bit, bit, FASTACT_CAT(FASTACT_HIGH_, L));                    \
        }                                                                                \
        fastact_unquad_##SUF(out + 4 * r, fastact_load_##SUF(g + r), m1, m2, m3, so);    \
    }                                                                                    \
    fastact_stream_done(so);                                                             \
    return r;                                                                            \
}

FASTACT_MAXOUT_DEFINE(f32, float, fastact_vf32, fastact_vi32, FASTACT_L32)
FASTACT_MAXOUT_DEFINE(f64, double, fastact_vf64, fastact_vi64, FASTACT_L64)

#else /* no generic vectors: the scalar loops of _kernels.pyx do every group */

#define FASTACT_MAXOUT_NONE(SUF, T)                                                      \
static Py_ssize_t fastact_maxout2_##SUF(const T* x, T* y, Py_ssize_t* idx, Py_ssize_t n, \
                                        int stream) {                                    \
    (void)x; (void)y; (void)idx; (void)n; (void)stream; return 0; }                                    \
static Py_ssize_t fastact_maxout4_##SUF(const T* x, T* y, Py_ssize_t* idx, Py_ssize_t n, \
                                        int stream) {                                    \
    (void)x; (void)y; (void)idx; (void)n; (void)stream; return 0; }                                    \
static Py_ssize_t fastact_maxout2_grad_##SUF(const T* g, const T* x, const Py_ssize_t* idx, \
                                             T* out, Py_ssize_t n, int stream) {         \
    (void)g; (void)x; (void)idx; (void)out; (void)n; (void)stream; return 0; }                         \
static Py_ssize_t fastact_maxout4_grad_##SUF(const T* g, const T* x, const Py_ssize_t* idx, \
                                             T* out, Py_ssize_t n, int stream) {         \
    (void)g; (void)x; (void)idx; (void)out; (void)n; (void)stream; return 0; }

FASTACT_MAXOUT_NONE(f32, float)
FASTACT_MAXOUT_NONE(f64, double)

#endif
#endif
