"""asv: activations between matmuls, as in an MLP layer (see
``fastact/_pipeline.py`` and ``python -m fastact --pipeline``).

* ``Pipeline.time_iteration``: one layer step (``H = A @ W``, the activation;
  for ``train`` cases also the backward matmul and the activation's backward)
  with the NumPy idiom, fastact with default threads, or fastact on one
  thread. asv runs the steps back to back, as a training loop does.
* ``PipelineRatio.track_mean_over_numpy``: fastact's (default threads) mean
  step time over the NumPy idiom's, the variants interleaved in one process.

``FASTACT_ASV_SHAPES=256x512`` (comma-separated) narrows the shapes, e.g. for
CI's one quick pass.
"""
import os

import numpy as np

from fastact import _pipeline

SHAPES = os.environ.get("FASTACT_ASV_SHAPES", "256x512,1024x512,2048x1024").split(",")
CASES = [f"{mode} {op}" for mode in ("infer", "train") for op in _pipeline.OPS]


def _layer(case, dtype, shape):
    mode, op = case.split()
    batch, width = map(int, shape.split("x"))
    return _pipeline.make_layer(op, batch, width, np.dtype(dtype).type, mode == "train")


class Pipeline:
    params = (CASES, ["float32", "float64"], SHAPES, list(_pipeline.VARIANTS))
    param_names = ["case", "dtype", "shape", "variant"]
    timeout = 600

    def setup(self, case, dtype, shape, variant):
        self.iteration = _layer(case, dtype, shape)
        self.iteration(variant)

    def time_iteration(self, case, dtype, shape, variant):
        self.iteration(variant)


class PipelineRatio:
    params = (CASES, ["float32"], SHAPES)
    param_names = ["case", "dtype", "shape"]
    timeout = 600

    def track_mean_over_numpy(self, case, dtype, shape):
        mode, op = case.split()
        batch, width = map(int, shape.split("x"))
        res = _pipeline.layer_case(op, batch, width, np.dtype(dtype).type, mode == "train",
                                   rounds=6)
        return res["fastact"]["iter_mean_us"] / res["numpy"]["iter_mean_us"]

    track_mean_over_numpy.unit = "x (fastact / NumPy)"
