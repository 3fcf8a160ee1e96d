# Kernels of fastact: the scalar rules and the typed loops, nothing else.
#
# Layers:
#   1. `cdef inline ... noexcept nogil` scalar rules: each math rule once
#      (the kink, the tie, NaN).
#   2. span functions: serial loops over raw pointers that call the rules; the
#      inner loops are branch-free selects so gcc -O3 vectorizes them.
#   3. drivers: split the work into fixed chunks and run them serially or in
#      an OpenMP prange; the `def` entry points read the data pointers of
#      arrays that fastact/_validate.py has already checked.
#
# The entry points take ndarrays and read their data pointers rather than
# typed memoryviews: a memoryview argument costs ~0.35 us per call by itself
# (measured with Cython 3 on the 2-core development machine), more than the
# whole kernel at small sizes.
#
# Directives (boundscheck, wraparound, cdivision, ...) are set once in setup.py.

cimport cython
from cython cimport floating
from cython.parallel cimport prange

from fastact._runtime cimport (
    Ticket, arrays_overlap, begin, end, is_plain, is_plain_float, plain_threads, share,
    unshare,
)
from libc.stdlib cimport calloc, free
from libc.string cimport memset

cimport numpy as cnp

cnp.import_array()

# The smooth ops' math (fastact/_math.h): double in, double out; `hi` (1 for
# float64 data) adds the double-double corrections a float64 result needs.
cdef extern from "_math.h":
    double fastact_expm1(double x, int hi) noexcept nogil
    double fastact_exp(double x, int hi) noexcept nogil
    double fastact_elu(double x, double alpha, int hi) noexcept nogil
    double fastact_elu_grad(double g, double x, double alpha, int hi) noexcept nogil
    double fastact_celu(double x, double alpha, int hi) noexcept nogil
    double fastact_celu_grad(double g, double x, double alpha, int hi) noexcept nogil
    double fastact_selu(double x, int hi) noexcept nogil
    double fastact_selu_grad(double g, double x, int hi) noexcept nogil
    double fastact_gelu(double x, int hi) noexcept nogil
    double fastact_gelu_grad(double g, double x, int hi) noexcept nogil
    double fastact_gelu_tanh(double x, int hi) noexcept nogil
    double fastact_gelu_tanh_grad(double g, double x, int hi) noexcept nogil
    double fastact_silu(double x, int hi) noexcept nogil
    double fastact_silu_grad(double g, double x, int hi) noexcept nogil
    float fastact_silu_f32(float x) noexcept nogil
    float fastact_elu_grad_f32(float g, float x, float alpha) noexcept nogil
    float fastact_celu_grad_f32(float g, float x, float alpha, float ralpha) noexcept nogil
    float fastact_selu_grad_f32(float g, float x) noexcept nogil
    float fastact_silu_grad_f32(float g, float x) noexcept nogil
    double fastact_mish(double x, int hi) noexcept nogil
    double fastact_mish_grad(double g, double x, int hi) noexcept nogil
    double fastact_softplus(double x, double beta, int hi) noexcept nogil
    double fastact_softplus_grad(double g, double x, double beta, int hi) noexcept nogil
    double FASTACT_SELU_SCALE
    double FASTACT_SELU_ALPHA


# C support (fastact/_support.h): OpenMP stubs, compiler facts, the debug
# checks, the counter-based random numbers of RReLU, and expressions gcc only
# vectorizes when written in C.
cdef extern from "_support.h":
    ctypedef unsigned int uint32_t
    ctypedef unsigned long long uint64_t
    bint fastact_beats_f32(float v, float best) noexcept nogil
    bint fastact_beats_f64(double v, double best) noexcept nogil
    float fastact_unit_f32(uint32_t lo, uint32_t hi, uint64_t key) noexcept nogil
    double fastact_unit_f64(uint32_t lo, uint32_t hi, uint64_t key) noexcept nogil
    int FASTACT_DEBUG_ON
    void fastact_check(bint ok, const char* what) noexcept nogil
    const char* FASTACT_SIMD
    const char* FASTACT_BUILD_FLAGS


# Maxout over contiguous groups of 2 and 4 in explicit vectors
# (fastact/_maxout.h): each returns how many groups of [0, n) it did, from
# the first (a multiple of the vector length; 0 where the compiler has no
# generic vectors); the scalar loops below do the rest.
cdef extern from "_maxout.h":
    Py_ssize_t fastact_maxout2_f32(const float* x, float* y, Py_ssize_t* idx,
                                   Py_ssize_t n, int stream) noexcept nogil
    Py_ssize_t fastact_maxout4_f32(const float* x, float* y, Py_ssize_t* idx,
                                   Py_ssize_t n, int stream) noexcept nogil
    Py_ssize_t fastact_maxout2_f64(const double* x, double* y, Py_ssize_t* idx,
                                   Py_ssize_t n, int stream) noexcept nogil
    Py_ssize_t fastact_maxout4_f64(const double* x, double* y, Py_ssize_t* idx,
                                   Py_ssize_t n, int stream) noexcept nogil
    Py_ssize_t fastact_maxout2_grad_f32(const float* g, const float* x, const Py_ssize_t* idx,
                                        float* out, Py_ssize_t n, int stream) noexcept nogil
    Py_ssize_t fastact_maxout4_grad_f32(const float* g, const float* x, const Py_ssize_t* idx,
                                        float* out, Py_ssize_t n, int stream) noexcept nogil
    Py_ssize_t fastact_maxout2_grad_f64(const double* g, const double* x,
                                        const Py_ssize_t* idx, double* out,
                                        Py_ssize_t n, int stream) noexcept nogil
    Py_ssize_t fastact_maxout4_grad_f64(const double* g, const double* x,
                                        const Py_ssize_t* idx, double* out,
                                        Py_ssize_t n, int stream) noexcept nogil


# --------------------------------------------------------------------------
# Work partition. Arrays of at most SERIAL_THRESHOLD elements never enter a
# parallel region: entering one costs ~1 us idle and up to a scheduler slice
# (~10-16 ms, measured on 2 cores) when another process holds the second core; PyTorch
# uses a grain of 32768 elements for the same reason (ATen/Parallel.h).
# Above it, the work is cut into CHUNK-element pieces. The element-wise ops
# deal them round-robin (schedule(static, 1)): chunk c always goes to thread
# c % team, so a call repeated on the same arrays finds each chunk in the
# cache of the core that touched it last. Handing chunks out dynamically
# (which bounds what a descheduled thread holds up to one chunk) moved them
# between the cores' L2 caches on every call: at 1e5 float32 elements, 2
# threads took 20 us against 12 us round-robin and 16.5 us serially, and lost
# to PyTorch's fixed halves. A descheduled thread now delays its share; the
# thread policy (fastact/_runtime.pyx) sees such stalls and runs serially.
# PReLU's and Maxout's tiles are still handed out dynamically.
cdef Py_ssize_t SERIAL_THRESHOLD = 32768
cdef Py_ssize_t CHUNK = 16384
# Weight-gradient reductions sum at most MAX_BLOCKS fixed blocks, whose
# bounds depend on the shape alone, then combine them serially in order: the
# same bits for every thread count.
cdef Py_ssize_t MAX_BLOCKS = 256
# Maxout writes an output of at least STREAM_BYTES with streaming stores
# (fastact/_maxout.h), which skip the read a plain store makes of each line
# it writes: such an output would not stay in cache anyway. Below it, plain
# stores keep the output cached for whatever reads it next. 8 MiB is beyond
# every current core's L2 and a large share of a shared L3.
cdef Py_ssize_t STREAM_BYTES = 8 << 20
# Maxout backward from x keeps the argmax of ARGMAX_TILE positions on the
# stack while it rewrites a group (this is what makes `out=x` safe).
cdef enum:
    ARGMAX_TILE = 256
    # Weight-gradient terms are formed SUM_TILE at a time on the stack.
    SUM_TILE = 256
    # Fused bias: x + b is formed BIAS_TILE elements at a time on the stack,
    # and its gradient summed over groups of rows of up to GROUP_BYTES.
    BIAS_TILE = 512
    GROUP_BYTES = 65536
    # Without a bias or slopes to lay out (the bias gradient alone), tiles
    # of up to RUN_TILE elements: fewer calls of the op's loop.
    RUN_TILE = 1024
    # A call's per-block sums take about this many doubles at most.
    SUM_DOUBLES = 32768


# --------------------------------------------------------------------------
# Teams. Whether a call above the serial threshold runs in parallel is decided
# by the thread policy (fastact/_runtime.pyx, one state per process shared by
# every SIMD level): from serial and parallel times measured in this process,
# so that a region that would wait for a core held by another thread pool
# (BLAS after a GEMM), a sleeping core or a busy neighbour is not entered.

cdef enum:
    MAX_TEAM = 256
    # Policy kinds beside the element-wise op codes (OP_*), which are < 56.
    KIND_PRELU = 56
    KIND_PRELU_GRAD = 57
    KIND_MAXOUT = 58
    KIND_MAXOUT_IDX = 59
    KIND_MAXOUT_GRAD = 60
    KIND_MAXOUT_GRAD_IDX = 61


cdef inline int _kind(int code, bint f64) noexcept nogil:
    return 2 * code + f64


cdef inline int _share(Py_ssize_t n, int n_threads) noexcept nogil:
    """The threads one call may use: calls above the serial threshold share
    n_threads with the others in flight (fastact._runtime). Pair with _unshare."""
    return share(n_threads) if n > SERIAL_THRESHOLD else n_threads


cdef inline void _unshare(Py_ssize_t n) noexcept nogil:
    if n > SERIAL_THRESHOLD:
        unshare()


cdef inline int _team_size(Py_ssize_t n, Py_ssize_t nchunks, int n_threads) noexcept nogil:
    """The most threads a call may use; 1 means serial, with no parallel region."""
    if n <= SERIAL_THRESHOLD or n_threads < 2 or nchunks < 2:
        return 1
    return <int>min(n_threads, nchunks, <Py_ssize_t>MAX_TEAM)


# --------------------------------------------------------------------------
# Scalar rules: one place for each convention of the API (NaN, ties, the kink).

cdef inline floating _relu(floating v) noexcept nogil:
    # `0 if v < 0 else v`, not `v if v > 0 else 0`: a NaN compares false, so
    # it passes through, and the select vectorizes.
    return 0 if v < 0 else v


cdef inline floating _leaky(floating v, floating s) noexcept nogil:
    # NaN is not > 0, so it takes s * NaN = NaN.
    return v if v > 0 else s * v


cdef inline floating _relu_grad(floating g, floating x) noexcept nogil:
    # Zero at the kink (x == 0), as PyTorch's threshold_backward; a NaN x
    # passes the gradient because NaN <= 0 is false.
    return 0 if x <= 0 else g


