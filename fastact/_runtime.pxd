cimport numpy as cnp

# The thread policy, compiled once (fastact/_runtime.pyx) and shared by the
# kernel modules of every SIMD level, so a process has one policy state.

cdef struct Ticket:
    # One call's decision, from begin() to end().
    int kind
    int size
    int gap
    int probe           # 1: this parallel run tests whether parallel pays
    int entry           # 1: back to back with the previous call (see _decide)
    int team            # threads granted (1: serial)
    Py_ssize_t n
    double start

# Threads for a call of n elements of op `kind` (op code * 2 + dtype bit)
# that may use up to max_team threads, and a ticket to pass to end() when
# the call is done. max_team < 2 returns 1 at once and times nothing.
cdef int begin(Ticket* t, int kind, Py_ssize_t n, int max_team) noexcept nogil
cdef void end(Ticket* t) noexcept nogil

# Calls above the serial threshold register while they run: share() returns
# the threads this call may use (n_threads divided among the calls in
# flight); pair it with unshare().
cdef int share(int n_threads) noexcept nogil
cdef void unshare() noexcept nogil

# The common element-wise call, for the kernels' one-step entry: whether
# a, b (or None) and out (or None) can be used as they are (see plain()), and
# the threads of n_threads when it is None or an int >= 1 (-1 otherwise:
# the Python layer resolves it and raises).
cdef bint is_plain(object a, object b, object out)
cdef int plain_threads(object n_threads) except? -2
# An exact ndarray of the float type typenum (any float type: -1), native
# byte order, aligned and C-contiguous; and whether two arrays may share
# memory (0: no, 1: the same elements, 2: otherwise).
cdef bint is_plain_float(object a, int typenum)
cdef int arrays_overlap(cnp.ndarray a, cnp.ndarray b)
