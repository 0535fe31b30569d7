"""Process memory: how many malloc arenas glibc may keep, and giving back what it holds free.

glibc gives threads their own malloc arenas (up to 8 per core) and returns little of what they
free to the system. The request threadpool (one thread per pooled connection) therefore grows a
worker's resident memory with every large request it has served: in the benchmark, one worker
reached 218 MB after the batch-sync and panel scenarios with glibc's default and stayed at
185 MB with 2 arenas, at the same CPU per request (docs/BENCHMARKS.md). `MALLOC_ARENA_MAX` does
the same from the environment, but only when set before the process starts; `mallopt` works
from inside, for every arena made afterwards (the threadpool's threads start with the first
requests)."""

from __future__ import annotations

import ctypes
import sys

M_ARENA_MAX = -8  # glibc's <malloc.h>


def limit_malloc_arenas(arenas: int) -> bool:
    """Limit glibc to `arenas` malloc arenas; 0 leaves its default. True when applied (False
    off Linux or on a C library without `mallopt`, e.g. musl)."""
    if arenas <= 0 or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))


def _malloc_trim() -> object:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Give the memory glibc holds free back to the system (`malloc_trim`): after a request
    that allocated megabytes (a batch sync), which otherwise stays resident as the worker's new
    high-water mark. True when glibc released some."""
    return bool(_TRIM(0)) if callable(_TRIM) else False