cdef inline floating _leaky_grad(floating g, floating x, floating s) noexcept nogil:
    # The slope side at the kink and for NaN x, as PyTorch's leaky_relu_backward.
    return g if x > 0 else s * g


cdef inline floating _hardtanh(floating v, floating lo, floating hi) noexcept nogil:
    # Hardtanh and ReLU6 (lo = 0, hi = 6); NaN fails both tests and stays.
    return lo if v < lo else (hi if v > hi else v)


cdef inline floating _hardtanh_grad(floating g, floating x, floating lo, floating hi) noexcept nogil:
    # Zero at both kinks; a NaN x passes g. Nested selects, not `or`: Cython
    # expands `or` into branches, which keep the loop scalar.
    return 0 if x <= lo else (0 if x >= hi else g)


cdef inline floating _threshold(floating v, floating th, floating value) noexcept nogil:
    return value if v <= th else v


cdef inline floating _threshold_grad(floating g, floating x, floating th) noexcept nogil:
    return 0 if x <= th else g


# Constants of the hard ops live in typed locals: Cython writes an integer
# literal in a float expression as a C double (`x / 3` becomes `x / 3.0`),
# which would form float32 expressions in double (other bits, and slower).

cdef inline floating _relu6_of_shift(floating v) noexcept nogil:
    # min(max(v + 3, 0), 6), NaN-propagating: a NaN fails both tests.
    cdef floating three = 3, six = 6
    cdef floating t = v + three
    t = 0 if t < 0 else t
    return six if t > six else t


cdef inline floating _div6(floating v) noexcept nogil:
    # A true division, as the formulas are written (not a product by a rounded
    # 1/6). An exact float32 alternative, a double product, was slower than
    # the division at every SIMD level (docs/design.md).
    cdef floating six = 6
    return v / six


cdef inline floating _hardsigmoid(floating v) noexcept nogil:
    return _div6(_relu6_of_shift(v))


cdef inline floating _hardsigmoid_grad(floating g, floating x) noexcept nogil:
    # g * (1/6 rounded to the dtype) strictly inside (-3, 3); NaN gives 0.
    cdef floating sixth = <floating>1 / <floating>6
    return (g * sixth if x < 3 else 0) if x > -3 else 0


cdef inline floating _hardswish(floating v) noexcept nogil:
    # x * min(max(x + 3, 0), 6) / 6, left to right, each step in the dtype.
    cdef floating p = v * _relu6_of_shift(v)
    return _div6(p)


cdef inline floating _hardswish_grad(floating g, floating x) noexcept nogil:
    cdef floating three = 3, half = <floating>0.5
    cdef floating slope = x / three + half
    return 0 if x <= -3 else (g * slope if x < 3 else g)


cdef inline floating _rrelu_slope(uint32_t lo, uint32_t hi, uint64_t key,
                                  floating lower, floating upper) noexcept nogil:
    # The slope of the element at C-order position hi * 2**32 + lo: uniform
    # in [lower, upper] (a convex combination, clamped against rounding).
    cdef floating u, r, one = 1
    if floating is float:
        u = fastact_unit_f32(lo, hi, key)
    else:
        u = fastact_unit_f64(lo, hi, key)
    r = lower * (one - u) + upper * u
    r = lower if r < lower else r
    return upper if r > upper else r


cdef inline floating _rrelu_noise(floating x, floating r) noexcept nogil:
    # RReLU's noise: the slope where x <= 0 (+-0 included), 1 where x > 0 or NaN.
    return r if x <= 0 else 1


cdef inline double _slope_grad(floating g, floating x) noexcept nogil:
    # d(out)/d(slope) times g, in float64: g * x wherever x is *not* > 0, so
    # a NaN x (or 0 * inf) makes the sum NaN, as in PyTorch.
    return 0.0 if x > 0 else <double>g * <double>x


# Smooth ops: the math is in fastact/_math.h, in double; float32 data round
# its result once, float64 data ask for its double-double corrections (`hi`).
# The y= paths of the ELU family are formulas in the data dtype, written here.

cdef inline floating _elu_grad_y(floating g, floating y, floating alpha) noexcept nogil:
    return g if y > 0 else g * (y + alpha)


cdef inline floating _celu_grad_y(floating g, floating y, floating alpha,
                                  floating r) noexcept nogil:
    return g if y > 0 else (g * r) * (y + alpha)


cdef inline floating _selu_grad_y(floating g, floating y, floating scale,
                                  floating scale_alpha) noexcept nogil:
    return g * scale if y > 0 else g * (y + scale_alpha)


cdef inline floating _softplus(floating x, floating beta, floating th) noexcept nogil:
    # The cut `x * beta > threshold` is formed in the dtype, as written.
    cdef floating v = <floating>fastact_softplus(x, beta, floating is double)
    return x if x * beta > th else v


cdef inline floating _softplus_grad(floating g, floating x, floating beta,
                                    floating th) noexcept nogil:
    cdef floating v = <floating>fastact_softplus_grad(g, x, beta, floating is double)
    return g if x * beta > th else v


cdef inline bint _beats(floating v, floating best) noexcept nogil:
    # Maxout's tie and NaN rule, exactly np.argmax's: a later element wins only
    # when strictly greater, or when it is the first NaN of its group:
    # `v > best or (v != v and best == best)`, in C (see fastact_beats_f32).
    if floating is float:
        return fastact_beats_f32(v, best)
    else:
        return fastact_beats_f64(v, best)


# --------------------------------------------------------------------------
# Element-wise ops: one span function, one driver. Each op code is one loop
# over a scalar rule; fastact/_ops.py maps the public ops onto these codes
# (ReLU6 is hardtanh on [0, 6], RReLU in eval mode is Leaky ReLU).

cdef enum:
    OP_RELU = 0
    OP_LEAKY = 1
    OP_RELU_GRAD = 2
    OP_LEAKY_GRAD = 3
    OP_HARDTANH = 4
    OP_HARDTANH_GRAD = 5
    OP_THRESHOLD = 6
    OP_THRESHOLD_GRAD = 7
    OP_HARDSIGMOID = 8
    OP_HARDSIGMOID_GRAD = 9
    OP_HARDSWISH = 10
    OP_HARDSWISH_GRAD = 11
    OP_RRELU_TRAIN = 12       # out2: the noise, or NULL
    OP_RRELU_EVAL_NOISE = 13  # out = Leaky ReLU with slope p0, out2 = the noise
    OP_MUL = 14               # a * b: RReLU's training gradient from the noise
    OP_ELU = 15
    OP_ELU_GRAD = 16
    OP_ELU_GRAD_Y = 17
    OP_CELU = 18
    OP_CELU_GRAD = 19
    OP_CELU_GRAD_Y = 20
    OP_SELU = 21
    OP_SELU_GRAD = 22
    OP_SELU_GRAD_Y = 23
    OP_GELU = 24              # p0: 0 the erf form, 1 the tanh form
    OP_GELU_GRAD = 25
    OP_SILU = 26
    OP_SILU_GRAD = 27
    OP_MISH = 28
    OP_MISH_GRAD = 29
    OP_SOFTPLUS = 30          # p0 beta, p1 threshold
    OP_SOFTPLUS_GRAD = 31
    N_OPS = 32                # op codes are below KIND_PRELU (policy kinds)


OPS = {"relu": OP_RELU, "leaky_relu": OP_LEAKY,
       "relu_grad": OP_RELU_GRAD, "leaky_relu_grad": OP_LEAKY_GRAD,
       "hardtanh": OP_HARDTANH, "hardtanh_grad": OP_HARDTANH_GRAD,
       "threshold": OP_THRESHOLD, "threshold_grad": OP_THRESHOLD_GRAD,
       "hardsigmoid": OP_HARDSIGMOID, "hardsigmoid_grad": OP_HARDSIGMOID_GRAD,
       "hardswish": OP_HARDSWISH, "hardswish_grad": OP_HARDSWISH_GRAD,
       "rrelu_train": OP_RRELU_TRAIN, "rrelu_eval_noise": OP_RRELU_EVAL_NOISE,
       "mul": OP_MUL,
       "elu": OP_ELU, "elu_grad": OP_ELU_GRAD, "elu_grad_y": OP_ELU_GRAD_Y,
       "celu": OP_CELU, "celu_grad": OP_CELU_GRAD, "celu_grad_y": OP_CELU_GRAD_Y,
       "selu": OP_SELU, "selu_grad": OP_SELU_GRAD, "selu_grad_y": OP_SELU_GRAD_Y,
       "gelu": OP_GELU, "gelu_grad": OP_GELU_GRAD, "silu": OP_SILU,
       "silu_grad": OP_SILU_GRAD, "mish": OP_MISH, "mish_grad": OP_MISH_GRAD,
       "softplus": OP_SOFTPLUS, "softplus_grad": OP_SOFTPLUS_GRAD}

# Ops that write a second output (out2).
TWO_OUTPUTS = frozenset({OP_RRELU_EVAL_NOISE})


cdef struct Args:
    double p0, p1       # the op's parameters, rounded to the dtype in the span
    uint64_t key        # RReLU's random key


cdef void _rrelu_span(const floating* x, floating* out, floating* noise, Py_ssize_t n,
                      floating lower, floating upper, uint64_t key,
                      Py_ssize_t start) noexcept nogil:
    # Elements start .. start + n - 1 of the array in C order. Pieces end at
    # multiples of CHUNK (which divides 2**32), so each piece's positions
    # share their high word and the low word counts up without wrapping:
    # 32-bit lanes the whole way, at every SIMD level.
    cdef Py_ssize_t j0 = 0, m, pos
    cdef unsigned int i, lo
    cdef uint32_t hi
    cdef floating r, v
    while j0 < n:
        pos = start + j0
        m = min(n - j0, CHUNK - pos % CHUNK)
        lo = <unsigned int>pos  # the low word (unsigned conversion is modulo 2**32)
        hi = <uint32_t>(pos >> 32)
        if noise == NULL:
            for i in range(<unsigned int>m):
                v = x[j0 + i]
                r = _rrelu_slope(lo + i, hi, key, lower, upper)
                out[j0 + i] = v * r if v <= 0 else v
        else:
            for i in range(<unsigned int>m):
                v = x[j0 + i]
                r = _rrelu_slope(lo + i, hi, key, lower, upper)
                out[j0 + i] = v * r if v <= 0 else v
                noise[j0 + i] = _rrelu_noise(v, r)
        j0 += m


