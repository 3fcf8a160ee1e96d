"""Build of fastact's Cython kernels.

Environment variables:

* ``FASTACT_FAIL_NO_OPENMP=1``: fail the build when the compiler has no OpenMP
  (CI sets it) instead of warning and building a serial module.
* ``FASTACT_NATIVE=1``: one module built with ``-march=native`` (opt-in; the
  default build is portable to any x86-64 or ARM machine).

On x86-64 the kernels are compiled three times from the same source: for the
baseline instruction set (``fastact._kernels``), for AVX2
(``fastact._kernels_avx2``) and for AVX-512 (``fastact._kernels_avx512``);
``fastact/_simd.py`` picks the best one the CPU supports at import.
* ``FASTACT_DEBUG_CYTHON=1``: a debug build for test runs: Cython's bounds,
  wraparound and initialization checks back on, and the kernels' own checks
  (every span inside its array, every tile inside the grid) compiled in
  (``FASTACT_DEBUG``: a failed check aborts with a message).
* ``FASTACT_OPENMP=0``: build without OpenMP even where the compiler has it
  (what a compiler without OpenMP gives: a serial module), to test that path.
"""
import os
import platform
import shlex
import sys
import tempfile
import textwrap
import warnings

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("FASTACT_DEBUG_CYTHON")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

_OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n > 0 ? 0 : 1;
    }
    """
)


# Extra targets compiled from fastact/_kernels.pyx: (gcc/clang flags, MSVC flags).
SIMD_TARGETS = {
    # -mfma: the float32-lane math calls fmaf (fastact/_math.h); every AVX2
    # CPU made has FMA3, and fastact._simd checks it at run time.
    "avx2": (["-mavx2", "-mfma"], ["/arch:AVX2"]),
    "avx512": (["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mfma",
                "-mprefer-vector-width=512"], ["/arch:AVX512"]),
}
X86 = platform.machine().lower() in {"x86_64", "amd64", "i386", "i686", "x86"}


def _simd_targets():
    if not X86 or _flag("FASTACT_NATIVE"):
        return {}
    return SIMD_TARGETS


class BuildExt(build_ext):
    """Adds OpenMP when the compiler has it, and optimisation flags."""

    def _openmp_flags(self):
        if self.compiler.compiler_type == "msvc":
            return ["/openmp"], []
        if sys.platform == "darwin":  # Apple clang: the driver needs libomp spelled out
            return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
        return ["-fopenmp"], ["-fopenmp"]

    def _has_openmp(self, cflags, ldflags):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(_OPENMP_PROBE)
            try:
                objs = self.compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                # LDFLAGS too: a sanitizer build's CFLAGS need its runtime.
                self.compiler.link_executable(
                    objs, os.path.join(tmp, "probe"),
                    extra_postargs=ldflags + shlex.split(os.environ.get("LDFLAGS", "")),
                )
            except Exception:
                return False
        return True

    def _compiles_with(self, flags):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write("int main(void) { return 0; }\n")
            try:
                self.compiler.compile([src], output_dir=tmp, extra_postargs=flags)
            except Exception:
                return False
        return True

    def build_extensions(self):
        msvc = self.compiler.compiler_type == "msvc"
        if DEBUG:
            for ext in self.extensions:
                ext.define_macros.append(("FASTACT_DEBUG", "1"))
        for name, (gnu, ms) in _simd_targets().items():
            ext = next(e for e in self.extensions if e.name == "fastact._kernels_" + name)
            flags = ms if msvc else gnu
            if not self._compiles_with(flags):
                warnings.warn(f"fastact: the compiler does not take {flags}; "
                              f"skipping the {name} kernels", stacklevel=1)
                self.extensions.remove(ext)
                continue
            ext.extra_compile_args = flags + ext.extra_compile_args
        cflags, ldflags = self._openmp_flags()
        if os.environ.get("FASTACT_OPENMP", "").strip() == "0":
            print("fastact: FASTACT_OPENMP=0: building without OpenMP (serial module)",
                  file=sys.stderr)
            cflags, ldflags = [], []
        elif not self._has_openmp(cflags, ldflags):
            msg = (
                "fastact: the C compiler has no OpenMP support; building a SERIAL "
                "module (every call runs on one thread). Install an OpenMP-capable "
                "compiler (gcc, or clang with libomp) for parallel kernels."
            )
            if _flag("FASTACT_FAIL_NO_OPENMP"):
                sys.exit("error: " + msg + " (FASTACT_FAIL_NO_OPENMP is set)")
            warnings.warn(msg, stacklevel=1)
            print("\n" + "!" * 78 + "\n" + msg + "\n" + "!" * 78 + "\n", file=sys.stderr)
            cflags, ldflags = [], []
        if self.compiler.compiler_type == "msvc":
            opt = ["/O2"]
        else:
            # -O3: gcc 12 vectorizes nothing at -O2. -fno-trapping-math lets
            # gcc compute both arms of a select such as `v if v > 0 else s * v`
            # and blend them (390 -> 26 us for leaky_relu on 1e5 float32);
            # results are unchanged, only FP exception flags are not kept.
            # Never -ffast-math/-Ofast: they drop NaN/inf semantics and link
            # code that switches on flush-to-zero.
            # -ffp-contract=off: no fused multiply-add in the AVX-512 build
            # either, so every SIMD level gives the same bits.
            opt = ["-O3", "-fno-trapping-math", "-ffp-contract=off"]
            if _flag("FASTACT_NATIVE"):
                opt.append("-march=native")
        for ext in self.extensions:
            ext.extra_compile_args = opt + cflags + ext.extra_compile_args
            ext.extra_link_args = ldflags + ext.extra_link_args
            all_flags = " ".join(opt + cflags + [a for a in ext.extra_compile_args
                                                 if a not in opt + cflags])
            ext.define_macros.append(("FASTACT_BUILD_FLAGS", '"%s"' % all_flags))
        super().build_extensions()


def _kernel_extension(name, source):
    return Extension(
        name,
        [source],
        include_dirs=[np.get_include(), "fastact"],
        depends=["fastact/_support.h", "fastact/_math.h", "fastact/_maxout.h",
                 "fastact/_runtime.pxd"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # fmaf: an instruction where the target has FMA, libm's otherwise
        libraries=[] if sys.platform == "win32" else ["m"],
    )


def _shim(target):
    """fastact/_kernels_<target>.pyx: the kernels' source under another module
    name (generated, not committed)."""
    path = f"fastact/_kernels_{target}.pyx"
    text = ("# Generated by setup.py: the kernels compiled for %s.\n"
            'include "_kernels.pyx"\n' % target)
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, "w") as f:
            f.write(text)
    return path


# fastact._runtime (the thread policy) is compiled once; the kernel modules of
# every SIMD level cimport it, so a process has one policy state.
extensions = [_kernel_extension("fastact._runtime", "fastact/_runtime.pyx"),
              _kernel_extension("fastact._kernels", "fastact/_kernels.pyx")]
extensions += [_kernel_extension("fastact._kernels_" + t, _shim(t)) for t in _simd_targets()]

# A change of build flavour (debug, serial, native) must rebuild everything:
# neither Cython nor build_ext notices a change of directives or macros.
FLAVOUR = repr((DEBUG, os.environ.get("FASTACT_OPENMP", ""), _flag("FASTACT_NATIVE"),
                os.environ.get("CFLAGS", "")))
_STAMP = os.path.join("build", "fastact-flavour.txt")
_REBUILD = not os.path.exists(_STAMP) or open(_STAMP).read() != FLAVOUR
if _REBUILD:
    os.makedirs("build", exist_ok=True)
    with open(_STAMP, "w") as f:
        f.write(FLAVOUR)


class BuildExtForced(BuildExt):
    def finalize_options(self):
        super().finalize_options()
        self.force = self.force or _REBUILD


setup(
    ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, force=_REBUILD),
    cmdclass={"build_ext": BuildExtForced},
)
