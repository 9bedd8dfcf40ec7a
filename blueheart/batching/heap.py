"""A batch worker's heap (glibc): freed buffers kept for the next photo, the excess handed
back after each task. Nothing here runs outside a worker process."""

from __future__ import annotations

import ctypes
import sys
from typing import Any

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_HEAP_BUFFER_MAX = 32 << 20
"""Bytes: glibc's largest threshold for mapping an allocation of its own."""
_HEAP_FREE_KEPT = 64 << 20
"""Bytes glibc keeps free at the top of a worker's heap instead of handing them back."""
_HEAP_FREE_MAX = 128 << 20
"""Bytes of free heap a worker keeps after a task, at most: a large photo's go back."""


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2``: the heap's figures, in bytes."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")
    ]  # fmt: skip


_worker_libc: Any = None
"""This worker's glibc, once it keeps freed buffers (``keep_freed_buffers``)."""


def keep_freed_buffers() -> None:
    """glibc: keep the buffers a photo frees for the next one instead of returning them.

    By default a buffer above 128 KB or so (a photo's pixels, its file, its JPEG) is mapped
    for it and handed back when freed, and the next photo faults the same memory in again,
    a page at a time: a quarter of the page faults of a batch of social-size photos, two
    thirds of one of 12 MP photos (8 % of its time). Buffers below 32 MB now come from the
    heap, which keeps up to 64 MB free at its top; what a large photo leaves goes back after
    its task (``release_excess_heap``).
    """
    global _worker_libc
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc 2.33 or later
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_BUFFER_MAX)
    libc.mallopt(_M_TRIM_THRESHOLD, _HEAP_FREE_KEPT)
    _worker_libc = libc


def release_excess_heap() -> None:
    """Hand back the free heap beyond 128 MB: the 16 MB blocks of a 100 MP photo's pixels
    come from the heap too, and would otherwise stay with the worker (half a gigabyte)."""
    if _worker_libc is not None and _worker_libc.mallinfo2().fordblks > _HEAP_FREE_MAX:
        _worker_libc.malloc_trim(0)
