"""Keep freed host memory in the process instead of handing it back to the kernel each step.

glibc serves allocations above its mmap threshold (at most 32 MiB) with fresh pages and
returns them on free; a training step on a CPU allocates and frees activations and
gradients of a few MiB hundreds of times, so the kernel zeroes new pages on every step
(measured on hat_mini: ~30 ms of system time per 2,048-token step, ~5 % of the step;
docs/BENCHMARKS.md). Raising the mmap and trim thresholds lets freed blocks be reused:
the process keeps its peak footprint, which a training job reaches anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest accepted value on 64-bit
TRIM_THRESHOLD = 1 << 30  # keep up to 1 GiB of free heap before returning any

_done = False


def retain_freed_memory() -> bool:
    """Raise glibc's mmap/trim thresholds once per process; False where there is no glibc."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt, nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
