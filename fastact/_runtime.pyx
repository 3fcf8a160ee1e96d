# The runtime, compiled once: the thread policy (for each call above the
# serial threshold, run serially or in parallel, chosen from times measured
# in this process), the count of calls in flight, and the build, CPU and
# array facts the Python layer needs.
#
# The thread policy: for each call above the serial threshold, run serially
# or in parallel, chosen from times measured in this process.
#
# Why measured, not assumed (docs/threads.md has the numbers): on a 2-core
# machine a parallel region is only faster than the calling thread alone when
# the other core is free *and* awake. Right after a BLAS call (NumPy's
# OpenBLAS threads spin for a while after each GEMM), after an idle pause (a
# sleeping vCPU takes milliseconds to wake on a VM), or next to a busy
# process, the region waits for its second thread up to a scheduler slice:
# 5-10 ms for a call that takes 0.1 ms alone.
#
# The rule, per cell (op kind, dtype, size bucket, gap class):
#   * serial cost per element: the lower envelope of serial calls (a new
#     minimum is taken at once, a rise by a running average), per op kind,
#     dtype and size bucket (it does not depend on the gap);
#   * parallel cost per element: measured by running parallel, per cell, since
#     it depends on how long the team has been idle (the gap since the last
#     parallel region ended: <0.5 ms, <5 ms, <50 ms, longer);
#   * parallel runs while it is measured (running average of undisturbed
#     runs) at least 10% faster than serial; every 64th such call runs
#     serially to keep the serial cost current;
#   * a streak of parallel runs banks the time it saved (up to 32 serial
#     calls' worth): a one-off stall is paid from the bank and the streak
#     goes on; when the bank runs dry (stalls that keep coming, or a probe
#     slower than serial) that is a loss;
#   * after a loss calls run serially, and a parallel "probe" is allowed once
#     the serial time run at this op and size since then reaches RATIO = 20
#     times the stake: what the loss cost, doubled for each consecutive loss
#     (up to 64x). Probes therefore cost at most 1/RATIO = 5% of the serial
#     time; a stall of a scheduler slice after a 0.1-1 ms call is followed by
#     hundreds of serial calls, so stalls stay out of the 99th percentile;
#     probes become rarer the more often they lose, and a cell recovers
#     within a bounded time when the machine becomes free;
#   * a win after an idle gap also lets the shorter gap classes probe at
#     once (a team that pays after a long sleep pays when it is awake), and a
#     loss after a gap holds the longer gap classes back as long (a team that
#     loses when barely idle loses after a longer sleep); a stall (waiting
#     for a core another thread holds) holds every op and gap class of that
#     size back as long, unless parallel is paying there;
#   * a call that comes back to back with the previous one (< 0.5 ms) is
#     judged as if the team were awake, whatever its idle time: if it goes
#     parallel, the calls after it find the team awake, so that streak pays
#     for waking it (its bank covers it, or a probe may spend up to 4 serial
#     calls' time on it, which the streak's first awake runs must earn back);
#   * the process's first parallel region (which creates the team) is not
#     judged;
#   * a first call in a new size bucket runs serially (two serial samples are
#     needed before a probe), so the first call of a process never waits for
#     the OpenMP team to be created and woken.
#
# The state is process-wide and updated without locks: concurrent callers may
# race on a cell, which can only change a decision, never a result (results
# are bitwise identical for any thread count).

from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.stdlib cimport calloc, free

cimport numpy as cnp

cnp.import_array()

cdef extern from "_support.h":
    ctypedef int fastact_counter
    int fastact_atomic_add(fastact_counter* p, int d) noexcept nogil
    int fastact_cpu_avx2()
    int fastact_cpu_avx512()
    int omp_get_max_threads() noexcept nogil
    int FASTACT_OPENMP_VERSION
    const char* FASTACT_COMPILER

cdef extern from *:
    """
    /* A monotonic clock in seconds. */
    #if defined(_WIN32)
    #include <windows.h>
    static double fastact_now(void) {
        LARGE_INTEGER f, c;
        QueryPerformanceFrequency(&f);
        QueryPerformanceCounter(&c);
        return (double)c.QuadPart / (double)f.QuadPart;
    }
    #else
    #include <time.h>
    static double fastact_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    }
    #endif
    """
    double fastact_now() noexcept nogil


