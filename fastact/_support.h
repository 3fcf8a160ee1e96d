/* C support for fastact's Cython modules: what Cython cannot say itself
 * (OpenMP stubs, compiler and CPU facts, atomics, a few expressions that gcc
 * only vectorizes when written in C). Included by fastact/_kernels.pyx
 * (compiled once per SIMD level) and fastact/_runtime.pyx (compiled once). */
#ifndef FASTACT_SUPPORT_H
#define FASTACT_SUPPORT_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- OpenMP: every omp_* call sits behind _OPENMP, so a compiler without
   OpenMP still builds a serial module. */
#ifdef _OPENMP
#include <omp.h>
#define FASTACT_OPENMP_VERSION _OPENMP
#else
#define FASTACT_OPENMP_VERSION 0
static inline int omp_get_max_threads(void) { return 1; }
#endif

/* ---- What this module was compiled for. */
#if defined(__AVX512F__)
#define FASTACT_SIMD "AVX-512F"
#elif defined(__AVX2__)
#define FASTACT_SIMD "AVX2"
#elif defined(__AVX__)
#define FASTACT_SIMD "AVX"
#elif defined(__SSE2__) || defined(_M_X64)
#define FASTACT_SIMD "SSE2 (x86-64 baseline)"
#elif defined(__ARM_NEON) || defined(__aarch64__)
#define FASTACT_SIMD "NEON (ARM baseline)"
#else
#define FASTACT_SIMD "none (scalar)"
#endif

#if defined(__clang__)
#define FASTACT_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define FASTACT_COMPILER "gcc " __VERSION__
#elif defined(_MSC_VER)
#define FASTACT_COMPILER "msvc"
#else
#define FASTACT_COMPILER "unknown"
#endif

#ifndef FASTACT_BUILD_FLAGS
#define FASTACT_BUILD_FLAGS "unknown"
#endif

/* ---- Debug builds (FASTACT_DEBUG_CYTHON=1) check that every span and tile
   stays inside its array; release builds compile the checks away. */
#ifdef FASTACT_DEBUG
#define FASTACT_DEBUG_ON 1
static inline void fastact_check(int ok, const char* what) {
    if (!ok) { fprintf(stderr, "fastact internal check failed: %s\n", what); abort(); }
}
#else
#define FASTACT_DEBUG_ON 0
static inline void fastact_check(int ok, const char* what) { (void)ok; (void)what; }
#endif

/* ---- Maxout's tie and NaN rule (see _beats in _kernels.pyx). Written in C
   because gcc if-converts this short-circuit expression into vector masks,
   while Cython's expansion of `or`/`and` (branches) or bitwise `|`/`&` on
   ints kept the k = 4 loops scalar (checked with -fopt-info-vec). */
static inline int fastact_beats_f32(float v, float best) {
    return v > best || (v != v && best == best);
}
static inline int fastact_beats_f64(double v, double best) {
    return v > best || (v != v && best == best);
}

/* ---- RReLU's counter-based uniform numbers. A 32-bit word is a pure
   function of (key, counter): the MurmurHash3 32-bit finalizer (a bijection
   of 32-bit words with full avalanche) applied to the counter's low word
   xored with one key word, with the counter's high word and the other key
   word xored in between its two multiply steps, so that the second key word
   enters after a nonlinear step (two keys do not just permute the counter).
   No state: every thread count, SIMD level, layout and chunking draws the
   same numbers. Only 32-bit multiplies, shifts and xors: every SIMD level
   vectorizes it, and two multiplies per word keep it near memory speed. */
static inline uint32_t fastact_word(uint32_t lo, uint32_t hi, uint32_t k0, uint32_t k1) {
    uint32_t h = lo ^ k0;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h ^= hi ^ k1;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}
/* Uniform in [0, 1): 23 random mantissa bits (float32), 52 (float64), set
   into the exponent of [1, 2) and shifted down (exact). */
static inline float fastact_unit_f32(uint32_t lo, uint32_t hi, uint64_t key) {
    uint32_t bits = 0x3f800000u | (fastact_word(lo, hi, (uint32_t)key, (uint32_t)(key >> 32)) >> 9);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f - 1.0f;
}
static inline double fastact_unit_f64(uint32_t lo, uint32_t hi, uint64_t key) {
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    uint64_t a = fastact_word(lo, hi, k0, k1);
    uint64_t b = fastact_word(lo, hi, k1 ^ 0x9e3779b9u, k0 ^ 0x7f4a7c15u);
    uint64_t bits = 0x3ff0000000000000ull | ((a << 20) ^ (b >> 12));
    double d;
    memcpy(&d, &bits, sizeof d);
    return d - 1.0;
}

/* ---- Atomic add on a counter shared by threads (the calls in flight, see
   share() in _runtime.pyx): returns the new value. */
#if defined(_MSC_VER)
#include <intrin.h>
static inline int fastact_atomic_add(volatile long* p, int d) {
    return (int)_InterlockedExchangeAdd(p, (long)d) + d;
}
typedef volatile long fastact_counter;
#else
static inline int fastact_atomic_add(int* p, int d) {
    return __atomic_add_fetch(p, d, __ATOMIC_RELAXED);
}
typedef int fastact_counter;
#endif

/* ---- What the CPU running us supports, for the SIMD dispatch in _simd.py
   (gcc and clang check the OS's register-state support too). */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
static inline int fastact_cpu_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static inline int fastact_cpu_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")
        && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
}
#else
static inline int fastact_cpu_avx2(void) { return 0; }
static inline int fastact_cpu_avx512(void) { return 0; }
#endif

#endif /* FASTACT_SUPPORT_H */