cdef void _ew_span(int op, const floating* a, const floating* b, floating* out,
                   floating* out2, Py_ssize_t n, const Args* args,
                   Py_ssize_t start) noexcept nogil:
    # `a` is x (forward) or grad_output (backward); `b` is x, y or the noise
    # (backward); `start` is a[0]'s position in the whole array. The switch
    # is outside the loops so that each loop vectorizes; there is no
    # catch-all: elementwise() refuses unknown codes before any work.
    cdef Py_ssize_t i
    cdef floating v
    cdef floating p0 = <floating>args.p0
    cdef floating p1 = <floating>args.p1
    if op == OP_RELU:
        for i in range(n):
            out[i] = _relu(a[i])
    elif op == OP_LEAKY:
        for i in range(n):
            out[i] = _leaky(a[i], p0)
    elif op == OP_RELU_GRAD:
        for i in range(n):
            out[i] = _relu_grad(a[i], b[i])
    elif op == OP_LEAKY_GRAD:
        for i in range(n):
            out[i] = _leaky_grad(a[i], b[i], p0)
    elif op == OP_HARDTANH:
        for i in range(n):
            out[i] = _hardtanh(a[i], p0, p1)
    elif op == OP_HARDTANH_GRAD:
        for i in range(n):
            out[i] = _hardtanh_grad(a[i], b[i], p0, p1)
    elif op == OP_THRESHOLD:
        for i in range(n):
            out[i] = _threshold(a[i], p0, p1)
    elif op == OP_THRESHOLD_GRAD:
        for i in range(n):
            out[i] = _threshold_grad(a[i], b[i], p0)
    elif op == OP_HARDSIGMOID:
        for i in range(n):
            out[i] = _hardsigmoid(a[i])
    elif op == OP_HARDSIGMOID_GRAD:
        for i in range(n):
            out[i] = _hardsigmoid_grad(a[i], b[i])
    elif op == OP_HARDSWISH:
        for i in range(n):
            out[i] = _hardswish(a[i])
    elif op == OP_HARDSWISH_GRAD:
        for i in range(n):
            out[i] = _hardswish_grad(a[i], b[i])
    elif op == OP_RRELU_TRAIN:
        _rrelu_span(a, out, out2, n, p0, p1, args.key, start)
    elif op == OP_RRELU_EVAL_NOISE:
        for i in range(n):
            v = a[i]  # read first: either output may be the input
            out[i] = _leaky(v, p0)
            out2[i] = _rrelu_noise(v, p0)
    elif op == OP_MUL:
        for i in range(n):
            out[i] = a[i] * b[i]
    elif op < OP_GELU:
        _elu_family_span(op, a, b, out, n, p0)
    else:
        _smooth_span(op, a, b, out, n, args.p0, p0, p1)


cdef void _elu_family_span(int op, const floating* a, const floating* b, floating* out,
                           Py_ssize_t n, floating alpha) noexcept nogil:
    # CELU's y path takes r = 1/alpha, a division in the dtype (one rounding).
    cdef Py_ssize_t i
    cdef bint hi = floating is double
    cdef floating one = 1
    cdef floating r = one / alpha
    cdef floating scale = <floating>FASTACT_SELU_SCALE
    cdef floating scale_alpha = scale * <floating>FASTACT_SELU_ALPHA
    if op == OP_ELU:
        for i in range(n):
            out[i] = <floating>fastact_elu(a[i], alpha, hi)
    elif op == OP_ELU_GRAD and floating is float:  # float32 lanes (_math.h)
        for i in range(n):
            out[i] = fastact_elu_grad_f32(a[i], b[i], alpha)
    elif op == OP_ELU_GRAD:
        for i in range(n):
            out[i] = <floating>fastact_elu_grad(a[i], b[i], alpha, hi)
    elif op == OP_ELU_GRAD_Y:
        for i in range(n):
            out[i] = _elu_grad_y(a[i], b[i], alpha)
    elif op == OP_CELU:
        for i in range(n):
            out[i] = <floating>fastact_celu(a[i], alpha, hi)
    elif op == OP_CELU_GRAD and floating is float and alpha > 0:  # float32 lanes (_math.h)
        for i in range(n):
            out[i] = fastact_celu_grad_f32(a[i], b[i], alpha, r)
    elif op == OP_CELU_GRAD:
        for i in range(n):
            out[i] = <floating>fastact_celu_grad(a[i], b[i], alpha, hi)
    elif op == OP_CELU_GRAD_Y:
        for i in range(n):
            out[i] = _celu_grad_y(a[i], b[i], alpha, r)
    elif op == OP_SELU:
        for i in range(n):
            out[i] = <floating>fastact_selu(a[i], hi)
    elif op == OP_SELU_GRAD and floating is float:  # float32 lanes (_math.h)
        for i in range(n):
            out[i] = fastact_selu_grad_f32(a[i], b[i])
    elif op == OP_SELU_GRAD:
        for i in range(n):
            out[i] = <floating>fastact_selu_grad(a[i], b[i], hi)
    elif op == OP_SELU_GRAD_Y:
        for i in range(n):
            out[i] = _selu_grad_y(a[i], b[i], scale, scale_alpha)
    else:
        fastact_check(0, "ELU-family op code known")


cdef void _smooth_span(int op, const floating* a, const floating* b, floating* out,
                       Py_ssize_t n, double form, floating p0, floating p1) noexcept nogil:
    # GELU's `form` (p0 as given: 0 erf, 1 tanh); Softplus' beta and threshold.
    cdef Py_ssize_t i
    cdef bint hi = floating is double
    if op == OP_GELU and form == 0:
        for i in range(n):
            out[i] = <floating>fastact_gelu(a[i], hi)
    elif op == OP_GELU:
        for i in range(n):
            out[i] = <floating>fastact_gelu_tanh(a[i], hi)
    elif op == OP_GELU_GRAD and form == 0:
        for i in range(n):
            out[i] = <floating>fastact_gelu_grad(a[i], b[i], hi)
    elif op == OP_GELU_GRAD:
        for i in range(n):
            out[i] = <floating>fastact_gelu_tanh_grad(a[i], b[i], hi)
    elif op == OP_SILU and floating is float:  # float32 lanes (_math.h)
        for i in range(n):
            out[i] = fastact_silu_f32(a[i])
    elif op == OP_SILU:
        for i in range(n):
            out[i] = <floating>fastact_silu(a[i], hi)
    elif op == OP_SILU_GRAD and floating is float:
        for i in range(n):
            out[i] = fastact_silu_grad_f32(a[i], b[i])
    elif op == OP_SILU_GRAD:
        for i in range(n):
            out[i] = <floating>fastact_silu_grad(a[i], b[i], hi)
    elif op == OP_MISH:
        for i in range(n):
            out[i] = <floating>fastact_mish(a[i], hi)
    elif op == OP_MISH_GRAD:
        for i in range(n):
            out[i] = <floating>fastact_mish_grad(a[i], b[i], hi)
    elif op == OP_SOFTPLUS:
        for i in range(n):
            out[i] = _softplus(a[i], p0, p1)
    elif op == OP_SOFTPLUS_GRAD:
        for i in range(n):
            out[i] = _softplus_grad(a[i], b[i], p0, p1)
    else:
        fastact_check(0, "element-wise op code known")


cdef enum:
    MAX_DIMS = 64       # NumPy 2's NPY_MAXDIMS


cdef void _rrelu_fortran_rows(const floating* x, floating* out, floating* noise,
                              Py_ssize_t r0, Py_ssize_t r1, const Py_ssize_t* shape,
                              int ndim, Py_ssize_t n, floating lower, floating upper,
                              uint64_t key) noexcept nogil:
    # RReLU training over a Fortran-ordered array, without a copy: memory row
    # r (shape[0] elements) holds the elements (0 .. shape[0]-1, i1, ..., ik),
    # (i1, ..., ik) the digits of r with i1 fastest, whose C-order positions
    # are base(r) + i0 * S0, S0 = n / shape[0]. Rows r0 .. r1-1.
    cdef Py_ssize_t stride[MAX_DIMS]
    cdef Py_ssize_t digit[MAX_DIMS]
    cdef Py_ssize_t d0 = shape[0], s = 1, rem = r0, base = 0, r, p, i
    cdef int j
    cdef unsigned int u, lo0, s0
    cdef floating v, rr
    cdef const floating* xr
    for j in range(ndim - 1, -1, -1):
        stride[j] = s
        s *= shape[j]
    for j in range(1, ndim):
        digit[j] = rem % shape[j]
        rem //= shape[j]
        base += digit[j] * stride[j]
    for r in range(r0, r1):
        xr = x + r * d0
        if (n - 1) >> 32 == 0:  # every position fits the low word: 32-bit lanes
            lo0 = <unsigned int>base
            s0 = <unsigned int>stride[0]
            for u in range(<unsigned int>d0):
                v = xr[u]
                rr = _rrelu_slope(lo0 + u * s0, 0, key, lower, upper)
                out[r * d0 + u] = v * rr if v <= 0 else v
                if noise != NULL:
                    noise[r * d0 + u] = _rrelu_noise(v, rr)
        else:
            for i in range(d0):
                p = base + i * stride[0]
                v = xr[i]
                rr = _rrelu_slope(<unsigned int>p, <uint32_t>(p >> 32), key, lower, upper)
                out[r * d0 + i] = v * rr if v <= 0 else v
                if noise != NULL:
                    noise[r * d0 + i] = _rrelu_noise(v, rr)
        j = 1  # the next row: increment the digits, i1 fastest
        while j < ndim:
            digit[j] += 1
            base += stride[j]
            if digit[j] < shape[j]:
                break
            base -= shape[j] * stride[j]
            digit[j] = 0
            j += 1


cdef void _rrelu_fortran_run(const floating* x, floating* out, floating* noise,
                             const Py_ssize_t* shape, int ndim, Py_ssize_t n,
                             floating lower, floating upper, uint64_t key,
                             int n_threads) noexcept nogil:
    cdef Py_ssize_t d0 = shape[0]
    cdef Py_ssize_t rows = n // d0 if d0 else 0
    cdef Py_ssize_t per = max(CHUNK // max(d0, 1), 1)   # rows per chunk
    cdef Py_ssize_t nchunks = (rows + per - 1) // per
    cdef Py_ssize_t c
    cdef Ticket ticket
    cdef int team
    if rows == 0:
        return
    team = begin(&ticket, _kind(OP_RRELU_TRAIN, floating is double), n,
                 _team_size(n, nchunks, n_threads))
    if team == 1:
        _rrelu_fortran_rows(x, out, noise, 0, rows, shape, ndim, n, lower, upper, key)
    else:
        for c in prange(nchunks, schedule="static", chunksize=1, num_threads=team):
            fastact_check(c * per < rows, "rrelu row chunk inside the array")
            _rrelu_fortran_rows(x, out, noise, c * per, min((c + 1) * per, rows), shape,
                                ndim, n, lower, upper, key)
    end(&ticket)


cdef void _ew_run(int op, const floating* a, const floating* b, floating* out,
                  floating* out2, Py_ssize_t n, const Args* args, int n_threads) noexcept nogil:
    cdef Py_ssize_t nchunks = (n + CHUNK - 1) // CHUNK
    cdef Py_ssize_t c, lo
    cdef Ticket ticket
    cdef int team = begin(&ticket, _kind(op, floating is double), n,
                          _team_size(n, nchunks, n_threads))
    if team == 1:
        _ew_span(op, a, b, out, out2, n, args, 0)
    else:
        for c in prange(nchunks, schedule="static", chunksize=1, num_threads=team):  # see CHUNK
            lo = c * CHUNK
            fastact_check(0 <= lo < n, "element-wise chunk inside the array")
            _ew_span(op, a + lo, (b + lo) if b != NULL else NULL, out + lo,
                     (out2 + lo) if out2 != NULL else NULL, min(CHUNK, n - lo), args, lo)
    end(&ticket)


# --------------------------------------------------------------------------
# PReLU: x seen as a C-ordered (outer, C, inner) block, the channel in the
# middle. One pass computes the input gradient and the weight gradient.

cdef inline void _add_lanes(const floating* v, Py_ssize_t n, double* lane) noexcept nogil:
    # lane[i % 8] += v[i], i < n: eight float64 lanes in a fixed order, so
    # the sums are reproducible and the loop vectorizes.
    cdef Py_ssize_t i, l, n8 = n - n % 8
    for i in range(0, n8, 8):
        for l in range(8):
            lane[l] += v[i + l]
    for i in range(n8, n):
        lane[i - n8] += v[i]


cdef inline double _lanes_total(const double* lane) noexcept nogil:
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]))