cdef enum:
    N_KINDS = 128       # op code * 2 + (1 for float64)
    N_SIZES = 40        # size bucket: bit length of n - 16 (n > 32768)
    N_GAPS = 4
    MIN_SERIAL = 2      # serial samples before the first probe
    REFRESH = 64        # every REFRESH-th winning call runs serially
    BANK_CALLS = 32     # a streak banks at most this many serial calls' time
    LOAN_CALLS = 4      # what a streak's first (waking) probe may spend, in serial calls
    MAX_DOUBLINGS = 6

cdef double ALPHA = 0.25         # weight of a new sample in the running averages
cdef double WIN = 0.9            # parallel must take < WIN * serial time to be used
cdef double RATIO = 20.0         # serial seconds per stake second before a probe
cdef double STAKE_MIN = 20e-6    # seconds: a probe that lost less still waits this
# A stall: a parallel run longer than STALL_FACTOR * serial + STALL_ABS.
cdef double STALL_FACTOR = 3.0
cdef double STALL_ABS = 100e-6
cdef double GAP_EDGES[N_GAPS - 1]   # seconds since the last parallel region ended
GAP_EDGES[0], GAP_EDGES[1], GAP_EDGES[2] = 0.5e-3, 5e-3, 50e-3

cdef enum:
    ADAPTIVE = 0
    EAGER = 1
MODES = {"adaptive": ADAPTIVE, "eager": EAGER}


cdef struct Cell:
    double par          # parallel seconds per element, 0: not measured
    double credit       # serial seconds run at this op and size since the cell's last probe
    double stake        # seconds the last loss cost (doubled per consecutive loss)
    int fails           # consecutive losses
    double bank         # seconds the current parallel streak saved (see _record)
    double bank0        # the bank a probe started with (a loss costs bank0 - bank)
    int trial           # 1: a streak's waking probe passed; its next probe keeps the bank
    int wins            # winning parallel calls, for the serial refresh


cdef struct Serial:
    double per          # serial seconds per element (running average)
    int samples


cdef struct Policy:
    int mode
    double last_end     # when the last parallel region ended
    double last_call_end  # when the last timed call ended
    Py_ssize_t n_serial, n_parallel, n_probes, n_losses
    Serial serial[N_KINDS][N_SIZES]
    Cell cells[N_KINDS][N_SIZES][N_GAPS]


cdef Policy _policy     # the process's policy (static storage: zeroed)


cdef inline int _size_bucket(Py_ssize_t n) noexcept nogil:
    cdef int bits = 0
    while n > 0 and bits < 64:
        n >>= 1
        bits += 1
    return min(max(bits - 16, 0), N_SIZES - 1)


cdef inline int _gap_class(double gap) noexcept nogil:
    cdef int g = 0
    while g < N_GAPS - 1 and gap >= GAP_EDGES[g]:
        g += 1
    return g


cdef int _decide(Policy* p, Ticket* t, int kind, Py_ssize_t n, int max_team,
                 double now) noexcept nogil:
    t.kind = min(max(kind, 0), N_KINDS - 1)
    t.size = _size_bucket(n)
    t.gap = _gap_class(now - p.last_end)
    t.entry = 0
    if t.gap > 0 and now - p.last_call_end < GAP_EDGES[0]:
        # Back to back with the previous call: if this one goes parallel,
        # the ones after it find the team awake, and that streak pays for
        # waking it. Judge it with the awake team's record.
        t.gap = 0
        t.entry = 1
    t.n = n
    t.probe = 0
    t.team = 1
    if max_team < 2:
        t.kind = -1            # nothing to decide, nothing to time
        return 1
    if p.mode == EAGER:
        t.team = max_team
        return max_team
    cdef Serial* s = &p.serial[t.kind][t.size]
    cdef Cell* c = &p.cells[t.kind][t.size][t.gap]
    if s.samples < MIN_SERIAL:
        return 1
    if c.par > 0 and c.par < WIN * s.per:
        c.wins += 1
        if c.wins % REFRESH == 0:
            return 1
        t.team = max_team
        return max_team
    if c.credit >= RATIO * c.stake:
        t.probe = 1
        t.team = max_team
        return max_team
    return 1


