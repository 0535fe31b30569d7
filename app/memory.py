"""Process memory: how many malloc arenas glibc may keep.

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