cdef double _prelu_grad_sum(const floating* g, const floating* x, floating wc, floating* out,
                            Py_ssize_t n) noexcept nogil:
    # One channel's run of n elements: out = the input gradient, and the
    # return value the run's weight-gradient sum. Tiles of SUM_TILE: one loop
    # forms the input gradient and the weight-gradient terms (into a stack
    # buffer) from the same loads, then eight lanes sum the terms in a fixed
    # order (reproducible). Both loops vectorize; a select fused into the
    # accumulation compiled to a branch per element, 10x slower on random
    # signs (checked with objdump). Each element is read before it is
    # written, so out may be g.
    cdef double term[SUM_TILE]
    cdef double lane[8]
    cdef Py_ssize_t i, j0, m
    cdef floating gi, xi
    memset(lane, 0, sizeof(lane))
    j0 = 0
    while j0 < n:
        m = min(<Py_ssize_t>SUM_TILE, n - j0)
        for i in range(m):
            gi = g[j0 + i]
            xi = x[j0 + i]
            term[i] = _slope_grad(gi, xi)
            out[j0 + i] = _leaky_grad(gi, xi, wc)
        _add_lanes[double](term, m, lane)
        j0 += m
    return _lanes_total(lane)


cdef void _prelu_rows_tiled(const floating* g, const floating* x, const floating* w,
                            floating* out, double* acc, Py_ssize_t start, Py_ssize_t end,
                            Py_ssize_t C) noexcept nogil:
    # Channels last with few channels (C <= SUM_TILE): tiles of whole rows,
    # with the weights repeated across the tile, so every loop runs over the
    # whole tile instead of one row of C (per-row loops were 3x slower than
    # NCHW at C = 16). The weight-gradient terms go through a stack tile and
    # per-channel stack sums, added to acc once per call.
    cdef floating wt[SUM_TILE]
    cdef double term[SUM_TILE]
    cdef double lacc[SUM_TILE]
    cdef Py_ssize_t rows = SUM_TILE // C
    cdef Py_ssize_t tile = rows * C
    cdef Py_ssize_t j0, m, i, r, c
    cdef floating gi, xi
    for i in range(tile):
        wt[i] = w[i % C]
    for c in range(C):
        lacc[c] = 0
    j0 = start
    while j0 < end:
        m = min(tile, end - j0)  # whole rows: start and end are multiples of C
        if g == NULL:
            for i in range(m):
                out[j0 + i] = _leaky(x[j0 + i], wt[i])
        else:
            if acc != NULL:
                for i in range(m):  # both from the same loads; out may be g
                    gi = g[j0 + i]
                    xi = x[j0 + i]
                    term[i] = _slope_grad(gi, xi)
                    out[j0 + i] = _leaky_grad(gi, xi, wt[i])
                for r in range(m // C):
                    for c in range(C):
                        lacc[c] += term[r * C + c]
            else:
                for i in range(m):
                    out[j0 + i] = _leaky_grad(g[j0 + i], x[j0 + i], wt[i])
        j0 += m
    if acc != NULL:
        for c in range(C):
            acc[c] += lacc[c]


cdef void _prelu_span(const floating* g, const floating* x, const floating* w,
                      floating* out, double* acc, Py_ssize_t start, Py_ssize_t end,
                      Py_ssize_t C, Py_ssize_t inner) noexcept nogil:
    # Elements [start, end) of the flat array. g == NULL: forward. acc (C
    # doubles) receives the weight gradient, or is NULL. The sums are taken
    # before `out` is written, so out may be g (the in-place call).
    cdef Py_ssize_t pos, seg, c, length, i, r
    cdef const floating* xr
    cdef const floating* gr
    cdef floating* outr
    cdef floating wc
    if inner == 1 and C <= SUM_TILE:
        _prelu_rows_tiled(g, x, w, out, acc, start, end, C)
        return
    if inner == 1:
        # Channels last with many channels: row by row (start and end are
        # whole rows of C).
        r = start
        while r < end:
            xr = x + r
            outr = out + r
            if g == NULL:
                for c in range(C):
                    outr[c] = _leaky(xr[c], w[c])
            else:
                gr = g + r
                if acc != NULL:
                    for c in range(C):
                        acc[c] += _slope_grad(gr[c], xr[c])
                for c in range(C):
                    outr[c] = _leaky_grad(gr[c], xr[c], w[c])
            r += C
        return
    fastact_check(0 <= start <= end, "PReLU span ordered")
    pos = start
    while pos < end:
        seg = pos // inner
        c = seg % C
        length = min(inner - (pos - seg * inner), end - pos)
        wc = w[c]
        if g == NULL:
            for i in range(pos, pos + length):
                out[i] = _leaky(x[i], wc)
        else:
            if acc != NULL:
                acc[c] += _prelu_grad_sum(g + pos, x + pos, wc, out + pos, length)
            else:
                for i in range(pos, pos + length):
                    out[i] = _leaky_grad(g[i], x[i], wc)
        pos += length


cdef Py_ssize_t _prelu_blocks(Py_ssize_t n, Py_ssize_t C, Py_ssize_t inner) noexcept nogil:
    # How many blocks the array is cut into: a function of the shape alone, so
    # the weight-gradient sums do not depend on the thread count. The partial
    # sums take at most MAX_BLOCKS * C doubles and never more than n / 16.
    cdef Py_ssize_t units = n // C if inner == 1 else n
    cdef Py_ssize_t nb = (n + CHUNK - 1) // CHUNK
    nb = min(nb, MAX_BLOCKS)
    nb = min(nb, units)
    nb = min(nb, n // (16 * C))
    return max(nb, 1)


cdef void _prelu_run(const floating* g, const floating* x, const floating* w,
                     floating* out, double* partial, Py_ssize_t n, Py_ssize_t C,
                     Py_ssize_t inner, Py_ssize_t nb, int n_threads) noexcept nogil:
    # Block b covers units [b*units/nb, (b+1)*units/nb), a unit being a row of
    # C elements when inner == 1 and one element otherwise.
    cdef Py_ssize_t unit = C if inner == 1 else 1
    cdef Py_ssize_t units = n // unit
    cdef Py_ssize_t b
    cdef Ticket ticket
    cdef int team = begin(&ticket, _kind(KIND_PRELU if g == NULL else KIND_PRELU_GRAD,
                                         floating is double),
                          n, _team_size(n, nb, n_threads))
    if team == 1:
        for b in range(nb):
            _prelu_span(g, x, w, out, (partial + b * C) if partial != NULL else NULL,
                        (b * units // nb) * unit, ((b + 1) * units // nb) * unit, C, inner)
    else:
        for b in prange(nb, schedule="dynamic", num_threads=team):
            _prelu_span(g, x, w, out, (partial + b * C) if partial != NULL else NULL,
                        (b * units // nb) * unit, ((b + 1) * units // nb) * unit, C, inner)
    end(&ticket)


# --------------------------------------------------------------------------
# Fused bias: out = op(x + b[c]) forward, op(g, x + b[c]) backward, x seen as
# a C-ordered (outer, C, inner) block as for PReLU. x + b[c] is formed in the
# data dtype into a stack tile, so the op sees exactly the array NumPy's
# x + b gives and the result has its bits; a backward pass adds its result
# up per channel (the bias gradient) while the tile is in cache. PReLU with a
# bias takes the same loop, its weight laid out like the bias (one axis).
#
# The bias and weight for a tile come from a pattern: when a period of
# P = C * inner elements fits the tile (every channels-last layer, small
# images), one pattern of BIAS_TILE + P values made per span serves every
# tile at offset pos % P, and the sums go to per-position accumulators folded
# into channels at the end of the span; otherwise each tile fills its own
# pattern by runs and adds each run to its channel. Either way the order of
# the sums is a function of the span, and spans of the shape alone.

cdef void _pattern(floating* p, const floating* v, Py_ssize_t start, Py_ssize_t m,
                   Py_ssize_t C, Py_ssize_t inner) noexcept nogil:
    # p[i] = v[channel of element start + i], i < m, filled run by run.
    cdef Py_ssize_t i = 0, j, length, c
    cdef floating vc
    while i < m:
        c = ((start + i) // inner) % C
        if inner == 1:
            length = min(C - c, m - i)
            for j in range(length):
                p[i + j] = v[c + j]
        else:
            length = min(inner - (start + i) % inner, m - i)
            vc = v[c]
            for j in range(length):
                p[i + j] = vc
        i += length


cdef void _runs_to_channels(const floating* v, double* acc, Py_ssize_t start, Py_ssize_t m,
                            Py_ssize_t C, Py_ssize_t inner) noexcept nogil:
    # acc[channel of element start + i] += v[i], i < m, run by run; a run of
    # one channel is summed in eight lanes first.
    cdef double lane[8]
    cdef Py_ssize_t i = 0, j, length, c
    while i < m:
        c = ((start + i) // inner) % C
        if inner == 1:
            length = min(C - c, m - i)
            for j in range(length):
                acc[c + j] += v[i + j]
        else:
            length = min(inner - (start + i) % inner, m - i)
            memset(lane, 0, sizeof(lane))
            _add_lanes(v + i, length, lane)
            acc[c] += _lanes_total(lane)
        i += length


cdef bint _ew_biased(int op, const floating* g, const floating* x, const floating* tb,
                     floating* out, Py_ssize_t n, const Args* args) noexcept nogil:
    # The piecewise ops with x + tb[i] formed inside their loop (one pass,
    # where the stack tile would take two): forward when g is NULL. Returns
    # False, having done nothing, for the other ops.
    cdef Py_ssize_t i
    cdef floating p0 = <floating>args.p0
    cdef floating p1 = <floating>args.p1
    if g == NULL:
        if op == OP_RELU:
            for i in range(n):
                out[i] = _relu(x[i] + tb[i])
        elif op == OP_LEAKY:
            for i in range(n):
                out[i] = _leaky(x[i] + tb[i], p0)
        elif op == OP_HARDTANH:
            for i in range(n):
                out[i] = _hardtanh(x[i] + tb[i], p0, p1)
        elif op == OP_THRESHOLD:
            for i in range(n):
                out[i] = _threshold(x[i] + tb[i], p0, p1)
        elif op == OP_HARDSIGMOID:
            for i in range(n):
                out[i] = _hardsigmoid(x[i] + tb[i])
        elif op == OP_HARDSWISH:
            for i in range(n):
                out[i] = _hardswish(x[i] + tb[i])
        else:
            return False
        return True
    if op == OP_RELU_GRAD:
        for i in range(n):
            out[i] = _relu_grad(g[i], x[i] + tb[i])
    elif op == OP_LEAKY_GRAD:
        for i in range(n):
            out[i] = _leaky_grad(g[i], x[i] + tb[i], p0)
    elif op == OP_HARDTANH_GRAD:
        for i in range(n):
            out[i] = _hardtanh_grad(g[i], x[i] + tb[i], p0, p1)
    elif op == OP_THRESHOLD_GRAD:
        for i in range(n):
            out[i] = _threshold_grad(g[i], x[i] + tb[i], p0)
    elif op == OP_HARDSIGMOID_GRAD:
        for i in range(n):
            out[i] = _hardsigmoid_grad(g[i], x[i] + tb[i])
    elif op == OP_HARDSWISH_GRAD:
        for i in range(n):
            out[i] = _hardswish_grad(g[i], x[i] + tb[i])
    else:
        return False
    return True


cdef inline void _add_rows_k(const floating* o, Py_ssize_t s, Py_ssize_t k, Py_ssize_t w,
                             double* acc) noexcept nogil:
    # acc[i] += the sum of o[r * s + i] over r < k (16, 8, 4, 2 or 1), as a
    # tree: one read-modify-write of acc per k rows.
    cdef Py_ssize_t i
    if k == 16:
        for i in range(w):
            acc[i] += (((<double>o[i] + <double>o[s + i]) +
                        (<double>o[2 * s + i] + <double>o[3 * s + i])) +
                       ((<double>o[4 * s + i] + <double>o[5 * s + i]) +
                        (<double>o[6 * s + i] + <double>o[7 * s + i]))) + \
                      (((<double>o[8 * s + i] + <double>o[9 * s + i]) +
                        (<double>o[10 * s + i] + <double>o[11 * s + i])) +
                       ((<double>o[12 * s + i] + <double>o[13 * s + i]) +
                        (<double>o[14 * s + i] + <double>o[15 * s + i])))
    elif k == 8:
        for i in range(w):
            acc[i] += ((<double>o[i] + <double>o[s + i]) +
                       (<double>o[2 * s + i] + <double>o[3 * s + i])) + \
                      ((<double>o[4 * s + i] + <double>o[5 * s + i]) +
                       (<double>o[6 * s + i] + <double>o[7 * s + i]))
    elif k == 4:
        for i in range(w):
            acc[i] += (<double>o[i] + <double>o[s + i]) + \
                (<double>o[2 * s + i] + <double>o[3 * s + i])
    elif k == 2:
        for i in range(w):
            acc[i] += <double>o[i] + <double>o[s + i]
    else:
        for i in range(w):
            acc[i] += o[i]


cdef void _add_rows(const floating* o, Py_ssize_t s, Py_ssize_t rows, Py_ssize_t w,
                    double* acc) noexcept nogil:
    # acc[i] += the sum over r < rows of o[r * s + i], i < w: sixteen rows at
    # a time, the rest by eights, fours, pairs and ones. Per row, the
    # accumulator's read-modify-write cost more than the data's own traffic.
    cdef Py_ssize_t k
    while rows > 0:
        k = 16 if rows >= 16 else 8 if rows >= 8 else 4 if rows >= 4 else 2 if rows >= 2 else 1
        _add_rows_k(o, s, k, w, acc)
        o += k * s
        rows -= k


cdef void _bias_tile(int op, const floating* g, const floating* x, const floating* tb,
                     const floating* tw, floating* out, floating* out2, double* tacc,
                     double* wacc, Py_ssize_t pos, Py_ssize_t m, Py_ssize_t C,
                     Py_ssize_t inner, const Args* args) noexcept nogil:
    # One tile: out[pos + i] for i < m, tb and tw its bias and slopes (or
    # NULL). PReLU's weight terms go to tacc[i] (per position) or, when tacc
    # is NULL, by runs to wacc.
    cdef floating t[BIAS_TILE]
    cdef double term[BIAS_TILE]
    cdef const floating* src = x + pos
    cdef Py_ssize_t i
    cdef floating gi, xi
    if tw == NULL and tb != NULL and _ew_biased(op, (g + pos) if g != NULL else NULL, x + pos,
                                                tb, out + pos, m, args):
        return
    if tb != NULL:
        for i in range(m):
            t[i] = x[pos + i] + tb[i]
        src = t
    if tw == NULL:
        if g == NULL:
            _ew_span(op, src, NULL, out + pos, (out2 + pos) if out2 != NULL else NULL,
                     m, args, pos)
        else:
            _ew_span(op, g + pos, src, out + pos, NULL, m, args, pos)
    elif g == NULL:  # PReLU
        for i in range(m):
            out[pos + i] = _leaky(src[i], tw[i])
    elif wacc != NULL:
        for i in range(m):  # both from the same loads; out may be g
            gi = g[pos + i]
            xi = src[i]
            term[i] = _slope_grad(gi, xi)
            out[pos + i] = _leaky_grad(gi, xi, tw[i])
        if tacc != NULL:
            for i in range(m):
                tacc[i] += term[i]
        else:
            _runs_to_channels(term, wacc, pos, m, C, inner)
    else:
        for i in range(m):
            out[pos + i] = _leaky_grad(g[pos + i], src[i], tw[i])


cdef void _bias_span(int op, const floating* g, const floating* x, const floating* b,
                     const floating* w, floating* out, floating* out2, double* bacc,
                     double* wacc, Py_ssize_t start, Py_ssize_t end, Py_ssize_t C,
                     Py_ssize_t inner, const Args* args) noexcept nogil:
    # Elements [start, end). g == NULL: forward. b: the bias (C values) or
    # NULL; w: PReLU's slopes (C values; op unused) or NULL. bacc and wacc
    # (C doubles each, or NULL) receive the bias and weight gradients. Each
    # tile reads x and g before it writes out, so out may be x or g.
    #
    # Three layouts, by the period P = C * inner of the channels:
    # - P fits a tile (start is then a whole number of periods): tiles of T
    #   elements, whole periods, share one pattern of the bias and slopes;
    #   the sums go per position to sb (sw), a group of tiles at a time,
    #   folded into channels at the end;
    # - channels last with rows longer than a tile (start, end whole rows):
    #   a group of rows, tile by tile within each row (the bias b + the
    #   tile's column), then the group's column sums added to bacc;
    # - otherwise one channel's run at a time (NCHW): the bias one value,
    #   the sums of a run taken in eight lanes.
    # A group is at most 16 rows of GROUP_BYTES in all: the data are still
    # in cache when _add_rows reads them back.
    cdef floating pb[BIAS_TILE]
    cdef floating pw[BIAS_TILE]
    cdef double sb[RUN_TILE]
    cdef double sw[BIAS_TILE]
    cdef Py_ssize_t P = C * inner
    cdef Py_ssize_t T, pos, m, c, c0, r0, r, rows, k, filled = -1
    cdef const floating* tb = NULL
    cdef const floating* tw = NULL
    if P <= BIAS_TILE:
        T = ((BIAS_TILE if b != NULL or w != NULL else RUN_TILE) // P) * P
        if b != NULL:
            _pattern(pb, b, 0, T, C, inner)
            tb = pb
        if w != NULL:
            _pattern(pw, w, 0, T, C, inner)
            tw = pw
        if bacc != NULL:
            memset(sb, 0, T * sizeof(double))
        if wacc != NULL:
            memset(sw, 0, T * sizeof(double))
        fastact_check((start % P) == 0 and ((end - start) % P) == 0,
                      "bias span of whole periods")
        pos = start
        while pos < end:
            rows = min(<Py_ssize_t>(GROUP_BYTES // (T * sizeof(floating))), (end - pos) // T)
            if rows == 0:  # the last, shorter tile
                rows = 1
                m = end - pos
            else:
                m = T
            for k in range(rows):
                _bias_tile(op, g, x, tb, tw, out, out2, sw if wacc != NULL else NULL, wacc,
                           pos + k * m, m, C, inner, args)
            if bacc != NULL:
                _add_rows(out + pos, m, rows, m, sb)
            pos += rows * m
        k = 0  # fold the per-position sums into channels, in position order
        for r in range(T // P):
            for c in range(C):
                for m in range(inner):
                    if bacc != NULL:
                        bacc[c] += sb[k]
                    if wacc != NULL:
                        wacc[c] += sw[k]
                    k += 1
        return
    if inner == 1:
        fastact_check((start % C) == 0 and ((end - start) % C) == 0, "bias span of whole rows")
        r0 = start
        while r0 < end:
            rows = max(min(<Py_ssize_t>(GROUP_BYTES // (C * sizeof(floating))), (end - r0) // C),
                       <Py_ssize_t>1)
            for r in range(rows):
                c0 = 0
                while c0 < C:
                    m = C - c0 if (b == NULL and w == NULL) else min(<Py_ssize_t>BIAS_TILE, C - c0)
                    _bias_tile(op, g, x, (b + c0) if b != NULL else NULL,
                               (w + c0) if w != NULL else NULL, out, out2,
                               (wacc + c0) if wacc != NULL else NULL, wacc,
                               r0 + r * C + c0, m, C, inner, args)
                    c0 += m
            if bacc != NULL:
                c0 = 0
                while c0 < C:
                    m = min(<Py_ssize_t>BIAS_TILE, C - c0)
                    _add_rows(out + r0 + c0, C, rows, m, bacc + c0)
                    c0 += m
            r0 += rows * C
        return
    pos = start
    while pos < end:
        m = min(<Py_ssize_t>(BIAS_TILE if b != NULL or w != NULL else RUN_TILE), end - pos,
                inner - pos % inner)
        c = (pos // inner) % C
        if c != filled:  # the run's bias and slope, as a pattern
            filled = c
            if b != NULL:
                _pattern(pb, b, c * inner, min(inner, <Py_ssize_t>BIAS_TILE), C, inner)
                tb = pb
            if w != NULL:
                _pattern(pw, w, c * inner, min(inner, <Py_ssize_t>BIAS_TILE), C, inner)
                tw = pw
        _bias_tile(op, g, x, tb, tw, out, out2, NULL, wacc, pos, m, C, inner, args)
        if bacc != NULL:
            _runs_to_channels(out + pos, bacc, pos, m, C, inner)
        pos += m


cdef void _bias_run(int op, const floating* g, const floating* x, const floating* b,
                    const floating* w, floating* out, floating* out2, double* bpart,
                    double* wpart, Py_ssize_t n, Py_ssize_t C, Py_ssize_t inner,
                    Py_ssize_t nb, const Args* args, int n_threads) noexcept nogil:
    # The blocks of _prelu_run (a function of the shape alone), made of whole
    # periods where a period fits a tile (see _bias_span); block j's sums go
    # to bpart + j*C and wpart + j*C.
    cdef Py_ssize_t unit = C * inner if C * inner <= BIAS_TILE else (C if inner == 1 else 1)
    cdef Py_ssize_t units = n // unit
    cdef Py_ssize_t j
    cdef Ticket ticket
    cdef int kind = op if w == NULL else (KIND_PRELU if g == NULL else KIND_PRELU_GRAD)
    cdef int team = begin(&ticket, _kind(kind, floating is double), n,
                          _team_size(n, nb, n_threads))
    if team == 1:
        for j in range(nb):
            _bias_span(op, g, x, b, w, out, out2,
                       (bpart + j * C) if bpart != NULL else NULL,
                       (wpart + j * C) if wpart != NULL else NULL,
                       (j * units // nb) * unit, ((j + 1) * units // nb) * unit, C, inner,
                       args)
    else:
        for j in prange(nb, schedule="dynamic", num_threads=team):
            _bias_span(op, g, x, b, w, out, out2,
                       (bpart + j * C) if bpart != NULL else NULL,
                       (wpart + j * C) if wpart != NULL else NULL,
                       (j * units // nb) * unit, ((j + 1) * units // nb) * unit, C, inner,
                       args)
    end(&ticket)


# --------------------------------------------------------------------------
# Maxout: x seen as a C-ordered (outer, M, inner) block, groups of k along M.
# Output row r (of R = outer * M/k) reads the k input rows starting at r*k,
# each `inner` long, so the input row of a group starts at x + r*k*inner.

# Contiguous groups (maxout over the last axis): a loop over groups whose
# inner loop has a compile-time trip count for k = 2, 3, 4. gcc then unrolls
# it and vectorizes across groups with interleaved loads; with k known only at
# run time the loop over groups stays scalar.

cdef inline void _maxout_groups(const floating* x, floating* y, Py_ssize_t* idx,
                                Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k,
                                bint with_idx) noexcept nogil:
    cdef Py_ssize_t r, t, bi
    cdef floating v, best
    cdef bint take
    for r in range(r0, r1):
        best = x[r * k]
        bi = 0
        for t in range(1, k):
            v = x[r * k + t]
            take = _beats(v, best)
            best = v if take else best
            bi = t if take else bi
        y[r] = best
        if with_idx:
            idx[r] = bi


cdef inline void _maxout_groups_k(const floating* x, floating* y, Py_ssize_t* idx,
                                  Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k,
                                  bint with_idx) noexcept nogil:
    if k == 2:
        _maxout_groups(x, y, idx, r0, r1, 2, with_idx)
    elif k == 3:
        _maxout_groups(x, y, idx, r0, r1, 3, with_idx)
    elif k == 4:
        _maxout_groups(x, y, idx, r0, r1, 4, with_idx)
    else:
        _maxout_groups(x, y, idx, r0, r1, k, with_idx)


cdef inline Py_ssize_t _maxout_vector(const floating* x, floating* y, Py_ssize_t* idx,
                                      Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k,
                                      bint stream) noexcept nogil:
    # Groups r0.. of k = 2 or 4 in explicit vectors: returns where they stopped.
    cdef Py_ssize_t* i = idx
    if idx != NULL:
        i = idx + r0
    if floating is float:
        if k == 2:
            return r0 + fastact_maxout2_f32(x + 2 * r0, y + r0, i, r1 - r0, stream)
        if k == 4:
            return r0 + fastact_maxout4_f32(x + 4 * r0, y + r0, i, r1 - r0, stream)
    else:
        if k == 2:
            return r0 + fastact_maxout2_f64(x + 2 * r0, y + r0, i, r1 - r0, stream)
        if k == 4:
            return r0 + fastact_maxout4_f64(x + 4 * r0, y + r0, i, r1 - r0, stream)
    return r0


cdef inline Py_ssize_t _maxout_grad_vector(const floating* g, const floating* x,
                                           const Py_ssize_t* idx, floating* out,
                                           Py_ssize_t r0, Py_ssize_t r1,
                                           Py_ssize_t k, bint stream) noexcept nogil:
    # The gradient of groups r0.. of k = 2 or 4 in explicit vectors, the
    # winners from x or (x NULL) idx: returns where they stopped.
    cdef const floating* xr = x
    cdef const Py_ssize_t* i = idx
    if x != NULL:
        xr = x + k * r0
    if idx != NULL:
        i = idx + r0
    if floating is float:
        if k == 2:
            return r0 + fastact_maxout2_grad_f32(g + r0, xr, i, out + 2 * r0, r1 - r0,
                                                       stream)
        if k == 4:
            return r0 + fastact_maxout4_grad_f32(g + r0, xr, i, out + 4 * r0, r1 - r0,
                                                       stream)
    else:
        if k == 2:
            return r0 + fastact_maxout2_grad_f64(g + r0, xr, i, out + 2 * r0, r1 - r0,
                                                       stream)
        if k == 4:
            return r0 + fastact_maxout4_grad_f64(g + r0, xr, i, out + 4 * r0, r1 - r0,
                                                       stream)
    return r0


cdef void _maxout_groups_any_k(const floating* x, floating* y, Py_ssize_t* idx,
                               Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k,
                               bint stream) noexcept nogil:
    r0 = _maxout_vector(x, y, idx, r0, r1, k, stream)
    # The tail: two inlined copies, so with_idx is a constant in each.
    if idx == NULL:
        _maxout_groups_k(x, y, idx, r0, r1, k, False)
    else:
        _maxout_groups_k(x, y, idx, r0, r1, k, True)


cdef void _maxout_grad_groups_any_k(const floating* g, const floating* x,
                                    const Py_ssize_t* idx, floating* out,
                                    Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k,
                                    bint stream) noexcept nogil:
    # Tiles of groups: the argmax of every group of the tile first (from idx,
    # or from x with the vectorized forward loop), then the tile is zeroed
    # and each group's gradient stored at its argmax. x is read before the
    # tile is written, so out may be x. (Zero-then-scatter ran 2-4x faster
    # than selecting k values per group: the int64 compares do not vectorize.)
    cdef floating best[ARGMAX_TILE]
    cdef Py_ssize_t arg_buf[ARGMAX_TILE]
    cdef const Py_ssize_t* arg
    cdef Py_ssize_t t0, t1, r
    t0 = _maxout_grad_vector(g, x, idx, out, r0, r1, k, stream)
    while t0 < r1:
        t1 = min(t0 + <Py_ssize_t>ARGMAX_TILE, r1)
        if idx != NULL:
            arg = idx + t0
        else:
            _maxout_groups_any_k(x + t0 * k, best, arg_buf, 0, t1 - t0, k, False)
            arg = arg_buf
        memset(out + t0 * k, 0, (t1 - t0) * k * sizeof(floating))
        for r in range(t0, t1):
            fastact_check(0 <= arg[r - t0] < k, "maxout argmax inside its group")
            out[r * k + arg[r - t0]] = g[r]
        t0 = t1


cdef void _maxout_span(const floating* x, floating* y, Py_ssize_t* idx,
                       Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k,
                       Py_ssize_t inner, Py_ssize_t i0, Py_ssize_t i1,
                       bint stream) noexcept nogil:
    cdef Py_ssize_t r, t, i, bi
    cdef floating v, best
    cdef bint take
    cdef const floating* xr
    cdef floating* yr
    cdef Py_ssize_t* ir
    if inner == 1:
        _maxout_groups_any_k(x, y, idx, r0, r1, k, stream)
        return
    for r in range(r0, r1):
        xr = x + r * k * inner
        yr = y + r * inner
        for i in range(i0, i1):
            yr[i] = xr[i]
        if idx == NULL:
            for t in range(1, k):
                xr = xr + inner
                for i in range(i0, i1):
                    v = xr[i]
                    yr[i] = v if _beats(v, yr[i]) else yr[i]
        else:
            ir = idx + r * inner
            for i in range(i0, i1):
                ir[i] = 0
            for t in range(1, k):
                xr = xr + inner
                for i in range(i0, i1):
                    v = xr[i]
                    take = _beats(v, yr[i])
                    yr[i] = v if take else yr[i]
                    ir[i] = t if take else ir[i]


cdef void _maxout_grad_span(const floating* g, const floating* x, const Py_ssize_t* idx,
                            floating* out, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t k,
                            Py_ssize_t inner, Py_ssize_t i0, Py_ssize_t i1,
                            bint stream) noexcept nogil:
    # The argmax of a group comes from idx, or from x when idx is NULL; it is
    # known for the whole group (tile) before the group is written, so out may
    # be x itself.
    cdef Py_ssize_t r, t, i, bi, j0, j1, m
    cdef floating gr, v, b0
    cdef bint take
    cdef const floating* xr
    cdef floating* outr
    cdef const floating* grow
    cdef floating best[ARGMAX_TILE]
    cdef Py_ssize_t arg[ARGMAX_TILE]
    if inner == 1:
        _maxout_grad_groups_any_k(g, x, idx, out, r0, r1, k, stream)
        return
    for r in range(r0, r1):
        grow = g + r * inner
        outr = out + r * k * inner
        if idx != NULL:
            for t in range(k):
                for i in range(i0, i1):
                    outr[t * inner + i] = grow[i] if idx[r * inner + i] == t else 0
            continue
        j0 = i0
        while j0 < i1:
            j1 = min(j0 + ARGMAX_TILE, i1)
            m = j1 - j0
            xr = x + r * k * inner + j0
            for i in range(m):
                best[i] = xr[i]
                arg[i] = 0
            for t in range(1, k):
                for i in range(m):
                    v = xr[t * inner + i]
                    take = _beats(v, best[i])
                    best[i] = v if take else best[i]
                    arg[i] = t if take else arg[i]
            for t in range(k):
                for i in range(m):
                    outr[t * inner + j0 + i] = grow[j0 + i] if arg[i] == t else 0
            j0 = j1


cdef inline void _tiles(Py_ssize_t R, Py_ssize_t k, Py_ssize_t inner,
                        Py_ssize_t* rows_per_tile, Py_ssize_t* inner_per_tile,
                        Py_ssize_t* ntiles) noexcept nogil:
    # A tile is a range of output rows times a range of `inner`, about CHUNK
    # input elements: whole rows when rows are short, slices of one row when
    # they are long (e.g. maxout over axis 0 of a tall array).
    if k * inner >= CHUNK:
        rows_per_tile[0] = 1
        inner_per_tile[0] = max(CHUNK // k, 1)
    else:
        rows_per_tile[0] = max(CHUNK // (k * inner), 1)
        inner_per_tile[0] = inner
    ntiles[0] = ((R + rows_per_tile[0] - 1) // rows_per_tile[0]) * \
                ((inner + inner_per_tile[0] - 1) // inner_per_tile[0])


cdef inline bint _outside(const Py_ssize_t* p, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    # Whether any of p[0:n] lies outside 0..k-1. One unsigned compare per
    # value (a negative one is a huge unsigned one); for k a power of two, an
    # OR of the values and one test of its high bits, which vectorizes on
    # every instruction set.
    cdef size_t acc = 0
    cdef size_t lim = <size_t>k
    cdef Py_ssize_t i
    if lim & (lim - 1) == 0:
        for i in range(n):
            acc = acc | <size_t>p[i]
        return (acc & ~(lim - 1)) != 0
    for i in range(n):
        acc = acc | (<size_t>p[i] >= lim)
    return acc != 0


cdef bint _indices_outside(const Py_ssize_t* p, Py_ssize_t n, Py_ssize_t k,
                           int team) noexcept nogil:
    # _outside over chunks on the team's threads: the read-only pass that lets
    # a backward pass from bad indices raise before it writes anything.
    cdef Py_ssize_t c, nc = (n + CHUNK - 1) // CHUNK
    cdef int bad = 0
    if team == 1 or nc < 2:
        return _outside(p, n, k)
    for c in prange(nc, schedule="static", num_threads=team):
        bad |= _outside(p + c * CHUNK, min(<Py_ssize_t>CHUNK, n - c * CHUNK), k)
    return bad != 0


cdef bint _maxout_run(const floating* g, const floating* x, const Py_ssize_t* idx_in,
                      floating* out, Py_ssize_t* idx_out, bint backward,
                      Py_ssize_t R, Py_ssize_t k, Py_ssize_t inner, int n_threads) noexcept nogil:
    # Forward (backward false): x -> out (R*inner values), idx_out optional.
    # Backward: g (R*inner) and x or idx_in -> out (R*k*inner values); with
    # idx_in, returns true, having written nothing, when a value of idx_in
    # lies outside 0..k-1.
    cdef Py_ssize_t rpt, ipt, ntiles, nic, tile, r0, i0
    cdef Ticket ticket
    cdef int team, kind
    cdef Py_ssize_t out_bytes = R * inner * (k if backward else 1) * sizeof(floating)
    cdef bint stream
    if R == 0 or inner == 0:
        return False
    if idx_out != NULL:
        out_bytes += R * inner * sizeof(Py_ssize_t)
    # out = x (a backward pass in place) rewrites lines it has just read:
    # those are in cache, and a streaming store would only evict them.
    stream = out_bytes >= STREAM_BYTES and <const void*>out != <const void*>x
    _tiles(R, k, inner, &rpt, &ipt, &ntiles)
    nic = (inner + ipt - 1) // ipt
    if backward:
        kind = KIND_MAXOUT_GRAD_IDX if idx_in != NULL else KIND_MAXOUT_GRAD
    else:
        kind = KIND_MAXOUT_IDX if idx_out != NULL else KIND_MAXOUT
    team = begin(&ticket, _kind(kind, floating is double), R * k * inner,
                 _team_size(R * k * inner, ntiles, n_threads))
    if idx_in != NULL and _indices_outside(idx_in, R * inner, k, team):
        end(&ticket)
        return True
    if team == 1:
        if backward:
            _maxout_grad_span(g, x, idx_in, out, 0, R, k, inner, 0, inner, stream)
        else:
            _maxout_span(x, out, idx_out, 0, R, k, inner, 0, inner, stream)
    else:
        for tile in prange(ntiles, schedule="dynamic", num_threads=team):
            r0 = (tile // nic) * rpt
            i0 = (tile % nic) * ipt
            fastact_check(r0 < R and i0 < inner, "maxout tile inside the grid")
            if backward:
                _maxout_grad_span(g, x, idx_in, out, r0, min(r0 + rpt, R), k, inner,
                                  i0, min(i0 + ipt, inner), stream)
            else:
                _maxout_span(x, out, idx_out, r0, min(r0 + rpt, R), k, inner,
                             i0, min(i0 + ipt, inner), stream)
    end(&ticket)
    return False


# --------------------------------------------------------------------------
# Entry points. Arguments were validated by fastact/_validate.py: arrays are
# C-contiguous, share one float dtype (float32 or float64), have the sizes
# stated, and `out` does not partially overlap an input.

cdef inline bint _is_f32(cnp.ndarray a):
    return cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32


cdef inline void* _ptr(cnp.ndarray a):
    return cnp.PyArray_DATA(a) if a is not None else NULL


def elementwise(int op, cnp.ndarray a, cnp.ndarray b, cnp.ndarray out, cnp.ndarray out2,
                double p0, double p1, uint64_t key, int n_threads):
    """out (and out2) = op(a[, b]) over a.size elements (see the OP_* codes);
    p0 and p1 are rounded to the data dtype."""
    _elementwise(op, a, b, out, out2, p0, p1, key, n_threads)


def call(int op, object a, object b, object out, double p0, double p1, object n_threads):
    """The common call in one step: when a, b and out pass
    fastact._runtime.plain() and n_threads is None or an int >= 1,
    out = op(a[, b]) (out allocated when None) is returned; otherwise None,
    with nothing done, and the Python layer plans the call."""
    cdef int nt = plain_threads(n_threads)
    if nt < 0 or not is_plain(a, b, out):
        return None
    if out is None:
        out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(<cnp.ndarray>a), cnp.PyArray_DIMS(<cnp.ndarray>a),
                                cnp.PyArray_TYPE(<cnp.ndarray>a), 0)
    _elementwise(op, a, b, out, None, p0, p1, 0, nt)
    return out


cdef int _elementwise(int op, cnp.ndarray a, cnp.ndarray b, cnp.ndarray out,
                      cnp.ndarray out2, double p0, double p1, uint64_t key,
                      int n_threads) except -1:
    if op < 0 or op >= N_OPS:
        raise ValueError(f"unknown element-wise op code {op}")
    cdef Py_ssize_t n = cnp.PyArray_SIZE(a)
    cdef void* pa = _ptr(a)
    cdef void* pb = _ptr(b)
    cdef void* po = _ptr(out)
    cdef void* po2 = _ptr(out2)
    cdef bint f32 = _is_f32(a)
    cdef Args args
    args.p0, args.p1, args.key = p0, p1, key
    if op in TWO_OUTPUTS and po2 == NULL:
        raise ValueError(f"element-wise op code {op} needs a second output")
    with nogil:
        n_threads = _share(n, n_threads)
        if f32:
            _ew_run[float](op, <float*>pa, <float*>pb, <float*>po, <float*>po2, n,
                           &args, n_threads)
        else:
            _ew_run[double](op, <double*>pa, <double*>pb, <double*>po, <double*>po2, n,
                            &args, n_threads)
        _unshare(n)
    return 0


def prelu(cnp.ndarray g, cnp.ndarray x, cnp.ndarray w, cnp.ndarray out,
          cnp.ndarray grad_w, Py_ssize_t C, Py_ssize_t inner, int n_threads):
    """PReLU over x seen as (x.size // (C*inner), C, inner), C-ordered.

    g None: forward, out = prelu(x). Else out = input gradient, and when
    grad_w (C values, float32 or float64) is given it receives the weight
    gradient, summed in float64 and rounded once at the end.
    """
    cdef Py_ssize_t n = cnp.PyArray_SIZE(x)
    cdef Py_ssize_t nb = _prelu_blocks(n, C, inner) if n else 1
    cdef Py_ssize_t b, c
    cdef double* partial = NULL
    cdef void* pg = _ptr(g)
    cdef void* px = _ptr(x)
    cdef void* pw = _ptr(w)
    cdef void* po = _ptr(out)
    cdef void* pgw = _ptr(grad_w)
    cdef bint f32 = _is_f32(x)
    cdef bint gw_f32 = grad_w is not None and _is_f32(grad_w)
    if grad_w is not None:
        partial = <double*>calloc(nb * C, sizeof(double))
        if partial == NULL:
            raise MemoryError()
    with nogil:
        n_threads = _share(n, n_threads)
        if n == 0:
            pass
        elif f32:
            _prelu_run[float](<float*>pg, <float*>px, <float*>pw, <float*>po,
                              partial, n, C, inner, nb, n_threads)
        else:
            _prelu_run[double](<double*>pg, <double*>px, <double*>pw, <double*>po,
                               partial, n, C, inner, nb, n_threads)
        _unshare(n)
        if partial != NULL:
            # Serial combine in block order: bitwise the same for any thread
            # count. Then one rounding to the data dtype (C casts raise no
            # floating-point warnings: a sum beyond float32 becomes inf).
            for b in range(1, nb):
                for c in range(C):
                    partial[c] += partial[b * C + c]
            for c in range(C):
                if gw_f32:
                    (<float*>pgw)[c] = <float>partial[c]
                else:
                    (<double*>pgw)[c] = partial[c]
            free(partial)


def biased(int op, cnp.ndarray g, cnp.ndarray x, cnp.ndarray b, cnp.ndarray w,
           cnp.ndarray out, cnp.ndarray out2, cnp.ndarray grad_b, cnp.ndarray grad_w,
           Py_ssize_t C, Py_ssize_t inner, double p0, double p1, uint64_t key,
           int n_threads):
    """An op with a per-channel bias and gradient sums, x seen as
    (x.size // (C*inner), C, inner), C-ordered; b and w hold C values or are
    None.

    g None: forward, out = op(x + b) (out2: RReLU's noise), or PReLU with
    slopes w when w is given (op unused). Else out = op(g, x + b), or PReLU's
    input gradient when w is given. grad_b and grad_w (C values each, float32
    or float64, or None) receive the per-channel sums of out and PReLU's
    weight gradient, summed in float64 and rounded once at the end.
    """
    _biased(op, g, x, b, w, out, out2, grad_b, grad_w, C, inner, p0, p1, key, n_threads)


def call_biased(int op, object a, object b, object out, object bias, object bias_axis,
                double p0, double p1, object n_threads, bint grad, object weight=None,
                object axis=None):
    """The common fused-bias call in one step, as call(): a, b and out pass
    fastact._runtime.plain(), n_threads is None or an int >= 1, bias is None
    or an exact aligned C-contiguous 1-D array of the data dtype with 1 or
    x.shape[bias_axis] values apart from out (x: a forward, b backward),
    bias_axis an int in range. Returns out (allocated when None), or with
    grad (out, grad_bias); None, with nothing done, for any other call.
    PReLU (weight given): weight as such an array with x.shape[axis] values,
    axis the bias axis, the bias of as many values or None; a backward
    returns (out, grad_weight[, grad_bias])."""
    cdef int nt = plain_threads(n_threads)
    if nt < 0 or not is_plain(a, b, out) or type(bias_axis) is not int:
        return None
    cdef cnp.ndarray x = <cnp.ndarray>(a if b is None else b)
    cdef int ndim = cnp.PyArray_NDIM(x)
    cdef int typenum = cnp.PyArray_TYPE(x)
    if ndim == 0 or not -ndim <= bias_axis < ndim:
        return None
    cdef int ax = bias_axis % ndim
    cdef Py_ssize_t C = cnp.PyArray_DIM(x, ax), inner = 1, size = C, d
    for d in range(ax + 1, ndim):
        inner *= cnp.PyArray_DIM(x, d)
    cdef cnp.ndarray bv = None
    if bias is not None:
        if not is_plain_float(bias, typenum) or cnp.PyArray_NDIM(<cnp.ndarray>bias) != 1:
            return None
        bv = <cnp.ndarray>bias
        size = cnp.PyArray_SIZE(bv)
        if size != C and size != 1:
            return None
        if out is not None and arrays_overlap(<cnp.ndarray>out, bv) != 0:
            return None
    cdef cnp.ndarray wv = None
    cdef cnp.ndarray grad_w = None
    if weight is not None:
        if type(axis) is not int or not -ndim <= axis < ndim or axis % ndim != ax:
            return None
        if not is_plain_float(weight, typenum) or cnp.PyArray_NDIM(<cnp.ndarray>weight) != 1:
            return None
        wv = <cnp.ndarray>weight
        if cnp.PyArray_SIZE(wv) != C or size != C:
            return None
        if out is not None and arrays_overlap(<cnp.ndarray>out, wv) != 0:
            return None
        if b is not None:
            grad_w = cnp.PyArray_EMPTY(1, <cnp.npy_intp*>&C, typenum, 0)
    elif size == 1 and C != 1:  # one shared value: a single channel
        C, inner = 1, max(cnp.PyArray_SIZE(x), 1)
    if out is None:
        out = cnp.PyArray_EMPTY(ndim, cnp.PyArray_DIMS(x), typenum, 0)
    cdef cnp.ndarray grad_b = None
    if grad:
        grad_b = cnp.PyArray_EMPTY(1, <cnp.npy_intp*>&size, typenum, 0)
    _biased(op, <cnp.ndarray>a if b is not None else None, x, bv, wv, <cnp.ndarray>out,
            None, grad_b, grad_w, C, inner, p0, p1, 0, nt)
    if grad_w is not None:
        return (out, grad_w, grad_b) if grad else (out, grad_w)
    return (out, grad_b) if grad else out


cdef int _biased(int op, cnp.ndarray g, cnp.ndarray x, cnp.ndarray b, cnp.ndarray w,
                 cnp.ndarray out, cnp.ndarray out2, cnp.ndarray grad_b, cnp.ndarray grad_w,
                 Py_ssize_t C, Py_ssize_t inner, double p0, double p1, uint64_t key,
                 int n_threads) except -1:
    if w is None and (op < 0 or op >= N_OPS):
        raise ValueError(f"unknown element-wise op code {op}")
    if w is None and op in TWO_OUTPUTS and out2 is None:
        raise ValueError(f"element-wise op code {op} needs a second output")
    cdef Py_ssize_t n = cnp.PyArray_SIZE(x)
    cdef Py_ssize_t nb = _prelu_blocks(n, C, inner) if n else 1
    cdef Py_ssize_t j, c
    cdef double* parts = NULL
    cdef double* bpart = NULL
    cdef double* wpart = NULL
    if grad_b is not None or grad_w is not None:
        # Fewer, larger blocks where the channels are many: each block's
        # sums are C doubles to allocate, zero and combine.
        nb = min(nb, max(SUM_DOUBLES // max(C, 1), <Py_ssize_t>16))
    cdef void* pg = _ptr(g)
    cdef void* px = _ptr(x)
    cdef void* pb = _ptr(b)
    cdef void* pw = _ptr(w)
    cdef void* po = _ptr(out)
    cdef void* po2 = _ptr(out2)
    cdef bint f32 = _is_f32(x)
    cdef Args args
    cdef int k, sums = (grad_b is not None) + (grad_w is not None)
    cdef cnp.ndarray dst
    args.p0, args.p1, args.key = p0, p1, key
    if sums:
        parts = <double*>calloc(max(sums * nb * C, <Py_ssize_t>1), sizeof(double))
        if parts == NULL:
            raise MemoryError()
        if grad_b is not None:
            bpart = parts
        if grad_w is not None:
            wpart = parts + (sums - 1) * nb * C
    with nogil:
        n_threads = _share(n, n_threads)
        if n == 0:
            pass
        elif f32:
            _bias_run[float](op, <float*>pg, <float*>px, <float*>pb, <float*>pw, <float*>po,
                             <float*>po2, bpart, wpart, n, C, inner, nb, &args, n_threads)
        else:
            _bias_run[double](op, <double*>pg, <double*>px, <double*>pb, <double*>pw,
                              <double*>po, <double*>po2, bpart, wpart, n, C, inner, nb,
                              &args, n_threads)
        _unshare(n)
    # Serial combine in block order (the same bits for any thread count),
    # then one rounding to the output's dtype.
    for k in range(sums):
        dst = grad_b if k == 0 and grad_b is not None else grad_w
        bpart = parts + k * nb * C
        for j in range(1, nb):
            for c in range(C):
                bpart[c] += bpart[j * C + c]
        for c in range(C):
            if _is_f32(dst):
                (<float*>cnp.PyArray_DATA(dst))[c] = <float>bpart[c]
            else:
                (<double*>cnp.PyArray_DATA(dst))[c] = bpart[c]
    free(parts)
    return 0


def rrelu_fortran(cnp.ndarray x, cnp.ndarray out, cnp.ndarray noise, double lower,
                  double upper, uint64_t key, int n_threads):
    """RReLU training over Fortran-ordered x, out and noise (noise may be
    None), with the slopes of the C-order positions of the logical array."""
    cdef int ndim = cnp.PyArray_NDIM(x)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(x)
    cdef Py_ssize_t* shape = <Py_ssize_t*>cnp.PyArray_DIMS(x)  # npy_intp is Py_ssize_t
    cdef void* px = _ptr(x)
    cdef void* po = _ptr(out)
    cdef void* pn = _ptr(noise)
    cdef bint f32 = _is_f32(x)
    if ndim < 1 or ndim > MAX_DIMS:
        raise ValueError(f"rrelu_fortran takes 1 to {MAX_DIMS} dimensions, got {ndim}")
    with nogil:
        n_threads = _share(n, n_threads)
        if f32:
            _rrelu_fortran_run[float](<float*>px, <float*>po, <float*>pn, shape, ndim, n,
                                      <float>lower, <float>upper, key, n_threads)
        else:
            _rrelu_fortran_run[double](<double*>px, <double*>po, <double*>pn, shape, ndim,
                                       n, lower, upper, key, n_threads)
        _unshare(n)


def maxout(cnp.ndarray x, cnp.ndarray y, cnp.ndarray idx, Py_ssize_t k,
           Py_ssize_t inner, int n_threads):
    """Forward maxout over x seen as (R*k, inner) rows, C-ordered, R = y.size // inner."""
    cdef Py_ssize_t R = cnp.PyArray_SIZE(y) // inner if inner > 0 else 0
    cdef void* px = _ptr(x)
    cdef void* py = _ptr(y)
    cdef Py_ssize_t* pi = <Py_ssize_t*>_ptr(idx)
    cdef bint f32 = _is_f32(x)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(x)
    with nogil:
        n_threads = _share(n, n_threads)
        if f32:
            _maxout_run[float](NULL, <float*>px, NULL, <float*>py, pi, False,
                               R, k, inner, n_threads)
        else:
            _maxout_run[double](NULL, <double*>px, NULL, <double*>py, pi, False,
                                R, k, inner, n_threads)
        _unshare(n)


def maxout_backward(cnp.ndarray g, cnp.ndarray x, cnp.ndarray idx, cnp.ndarray out,
                    Py_ssize_t k, Py_ssize_t inner, int n_threads):
    """Maxout gradient: g (R*inner) to out (R*k*inner), argmax from x or idx.
    Returns False, having written nothing, when a value of idx lies outside
    0..k-1; True when done."""
    cdef Py_ssize_t R = cnp.PyArray_SIZE(g) // inner if inner > 0 else 0
    cdef void* pg = _ptr(g)
    cdef void* px = _ptr(x)
    cdef const Py_ssize_t* pi = <Py_ssize_t*>_ptr(idx)
    cdef void* po = _ptr(out)
    cdef bint f32 = _is_f32(g)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(out)
    cdef bint bad
    with nogil:
        n_threads = _share(n, n_threads)
        if f32:
            bad = _maxout_run[float](<float*>pg, <float*>px, pi, <float*>po, NULL, True,
                                     R, k, inner, n_threads)
        else:
            bad = _maxout_run[double](<double*>pg, <double*>px, pi, <double*>po, NULL, True,
                                      R, k, inner, n_threads)
        _unshare(n)
    return not bad


# --------------------------------------------------------------------------
# What this module was compiled for, for show_config(); the facts every
# SIMD level shares are in fastact._runtime.build_info().

def build_info():
    return {
        "simd": FASTACT_SIMD.decode(),
        "flags": FASTACT_BUILD_FLAGS.decode(),
        "serial_threshold": SERIAL_THRESHOLD,
        "debug_checks": bool(FASTACT_DEBUG_ON),
        "chunk": CHUNK,
    }


# --------------------------------------------------------------------------
# The exp and expm1 cores of fastact/_math.h, for tests/accuracy.py.

def _math_core(str name, cnp.ndarray x, cnp.ndarray out):
    """out = core(x) over float64 arrays (C-contiguous, same size)."""
    cdef Py_ssize_t i, n = cnp.PyArray_SIZE(x)
    cdef const double* px = <double*>cnp.PyArray_DATA(x)
    cdef double* po = <double*>cnp.PyArray_DATA(out)
    if name == "expm1":
        with nogil:
            for i in range(n):
                po[i] = fastact_expm1(px[i], 1)
    elif name == "exp":
        with nogil:
            for i in range(n):
                po[i] = fastact_exp(px[i], 1)
    else:
        raise ValueError(f"unknown core {name!r}")