cdef void _record(Policy* p, Ticket* t, double now) noexcept nogil:
    if t.kind < 0 or t.n <= 0 or p.mode == EAGER:
        if t.team > 1:
            p.last_end = now
        return
    cdef double elapsed = now - t.start
    cdef double per = elapsed / t.n
    p.last_call_end = now
    cdef Serial* s = &p.serial[t.kind][t.size]
    cdef Cell* c = &p.cells[t.kind][t.size][t.gap]
    cdef double serial_time
    cdef int g, k
    cdef Cell* other
    cdef bint stall
    if t.team == 1:
        p.n_serial += 1
        # Fast down, slow up: serial time has upward outliers only (page
        # faults, interrupts, a neighbour), so this tracks the undisturbed
        # serial time, and parallel must beat that.
        s.per = per if (s.samples == 0 or per < s.per) else (1 - ALPHA) * s.per + ALPHA * per
        s.samples += 1
        # Serial time counts towards a probe in every gap class: the class
        # of the next call depends on when a parallel region last ran, so a
        # class must not wait for visits to earn its probe.
        for g in range(N_GAPS):
            p.cells[t.kind][t.size][g].credit += elapsed
        return
    p.n_parallel += 1
    p.n_probes += t.probe
    p.last_end = now
    if p.n_parallel == 1:
        # The process's first region creates the OpenMP team: a one-off
        # cost, not a measure of what parallel runs cost here.
        return
    serial_time = s.per * t.n
    # The bank: time a streak of parallel runs has saved over serial, capped
    # at BANK_CALLS serial calls. A one-off stall (a hypervisor hiccup) is
    # paid from it and the streak goes on; stalls that keep coming (a core
    # held by BLAS, a busy neighbour) empty it, and that is a loss. A probe
    # starts with an empty bank: it must win on its own.
    if t.probe and not c.trial:
        # A probe must win on its own, but one that starts a streak (back
        # to back) may spend LOAN_CALLS serial calls' time on waking the
        # team: the streak's first awake run then carries on with what is
        # left of the loan, so the streak as a whole pays for the wake-up.
        c.bank = LOAN_CALLS * serial_time if t.entry else 0
        c.bank0 = c.bank
    c.trial = 0
    c.bank = min(c.bank + serial_time - elapsed, BANK_CALLS * serial_time)
    if t.entry and t.probe and c.bank >= 0:
        # It woke the team within the loan: the next, awake, run judges.
        c.par = 0
        c.stake = 0
        c.trial = 1
        return
    stall = elapsed > STALL_FACTOR * serial_time + STALL_ABS
    if not (stall or t.entry):  # the running average: undisturbed, awake runs
        c.par = per if (t.probe or c.par == 0) else (1 - ALPHA) * c.par + ALPHA * per
    if c.bank < 0:
        # Lost time: back off, for longer after each consecutive loss.
        p.n_losses += 1
        c.fails += 1
        c.stake = max(c.bank0 - c.bank, STAKE_MIN) * (1 << min(c.fails - 1, MAX_DOUBLINGS))
        c.credit = 0
        c.bank = c.bank0 = 0
        c.par = per
        # A team that loses after a short idle gap loses after a longer one
        # (it has more waking to do): longer gaps wait at least as long.
        # A stall is the team waiting for a core that another thread holds,
        # whatever the op and the idle gap: then every op and gap of this
        # size waits as long (unless parallel pays there), instead of each
        # paying for its own first stall.
        for k in range(0 if stall else t.kind, N_KINDS if stall else t.kind + 1):
            for g in range(0 if stall else t.gap + 1, N_GAPS):
                other = &p.cells[k][t.size][g]
                if other == c:
                    continue
                if other.stake < c.stake and not (
                        other.par > 0 and other.par < WIN * p.serial[k][t.size].per):
                    other.stake = c.stake
                    other.fails = max(other.fails, c.fails)
                    other.credit = 0
    elif c.par * t.n >= WIN * serial_time:
        # No gain worth having: serial, and look again later, backing off as
        # after a loss (what a probe spends beyond the gain it needs).
        c.fails += 1
        c.stake = max(c.bank0 - c.bank, elapsed - WIN * serial_time, STAKE_MIN) * \
            (1 << min(c.fails - 1, MAX_DOUBLINGS))
        c.credit = 0
        c.bank = c.bank0 = 0
    else:
        c.fails = 0
        c.stake = 0
        c.credit = 0
        c.bank0 = 0     # from here on the streak's savings are its own
        # A team that pays after a longer idle gap pays after a shorter one
        # (it has less waking to do): shorter gaps may probe again at once.
        for g in range(t.gap):
            p.cells[t.kind][t.size][g].stake = 0


