"""asv benchmarks: every op against its NumPy baseline in the same class.

The full suite (threads, float64, prelu layouts, peakmem, track_ speed-ups)
is the subject of the performance issue; this module times the cases of
``python -m fastact`` through the same functions.
"""
import numpy as np

from fastact import _bench


class ElementwiseAndMaxout:
    params = (["relu", "leaky_relu", "relu_backward", "leaky_relu_backward", "prelu",
               "prelu_backward", "maxout k=2", "maxout+indices k=2", "maxout_backward k=2",
               "maxout k=4", "maxout+indices k=4", "maxout_backward k=4"],
              [1_000, 100_000, 10_000_000],
              ["fastact", "numpy"])
    param_names = ["op", "n", "impl"]

    def setup(self, op, n, impl):
        ours, theirs = _bench._cases(n, np.float32, None)[op]
        self.func = ours if impl == "fastact" else theirs

    def time_op(self, op, n, impl):
        self.func()