cdef int begin(Ticket* t, int kind, Py_ssize_t n, int max_team) noexcept nogil:
    if max_team < 2:
        t.kind = -1
        t.team = 1
        return 1
    cdef double now = fastact_now()
    cdef int team = _decide(&_policy, t, kind, n, max_team, now)
    t.start = fastact_now() if t.kind >= 0 else now
    return team


cdef void end(Ticket* t) noexcept nogil:
    if t.kind < 0:
        return
    _record(&_policy, t, fastact_now())


# --------------------------------------------------------------------------
# Python side: the mode, statistics, and a model for tests.

def set_mode(name):
    """Set the policy: "adaptive" (measured serial/parallel choice, the
    default) or "eager" (parallel whenever a call is above the serial
    threshold and may use two threads or more). Returns the previous mode."""
    if name not in MODES:
        raise ValueError(f"thread policy must be one of {', '.join(MODES)}, got {name!r}")
    old = mode()
    _policy.mode = MODES[name]
    return old


def mode():
    """The current policy's name."""
    return "eager" if _policy.mode == EAGER else "adaptive"


def stats():
    """Calls timed by the policy since import: serial and parallel
    runs, parallel probes, and the parallel runs that were slower than serial."""
    return {"mode": mode(), "serial": _policy.n_serial, "parallel": _policy.n_parallel,
            "probes": _policy.n_probes, "losses": _policy.n_losses,
            "calls_shared": _calls_shared}


def parameters():
    """The policy's constants, for show_config() and the docs."""
    return {"win": WIN, "ratio": RATIO, "stake_min_s": STAKE_MIN, "refresh": REFRESH,
            "bank_calls": BANK_CALLS, "loan_calls": LOAN_CALLS, "stall_factor": STALL_FACTOR, "stall_abs_s": STALL_ABS,
            "min_serial": MIN_SERIAL, "max_doublings": MAX_DOUBLINGS,
            "gap_edges_s": [GAP_EDGES[i] for i in range(N_GAPS - 1)]}


cdef class Model:
    """The policy on its own state and a caller's clock, for tests: feed it
    calls with the times they would take serially and in parallel, and it
    answers what it ran, as the real policy would."""
    cdef Policy* p

    def __cinit__(self):
        self.p = <Policy*>calloc(1, sizeof(Policy))
        if self.p == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.p)

    def call(self, int kind, Py_ssize_t n, int max_team, double start,
             double serial_s, double parallel_s):
        """One call starting at ``start`` (seconds): returns ``(team, probe,
        elapsed)``, where elapsed is serial_s or parallel_s as it chose."""
        cdef Ticket t
        cdef int team = _decide(self.p, &t, kind, n, max_team, start)
        cdef double elapsed = serial_s if team == 1 else parallel_s
        t.start = start
        _record(self.p, &t, start + elapsed)
        return team, bool(t.probe), elapsed

    def stats(self):
        return {"serial": self.p.n_serial, "parallel": self.p.n_parallel,
                "probes": self.p.n_probes, "losses": self.p.n_losses}


_env = __import__("os").environ.get("FASTACT_THREAD_POLICY", "").strip().lower()
if _env:
    set_mode(_env)


# --------------------------------------------------------------------------
# Calls in flight: k calls above the serial threshold running at once (from
# a pool of Python threads, say) get max(1, n_threads // k) threads each, so
# Python threads do not multiply OpenMP teams into oversubscription.

cdef fastact_counter _in_flight = 0   # calls above the serial threshold running now
cdef Py_ssize_t _calls_shared = 0     # calls whose thread count was shared down


cdef int share(int n_threads) noexcept nogil:
    global _calls_shared
    cdef int k = fastact_atomic_add(&_in_flight, 1)
    if k > 1 and n_threads > 1:
        _calls_shared += 1
        return max(1, n_threads // k)
    return n_threads


cdef void unshare() noexcept nogil:
    fastact_atomic_add(&_in_flight, -1)


# --------------------------------------------------------------------------
# Build, CPU and array facts for the Python layer, compiled once. The array
# facts run at C speed: the per-call cost at n = 1 is about what
# np.maximum(x, 0, out=x) costs, and ndarray.flags or np.may_share_memory
# alone cost 40-200 ns each.

def cpu_levels():
    """The SIMD levels this CPU supports beyond the baseline."""
    return {"avx2": bool(fastact_cpu_avx2()), "avx512": bool(fastact_cpu_avx512())}


def max_threads():
    """omp_get_max_threads() of the calling thread (1 without OpenMP)."""
    return omp_get_max_threads()


# The thread count of the common call, resolved in C: what
# fastact._validate.effective_n_threads() gives for None and for an int >= 1
# (that function is the full rule, and raises for the rest).
cdef int _cpu_count = 1
cdef bint _forked = False


def set_thread_facts(int cpu_count, bint forked):
    """What fastact._validate knows: os.cpu_count() (read once, at import)
    and whether this process is a child created by fork()."""
    global _cpu_count, _forked
    _cpu_count = max(cpu_count, 1)
    _forked = forked


cdef int plain_threads(object n_threads) except? -2:
    cdef int cap
    if n_threads is None:
        cap = omp_get_max_threads()
    elif type(n_threads) is int and n_threads > 0:
        cap = max(omp_get_max_threads(), _cpu_count)
        if n_threads < cap:
            cap = n_threads
    else:
        return -1
    return 1 if _forked else cap


def build_info():
    """The facts every kernel module shares (its SIMD level and flags are
    in its own build_info())."""
    return {"openmp_version": FASTACT_OPENMP_VERSION,
            "compiler": FASTACT_COMPILER.decode()}


LAYOUT_C = 1          # aligned and C-contiguous
LAYOUT_F = 2          # aligned and Fortran-contiguous
LAYOUT_WRITEABLE = 4


def layout(cnp.ndarray a):
    """LAYOUT_* bits of a."""
    cdef int f = cnp.PyArray_FLAGS(a)
    cdef int bits = 0
    if f & cnp.NPY_ARRAY_ALIGNED:
        if f & cnp.NPY_ARRAY_C_CONTIGUOUS:
            bits |= LAYOUT_C
        if f & cnp.NPY_ARRAY_F_CONTIGUOUS:
            bits |= LAYOUT_F
    if f & cnp.NPY_ARRAY_WRITEABLE:
        bits |= LAYOUT_WRITEABLE
    return bits


cdef void _extent(cnp.ndarray a, char** lo, char** hi):
    # The bytes [lo, hi) that a's elements can touch.
    cdef char* base = <char*>cnp.PyArray_DATA(a)
    cdef Py_ssize_t d, step, lo_off = 0, hi_off = cnp.PyArray_ITEMSIZE(a)
    for d in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIM(a, d) == 0:
            lo[0] = hi[0] = base
            return
        step = cnp.PyArray_STRIDE(a, d) * (cnp.PyArray_DIM(a, d) - 1)
        if step < 0:
            lo_off += step
        else:
            hi_off += step
    lo[0] = base + lo_off
    hi[0] = base + hi_off


cdef bint _plain_float(object a, int typenum):
    # An exact ndarray of the given float type (any, when typenum is -1),
    # native byte order, aligned and C-contiguous.
    cdef cnp.ndarray arr
    if not cnp.PyArray_CheckExact(a):
        return False
    arr = <cnp.ndarray>a
    cdef int t = cnp.PyArray_TYPE(arr)
    if t != cnp.NPY_FLOAT32 and t != cnp.NPY_FLOAT64:
        return False
    if typenum != -1 and t != typenum:
        return False
    if not cnp.PyArray_ISNOTSWAPPED(arr):
        return False
    return (cnp.PyArray_FLAGS(arr) & (cnp.NPY_ARRAY_ALIGNED | cnp.NPY_ARRAY_C_CONTIGUOUS)) \
        == (cnp.NPY_ARRAY_ALIGNED | cnp.NPY_ARRAY_C_CONTIGUOUS)


cdef bint _same_shape(cnp.ndarray a, cnp.ndarray b):
    cdef int d
    if cnp.PyArray_NDIM(a) != cnp.PyArray_NDIM(b):
        return False
    for d in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIM(a, d) != cnp.PyArray_DIM(b, d):
            return False
    return True


def plain(object a, object b, object out):
    """True when the kernels can take a, b and out as they are, with nothing
    to check or copy: exact ndarrays of one float dtype and one shape,
    aligned and C-contiguous, `out` writeable and either one of the inputs
    (the in-place call) or apart from both. b and out may be None. The
    common call then skips the Python planning (the n = 1 cost)."""
    return is_plain(a, b, out)


cdef bint is_plain(object a, object b, object out):
    if not _plain_float(a, -1):
        return False
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if b is not None and not (_plain_float(b, t) and _same_shape(a, b)):
        return False
    if out is None:
        return True
    if not (_plain_float(out, t) and _same_shape(a, out)
            and cnp.PyArray_FLAGS(<cnp.ndarray>out) & cnp.NPY_ARRAY_WRITEABLE):
        return False
    if out is not a and _overlap(out, a) == 2:
        return False
    return b is None or out is b or _overlap(out, b) != 2


def overlap(cnp.ndarray a, cnp.ndarray b):
    """0: a and b cannot share memory; 1: they are the same elements (same
    start, shape and strides); 2: they may overlap otherwise (bounds test,
    like np.may_share_memory)."""
    return _overlap(a, b)


cdef int arrays_overlap(cnp.ndarray a, cnp.ndarray b):
    return _overlap(a, b)


cdef bint is_plain_float(object a, int typenum):
    return _plain_float(a, typenum)


cdef int _overlap(cnp.ndarray a, cnp.ndarray b):
    cdef char *alo
    cdef char *ahi
    cdef char *blo
    cdef char *bhi
    cdef int d
    _extent(a, &alo, &ahi)
    _extent(b, &blo, &bhi)
    if alo >= bhi or blo >= ahi:
        return 0
    if (cnp.PyArray_DATA(a) == cnp.PyArray_DATA(b)
            and cnp.PyArray_NDIM(a) == cnp.PyArray_NDIM(b)
            and cnp.PyArray_ITEMSIZE(a) == cnp.PyArray_ITEMSIZE(b)):
        for d in range(cnp.PyArray_NDIM(a)):
            if (cnp.PyArray_DIM(a, d) != cnp.PyArray_DIM(b, d)
                    or cnp.PyArray_STRIDE(a, d) != cnp.PyArray_STRIDE(b, d)):
                return 2
        return 1
    return 2


# --------------------------------------------------------------------------
# Maxout's common calls, planned in C: an exact, aligned, C-contiguous float
# array, an int k and axis that fit it, and outputs (if any) that are exact
# ndarrays of the right dtype and shape, C-contiguous, writeable and apart
# from the inputs. Anything else returns None and the caller's general path
# (which raises every error of the contract) takes the call. At n <= ~4096
# the Python checks cost several times the kernel; these cost ~0.1 us.

cdef bint _plain_array(object a, int typenum):
    # An exact, aligned, C-contiguous, native ndarray of typenum.
    cdef cnp.ndarray arr
    if not cnp.PyArray_CheckExact(a):
        return False
    arr = <cnp.ndarray>a
    return (cnp.PyArray_TYPE(arr) == typenum and cnp.PyArray_ISNOTSWAPPED(arr)
            and (cnp.PyArray_FLAGS(arr) & (cnp.NPY_ARRAY_ALIGNED | cnp.NPY_ARRAY_C_CONTIGUOUS))
            == (cnp.NPY_ARRAY_ALIGNED | cnp.NPY_ARRAY_C_CONTIGUOUS))


cdef bint _writeable_apart(object out, cnp.ndarray a, object b):
    # out is writeable and shares no memory with a, nor with b unless None.
    cdef cnp.ndarray o = <cnp.ndarray>out
    if not cnp.PyArray_FLAGS(o) & cnp.NPY_ARRAY_WRITEABLE or _overlap(o, a) != 0:
        return False
    return b is None or _overlap(o, <cnp.ndarray>b) == 0


cdef bint _grouped_shape(cnp.ndarray small, cnp.ndarray big, int ax, Py_ssize_t k):
    # small has big's shape with big.shape[ax] // k at ax.
    cdef int d
    if cnp.PyArray_NDIM(small) != cnp.PyArray_NDIM(big):
        return False
    for d in range(cnp.PyArray_NDIM(big)):
        if cnp.PyArray_DIM(small, d) * (k if d == ax else 1) != cnp.PyArray_DIM(big, d):
            return False
    return True


cdef int _grouped_axis(cnp.ndarray big, object k, object axis):
    # The normalized axis when k (an int >= 1) and axis (an int in range)
    # group big's non-empty axis exactly; -1 otherwise.
    cdef int ndim = cnp.PyArray_NDIM(big)
    cdef Py_ssize_t ax
    if type(k) is not int or type(axis) is not int or ndim == 0 or cnp.PyArray_SIZE(big) == 0:
        return -1
    if not -ndim <= axis < ndim:  # compared as Python ints: no overflow
        return -1
    ax = axis
    if ax < 0:
        ax += ndim
    if not 1 <= k <= cnp.PyArray_DIM(big, ax) or cnp.PyArray_DIM(big, ax) % <Py_ssize_t>k:
        return -1
    return <int>ax


cdef Py_ssize_t _inner(cnp.ndarray a, int ax):
    cdef Py_ssize_t inner = 1
    cdef int d
    for d in range(ax + 1, cnp.PyArray_NDIM(a)):
        inner *= cnp.PyArray_DIM(a, d)
    return inner


def maxout_plan(object x, object k, object axis, object y_out, object i_out,
                bint with_indices):
    """(y, indices or None, inner) for a common maxout call, the outputs
    given or allocated here; None when the general path must take it."""
    if not _plain_float(x, -1):
        return None
    cdef cnp.ndarray xa = <cnp.ndarray>x
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef int ax = _grouped_axis(xa, k, axis)
    if ax < 0:
        return None
    cdef cnp.npy_intp dims[64]   # NumPy 2's NPY_MAXDIMS
    cdef int d
    for d in range(cnp.PyArray_NDIM(xa)):
        dims[d] = cnp.PyArray_DIM(xa, d)
    dims[ax] //= <Py_ssize_t>k
    if y_out is None:
        y_out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(xa), dims, t, 0)
    elif not (_plain_array(y_out, t) and _grouped_shape(<cnp.ndarray>y_out, xa, ax, k)
              and _writeable_apart(y_out, xa, None)):
        return None
    if not with_indices:
        if i_out is not None:
            return None
    elif i_out is None:
        i_out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(xa), dims, cnp.NPY_INTP, 0)
    elif not (_plain_array(i_out, cnp.NPY_INTP) and _grouped_shape(<cnp.ndarray>i_out, xa, ax, k)
              and _writeable_apart(i_out, xa, y_out)):
        return None
    return y_out, i_out, _inner(xa, ax)


def maxout_backward_plan(object g, object k, object x, object idx, object axis, object out):
    """(out, inner) for a common maxout_backward call (out given or
    allocated here; idx, when given, of np.intp, its values not yet
    checked); None when the general path must take it."""
    if not _plain_float(g, -1) or (x is None) == (idx is None):
        return None
    cdef cnp.ndarray ga = <cnp.ndarray>g
    cdef int t = cnp.PyArray_TYPE(ga)
    cdef cnp.npy_intp dims[64]   # NumPy 2's NPY_MAXDIMS
    cdef int d, ax
    cdef cnp.ndarray big
    if x is not None:
        if not _plain_array(x, t):
            return None
        big = <cnp.ndarray>x
        ax = _grouped_axis(big, k, axis)
        if ax < 0 or not _grouped_shape(ga, big, ax, k):
            return None
        for d in range(cnp.PyArray_NDIM(big)):
            dims[d] = cnp.PyArray_DIM(big, d)
    else:
        if not (_plain_array(idx, cnp.NPY_INTP) and _same_shape(<cnp.ndarray>idx, ga)):
            return None
        ax = _grouped_axis(ga, 1, axis)
        # k as a Python int first: no overflow, and the product fits.
        if ax < 0 or type(k) is not int or not 1 <= k <= PY_SSIZE_T_MAX // cnp.PyArray_SIZE(ga):
            return None
        for d in range(cnp.PyArray_NDIM(ga)):
            dims[d] = cnp.PyArray_DIM(ga, d)
        dims[ax] *= <Py_ssize_t>k
    if out is None:
        out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(ga), dims, t, 0)
    elif not (_plain_array(out, t) and cnp.PyArray_NDIM(<cnp.ndarray>out) == cnp.PyArray_NDIM(ga)
              and _writeable_apart(out, ga, idx)):
        return None
    else:
        for d in range(cnp.PyArray_NDIM(ga)):
            if cnp.PyArray_DIM(<cnp.ndarray>out, d) != dims[d]:
                return None
        # out may be x itself (the kernels read each block of x before
        # writing it), but no other view of x's memory.
        if x is not None and _overlap(<cnp.ndarray>out, <cnp.ndarray>x) == 2:
            return None
    return out, _inner(<cnp.ndarray>out, ax)


def prelu_plan(object g, object x, object w, object axis, object out, bint backward):
    """(out, grad_weight or None, C, inner) for a common prelu (backward
    false) or prelu_backward call: x (and g) exact C-contiguous arrays of
    two or more dimensions, a 1-D contiguous weight of x's dtype with 1 or
    x.shape[axis] elements, out given (x or g themselves, or apart from them
    and from the weight) or allocated here; None when the general path must
    take the call."""
    if not _plain_float(x, -1) or backward != (g is not None):
        return None
    cdef cnp.ndarray xa = <cnp.ndarray>x
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef int ndim = cnp.PyArray_NDIM(xa)
    cdef Py_ssize_t ax, C, inner, nw
    if ndim < 2 or cnp.PyArray_SIZE(xa) == 0 or type(axis) is not int:
        return None
    if not -ndim <= axis < ndim:  # compared as Python ints: no overflow
        return None
    ax = axis
    if ax < 0:
        ax += ndim
    if g is not None and not (_plain_float(g, t) and _same_shape(<cnp.ndarray>g, xa)):
        return None
    if not (_plain_array(w, t) and cnp.PyArray_NDIM(<cnp.ndarray>w) == 1):
        return None
    nw = cnp.PyArray_SIZE(<cnp.ndarray>w)
    if nw == 1:  # one shared slope: a single channel
        C, inner = 1, cnp.PyArray_SIZE(xa)
    elif nw == cnp.PyArray_DIM(xa, ax):
        C, inner = nw, _inner(xa, <int>ax)
    else:
        return None
    if out is None:
        out = cnp.PyArray_EMPTY(ndim, cnp.PyArray_DIMS(xa), t, 0)
    elif not (_plain_float(out, t) and _same_shape(<cnp.ndarray>out, xa)
              and cnp.PyArray_FLAGS(<cnp.ndarray>out) & cnp.NPY_ARRAY_WRITEABLE
              and _overlap(<cnp.ndarray>out, xa) != 2
              and (g is None or _overlap(<cnp.ndarray>out, <cnp.ndarray>g) != 2)
              and _overlap(<cnp.ndarray>out, <cnp.ndarray>w) == 0):
        return None
    grad_w = cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(<cnp.ndarray>w), t, 0) if backward else None
    return out, grad_w, C, inner
